// The `takedown` subcommands. Each Register* adds its subcommand to the app and arranges for
// `exit_code` to be set when it runs.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <span>

#include "sandbox/sandbox.h"

namespace takedown::cli {

void RegisterHashCommand(CLI::App& app, int& exit_code);
void RegisterIndexCommand(CLI::App& app, int& exit_code);
void RegisterMatchCommand(CLI::App& app, int& exit_code);
void RegisterServeCommand(CLI::App& app, int& exit_code);
void RegisterAdminCommand(CLI::App& app, int& exit_code);
void RegisterAuditCommand(CLI::App& app, int& exit_code);
void RegisterVerifyPackageCommand(CLI::App& app, int& exit_code);

// The command-line jobs a sandboxed worker runs (`hash --sandbox`, `match --sandbox`): by
// options["command"]. Registered with sandbox::SetCliJobHandler before the worker starts.
sandbox::Answer CliJobInSandbox(const nlohmann::json& options, std::span<const uint8_t> file);
sandbox::Answer HashJobInSandbox(const nlohmann::json& options, std::span<const uint8_t> file);
sandbox::Answer MatchJobInSandbox(const nlohmann::json& options, std::span<const uint8_t> file);

}  // namespace takedown::cli
