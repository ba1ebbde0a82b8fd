// Internal to the model's codecs (model*.cc): reading a stored JSON document field by field,
// type-checked, with the first wrong field as the error; and the store record of a document.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "takedown/model.h"

namespace takedown::service::internal {

// Reads the fields of one stored JSON object, type-checked; the first field of the wrong type
// becomes the reader's error, naming the document and the field. Absent (or null) fields are
// the given default.
class FieldReader {
 public:
  FieldReader(const json& j, std::string where, std::string prefix = "")
      : j_(j), where_(std::move(where)), prefix_(std::move(prefix)) {
    if (!j_.is_object()) Fail("", "is not an object");
  }

  std::string Str(const char* key, std::string dflt = "") {
    const json* v = Find(key);
    if (v == nullptr) return dflt;
    if (!v->is_string()) return Fail(key, "is not a string"), dflt;
    return v->get<std::string>();
  }
  int64_t Int(const char* key, int64_t dflt = 0) {
    const json* v = Find(key);
    if (v == nullptr) return dflt;
    if (!v->is_number_integer()) return Fail(key, "is not an integer"), dflt;
    return v->get<int64_t>();
  }
  int Int32(const char* key, int dflt = 0) {
    const int64_t v = Int(key, dflt);
    if (v < INT32_MIN || v > INT32_MAX) return Fail(key, "is out of range"), dflt;
    return static_cast<int>(v);
  }
  double Double(const char* key, double dflt = 0) {
    const json* v = Find(key);
    if (v == nullptr) return dflt;
    if (!v->is_number()) return Fail(key, "is not a number"), dflt;
    return v->get<double>();
  }
  bool Bool(const char* key, bool dflt = false) {
    const json* v = Find(key);
    if (v == nullptr) return dflt;
    if (!v->is_boolean()) return Fail(key, "is not true or false"), dflt;
    return v->get<bool>();
  }
  template <typename E>
  E Enum(const char* key, E dflt) {
    const json* v = Find(key);
    if (v == nullptr) return dflt;
    if (v->is_string()) {
      if (auto e = EnumFromName<E>(v->get<std::string>())) return *e;
    }
    Fail(key, fmt::format("is not a {} ({})", EnumNames<E>::kWhat, EnumChoices<E>()));
    return dflt;
  }
  // An object field: a reader for it (an absent one reads as empty).
  FieldReader Object(const char* key) {
    const json* v = Find(key);
    static const json kEmpty = json::object();
    FieldReader r(v == nullptr ? kEmpty : *v, where_, prefix_ + key + ".");
    if (v != nullptr && !v->is_object()) Fail(key, "is not an object");
    return r;
  }
  bool Has(const char* key) const { return Find(key) != nullptr; }
  // An array field's elements (an absent one is empty).
  const json& Array(const char* key) {
    static const json kEmpty = json::array();
    const json* v = Find(key);
    if (v == nullptr) return kEmpty;
    if (!v->is_array()) return Fail(key, "is not an array"), kEmpty;
    return *v;
  }
  std::vector<std::string> Strings(const char* key) {
    std::vector<std::string> out;
    for (const auto& s : Array(key)) {
      if (!s.is_string()) return Fail(key, "is not an array of strings"), out;
      out.push_back(s.get<std::string>());
    }
    return out;
  }

  void Merge(const FieldReader& inner) {
    if (status_.ok() && !inner.status_.ok()) status_ = inner.status_;
  }
  const std::string& where() const { return where_; }
  const std::string& prefix() const { return prefix_; }
  const Status& status() const { return status_; }

  void Fail(const std::string& key, const std::string& what) {
    if (!status_.ok()) return;
    status_ = DataLoss(key.empty() && prefix_.empty()
                           ? fmt::format("{}: the stored document {}", where_, what)
                           : fmt::format("{}: {}{} {}", where_, prefix_, key, what));
  }

 private:
  const json* Find(const char* key) const {
    if (!j_.is_object()) return nullptr;
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }

  const json& j_;
  std::string where_, prefix_;
  Status status_;
};

// Parses a stored document's JSON, checking its kind; the id and created time come from the
// store's columns.
inline Result<json> ParseDoc(const store::DocRecord& d, std::string_view kind) {
  if (d.kind != kind) return NotFound(fmt::format("no {} {}", kind, d.id));
  json j = json::parse(d.doc, nullptr, false);
  if (j.is_discarded())
    return DataLoss(fmt::format("{} {}: the stored document is not JSON", kind, d.id));
  if (!j.is_object())
    return DataLoss(fmt::format("{} {}: the stored document is not an object", kind, d.id));
  return j;
}

inline store::DocRecord Record(std::string_view kind, int64_t id, int64_t owner,
                               std::string_view state, int64_t due_ms, const std::string& ukey,
                               const json& doc) {
  store::DocRecord r;
  r.id = id;
  r.kind = std::string(kind);
  r.owner = owner;
  r.state = std::string(state);
  r.due_ms = due_ms;
  r.ukey = ukey;
  r.doc = doc.dump();
  return r;
}

}  // namespace takedown::service::internal
