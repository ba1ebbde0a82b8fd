// libFuzzer target for the request parsers (src/http/request_parse.h): every body a client can
// send to a JSON route, a hash-list import, a base64 media field. The first byte picks the
// parser. Whatever the input, a parser returns a value or an error: no crash, no hang, no
// sanitizer report. Run: scripts/fuzz.sh [SECONDS].
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/body_fields.h"
#include "http/request_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string json = "application/json";
  using namespace takedown::http;
  // The unknown-field walker over a schema shaped like the API's (nested objects, arrays of
  // objects, a $ref, allOf, an open map).
  static const BodyFields fields = [] {
    const auto doc = nlohmann::json::parse(R"({"components":{"schemas":{
      "Sig":{"type":"object","properties":{"pdq":{"type":"string"},"md5":{"type":"string"}}},
      "Item":{"allOf":[{"$ref":"#/components/schemas/Sig"},
                       {"type":"object","properties":{"content_id":{"type":"string"},
                        "signals":{"$ref":"#/components/schemas/Sig"}}}]}}},
      "schema":{"type":"object","properties":{"items":{"type":"array",
        "items":{"$ref":"#/components/schemas/Item"}},
        "meta":{"type":"object","additionalProperties":{"type":"integer"}}}}})");
    return BodyFields::FromSchema(doc, doc["schema"]).value();
  }();
  switch (data[0] % 12) {
    case 0:
      (void)ParseCheckRequest(json, body);
      break;
    case 1:
      (void)ParseBatchRequest(json, body);
      break;
    case 2:
      (void)ParseEntryRequest(json, body, "key:1");
      break;
    case 3:
      (void)ParseBankRequest(json, body);
      break;
    case 4:
      (void)ParseKeyRequest(json, body);
      break;
    case 5:
      (void)ParseImport("text", "pdq", body, 1000);
      break;
    case 6:
      (void)ParseImport("text", data[0] & 16 ? "md5" : "sha256", body, 1000);
      break;
    case 7:
      (void)ParseImport("jsonl", "pdq", body, 1000);
      break;
    case 8:
      (void)Base64Decode(body);
      break;
    case 9:
      (void)ParseRemovalRequest(json, body);
      break;
    case 10:
      (void)fields.Problem(body);
      break;
    case 11:
      (void)ParseImport("vpdq", "pdq", body, 1000);
      break;
  }
  return 0;
}
