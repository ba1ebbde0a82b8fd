// The `takedown` subcommands. Each Register* adds its subcommand to the app and arranges for
// `exit_code` to be set when it runs.
#pragma once

#include <CLI/CLI.hpp>

namespace takedown::cli {

void RegisterHashCommand(CLI::App& app, int& exit_code);
void RegisterIndexCommand(CLI::App& app, int& exit_code);
void RegisterMatchCommand(CLI::App& app, int& exit_code);
void RegisterServeCommand(CLI::App& app, int& exit_code);
void RegisterAdminCommand(CLI::App& app, int& exit_code);
void RegisterAuditCommand(CLI::App& app, int& exit_code);

}  // namespace takedown::cli
