// Request bodies to domain requests: the parsing every route shares, apart from the server so
// that it can be tested and fuzzed alone (fuzz/request_parse_fuzz.cc). Errors name the field and
// what was expected; nothing here throws.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "takedown/service.h"

namespace takedown::http {

constexpr size_t kMaxBatchItems = 10000;

// The body as a JSON object; Unsupported unless Content-Type is application/json.
Result<nlohmann::json> ParseJsonObject(const std::string& content_type, const std::string& body);

// Standard base64 (whitespace ignored, padding optional); errors name the first bad character.
Result<std::vector<uint8_t>> Base64Decode(const std::string& in);

// A string field: missing is "" unless required; longer than max_len is an error.
Result<std::string> StringField(const nlohmann::json& j, const char* name, bool required,
                                size_t max_len = 256);

// pdq (64 hex digits), quality (0..100), md5 (32 lowercase hex), sha256 (64 lowercase hex).
Result<service::Signals> ParseSignals(const nlohmann::json& j);

struct KeyRequest {
  std::string name;
  service::Role role;
};
Result<KeyRequest> ParseKeyRequest(const std::string& content_type, const std::string& body);
Result<service::BankSpec> ParseBankRequest(const std::string& content_type,
                                           const std::string& body);
// source defaults to the caller when absent.
Result<service::EntrySpec> ParseEntryRequest(const std::string& content_type,
                                             const std::string& body, const std::string& caller);
Result<service::CheckRequest> ParseCheckRequest(const std::string& content_type,
                                                const std::string& body);
// At most kMaxBatchItems (ResourceExhausted beyond); an error names the item: "items[12]: ...".
Result<std::vector<service::CheckRequest>> ParseBatchRequest(const std::string& content_type,
                                                             const std::string& body);

// A hash list to import into a bank. format "text": one hash a line ("#" comments and blank lines
// skipped), of the kind signal names: pdq lines may be "hex" or "hex,quality[,anything]" (the
// CSV of `takedown hash`); md5 and sha256 lines are the hex digest. format "jsonl": one JSON object
// a line with any of pdq, quality, md5, sha256 (the output of `takedown hash --format jsonl`).
// Errors name the line. At most max_entries entries.
// A removal request's body: the JSON object, with each evidence[i].media (base64) decoded into
// media[i] and removed from the object. Errors name the evidence item.
struct RemovalRequestBody {
  nlohmann::json body;
  std::map<size_t, std::vector<uint8_t>> media;
};
Result<RemovalRequestBody> ParseRemovalRequest(const std::string& content_type,
                                               const std::string& body);

Result<std::vector<service::Signals>> ParseImport(const std::string& format,
                                                  const std::string& signal,
                                                  const std::string& body, size_t max_entries);

}  // namespace takedown::http
