#include "cli/serve_config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <sstream>

#include "takedown/dsa.h"
#include "takedown/uploaders.h"

namespace takedown::cli {
namespace {

struct Binding {
  ServeSetting setting;
  // Sets the value from text; the error says what was expected.
  std::function<Status(ServeConfig&, const std::string&)> set;
  bool is_int;
};

Status SetInt(const std::string& text, int64_t lo, int64_t hi, int64_t& out) {
  int64_t v = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end)
    return InvalidArgument(fmt::format("'{}' is not an integer", text));
  if (v < lo || v > hi) return InvalidArgument(fmt::format("{} is outside {}..{}", v, lo, hi));
  out = v;
  return Status::Ok();
}

// An integer setting in lo..hi, for a field of the serve config itself or of one of its parts
// (`part`: the server's config, the victims' form's bounds, the video rule).
template <typename T>
std::function<Status(ServeConfig&, const std::string&)> IntField(T ServeConfig::*field, int64_t lo,
                                                                 int64_t hi) {
  return [=](ServeConfig& c, const std::string& text) {
    int64_t v = 0;
    TD_RETURN_IF_ERROR(SetInt(text, lo, hi, v));
    c.*field = static_cast<T>(v);
    return Status::Ok();
  };
}
template <typename Part, typename T>
std::function<Status(ServeConfig&, const std::string&)> IntField(Part ServeConfig::*part,
                                                                 T Part::*field, int64_t lo,
                                                                 int64_t hi) {
  return [=](ServeConfig& c, const std::string& text) {
    int64_t v = 0;
    TD_RETURN_IF_ERROR(SetInt(text, lo, hi, v));
    (c.*part).*field = static_cast<T>(v);
    return Status::Ok();
  };
}
template <typename T>
std::function<Status(ServeConfig&, const std::string&)> IntField(T http::ServerConfig::*field,
                                                                 int64_t lo, int64_t hi) {
  return IntField(&ServeConfig::server, field, lo, hi);
}

// An integer bound of the victims' form.
std::function<Status(ServeConfig&, const std::string&)> ReportField(
    int service::ReportOptions::*field, int64_t lo, int64_t hi) {
  return IntField(&ServeConfig::report, field, lo, hi);
}

// A whole-number setting of the video rule.
template <typename T>
std::function<Status(ServeConfig&, const std::string&)> VideoField(
    T match::VideoMatchOptions::*field, int64_t lo, int64_t hi) {
  return IntField(&ServeConfig::video, field, lo, hi);
}

// A string setting of the mail line; `check` may refuse a value.
std::function<Status(ServeConfig&, const std::string&)> MailStr(
    std::string MailSettings::*field, std::function<Status(const std::string&)> check = nullptr) {
  return [=](ServeConfig& c, const std::string& text) {
    if (check) TD_RETURN_IF_ERROR(check(text));
    c.mail.*field = text;
    return Status::Ok();
  };
}
std::function<Status(ServeConfig&, const std::string&)> MailBool(bool MailSettings::*field) {
  return [=](ServeConfig& c, const std::string& text) {
    if (text != "true" && text != "false")
      return InvalidArgument(fmt::format("'{}' is not true or false", text));
    c.mail.*field = text == "true";
    return Status::Ok();
  };
}
std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  size_t b = 0;
  for (size_t e; (e = text.find(sep, b)) != std::string::npos; b = e + 1)
    parts.push_back(text.substr(b, e - b));
  parts.push_back(text.substr(b));
  return parts;
}

Status MailUrl(const std::string& url, std::initializer_list<const char*> schemes) {
  for (const char* s : schemes) {
    if (url.rfind(s, 0) == 0) return Status::Ok();
  }
  return InvalidArgument(fmt::format("'{}' is not a {} URL", url, fmt::join(schemes, " or ")));
}

const std::vector<Binding>& Bindings() {
  static const std::vector<Binding> b = {
      {{"store.backend", "TAKEDOWN_STORE_BACKEND", "--store.backend",
        "the system of record: sqlite (one file) or postgres (PostgreSQL at store.url)"},
       [](ServeConfig& c, const std::string& v) {
         if (v != "sqlite" && v != "postgres")
           return InvalidArgument(
               fmt::format("'{}' is not a store backend (sqlite or postgres)", v));
         c.store_backend = v;
         return Status::Ok();
       },
       false},
      {{"store.path", "TAKEDOWN_STORE_PATH", "--store.path",
        "SQLite database file (created on first start)"},
       [](ServeConfig& c, const std::string& v) {
         if (v.empty()) return InvalidArgument("the store path is empty");
         c.store_path = v;
         return Status::Ok();
       },
       false},
      {{"store.url", "TAKEDOWN_STORE_URL", "--store.url",
        "PostgreSQL connection (backend postgres; prefer the environment; never logged)"},
       [](ServeConfig& c, const std::string& v) {
         c.store_url = v;
         return Status::Ok();
       },
       false},
      {{"store.role", "TAKEDOWN_STORE_ROLE", "--store.role",
        "this process's part on a shared PostgreSQL store: all (the workflow, the email line and "
        "every API; one at a time holds the workflow lease, others wait as standbys serving the "
        "upload gate), gate (the upload gate and bank reads; any number) or shard (holds its "
        "content.hold shards for sweeps and loads no bank: no upload gate; any number)"},
       [](ServeConfig& c, const std::string& v) {
         if (v != "all" && v != "gate" && v != "shard")
           return InvalidArgument(fmt::format("'{}' is not a store role (all, gate or shard)", v));
         c.store_role = v;
         return Status::Ok();
       },
       false},
      {{"store.workflow", "TAKEDOWN_STORE_WORKFLOW", "--store.workflow",
        "how the store.role all processes on a PostgreSQL database share the workflow: lease (one "
        "holds the workflow lease and runs the workflow and the email line; the others stand by "
        "as upload gates and take over when it stops) or shared (every one runs them at once: "
        "deliveries and statements are claimed, each request, appeal, hold and disclosure is "
        "locked while it changes, the mailboxes are read by one process at a time; console "
        "sessions and the reviewers' reveal budgets are kept in the database, so a console user "
        "may reach any process)"},
       [](ServeConfig& c, const std::string& v) {
         if (v != "lease" && v != "shared") {
           return InvalidArgument(
               fmt::format("'{}' is not a way to share the workflow (lease or shared)", v));
         }
         c.store_workflow = v;
         return Status::Ok();
       },
       false},
      {{"store.lease_s", "TAKEDOWN_STORE_LEASE_S", "--store.lease_s",
        "seconds of the workflow's lease on a PostgreSQL database: the store.role all process "
        "holding it runs the workflow and renews it every quarter of this; others wait as "
        "standbys and take over this long after the holder stops renewing (a kill -9, a lost "
        "machine); a holder that cannot renew it in time exits first"},
       IntField(&ServeConfig::store_lease_s, 2, 600),
       true},
      {{"content.shards", "TAKEDOWN_CONTENT_SHARDS", "--content.shards",
        "the content index split by content id into this many shards, each held in memory by one "
        "or more processes on the PostgreSQL store (content.hold); a sweep asks every shard. The "
        "same at every process of a database; 1: every process holds the whole index"},
       IntField(&ServeConfig::content_shards, 1, service::kMaxContentShards),
       true},
      {{"content.hold", "TAKEDOWN_CONTENT_HOLD", "--content.hold",
        "the content shards this process holds in memory and answers sweeps for: all, none (the "
        "upload gate and the API only), or numbers and ranges such as 0-3,8"},
       [](ServeConfig& c, const std::string& v) {
         c.content_hold = v;
         return Status::Ok();
       },
       false},
      {{"content.shard_timeout_s", "TAKEDOWN_CONTENT_SHARD_TIMEOUT_S", "--content.shard_timeout_s",
        "seconds a sweep waits for the other processes' shards to answer before it is held back "
        "(the request stays approved and is swept again)"},
       IntField(&ServeConfig::content_shard_timeout_s, 1, 3600),
       true},
      {{"server.host", "TAKEDOWN_SERVER_HOST", "--server.host",
        "address to listen on (loopback by default)"},
       [](ServeConfig& c, const std::string& v) {
         if (v.empty()) return InvalidArgument("the host is empty");
         c.server.host = v;
         return Status::Ok();
       },
       false},
      {{"server.port", "TAKEDOWN_SERVER_PORT", "--server.port",
        "TCP port (0: any free port, printed at start)"},
       IntField(&http::ServerConfig::port, 0, 65535),
       true},
      {{"server.threads", "TAKEDOWN_SERVER_THREADS", "--server.threads", "worker threads"},
       IntField(&http::ServerConfig::threads, 1, 4096),
       true},
      {{"server.max_body_bytes", "TAKEDOWN_SERVER_MAX_BODY_BYTES", "--server.max_body_bytes",
        "largest request body (413 beyond)"},
       IntField(&http::ServerConfig::max_body_bytes, 1024, int64_t{4} << 30),
       true},
      {{"server.header_timeout_s", "TAKEDOWN_SERVER_HEADER_TIMEOUT_S", "--server.header_timeout_s",
        "seconds to receive a request's whole header"},
       IntField(&http::ServerConfig::header_timeout_s, 1, 3600),
       true},
      {{"server.read_timeout_s", "TAKEDOWN_SERVER_READ_TIMEOUT_S", "--server.read_timeout_s",
        "seconds to receive a request's whole body"},
       IntField(&http::ServerConfig::read_timeout_s, 1, 3600),
       true},
      {{"server.idle_timeout_s", "TAKEDOWN_SERVER_IDLE_TIMEOUT_S", "--server.idle_timeout_s",
        "seconds a kept-alive connection may wait for its next request"},
       IntField(&http::ServerConfig::idle_timeout_s, 1, 86400),
       true},
      {{"server.max_connections", "TAKEDOWN_SERVER_MAX_CONNECTIONS", "--server.max_connections",
        "client connections open at once (503 and closed beyond)"},
       IntField(&http::ServerConfig::max_connections, 1, 1000000),
       true},
      {{"server.max_connections_per_client", "TAKEDOWN_SERVER_MAX_CONNECTIONS_PER_CLIENT",
        "--server.max_connections_per_client", "connections open at once from one client address"},
       IntField(&http::ServerConfig::max_connections_per_client, 1, 1000000),
       true},
      {{"server.tls_cert_file", "TAKEDOWN_SERVER_TLS_CERT_FILE", "--server.tls_cert_file",
        "PEM certificate chain: serve HTTPS (with tls_key_file; reloaded when it changes)"},
       [](ServeConfig& c, const std::string& v) {
         c.server.tls_cert_file = v;
         return Status::Ok();
       },
       false},
      {{"server.tls_key_file", "TAKEDOWN_SERVER_TLS_KEY_FILE", "--server.tls_key_file",
        "PEM private key of tls_cert_file (never logged; reloaded when it changes)"},
       [](ServeConfig& c, const std::string& v) {
         c.server.tls_key_file = v;
         return Status::Ok();
       },
       false},
      {{"server.write_timeout_s", "TAKEDOWN_SERVER_WRITE_TIMEOUT_S", "--server.write_timeout_s",
        "seconds to send a response"},
       IntField(&http::ServerConfig::write_timeout_s, 1, 3600),
       true},
      {{"webhook.url", "TAKEDOWN_WEBHOOK_URL", "--webhook.url",
        "http[s]://host:port/path the platform receives actions at (\"\": none)"},
       [](ServeConfig& c, const std::string& v) {
         if (!v.empty() && v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0)
           return InvalidArgument(fmt::format("'{}' is not an http:// or https:// URL", v));
         c.webhook_url = v;
         return Status::Ok();
       },
       false},
      {{"webhook.ca_file", "TAKEDOWN_WEBHOOK_CA_FILE", "--webhook.ca_file",
        "PEM file of the CA(s) an https webhook's certificate is verified against (\"\": the "
        "system's)"},
       [](ServeConfig& c, const std::string& v) {
         c.webhook_ca_file = v;
         return Status::Ok();
       },
       false},
      {{"webhook.secret", "TAKEDOWN_WEBHOOK_SECRET", "--webhook.secret",
        "HMAC-SHA256 key signing each webhook (prefer the environment)"},
       [](ServeConfig& c, const std::string& v) {
         c.webhook_secret = v;
         return Status::Ok();
       },
       false},
      {{"webhook.workers", "TAKEDOWN_WEBHOOK_WORKERS", "--webhook.workers",
        "concurrent webhook deliveries"},
       IntField(&ServeConfig::webhook_workers, 1, 256),
       true},
      {{"webhook.claim_s", "TAKEDOWN_WEBHOOK_CLAIM_S", "--webhook.claim_s",
        "seconds a process's claim on an action it is delivering lasts: far longer than one "
        "delivery (2 s connect, 5 s read); an action a process that died had claimed is "
        "delivered again after this (same Idempotency-Key), by another process (store.workflow "
        "shared) or by the next start"},
       IntField(&ServeConfig::webhook_claim_s, 15, 3600),
       true},
      {{"workflow.restrict_chat_after", "TAKEDOWN_WORKFLOW_RESTRICT_CHAT_AFTER",
        "--workflow.restrict_chat_after",
        "confirmed removals in one chat that restrict it (0: never)"},
       IntField(&ServeConfig::restrict_chat_after, 0, 1000000000),
       true},
      {{"console.session_idle_s", "TAKEDOWN_CONSOLE_SESSION_IDLE_S", "--console.session_idle_s",
        "seconds a console session may go unused before it ends"},
       IntField(&http::ServerConfig::session_idle_s, 60, 86400),
       true},
      {{"console.session_max_s", "TAKEDOWN_CONSOLE_SESSION_MAX_S", "--console.session_max_s",
        "seconds after sign-in at which a console session ends, used or not"},
       IntField(&http::ServerConfig::session_max_s, 300, 30 * 86400),
       true},
      {{"workflow.repeat_uploader_policy", "TAKEDOWN_WORKFLOW_REPEAT_UPLOADER_POLICY",
        "--workflow.repeat_uploader_policy",
        "account actions for repeat uploaders, per category: \"ncii=2:warn,3:suspend; *=5:warn\" "
        "(strikes within the window: uploads removed or blocked; \"\": none)"},
       [](ServeConfig& c, const std::string& v) {
         TD_RETURN_IF_ERROR(service::ParseRepeatPolicy(v).status());
         c.repeat_uploader_policy = v;
         return Status::Ok();
       },
       false},
      {{"workflow.repeat_uploader_window_days", "TAKEDOWN_WORKFLOW_REPEAT_UPLOADER_WINDOW_DAYS",
        "--workflow.repeat_uploader_window_days",
        "days within which an uploader's strikes count towards the repeat-uploader policy"},
       IntField(&ServeConfig::repeat_uploader_window_days, 1, 3650),
       true},
      {{"workflow.review_claim_s", "TAKEDOWN_WORKFLOW_REVIEW_CLAIM_S", "--workflow.review_claim_s",
        "seconds a reviewer's claim on a request lasts (claiming again extends it); while it "
        "lasts no other reviewer may claim or decide the request"},
       IntField(&ServeConfig::review_claim_s, 30, 86400),
       true},
      {{"workflow.reveals_per_hour", "TAKEDOWN_WORKFLOW_REVEALS_PER_HOUR",
        "--workflow.reveals_per_hour",
        "clear looks at evidence (reveals, each with a stated reason) each reviewer may take in "
        "an hour; over it reveals are refused (0: none)"},
       IntField(&ServeConfig::reveals_per_hour, 0, 10000),
       true},
      {{"video.frame_threshold", "TAKEDOWN_VIDEO_FRAME_THRESHOLD", "--video.frame_threshold",
        "PDQ bits two video frames may differ by and still match (PDQ.md: 31)"},
       VideoField(&match::VideoMatchOptions::frame_threshold, 0, 64),
       true},
      {{"video.match_percent", "TAKEDOWN_VIDEO_MATCH_PERCENT", "--video.match_percent",
        "a video copies a bank video when this share of its usable frames match it, or this share "
        "of the bank video is covered"},
       VideoField(&match::VideoMatchOptions::match_percent, 1, 100),
       true},
      {{"video.clip_seconds", "TAKEDOWN_VIDEO_CLIP_SECONDS", "--video.clip_seconds",
        "the clip rule: a stretch of a video at least this long whose frames match a bank video "
        "at one offset in time is a copy of that part of it, whatever the rest holds (0: off)"},
       VideoField(&match::VideoMatchOptions::clip_seconds, 0, 3600),
       true},
      {{"video.clip_percent", "TAKEDOWN_VIDEO_CLIP_PERCENT", "--video.clip_percent",
        "the clip rule: the share of the stretch's usable frames that must match"},
       VideoField(&match::VideoMatchOptions::clip_percent, 50, 100),
       true},
      {{"video.clip_min_frames", "TAKEDOWN_VIDEO_CLIP_MIN_FRAMES", "--video.clip_min_frames",
        "the clip rule: the fewest matching frames a stretch may have (uploads are sampled once a "
        "second)"},
       VideoField(&match::VideoMatchOptions::clip_min_frames, 2, 10000),
       true},
      {{"video.edge_clip_seconds", "TAKEDOWN_VIDEO_EDGE_CLIP_SECONDS", "--video.edge_clip_seconds",
        "the clip rule: a clip shorter than this at the same edge of both videos (the start of "
        "each, or the end of each) is a shared intro or end card, not a copy, and does not count; "
        "the first or last seconds of a bank video at the start or end of an otherwise unrelated "
        "video are then not matched by the clip rule either: the gate lists such a clip under "
        "\"review\" instead, never as a block (0: every clip counts)"},
       VideoField(&match::VideoMatchOptions::edge_clip_seconds, 0, 3600),
       true},
      {{"report.pow_bits", "TAKEDOWN_REPORT_POW_BITS", "--report.pow_bits",
        "victims' form: leading zero bits of SHA-256 a filing's proof of work must reach (each bit "
        "doubles the work; 16 is about a quarter of a second in a phone's browser; 0: none)"},
       ReportField(&service::ReportOptions::pow_bits, 0, 28),
       true},
      {{"report.cases_per_hour_per_address", "TAKEDOWN_REPORT_CASES_PER_HOUR_PER_ADDRESS",
        "--report.cases_per_hour_per_address",
        "victims' form: filings and additions one client address may make in an hour"},
       ReportField(&service::ReportOptions::cases_per_hour_per_address, 1, 1000000),
       true},
      {{"report.cases_per_hour", "TAKEDOWN_REPORT_CASES_PER_HOUR", "--report.cases_per_hour",
        "victims' form: filings and additions from all addresses together in an hour (a flood "
        "waits instead of filling the review queue)"},
       ReportField(&service::ReportOptions::cases_per_hour, 1, 10000000),
       true},
      {{"report.pin_failures_per_case", "TAKEDOWN_REPORT_PIN_FAILURES_PER_CASE",
        "--report.pin_failures_per_case",
        "victims' form: wrong PINs for one case number in an hour before it answers 429"},
       ReportField(&service::ReportOptions::pin_failures_per_case, 1, 1000),
       true},
      {{"report.pin_failures_per_address", "TAKEDOWN_REPORT_PIN_FAILURES_PER_ADDRESS",
        "--report.pin_failures_per_address",
        "victims' form: wrong case numbers or PINs from one client address in an hour before it "
        "answers 429"},
       ReportField(&service::ReportOptions::pin_failures_per_address, 1, 100000),
       true},
      {{"report.max_items", "TAKEDOWN_REPORT_MAX_ITEMS", "--report.max_items",
        "victims' form: hashed pictures and videos one case may hold, all additions together"},
       ReportField(&service::ReportOptions::max_items, 1, 50),
       true},
      {{"report.public_url", "TAKEDOWN_REPORT_PUBLIC_URL", "--report.public_url",
        "victims' form: the address people reach this service at (https://host[:port], no path), "
        "which a case's recovery link starts with; with mail.smtp_url and mail.address set, a "
        "person who lost the PIN gets a link at the case's email address (\"\": no recovery by "
        "email)"},
       [](ServeConfig& c, const std::string& v) {
         const bool https = v.rfind("https://", 0) == 0, http = v.rfind("http://", 0) == 0;
         const std::string host = v.substr(https ? 8 : (http ? 7 : 0));
         if (!v.empty() && (!(https || http) || host.empty() ||
                            host.find_first_of("/?#@ \t\r\n") != std::string::npos)) {
           return InvalidArgument("must be https://host[:port] (or http:// for tests), no path");
         }
         c.report.public_url = v;
         return Status::Ok();
       },
       false},
      {{"report.recovery_link_ttl_s", "TAKEDOWN_REPORT_RECOVERY_LINK_TTL_S",
        "--report.recovery_link_ttl_s",
        "victims' form: seconds a case's recovery link works (once)"},
       ReportField(&service::ReportOptions::recovery_link_ttl_s, 60, 86400),
       true},
      {{"report.recovery_links_per_case_per_day", "TAKEDOWN_REPORT_RECOVERY_LINKS_PER_CASE_PER_DAY",
        "--report.recovery_links_per_case_per_day",
        "victims' form: recovery links one case may be sent in 24 hours"},
       ReportField(&service::ReportOptions::recovery_links_per_case_per_day, 1, 20),
       true},
      {{"workflow.territorial_scope", "TAKEDOWN_WORKFLOW_TERRITORIAL_SCOPE",
        "--workflow.territorial_scope",
        "where removals take effect, for statements of reasons: EU, or EU/EEA codes (\"DE FR\")"},
       [](ServeConfig& c, const std::string& v) {
         std::vector<std::string> unknown;
         (void)service::dsa::ParseTerritorialScope(v, &unknown);
         if (!unknown.empty()) {
           return InvalidArgument(fmt::format(
               "'{}' is not an EU/EEA two-letter country code (or EU)", unknown.front()));
         }
         c.territorial_scope = v;
         return Status::Ok();
       },
       false},
      {{"evidence.retention_days", "TAKEDOWN_EVIDENCE_RETENTION_DAYS", "--evidence.retention_days",
        "days reported media is kept, encrypted, for reviewers (0: hashed and dropped)"},
       IntField(&ServeConfig::evidence_retention_days, 0, 3650),
       true},
      {{"evidence.hash_workers", "TAKEDOWN_EVIDENCE_HASH_WORKERS", "--evidence.hash_workers",
        "background threads hashing requests' media after the request is stored (0: half the "
        "cores)"},
       IntField(&ServeConfig::evidence_hash_workers, 0, 64),
       true},
      {{"evidence.hash_budget_s", "TAKEDOWN_EVIDENCE_HASH_BUDGET_S", "--evidence.hash_budget_s",
        "hashing time one request's media may take; files left after it get a problem"},
       IntField(&ServeConfig::evidence_hash_budget_s, 1, 3600),
       true},
      {{"evidence.key_file", "TAKEDOWN_EVIDENCE_KEY_FILE", "--evidence.key_file",
        "32-byte key encrypting kept evidence and media staged for hashing (created, mode 600, "
        "at the store's first start; later starts refuse a missing or other key)"},
       [](ServeConfig& c, const std::string& v) {
         if (v.empty()) return InvalidArgument("the evidence key file path is empty");
         c.evidence_key_file = v;
         return Status::Ok();
       },
       false},
      {{"packages.signing_key_file", "TAKEDOWN_PACKAGES_SIGNING_KEY_FILE",
        "--packages.signing_key_file",
        "32-byte Ed25519 seed signing investigators' disclosure packages (created, mode 600, when "
        "missing)"},
       [](ServeConfig& c, const std::string& v) {
         if (v.empty()) return InvalidArgument("the package signing key file path is empty");
         c.package_key_file = v;
         return Status::Ok();
       },
       false},
      {{"sandbox.enabled", "TAKEDOWN_SANDBOX_ENABLED", "--sandbox.enabled",
        "decode and hash media from outside in sandboxed worker processes (true/false; false "
        "logs a warning)"},
       [](ServeConfig& c, const std::string& v) {
         if (v != "true" && v != "false")
           return InvalidArgument(fmt::format("'{}' is not true or false", v));
         c.sandbox_enabled = v == "true";
         return Status::Ok();
       },
       false},
      {{"sandbox.workers", "TAKEDOWN_SANDBOX_WORKERS", "--sandbox.workers",
        "sandboxed decoder processes (0: one per core)"},
       IntField(&ServeConfig::sandbox_workers, 0, 256),
       true},
      {{"sandbox.memory_mb", "TAKEDOWN_SANDBOX_MEMORY_MB", "--sandbox.memory_mb",
        "resident memory a worker may use beyond its job's media before it is killed"},
       IntField(&ServeConfig::sandbox_memory_mb, 64, 1 << 20),
       true},
      {{"sandbox.job_timeout_s", "TAKEDOWN_SANDBOX_JOB_TIMEOUT_S", "--sandbox.job_timeout_s",
        "wall time one file's decoding and hashing may take before its worker is killed"},
       IntField(&ServeConfig::sandbox_job_timeout_s, 1, 86400),
       true},
      {{"sandbox.user", "TAKEDOWN_SANDBOX_USER", "--sandbox.user",
        "the workers' user when the service runs as root (never root itself)"},
       [](ServeConfig& c, const std::string& v) {
         if (v.empty() || v == "root") return InvalidArgument("must name a user other than root");
         c.sandbox_user = v;
         return Status::Ok();
       },
       false},
      {{"dsa.database_url", "TAKEDOWN_DSA_DATABASE_URL", "--dsa.database_url",
        "the DSA Transparency Database's bulk endpoint statements of reasons are submitted to "
        "(\"\": not submitted)"},
       [](ServeConfig& c, const std::string& v) {
         if (!v.empty() && v.rfind("https://", 0) != 0 && v.rfind("http://", 0) != 0)
           return InvalidArgument(fmt::format("'{}' is not an http:// or https:// URL", v));
         c.dsa_database_url = v;
         return Status::Ok();
       },
       false},
      {{"dsa.database_token", "TAKEDOWN_DSA_DATABASE_TOKEN", "--dsa.database_token",
        "the database's API token (prefer the environment; never logged)"},
       [](ServeConfig& c, const std::string& v) {
         c.dsa_database_token = v;
         return Status::Ok();
       },
       false},
      {{"dsa.submit_interval_s", "TAKEDOWN_DSA_SUBMIT_INTERVAL_S", "--dsa.submit_interval_s",
        "seconds between submissions of queued statements (at once again after a full batch)"},
       IntField(&ServeConfig::dsa_submit_interval_s, 1, 86400),
       true},
      {{"mail.imap_urls", "TAKEDOWN_MAIL_IMAP_URLS", "--mail.imap_urls",
        "mailboxes of the email line, comma-separated imaps://host:port/MAILBOX (\"\": no requests "
        "by email; with mail.smtp_url alone the line only sends: the victims' form's recovery "
        "links)"},
       [](ServeConfig& c, const std::string& v) {
         std::vector<std::string> urls;
         if (!v.empty()) urls = Split(v, ',');
         for (const auto& u : urls) TD_RETURN_IF_ERROR(MailUrl(u, {"imaps://", "imap://"}));
         c.mail.imap_urls = urls;
         return Status::Ok();
       },
       false},
      {{"mail.imap_user", "TAKEDOWN_MAIL_IMAP_USER", "--mail.imap_user", "IMAP login"},
       MailStr(&MailSettings::imap_user),
       false},
      {{"mail.imap_password", "TAKEDOWN_MAIL_IMAP_PASSWORD", "--mail.imap_password",
        "IMAP password (prefer the environment; never logged)"},
       MailStr(&MailSettings::imap_password),
       false},
      {{"mail.imap_move_to", "TAKEDOWN_MAIL_IMAP_MOVE_TO", "--mail.imap_move_to",
        "folder taken messages move to (\"\": they stay, flagged)"},
       MailStr(&MailSettings::imap_move_to),
       false},
      {{"mail.smtp_url", "TAKEDOWN_MAIL_SMTP_URL", "--mail.smtp_url",
        "where replies and the victims' form's recovery links are submitted: smtp://host:port "
        "(STARTTLS) or smtps://"},
       MailStr(&MailSettings::smtp_url,
               [](const std::string& v) {
                 return v.empty() ? Status::Ok() : MailUrl(v, {"smtp://", "smtps://"});
               }),
       false},
      {{"mail.smtp_user", "TAKEDOWN_MAIL_SMTP_USER", "--mail.smtp_user", "SMTP login (\"\": none)"},
       MailStr(&MailSettings::smtp_user),
       false},
      {{"mail.smtp_password", "TAKEDOWN_MAIL_SMTP_PASSWORD", "--mail.smtp_password",
        "SMTP password (prefer the environment; never logged)"},
       MailStr(&MailSettings::smtp_password),
       false},
      {{"mail.address", "TAKEDOWN_MAIL_ADDRESS", "--mail.address",
        "the line's own address, From of every reply"},
       MailStr(&MailSettings::address,
               [](const std::string& v) {
                 return v.empty() || v.find('@') != std::string::npos
                            ? Status::Ok()
                            : InvalidArgument(fmt::format("'{}' is not an email address", v));
               }),
       false},
      {{"mail.display_name", "TAKEDOWN_MAIL_DISPLAY_NAME", "--mail.display_name",
        "the name replies come from"},
       MailStr(&MailSettings::display_name),
       false},
      {{"mail.poll_interval_s", "TAKEDOWN_MAIL_POLL_INTERVAL_S", "--mail.poll_interval_s",
        "seconds between looks at the mailboxes"},
       [](ServeConfig& c, const std::string& text) {
         int64_t v = 0;
         TD_RETURN_IF_ERROR(SetInt(text, 1, 3600, v));
         c.mail.poll_interval_s = static_cast<int>(v);
         return Status::Ok();
       },
       true},
      {{"mail.ca_file", "TAKEDOWN_MAIL_CA_FILE", "--mail.ca_file",
        "CA certificates for the mail servers' TLS (\"\": the system's)"},
       MailStr(&MailSettings::ca_file),
       false},
      {{"mail.require_tls", "TAKEDOWN_MAIL_REQUIRE_TLS", "--mail.require_tls",
        "refuse mail servers that do not speak TLS (true/false)"},
       MailBool(&MailSettings::require_tls),
       false},
      {{"mail.dkim_key_file", "TAKEDOWN_MAIL_DKIM_KEY_FILE", "--mail.dkim_key_file",
        "DKIM public keys for closed deployments (\"\": from DNS)"},
       MailStr(&MailSettings::dkim_key_file),
       false},
      {{"mail.templates_dir", "TAKEDOWN_MAIL_TEMPLATES_DIR", "--mail.templates_dir",
        "reply templates (\"\": the built-in ones)"},
       MailStr(&MailSettings::templates_dir),
       false},
      {{"mail.link_patterns", "TAKEDOWN_MAIL_LINK_PATTERNS", "--mail.link_patterns",
        "regular expressions, one per line, whose first group is a content id (\"\": the "
        "defaults)"},
       [](ServeConfig& c, const std::string& v) {
         c.mail.link_patterns.clear();
         for (std::string p : Split(v, '\n')) {
           while (!p.empty() && (p.back() == ' ' || p.back() == '\r')) p.pop_back();
           p.erase(0, p.find_first_not_of(' '));
           if (!p.empty()) c.mail.link_patterns.push_back(p);
         }
         return Status::Ok();
       },
       false},
      {{"mail.max_message_bytes", "TAKEDOWN_MAIL_MAX_MESSAGE_BYTES", "--mail.max_message_bytes",
        "larger messages are answered, not read"},
       [](ServeConfig& c, const std::string& text) {
         int64_t v = 0;
         TD_RETURN_IF_ERROR(SetInt(text, 1024, int64_t{4} << 30, v));
         c.mail.max_message_bytes = v;
         return Status::Ok();
       },
       true},
      {{"mail.neutral_bounce", "TAKEDOWN_MAIL_NEUTRAL_BOUNCE", "--mail.neutral_bounce",
        "answer a message that fails authentication with a neutral bounce (true/false)"},
       MailBool(&MailSettings::neutral_bounce),
       false},
      {{"log.level", "TAKEDOWN_LOG_LEVEL", "--log.level", "trace, debug, info, warn or error"},
       [](ServeConfig& c, const std::string& v) {
         for (const char* l : {"trace", "debug", "info", "warn", "error"}) {
           if (v == l) {
             c.log_level = v;
             return Status::Ok();
           }
         }
         return InvalidArgument(
             fmt::format("'{}' is not one of trace, debug, info, warn, error", v));
       },
       false},
  };
  return b;
}

}  // namespace

const std::vector<ServeSetting>& ServeSettings() {
  static const std::vector<ServeSetting> s = [] {
    std::vector<ServeSetting> v;
    for (const auto& b : Bindings()) v.push_back(b.setting);
    return v;
  }();
  return s;
}

Result<std::string> ConfigReference() {
  // The file, line by line: [section], "# explanation" blocks, and "key = default" lines (one
  // explanation may serve the keys that follow it without a blank line or comment between).
  struct Default {
    std::string value, explanation;
  };
  std::map<std::string, Default> defaults;
  std::map<std::string, std::string> section_text;
  std::string section, comment;
  bool comment_after_key = false;
  std::istringstream in(DefaultConfigFile());
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("#", 0) == 0) {
      if (comment_after_key) comment.clear();
      comment_after_key = false;
      comment +=
          (comment.empty() ? "" : " ") + line.substr(line.size() > 1 && line[1] == ' ' ? 2 : 1);
    } else if (line.rfind("[", 0) == 0 && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      comment.clear();
    } else if (auto eq = line.find(" = "); eq != std::string::npos && !section.empty()) {
      defaults[section + "." + line.substr(0, eq)] = {line.substr(eq + 3),
                                                      comment_after_key ? "" : comment};
      comment_after_key = true;
    } else if (line.empty()) {
      comment.clear();
      comment_after_key = false;
    }
  }
  std::string out =
      "# Configuration reference\n\n"
      "Generated by `takedown serve --config-reference` from the configuration table of\n"
      "`takedown serve` (`src/cli/serve_config.cc`) and the commented defaults in\n"
      "`config/takedown.toml`; a test fails when this file and the binary disagree, so edit "
      "those,\n"
      "not this file.\n\n"
      "Every key can be set in the TOML file given with `--config` (the Debian package's is\n"
      "`/etc/takedown/takedown.toml`), by its environment variable, or by its flag: flags beat "
      "the\n"
      "environment, which beats the file, which beats the default. An unknown key or a value of "
      "the\n"
      "wrong type in the file is an error naming it; secrets (`webhook.secret`, the mail "
      "passwords,\n"
      "a password in `store.url`) belong in the environment and are never logged.\n";
  std::string current;
  for (const ServeSetting& s : ServeSettings()) {
    auto it = defaults.find(s.key);
    if (it == defaults.end())
      return Internal(fmt::format("config/takedown.toml has no default for {}", s.key));
    const std::string sec = s.key.substr(0, s.key.find('.'));
    if (sec != current) {
      current = sec;
      out += fmt::format("\n## [{}]\n", sec);
    }
    std::string help = s.help;
    if (!help.empty())
      help[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(help[0])));
    out += fmt::format("\n### `{}`\n\n{}.", s.key, help);
    if (!it->second.explanation.empty()) out += " " + it->second.explanation;
    out += fmt::format("\n\n- default: `{}`\n- environment: `{}`\n- flag: `{}`\n", it->second.value,
                       s.env, s.flag);
  }
  return out;
}

Result<ServeConfig> LoadServeConfig(const std::string& config_path,
                                    const std::function<const char*(const char*)>& getenv_fn,
                                    const std::map<std::string, std::string>& flags) {
  ServeConfig c;
  if (!config_path.empty()) {
    toml::table t;
    try {
      t = toml::parse_file(config_path);
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      return InvalidArgument(
          fmt::format("{}:{}:{}: {}", config_path, where.line, where.column, e.description()));
    }
    // Every key in the file must be one we know: a misspelt key would otherwise be ignored.
    for (const auto& [section, node] : t) {
      const auto* tbl = node.as_table();
      if (tbl == nullptr)
        return InvalidArgument(fmt::format("{}: '{}' must be a table ([{}])", config_path,
                                           section.str(), section.str()));
      for (const auto& [name, value] : *tbl) {
        const std::string key = std::string(section.str()) + "." + std::string(name.str());
        const Binding* b = nullptr;
        for (const auto& cand : Bindings()) {
          if (cand.setting.key == key) b = &cand;
        }
        if (b == nullptr)
          return InvalidArgument(fmt::format("{}: unknown key '{}'", config_path, key));
        std::string text;
        if (b->is_int) {
          if (!value.is_integer())
            return InvalidArgument(fmt::format("{}: '{}' must be an integer", config_path, key));
          text = std::to_string(value.as_integer()->get());
        } else {
          if (value.is_boolean())
            text = value.as_boolean()->get() ? "true" : "false";
          else if (!value.is_string())
            return InvalidArgument(fmt::format("{}: '{}' must be a string", config_path, key));
          else
            text = value.as_string()->get();
        }
        Status st = b->set(c, text);
        if (!st.ok()) return st.WithContext(fmt::format("{}: '{}'", config_path, key));
      }
    }
  }
  for (const auto& b : Bindings()) {
    if (const char* v = getenv_fn(b.setting.env.c_str())) {
      Status st = b.set(c, v);
      if (!st.ok()) return st.WithContext(fmt::format("environment {}", b.setting.env));
    }
  }
  for (const auto& [key, value] : flags) {
    const Binding* b = nullptr;
    for (const auto& cand : Bindings()) {
      if (cand.setting.key == key) b = &cand;
    }
    if (b == nullptr) return InvalidArgument(fmt::format("unknown setting '{}'", key));
    Status st = b->set(c, value);
    if (!st.ok()) return st.WithContext(fmt::format("flag --{}", key));
  }
  // Settings read together, whatever order they came in.
  TD_ASSIGN_OR_RETURN(c.content,
                      service::ParseShardSet(c.content_shards, c.content_hold, "content.hold"));
  if (c.content_shards > 1 && c.store_backend != "postgres") {
    return InvalidArgument(fmt::format(
        "content.shards {} needs store.backend postgres: a SQLite file is served by one process, "
        "which holds the whole content index",
        c.content_shards));
  }
  if (c.store_workflow == "shared" && c.store_backend != "postgres") {
    return InvalidArgument(
        "store.workflow shared needs store.backend postgres: a SQLite file is served by one "
        "process");
  }
  if (c.store_role == "shard" && (c.content_shards == 1 || c.content.HoldsNone())) {
    return InvalidArgument(fmt::format(
        "store.role shard holds content shards for sweeps and no bank: it needs content.shards "
        "above 1 and a content.hold of some shards (now content.shards {}, content.hold {})",
        c.content_shards, c.content.Describe()));
  }
  if (c.content_shards == 1 && c.content.HoldsNone()) {
    return InvalidArgument(
        "content.hold none needs content.shards above 1: with one shard every process holds the "
        "whole content index");
  }
  return c;
}

}  // namespace takedown::cli
