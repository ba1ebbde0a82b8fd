#include "http/request_parse.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "hash/hash256.h"
#include "hash/vpdq.h"
#include "intake/notice.h"
#include "match/signals_json.h"
#include "match/video_match.h"

namespace takedown::http {

using nlohmann::json;

namespace {

bool IsLowerHex(const std::string& s, size_t len) {
  return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<std::vector<uint8_t>> MediaField(const json& j) {
  if (!j.contains("media") || j["media"].is_null()) return std::vector<uint8_t>();
  if (!j["media"].is_string()) return InvalidArgument("field \"media\" must be a base64 string");
  return Base64Decode(j["media"].get_ref<const std::string&>());
}

}  // namespace

Result<json> ParseJsonObject(const std::string& content_type, const std::string& body) {
  if (content_type.rfind("application/json", 0) != 0) {
    return Unsupported(fmt::format("Content-Type must be application/json, not '{}'",
                                   content_type.substr(0, 100)));
  }
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("the body is not valid JSON");
  if (!j.is_object()) return InvalidArgument("the body must be a JSON object");
  return j;
}

Result<std::vector<uint8_t>> Base64Decode(const std::string& in) {
  std::string s;
  s.reserve(in.size());
  for (char c : in) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') s += c;
  }
  if (s.size() % 4 == 1) return InvalidArgument("\"media\": not base64 (truncated)");
  while (s.size() % 4 != 0) s += '=';
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool pad_ok = c == '=' && (i + 1 == s.size() || (i + 2 == s.size() && s.back() == '='));
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || pad_ok;
    if (!ok) {
      const std::string shown = std::isprint(static_cast<unsigned char>(c))
                                    ? fmt::format("'{}'", c)
                                    : fmt::format("byte 0x{:02x}", static_cast<unsigned char>(c));
      return InvalidArgument(
          fmt::format("\"media\": not base64 ({} at position {})", shown, i + 1));
    }
  }
  std::vector<uint8_t> out(s.size() / 4 * 3);
  if (s.empty()) return out;
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()),
                                static_cast<int>(s.size()));
  if (n < 0) return InvalidArgument("\"media\": not base64");
  size_t pad = 0;
  if (s.back() == '=') ++pad;
  if (s.size() > 1 && s[s.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

Result<std::string> StringField(const json& j, const char* name, bool required, size_t max_len) {
  if (!j.contains(name) || j[name].is_null()) {
    if (required) return InvalidArgument(fmt::format("missing field \"{}\"", name));
    return std::string();
  }
  if (!j[name].is_string())
    return InvalidArgument(fmt::format("field \"{}\" must be a string", name));
  std::string v = j[name].get<std::string>();
  if (v.size() > max_len)
    return InvalidArgument(fmt::format("field \"{}\" is longer than {} characters", name, max_len));
  if (required && v.empty()) return InvalidArgument(fmt::format("field \"{}\" is empty", name));
  return v;
}

Result<service::Signals> ParseSignals(const json& j) {
  service::Signals s;
  if (j.contains("pdq") && !j["pdq"].is_null()) {
    if (!j["pdq"].is_string())
      return InvalidArgument("field \"pdq\" must be a string of 64 hex digits");
    auto h = hash::Hash256::FromHex(j["pdq"].get_ref<const std::string&>());
    if (!h.ok()) return h.status().WithContext("field \"pdq\"");
    s.pdq = *h;
  }
  if (j.contains("quality") && !j["quality"].is_null()) {
    if (!j["quality"].is_number_integer())
      return InvalidArgument("field \"quality\" must be an integer 0..100");
    const int64_t q = j["quality"].get<int64_t>();
    if (q < 0 || q > 100) return InvalidArgument("field \"quality\" must be an integer 0..100");
    s.quality = static_cast<int>(q);
  }
  TD_ASSIGN_OR_RETURN(s.md5, StringField(j, "md5", false, 32));
  TD_ASSIGN_OR_RETURN(s.sha256, StringField(j, "sha256", false, 64));
  if (!s.md5.empty() && !IsLowerHex(s.md5, 32))
    return InvalidArgument("field \"md5\" must be 32 lowercase hex digits");
  if (!s.sha256.empty() && !IsLowerHex(s.sha256, 64))
    return InvalidArgument("field \"sha256\" must be 64 lowercase hex digits");
  return s;
}

Result<KeyRequest> ParseKeyRequest(const std::string& content_type, const std::string& body) {
  TD_ASSIGN_OR_RETURN(json j, ParseJsonObject(content_type, body));
  KeyRequest k;
  TD_ASSIGN_OR_RETURN(k.name, StringField(j, "name", true, 100));
  TD_ASSIGN_OR_RETURN(std::string role, StringField(j, "role", true, 20));
  auto r = service::ParseRole(role);
  if (!r.ok()) return r.status().WithContext("field \"role\"");
  k.role = *r;
  return k;
}

Result<service::BankSpec> ParseBankRequest(const std::string& content_type,
                                           const std::string& body) {
  TD_ASSIGN_OR_RETURN(json j, ParseJsonObject(content_type, body));
  service::BankSpec spec;
  TD_ASSIGN_OR_RETURN(spec.name, StringField(j, "name", true, 100));
  TD_ASSIGN_OR_RETURN(spec.category, StringField(j, "category", true, 100));
  TD_ASSIGN_OR_RETURN(std::string action, StringField(j, "action", false, 20));
  if (!action.empty()) spec.action = action;
  if (j.contains("pdq_threshold")) {
    if (!j["pdq_threshold"].is_number_integer())
      return InvalidArgument("field \"pdq_threshold\" must be an integer 0..64");
    const int64_t t = j["pdq_threshold"].get<int64_t>();
    if (t < 0 || t > 64) return InvalidArgument("field \"pdq_threshold\" must be an integer 0..64");
    spec.pdq_threshold = static_cast<int>(t);
  }
  return spec;
}

Result<service::EntrySpec> ParseEntryRequest(const std::string& content_type,
                                             const std::string& body, const std::string& caller) {
  TD_ASSIGN_OR_RETURN(json j, ParseJsonObject(content_type, body));
  service::EntrySpec spec;
  TD_ASSIGN_OR_RETURN(spec.signals, ParseSignals(j));
  TD_ASSIGN_OR_RETURN(spec.media, MediaField(j));
  TD_ASSIGN_OR_RETURN(spec.source, StringField(j, "source", false));
  TD_ASSIGN_OR_RETURN(spec.request_id, StringField(j, "request_id", false));
  if (spec.source.empty()) spec.source = caller;
  if (spec.media.empty() && !spec.signals.pdq && spec.signals.md5.empty() &&
      spec.signals.sha256.empty()) {
    return InvalidArgument(
        "an entry needs \"media\" or at least one of \"pdq\", \"md5\", \"sha256\"");
  }
  return spec;
}

namespace {

Status FillIds(const json& j, service::CheckRequest& r) {
  TD_ASSIGN_OR_RETURN(r.content_id, StringField(j, "content_id", true));
  TD_ASSIGN_OR_RETURN(r.chat_id, StringField(j, "chat_id", false));
  TD_ASSIGN_OR_RETURN(r.uploader_id, StringField(j, "uploader_id", false));
  return Status::Ok();
}

}  // namespace

Result<service::CheckRequest> ParseCheckRequest(const std::string& content_type,
                                                const std::string& body) {
  TD_ASSIGN_OR_RETURN(json j, ParseJsonObject(content_type, body));
  service::CheckRequest r;
  TD_RETURN_IF_ERROR(FillIds(j, r));
  if (j.contains("signals") && !j["signals"].is_null()) {
    if (!j["signals"].is_object()) return InvalidArgument("field \"signals\" must be an object");
    auto sig = ParseSignals(j["signals"]);
    if (!sig.ok()) return sig.status().WithContext("signals");
    r.signals = *sig;
  }
  TD_ASSIGN_OR_RETURN(r.media, MediaField(j));
  if (r.media.empty() && !r.signals.pdq && r.signals.md5.empty() && r.signals.sha256.empty()) {
    return InvalidArgument(
        "a check needs \"media\" or \"signals\" with at least one of \"pdq\", \"md5\", \"sha256\"");
  }
  return r;
}

Result<std::vector<service::CheckRequest>> ParseBatchRequest(const std::string& content_type,
                                                             const std::string& body) {
  TD_ASSIGN_OR_RETURN(json j, ParseJsonObject(content_type, body));
  if (!j.contains("items") || !j["items"].is_array())
    return InvalidArgument("field \"items\" must be an array");
  const auto& items = j["items"];
  if (items.size() > kMaxBatchItems)
    return ResourceExhausted(
        fmt::format("at most {} items a batch, not {}", kMaxBatchItems, items.size()));
  std::vector<service::CheckRequest> rs;
  rs.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    const std::string where = fmt::format("items[{}]", i);
    if (!it.is_object()) return InvalidArgument(where + " must be an object");
    service::CheckRequest r;
    if (Status st = FillIds(it, r); !st.ok()) return st.WithContext(where);
    // Signals flat in the item, or nested under "signals" as in /v1/check.
    auto sig =
        ParseSignals(it.contains("signals") && it["signals"].is_object() ? it["signals"] : it);
    if (!sig.ok()) return sig.status().WithContext(where);
    r.signals = *sig;
    rs.push_back(std::move(r));
  }
  return rs;
}

namespace {

// One jsonl line of a hash list: plain signals (pdq, quality, md5, sha256), with an image's robust
// signals ("robust", as a request's evidence carries them; or the "signals" and "variants" of a
// `takedown hash --format jsonl --bank` line), or a video (its "video" frames' robust signals, or
// its "vpdq" frames).
Result<service::Signals> ImportLine(const json& j) {
  TD_ASSIGN_OR_RETURN(service::Signals s, ParseSignals(j));
  if (service::IsVideoLine(j)) {
    TD_ASSIGN_OR_RETURN(s.video, service::VideoFromListLine(j));
    return s;
  }
  // Robust signals count only with the bank side's variants: a line of `takedown hash --format
  // jsonl` without --bank (an upload's signals) stays a hash-only entry, which the gate matches
  // through the upload's own dihedral hashes, box and layers.
  if (j.contains("variants")) {
    std::string file;
    TD_ASSIGN_OR_RETURN(const match::FileSignals f, match::SignalsFromJson(j, &file));
    if (!s.pdq) return InvalidArgument("robust signals come with the image's \"pdq\"");
    if (f.variants.size() > intake::kMaxRobustVariants)
      return InvalidArgument(fmt::format("more than {} variants", intake::kMaxRobustVariants));
    s.robust = service::RobustOfFile(f, /*upload=*/false);
  } else if (j.contains("robust")) {
    if (!s.pdq) return InvalidArgument("\"robust\" comes with the image's \"pdq\"");
    intake::Problems problems;
    const auto claim = intake::ParseRobustClaim(j["robust"], "robust", &problems);
    if (!claim) return intake::ProblemsStatus(problems);
    if (claim->variants.empty())
      return InvalidArgument(
          "\"robust\" needs the bank side's \"variants\" (without them, leave \"robust\" out: "
          "the entry is then matched as a hash-only one)");
    s.robust = std::make_shared<const service::RobustImage>(
        service::RobustImage{claim->norm, claim->box, claim->variants, {}, {}, {}, {}});
  }
  if (!s.pdq && s.md5.empty() && s.sha256.empty())
    return InvalidArgument("none of pdq, md5, sha256, vpdq");
  return s;
}

}  // namespace

Result<std::vector<service::Signals>> ParseImport(const std::string& format,
                                                  const std::string& signal,
                                                  const std::string& body, size_t max_entries) {
  if (format == "vpdq") {
    // One video's vPDQ in the reference's text format: one entry.
    auto frames = hash::ParseVpdqText(body);
    if (!frames.ok()) return frames.status();
    if (frames->empty()) return InvalidArgument("no vPDQ frames in the body");
    if (frames->size() > service::kMaxListVideoFrames)
      return ResourceExhausted(
          fmt::format("more than {} vPDQ frames in one video", service::kMaxListVideoFrames));
    service::Signals s;
    s.video = std::make_shared<const match::VideoItem>(match::VideoItemFromVpdq(*frames, 0, 0));
    return std::vector<service::Signals>{std::move(s)};
  }
  if (format != "text" && format != "jsonl")
    return InvalidArgument(
        fmt::format("format must be text, jsonl or vpdq, not '{}'", format.substr(0, 40)));
  if (format == "text" && signal != "pdq" && signal != "md5" && signal != "sha256") {
    return InvalidArgument(
        fmt::format("signal must be pdq, md5 or sha256, not '{}'", signal.substr(0, 40)));
  }
  std::vector<service::Signals> out;
  size_t line_no = 0;
  for (size_t pos = 0; pos < body.size();) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string::npos) nl = body.size();
    std::string line = body.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    size_t lead = 0;
    while (lead < line.size() && (line[lead] == ' ' || line[lead] == '\t')) ++lead;
    line.erase(0, lead);
    if (line.empty() || line[0] == '#') continue;
    if (out.size() >= max_entries)
      return ResourceExhausted(fmt::format("more than {} entries (line {})", max_entries, line_no));
    const std::string where = fmt::format("line {}", line_no);
    service::Signals s;
    if (format == "jsonl") {
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return InvalidArgument(where + ": not a JSON object");
      auto sig = ImportLine(j);
      if (!sig.ok()) return sig.status().WithContext(where);
      s = std::move(*sig);
    } else if (signal == "pdq") {
      const size_t comma = line.find(',');
      auto h = hash::Hash256::FromHex(line.substr(0, comma));
      if (!h.ok()) return h.status().WithContext(where);
      s.pdq = *h;
      if (comma != std::string::npos) {
        const size_t end = line.find(',', comma + 1);
        const std::string q =
            line.substr(comma + 1, end == std::string::npos ? std::string::npos : end - comma - 1);
        int v = -1;
        const bool digits =
            !q.empty() && q.size() <= 3 &&
            std::all_of(q.begin(), q.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (digits) v = std::stoi(q);
        if (v < 0 || v > 100)
          return InvalidArgument(
              fmt::format("{}: quality '{}' is not an integer 0..100", where, q.substr(0, 20)));
        s.quality = v;
      }
    } else {
      const size_t len = signal == "md5" ? 32 : 64;
      std::string hex = line;
      std::transform(hex.begin(), hex.end(), hex.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (!IsLowerHex(hex, len))
        return InvalidArgument(fmt::format("{}: not a {} ({} hex digits)", where, signal, len));
      (signal == "md5" ? s.md5 : s.sha256) = hex;
    }
    out.push_back(std::move(s));
  }
  if (out.empty()) return InvalidArgument("no entries in the body");
  return out;
}

Result<RemovalRequestBody> ParseRemovalRequest(const std::string& content_type,
                                               const std::string& body) {
  TD_ASSIGN_OR_RETURN(auto j, ParseJsonObject(content_type, body));
  RemovalRequestBody out;
  if (j.contains("evidence") && j["evidence"].is_array()) {
    for (size_t i = 0; i < j["evidence"].size(); ++i) {
      auto& ev = j["evidence"][i];
      if (!ev.is_object() || !ev.contains("media")) continue;
      if (!ev["media"].is_string())
        return InvalidArgument(fmt::format("evidence[{}].media: must be a base64 string", i));
      auto bytes = Base64Decode(ev["media"].get<std::string>());
      if (!bytes.ok())
        return InvalidArgument(fmt::format("evidence[{}].media: {}", i, bytes.status().message()));
      if (bytes->empty()) return InvalidArgument(fmt::format("evidence[{}].media: empty", i));
      out.media[i] = std::move(*bytes);
      ev.erase("media");
    }
  }
  out.body = std::move(j);
  return out;
}

}  // namespace takedown::http
