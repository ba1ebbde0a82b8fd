#include "cli/serve_config.h"

#include <fmt/format.h>

#include <charconv>
#include <toml++/toml.h>

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
  if (ec != std::errc() || p != end) return InvalidArgument(fmt::format("'{}' is not an integer", text));
  if (v < lo || v > hi) return InvalidArgument(fmt::format("{} is outside {}..{}", v, lo, hi));
  out = v;
  return Status::Ok();
}

// An integer setting in lo..hi, for a field of the server's config or of the serve config itself.
template <typename T>
std::function<Status(ServeConfig&, const std::string&)> IntField(T http::ServerConfig::*field, int64_t lo, int64_t hi) {
  return [=](ServeConfig& c, const std::string& text) {
    int64_t v = 0;
    TD_RETURN_IF_ERROR(SetInt(text, lo, hi, v));
    c.server.*field = static_cast<T>(v);
    return Status::Ok();
  };
}
template <typename T>
std::function<Status(ServeConfig&, const std::string&)> IntField(T ServeConfig::*field, int64_t lo, int64_t hi) {
  return [=](ServeConfig& c, const std::string& text) {
    int64_t v = 0;
    TD_RETURN_IF_ERROR(SetInt(text, lo, hi, v));
    c.*field = static_cast<T>(v);
    return Status::Ok();
  };
}

const std::vector<Binding>& Bindings() {
  static const std::vector<Binding> b = {
      {{"store.path", "TAKEDOWN_STORE_PATH", "--store.path", "SQLite database file (created on first start)"},
       [](ServeConfig& c, const std::string& v) {
         if (v.empty()) return InvalidArgument("the store path is empty");
         c.store_path = v;
         return Status::Ok();
       },
       false},
      {{"server.host", "TAKEDOWN_SERVER_HOST", "--server.host", "address to listen on (loopback by default)"},
       [](ServeConfig& c, const std::string& v) {
         if (v.empty()) return InvalidArgument("the host is empty");
         c.server.host = v;
         return Status::Ok();
       },
       false},
      {{"server.port", "TAKEDOWN_SERVER_PORT", "--server.port", "TCP port (0: any free port, printed at start)"},
       IntField(&http::ServerConfig::port, 0, 65535), true},
      {{"server.threads", "TAKEDOWN_SERVER_THREADS", "--server.threads", "worker threads"},
       IntField(&http::ServerConfig::threads, 1, 4096), true},
      {{"server.max_body_bytes", "TAKEDOWN_SERVER_MAX_BODY_BYTES", "--server.max_body_bytes", "largest request body (413 beyond)"},
       IntField(&http::ServerConfig::max_body_bytes, 1024, int64_t{4} << 30), true},
      {{"server.read_timeout_s", "TAKEDOWN_SERVER_READ_TIMEOUT_S", "--server.read_timeout_s", "seconds to receive a request"},
       IntField(&http::ServerConfig::read_timeout_s, 1, 3600), true},
      {{"server.write_timeout_s", "TAKEDOWN_SERVER_WRITE_TIMEOUT_S", "--server.write_timeout_s", "seconds to send a response"},
       IntField(&http::ServerConfig::write_timeout_s, 1, 3600), true},
      {{"webhook.url", "TAKEDOWN_WEBHOOK_URL", "--webhook.url", "http://host:port/path the platform receives actions at (\"\": none)"},
       [](ServeConfig& c, const std::string& v) {
         if (!v.empty() && v.rfind("http://", 0) != 0) return InvalidArgument(fmt::format("'{}' is not an http:// URL", v));
         c.webhook_url = v;
         return Status::Ok();
       },
       false},
      {{"webhook.secret", "TAKEDOWN_WEBHOOK_SECRET", "--webhook.secret", "HMAC-SHA256 key signing each webhook (prefer the environment)"},
       [](ServeConfig& c, const std::string& v) {
         c.webhook_secret = v;
         return Status::Ok();
       },
       false},
      {{"webhook.workers", "TAKEDOWN_WEBHOOK_WORKERS", "--webhook.workers", "concurrent webhook deliveries"},
       IntField(&ServeConfig::webhook_workers, 1, 256), true},
      {{"workflow.restrict_chat_after", "TAKEDOWN_WORKFLOW_RESTRICT_CHAT_AFTER", "--workflow.restrict_chat_after",
        "confirmed removals in one chat that restrict it (0: never)"},
       IntField(&ServeConfig::restrict_chat_after, 0, 1000000000), true},
      {{"evidence.retention_days", "TAKEDOWN_EVIDENCE_RETENTION_DAYS", "--evidence.retention_days",
        "days reported media is kept, encrypted, for reviewers (0: hashed and dropped)"},
       IntField(&ServeConfig::evidence_retention_days, 0, 3650), true},
      {{"evidence.key_file", "TAKEDOWN_EVIDENCE_KEY_FILE", "--evidence.key_file",
        "32-byte key encrypting kept evidence (created, mode 600, when missing)"},
       [](ServeConfig& c, const std::string& v) {
         if (v.empty()) return InvalidArgument("the evidence key file path is empty");
         c.evidence_key_file = v;
         return Status::Ok();
       },
       false},
      {{"log.level", "TAKEDOWN_LOG_LEVEL", "--log.level", "trace, debug, info, warn or error"},
       [](ServeConfig& c, const std::string& v) {
         for (const char* l : {"trace", "debug", "info", "warn", "error"}) {
           if (v == l) {
             c.log_level = v;
             return Status::Ok();
           }
         }
         return InvalidArgument(fmt::format("'{}' is not one of trace, debug, info, warn, error", v));
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
      return InvalidArgument(fmt::format("{}:{}:{}: {}", config_path, where.line, where.column, e.description()));
    }
    // Every key in the file must be one we know: a misspelt key would otherwise be ignored.
    for (const auto& [section, node] : t) {
      const auto* tbl = node.as_table();
      if (tbl == nullptr) return InvalidArgument(fmt::format("{}: '{}' must be a table ([{}])", config_path, section.str(), section.str()));
      for (const auto& [name, value] : *tbl) {
        const std::string key = std::string(section.str()) + "." + std::string(name.str());
        const Binding* b = nullptr;
        for (const auto& cand : Bindings()) {
          if (cand.setting.key == key) b = &cand;
        }
        if (b == nullptr) return InvalidArgument(fmt::format("{}: unknown key '{}'", config_path, key));
        std::string text;
        if (b->is_int) {
          if (!value.is_integer()) return InvalidArgument(fmt::format("{}: '{}' must be an integer", config_path, key));
          text = std::to_string(value.as_integer()->get());
        } else {
          if (!value.is_string()) return InvalidArgument(fmt::format("{}: '{}' must be a string", config_path, key));
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
  return c;
}

}  // namespace takedown::cli
