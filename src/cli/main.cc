// The `takedown` command. Subcommands live in their own files; this wires them up.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cli/commands.h"

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_logger_mt("takedown");
  logger->set_pattern("takedown: %l: %v");
  spdlog::set_default_logger(logger);
  if (const char* level = std::getenv("TAKEDOWN_LOG_LEVEL")) {
    spdlog::set_level(spdlog::level::from_str(level));
  }

  CLI::App app{"takedown: find and remove reported illegal media and every copy of it"};
  app.set_version_flag("--version", std::string("takedown ") + TAKEDOWN_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;
  takedown::cli::RegisterHashCommand(app, exit_code);
  takedown::cli::RegisterIndexCommand(app, exit_code);
  takedown::cli::RegisterMatchCommand(app, exit_code);
  takedown::cli::RegisterServeCommand(app, exit_code);
  takedown::cli::RegisterAdminCommand(app, exit_code);
  takedown::cli::RegisterAuditCommand(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
