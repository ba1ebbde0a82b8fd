#include "http/body_fields.h"

#include <fmt/format.h>

#include <algorithm>

namespace takedown::http {

using nlohmann::json;

namespace {

// At most two edits apart (Levenshtein), for "did you mean".
bool Near(std::string_view a, std::string_view b) {
  if (a.size() > b.size() + 2 || b.size() > a.size() + 2) return false;
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()] <= 2;
}

Result<const json*> Resolve(const json& doc, const json& schema) {
  const json* s = &schema;
  for (int hops = 0; s->is_object() && s->contains("$ref"); ++hops) {
    const json& ref = (*s)["$ref"];
    if (!ref.is_string() || hops > 32) return InvalidArgument("bad $ref in the OpenAPI document");
    const std::string& r = ref.get_ref<const std::string&>();
    if (r.rfind("#/", 0) != 0) return InvalidArgument(fmt::format("unresolvable $ref {}", r));
    const json* at = &doc;
    try {
      at = &doc.at(json::json_pointer(r.substr(1)));
    } catch (const json::exception&) {
      return InvalidArgument(fmt::format("unresolvable $ref {}", r));
    }
    s = at;
  }
  return s;
}

}  // namespace

Result<int> BodyFields::Compile(const json& doc, const json& schema, int depth) {
  if (depth > 32) return InvalidArgument("the OpenAPI request schema nests too deep");
  TD_ASSIGN_OR_RETURN(const json* s, Resolve(doc, schema));
  if (!s->is_object()) return -1;
  const int me = static_cast<int>(nodes_.size());
  nodes_.emplace_back();
  // allOf: the union of the parts' fields.
  std::vector<const json*> parts = {s};
  if (s->contains("allOf") && (*s)["allOf"].is_array()) {
    for (const auto& p : (*s)["allOf"]) {
      TD_ASSIGN_OR_RETURN(const json* r, Resolve(doc, p));
      parts.push_back(r);
    }
  }
  bool has_properties = false, open = false;
  for (const json* p : parts) {
    if (!p->is_object()) continue;
    if (p->contains("additionalProperties") && (*p)["additionalProperties"] != json(false))
      open = true;
    if (p->contains("oneOf") || p->contains("anyOf")) open = true;  // not needed by our document
    if (p->contains("properties") && (*p)["properties"].is_object()) {
      has_properties = true;
      for (const auto& [name, sub] : (*p)["properties"].items()) {
        TD_ASSIGN_OR_RETURN(int child, Compile(doc, sub, depth + 1));
        nodes_[static_cast<size_t>(me)].fields[name] = child;
      }
    }
    if (p->contains("items")) {
      TD_ASSIGN_OR_RETURN(int items, Compile(doc, (*p)["items"], depth + 1));
      nodes_[static_cast<size_t>(me)].items = items;
    }
  }
  nodes_[static_cast<size_t>(me)].closed = has_properties && !open;
  return me;
}

Result<BodyFields> BodyFields::FromSchema(const json& doc, const json& schema) {
  BodyFields f;
  TD_ASSIGN_OR_RETURN(int root, f.Compile(doc, schema, 0));
  if (root < 0) f.nodes_.emplace_back();  // not an object schema: nothing to check
  return f;
}

// Walks the body without building it: a stack of the schema nodes of the open objects and arrays.
class FieldsSax {
 public:
  FieldsSax(const BodyFields& f, size_t limit) : f_(f), limit_(limit) {}
  std::vector<std::string> unknown;

  bool null() { return Value(); }
  bool boolean(bool) { return Value(); }
  bool number_integer(json::number_integer_t) { return Value(); }
  bool number_unsigned(json::number_unsigned_t) { return Value(); }
  bool number_float(json::number_float_t, const std::string&) { return Value(); }
  bool string(std::string&) { return Value(); }
  bool binary(json::binary_t&) { return Value(); }
  bool start_object(size_t) { return Open(false); }
  bool start_array(size_t) { return Open(true); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool key(std::string& k) {
    Frame& top = stack_.back();
    top.key = k;
    top.child = -1;
    if (top.node < 0) return true;
    const auto& node = f_.nodes_[static_cast<size_t>(top.node)];
    auto it = node.fields.find(k);
    if (it != node.fields.end()) {
      top.child = it->second;
      return true;
    }
    if (!node.closed) return true;
    std::string path = Path() + (stack_.size() > 1 ? "." : "") + k;
    for (const auto& [name, unused] : node.fields) {
      if (Near(k, name)) {
        path += fmt::format(" (did you mean {}?)", name);
        break;
      }
    }
    unknown.push_back(std::move(path));
    return unknown.size() < limit_;
  }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception&) {
    failed = true;
    return false;
  }
  bool failed = false;
  bool too_deep = false;

 private:
  struct Frame {
    int node;
    bool array;
    size_t index = 0;
    std::string key;
    int child = -1;
  };
  // The schema node of the value that starts now.
  int Next() const {
    if (stack_.empty()) return 0;
    const Frame& top = stack_.back();
    if (top.node < 0) return -1;
    return top.array ? f_.nodes_[static_cast<size_t>(top.node)].items : top.child;
  }
  bool Value() {
    if (!stack_.empty() && stack_.back().array) ++stack_.back().index;
    return true;
  }
  bool Open(bool array) {
    if (stack_.size() >= BodyFields::kMaxDepth) {
      too_deep = true;
      return false;
    }
    stack_.push_back({Next(), array});
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return Value();
  }
  // "evidence[2]" for the innermost open object, from the frames below it.
  std::string Path() const {
    std::string p;
    for (size_t i = 0; i + 1 < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      if (f.array)
        p += fmt::format("[{}]", f.index);
      else
        p += (p.empty() ? "" : ".") + f.key;
    }
    return p;
  }
  const BodyFields& f_;
  size_t limit_;
  std::vector<Frame> stack_;
};

namespace {

struct Walk {
  std::vector<std::string> unknown;
  bool too_deep = false;
};

}  // namespace

static Walk WalkBody(const BodyFields& f, std::string_view body, size_t limit) {
  FieldsSax sax(f, std::max<size_t>(limit, 1));
  json::sax_parse(body.begin(), body.end(), &sax, json::input_format_t::json,
                  /*strict=*/true);
  if (sax.too_deep) return {{}, true};
  if (sax.failed) return {};
  return {std::move(sax.unknown), false};
}

std::vector<std::string> BodyFields::Unknown(std::string_view body, size_t limit) const {
  return WalkBody(*this, body, limit).unknown;
}

std::string BodyFields::Problem(std::string_view body) const {
  Walk w = WalkBody(*this, body, 8);
  if (w.too_deep) return fmt::format("the body nests deeper than {} levels", kMaxDepth);
  auto& u = w.unknown;
  if (u.empty()) return "";
  return fmt::format("unknown field{} {} (the request body's fields are in /openapi.json)",
                     u.size() == 1 ? "" : "s", fmt::join(u, ", "));
}

}  // namespace takedown::http
