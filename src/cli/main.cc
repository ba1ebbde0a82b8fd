// The `takedown` command. Subcommands live in their own files; this wires them up.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "revision.h"
#include "sandbox/sandbox.h"

int main(int argc, char** argv) {
  // A sandboxed decoder worker (started by the service's pool, never by hand): before anything
  // else, so that nothing is set up that its sandbox would then have to allow.
  if (argc >= 2 && std::string_view(argv[1]) == "sandbox-worker") {
    takedown::sandbox::SetCliJobHandler(&takedown::cli::CliJobInSandbox);
    takedown::sandbox::WorkerMain(std::vector<std::string>(argv + 2, argv + argc));
  }
  auto logger = spdlog::stderr_logger_mt("takedown");
  logger->set_pattern("takedown: %l: %v");
  spdlog::set_default_logger(logger);
  if (const char* level = std::getenv("TAKEDOWN_LOG_LEVEL")) {
    spdlog::set_level(spdlog::level::from_str(level));
  }

  CLI::App app{"takedown: find and remove reported illegal media and every copy of it"};
  app.set_version_flag("--version", std::string("takedown ") + TAKEDOWN_VERSION + " (git " +
                                        TAKEDOWN_REVISION + ")");
  app.require_subcommand(1);
  int exit_code = 0;
  takedown::cli::RegisterHashCommand(app, exit_code);
  takedown::cli::RegisterIndexCommand(app, exit_code);
  takedown::cli::RegisterMatchCommand(app, exit_code);
  takedown::cli::RegisterServeCommand(app, exit_code);
  takedown::cli::RegisterAdminCommand(app, exit_code);
  takedown::cli::RegisterAuditCommand(app, exit_code);
  takedown::cli::RegisterVerifyPackageCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error (unknown option, missing or bad value)
    // exits 2, as --help and the README say (CLI11's own codes are 105-109).
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
