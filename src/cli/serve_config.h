// Configuration of `takedown serve`: built-in defaults, then a TOML file, then TAKEDOWN_*
// environment variables, then command-line flags, each overriding the one before. Every key has
// all four forms; see kServeSettings and config/takedown.toml.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "http/server.h"
#include "match/video_match.h"
#include "takedown/shard_set.h"

namespace takedown::cli {

// The direct email line (off while mail.imap_urls is empty).
struct MailSettings {
  std::vector<std::string> imap_urls;  // imaps://host:port/MAILBOX (comma-separated in the config)
  std::string imap_user, imap_password;  // the password: never logged; prefer the environment
  std::string imap_move_to;              // "" = taken messages stay, flagged $TakedownTaken
  std::string smtp_url, smtp_user, smtp_password;
  std::string address, display_name = "Takedown";
  int poll_interval_s = 2;
  std::string ca_file;  // "" = the system's CAs
  bool require_tls = true;
  std::string dkim_key_file;  // "" = DNS
  std::string templates_dir;  // "" = the built-in config/mail
  std::vector<std::string>
      link_patterns;  // regular expressions (one per line); none = the defaults
  int64_t max_message_bytes = 100LL << 20;
  bool neutral_bounce = false;
};

struct ServeConfig {
  std::string store_backend = "sqlite";  // sqlite | postgres
  std::string store_path = "takedown.db";
  std::string store_url;  // backend postgres: libpq connection string or URL (never logged)
  // all: this process runs everything (one per database); gate: a replica serving the upload
  // gate and bank reads beside it (postgres only; any number).
  std::string store_role = "all";
  // How the store.role all processes on a PostgreSQL database share the workflow: "lease" (one
  // holds the workflow lease and runs it, the others stand by) or "shared" (every one runs it;
  // its work is claimed and locked in the store).
  std::string store_workflow = "lease";
  // The workflow's lease on a PostgreSQL database (store.h WorkflowLease): its length in seconds.
  int store_lease_s = 15;
  // The content index split between processes by content id (takedown/shards.h; postgres only):
  // content.shards in all, content.hold the ones this process holds in memory ("all", "none",
  // "0-3,8"), parsed into `content` once every setting is read; how long a sweep waits for
  // another process's shards to answer.
  int content_shards = 1;
  std::string content_hold = "all";
  int content_shard_timeout_s = 60;
  service::ShardSet content;
  http::ServerConfig server;
  std::string log_level = "info";
  std::string webhook_url;      // "" = no webhooks: the platform acknowledges actions itself
  std::string webhook_secret;   // never logged
  std::string webhook_ca_file;  // https: the CA file to verify against ("" = the system's)
  int webhook_workers = 4;
  int webhook_claim_s = 120;           // a delivery's claim on its action (OutboxOptions::lease_ms)
  int restrict_chat_after = 0;         // 0 = never
  std::string repeat_uploader_policy;  // "" = no account actions
  int repeat_uploader_window_days = 90;
  int review_claim_s = 900;
  int reveals_per_hour = 20;
  service::ReportOptions report;     // the victims' form's bounds
  match::VideoMatchOptions video;    // when a video copies a bank video (video.*)
  std::string territorial_scope;     // statements of reasons: "EU" or EU/EEA codes, "" none
  int evidence_retention_days = 0;   // 0 = media is hashed and dropped
  int evidence_hash_workers = 0;     // 0 = half the cores (at least 1)
  int evidence_hash_budget_s = 120;  // hashing time one request's media may take
  std::string evidence_key_file =
      "evidence.key";  // relative to the store's directory unless absolute
  std::string package_key_file =
      "package-signing.key";     // the Ed25519 seed signing disclosure packages (beside the store)
  std::string dsa_database_url;  // "" = statements are not submitted
  std::string dsa_database_token;  // never logged
  int dsa_submit_interval_s = 10;
  MailSettings mail;
  // Media from outside decoded in sandboxed worker processes (src/sandbox).
  bool sandbox_enabled = true;
  int sandbox_workers = 0;  // 0 = one per core
  int sandbox_memory_mb = 2048;
  int sandbox_job_timeout_s = 300;
  std::string sandbox_user = "nobody";
};

struct ServeSetting {
  std::string key;   // TOML: "server.port"
  std::string env;   // TAKEDOWN_SERVER_PORT
  std::string flag;  // --server.port
  std::string help;
};

// The settings, in the order the documentation lists them.
const std::vector<ServeSetting>& ServeSettings();

// config/takedown.toml as built in: every key with its default value and its explanation.
const std::string& DefaultConfigFile();

// docs/configuration.md: every setting of ServeSettings() with its default, environment variable,
// flag and meaning, grouped by section with the explanations of DefaultConfigFile(). Internal
// error when a setting has no default in the file (the file and the table must agree).
Result<std::string> ConfigReference();

// Applies, in order: the TOML file (when config_path is not empty; unknown keys are errors, so a
// typo is not silently ignored), the environment (lookup returns nullptr for unset), and the flags
// given (key -> value). Errors name the key, the source and what was wrong.
Result<ServeConfig> LoadServeConfig(const std::string& config_path,
                                    const std::function<const char*(const char*)>& getenv_fn,
                                    const std::map<std::string, std::string>& flags);

}  // namespace takedown::cli
