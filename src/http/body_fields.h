// The fields a JSON request body may carry, taken from the request schemas of the OpenAPI document
// (docs/openapi.json, the one description of the API), so that a misspelt field
// ("pdq_treshold") is refused with 400 naming it instead of being ignored, and the document and
// the behaviour cannot drift apart. An object schema with `properties` and without
// `additionalProperties` is closed; `$ref` and `allOf` are followed; arrays check their items.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace takedown::http {

class BodyFields {
 public:
  // The fields of `schema` (a schema object of `doc`, references resolved against doc's
  // components). InvalidArgument for a reference that does not resolve.
  static Result<BodyFields> FromSchema(const nlohmann::json& doc, const nlohmann::json& schema);

  // The unknown fields in a JSON body, as paths ("evidence[2].colour"), at most `limit` of them;
  // each with " (did you mean X?)" when a known field of the same object is one or two edits
  // away. Empty for a body that is not JSON: its handler names that problem.
  std::vector<std::string> Unknown(std::string_view body, size_t limit = 8) const;

  // "unknown field ..." / "unknown fields ...: ..." for a 400 answer, or that the body nests
  // deeper than kMaxDepth; empty when all is well.
  std::string Problem(std::string_view body) const;
  // No request of the API nests deeper than a few levels; a body of a million '[' would cost a
  // frame each here and a node each in the handler's parse.
  static constexpr size_t kMaxDepth = 64;

 private:
  struct Node {
    bool closed = false;                             // only `fields` may appear
    std::map<std::string, int, std::less<>> fields;  // name -> node index (-1: any value)
    int items = -1;                                  // an array's items, -1: any
  };
  Result<int> Compile(const nlohmann::json& doc, const nlohmann::json& schema, int depth);
  std::vector<Node> nodes_;
  friend class FieldsSax;
};

}  // namespace takedown::http
