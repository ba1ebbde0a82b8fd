// The codec of investigators' disclosure requests (model.h).
#include <fmt/format.h>

#include "takedown/model.h"
#include "takedown/model_reader.h"

namespace takedown::service {

using internal::FieldReader;
using internal::ParseDoc;
using internal::Record;

json ToJson(const Disclosure& d) {
  json items = json::array();
  for (const auto& it : d.items) {
    json j = {{"item", it.index}, {"decision", NameOf(it.decision)}};
    for (const auto& [k, v] : {std::pair{"content_id", &it.content_id},
                               {"pdq", &it.pdq},
                               {"md5", &it.md5},
                               {"sha256", &it.sha256}}) {
      if (!v->empty()) j[k] = *v;
    }
    if (it.decision != ItemDecision::kPending) {
      j.update(
          {{"reason", it.reason}, {"decided_by", it.decided_by}, {"decided_ms", it.decided_ms}});
    }
    if (it.decision == ItemDecision::kApproved) j["copies"] = it.copies;
    items.push_back(std::move(j));
  }
  const LegalProcess& p = d.process;
  json j = {{"status", NameOf(d.state)},
            {"owner_id", d.owner_id},
            {"requester_name", d.requester_name},
            {"legal_process",
             {{"kind", NameOf(p.kind)},
              {"reference", p.reference},
              {"issuing_authority", p.issuing_authority},
              {"jurisdiction", p.jurisdiction},
              {"scope", p.scope},
              {"emergency", p.emergency},
              {"covers", p.covers}}},
            {"items", items},
            {"filed_ms", d.filed_ms},
            {"due_ms", d.due_ms},
            {"ukey", d.ukey},
            {"audit_from_seq", d.audit_from_seq}};
  if (d.decided_ms != 0) j.update({{"decided_ms", d.decided_ms}, {"decided_by", d.decided_by}});
  if (d.package_doc != 0) {
    j.update({{"package_doc", d.package_doc},
              {"package_sha256", d.package_sha256},
              {"package_made_ms", d.package_made_ms},
              {"package_copies", d.package_copies},
              {"deliveries", d.deliveries}});
  }
  if (d.id != 0) j["id"] = d.id;
  if (d.created_ms != 0) j["created_ms"] = d.created_ms;
  return j;
}

store::DocRecord ToDoc(const Disclosure& d) {
  json j = ToJson(d);
  j.erase("id");
  j.erase("created_ms");
  return Record(kDisclosureDoc, d.id, d.owner_id, NameOf(d.state), d.due_ms, d.ukey, j);
}

Result<Disclosure> DisclosureFromDoc(const store::DocRecord& rec) {
  TD_ASSIGN_OR_RETURN(json j, ParseDoc(rec, kDisclosureDoc));
  FieldReader f(j, fmt::format("disclosure {}", rec.id));
  Disclosure d;
  d.id = rec.id;
  d.created_ms = rec.created_ms;
  d.state = f.Enum("status", DisclosureState::kPendingReview);
  d.owner_id = f.Int("owner_id", rec.owner);
  d.requester_name = f.Str("requester_name");
  FieldReader p = f.Object("legal_process");
  d.process.kind = p.Enum("kind", ProcessKind::kOther);
  d.process.reference = p.Str("reference");
  d.process.issuing_authority = p.Str("issuing_authority");
  d.process.jurisdiction = p.Str("jurisdiction");
  d.process.scope = p.Str("scope");
  d.process.emergency = p.Bool("emergency");
  d.process.covers = p.Strings("covers");
  f.Merge(p);
  const json& items = f.Array("items");
  for (size_t i = 0; i < items.size(); ++i) {
    FieldReader r(items[i], f.where(), fmt::format("items[{}].", i));
    DisclosureItem it;
    it.index = r.Int("item", static_cast<int64_t>(i));
    it.content_id = r.Str("content_id");
    it.pdq = r.Str("pdq");
    it.md5 = r.Str("md5");
    it.sha256 = r.Str("sha256");
    it.decision = r.Enum("decision", ItemDecision::kPending);
    it.reason = r.Str("reason");
    it.decided_by = r.Str("decided_by");
    it.decided_ms = r.Int("decided_ms");
    it.copies = r.Int("copies");
    f.Merge(r);
    d.items.push_back(std::move(it));
  }
  d.filed_ms = f.Int("filed_ms");
  d.due_ms = f.Int("due_ms", rec.due_ms);
  d.ukey = f.Str("ukey", rec.ukey);
  d.audit_from_seq = f.Int("audit_from_seq");
  d.decided_ms = f.Int("decided_ms");
  d.decided_by = f.Str("decided_by");
  d.package_doc = f.Int("package_doc");
  d.package_sha256 = f.Str("package_sha256");
  d.package_made_ms = f.Int("package_made_ms");
  d.package_copies = f.Int("package_copies");
  d.deliveries = f.Int("deliveries");
  TD_RETURN_IF_ERROR(f.status());
  return d;
}

json ToJson(const Hold& h) {
  json ext = json::array();
  for (const auto& e : h.extensions) {
    ext.push_back(
        {{"at_ms", e.at_ms}, {"until_ms", e.until_ms}, {"by", e.by}, {"reason", e.reason}});
  }
  json j = {{"status", NameOf(h.state)},
            {"owner_id", h.owner_id},
            {"reason", h.reason},
            {"placed_by", h.placed_by},
            {"legal_reference", h.legal_reference},
            {"placed_ms", h.placed_ms},
            {"until_ms", h.until_ms},
            {"content_ids", h.content_ids},
            {"account_ids", h.account_ids},
            {"extensions", ext},
            {"preserve_action_ids", h.preserve_action_ids},
            {"ukey", h.ukey}};
  if (h.request_id != 0) j["request_id"] = h.request_id;
  if (h.disclosure_id != 0) j["disclosure_id"] = h.disclosure_id;
  if (h.id != 0) j["id"] = h.id;
  if (h.created_ms != 0) j["created_ms"] = h.created_ms;
  return j;
}

store::DocRecord ToDoc(const Hold& h) {
  json j = ToJson(h);
  j.erase("id");
  j.erase("created_ms");
  return Record(kHoldDoc, h.id, h.owner_id, NameOf(h.state), h.until_ms, h.ukey, j);
}

Result<Hold> HoldFromDoc(const store::DocRecord& rec) {
  TD_ASSIGN_OR_RETURN(json j, ParseDoc(rec, kHoldDoc));
  FieldReader f(j, fmt::format("hold {}", rec.id));
  Hold h;
  h.id = rec.id;
  h.created_ms = rec.created_ms;
  h.state = f.Enum("status", HoldState::kActive);
  h.owner_id = f.Int("owner_id", rec.owner);
  h.request_id = f.Int("request_id");
  h.disclosure_id = f.Int("disclosure_id");
  h.reason = f.Str("reason");
  h.placed_by = f.Str("placed_by");
  h.legal_reference = f.Str("legal_reference");
  h.placed_ms = f.Int("placed_ms");
  h.until_ms = f.Int("until_ms", rec.due_ms);
  h.content_ids = f.Strings("content_ids");
  h.account_ids = f.Strings("account_ids");
  const json& ext = f.Array("extensions");
  for (size_t i = 0; i < ext.size(); ++i) {
    FieldReader r(ext[i], f.where(), fmt::format("extensions[{}].", i));
    h.extensions.push_back({r.Int("at_ms"), r.Int("until_ms"), r.Str("by"), r.Str("reason")});
    f.Merge(r);
  }
  for (const auto& v : f.Array("preserve_action_ids")) {
    if (!v.is_number_integer()) {
      f.Fail("preserve_action_ids", "is not an array of integers");
      break;
    }
    h.preserve_action_ids.push_back(v.get<int64_t>());
  }
  h.ukey = f.Str("ukey", rec.ukey);
  TD_RETURN_IF_ERROR(f.status());
  return h;
}

}  // namespace takedown::service
