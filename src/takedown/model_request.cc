// The codecs of removal requests and their evidence items (model.h).
#include <fmt/format.h>

#include <algorithm>

#include "takedown/model.h"
#include "takedown/model_reader.h"

namespace takedown::service {

using internal::FieldReader;
using internal::ParseDoc;
using internal::Record;

namespace {

EvidenceItem EvidenceFromJson(const json& j, FieldReader& parent, size_t i) {
  FieldReader f(j, parent.where(), fmt::format("{}evidence[{}].", parent.prefix(), i));
  EvidenceItem e;
  e.index = f.Int("index", static_cast<int64_t>(i));
  e.kind = f.Enum("kind", EvidenceKind::kNone);
  if (f.Has("media_bytes")) e.media_bytes = f.Int("media_bytes");
  e.usable = f.Bool("usable");
  e.problem = f.Str("problem");
  if (f.Has("video")) {
    FieldReader v = f.Object("video");
    e.video = EvidenceItem::Video{v.Int("frames"), v.Double("duration_s")};
    f.Merge(v);
  }
  e.pdq = f.Str("pdq");
  e.quality = f.Int32("quality");
  e.md5 = f.Str("md5");
  e.sha256 = f.Str("sha256");
  e.message_link = f.Str("message_link");
  e.content_id = f.Str("content_id");
  if (f.Has("resolved")) e.resolved = f.Bool("resolved");
  e.content_row = f.Int("content_row");
  if (f.Has("from_index")) e.from_index = f.Strings("from_index");
  e.video_signals = f.Int("video_signals");
  e.image_signals = f.Int("image_signals");
  e.retained_until = f.Str("retained_until");
  e.entry_id = f.Int("entry_id");
  e.hashing = f.Bool("hashing");
  parent.Merge(f);
  return e;
}

}  // namespace

// ------------------------------------------------------------------------------------------
// Requests

json ToJson(const EvidenceItem& e) {
  json j = {{"index", e.index}, {"usable", e.usable}};
  if (e.kind != EvidenceKind::kNone) j["kind"] = NameOf(e.kind);
  if (e.media_bytes) j["media_bytes"] = *e.media_bytes;
  if (!e.problem.empty()) j["problem"] = e.problem;
  if (e.video) j["video"] = {{"frames", e.video->frames}, {"duration_s", e.video->duration_s}};
  if (!e.pdq.empty()) {
    j["pdq"] = e.pdq;
    j["quality"] = e.quality;
  }
  if (!e.md5.empty()) j["md5"] = e.md5;
  if (!e.sha256.empty()) j["sha256"] = e.sha256;
  if (!e.message_link.empty()) j["message_link"] = e.message_link;
  if (!e.content_id.empty()) j["content_id"] = e.content_id;
  if (e.resolved) j["resolved"] = *e.resolved;
  if (e.content_row != 0) j["content_row"] = e.content_row;
  if (!e.from_index.empty()) j["from_index"] = e.from_index;
  if (e.video_signals != 0) j["video_signals"] = e.video_signals;
  if (e.image_signals != 0) j["image_signals"] = e.image_signals;
  if (!e.retained_until.empty()) j["retained_until"] = e.retained_until;
  if (e.entry_id != 0) j["entry_id"] = e.entry_id;
  if (e.hashing) j["hashing"] = true;
  return j;
}

json RequesterView(const EvidenceItem& e) {
  json j = ToJson(e);
  for (const char* k :
       {"content_row", "resolved", "from_index", "video_signals", "image_signals", "entry_id"}) {
    j.erase(k);
  }
  for (const auto& k : e.from_index) {
    j.erase(k);
    if (k == "pdq") j.erase("quality");
  }
  if (!e.content_id.empty()) {
    // Whether an item naming content is usable, or why not, says whether the content exists.
    j.erase("usable");
    const bool platform_pdq =
        std::find(e.from_index.begin(), e.from_index.end(), "pdq") != e.from_index.end();
    if (e.problem == kNotInContentIndex || platform_pdq) j.erase("problem");
  }
  return j;
}

json ToJson(const Request& r) {
  const Notice& n = r.notice;
  json notice = {{"explanation", n.explanation},
                 {"notifier", {{"name", n.notifier_name}, {"email", n.notifier_email}}},
                 {"anonymous", n.anonymous},
                 {"accuracy_statement", n.accuracy_statement},
                 {"good_faith_statement", n.good_faith_statement},
                 {"signature", n.signature},
                 {"legal_basis", n.legal_basis},
                 {"issuing_authority", n.issuing_authority},
                 {"case_reference", n.case_reference},
                 {"territorial_scope", n.territorial_scope}};
  json evidence = json::array();
  for (const auto& e : r.evidence) evidence.push_back(ToJson(e));
  json history = json::array();
  for (const auto& [s, t] : r.history) history.push_back({{"status", NameOf(s)}, {"time_ms", t}});
  json requester = {
      {"key_id", r.requester_key_id}, {"name", r.requester_name}, {"profile", r.requester_profile}};
  if (!r.requester_member_state.empty()) requester["member_state"] = r.requester_member_state;
  json j = {{"status", NameOf(r.state)},
            {"owner_id", r.owner_id},
            {"requester", requester},
            {"source_type", NameOf(r.source_type)},
            {"trusted", r.trusted},
            {"priority", r.priority},
            {"category", NameOf(r.category)},
            {"notice", notice},
            {"evidence", evidence},
            {"received_ms", r.received_ms},
            {"deadline_ms", r.deadline_ms},
            {"due_ms", r.due_ms},
            {"history", history}};
  if (r.id != 0) j["id"] = r.id;
  if (r.created_ms != 0) j["created_ms"] = r.created_ms;
  if (!r.ukey.empty()) j["ukey"] = r.ukey;
  if (r.decision) {
    const Decision& d = *r.decision;
    j["decision"] = {{"approved", d.approved},
                     {"by", d.by},
                     {"automated", d.automated},
                     {"time_ms", d.time_ms},
                     {"reason", d.reason}};
    if (!d.dsa_category.empty()) j["decision"]["dsa_category"] = d.dsa_category;
    if (!d.dsa_keywords.empty()) j["decision"]["dsa_keywords"] = d.dsa_keywords;
    if (!d.ground.empty()) j["decision"]["ground"] = d.ground;
  }
  if (!r.bank.empty()) j["bank"] = r.bank;
  if (r.sweep) {
    const SweepSummary& s = *r.sweep;
    j["sweep"] = {{"bank", s.bank},
                  {"entries", s.entries},
                  {"matched", s.matched},
                  {"actions", s.actions},
                  {"skipped_already_gone", s.skipped_already_gone},
                  {"ms", s.ms}};
  }
  if (r.confirmed_ms != 0) j["confirmed_ms"] = r.confirmed_ms;
  if (r.claim) {
    j["claim"] = {
        {"key_id", r.claim->key_id}, {"name", r.claim->name}, {"expires_ms", r.claim->expires_ms}};
  }
  return j;
}

store::DocRecord ToDoc(const Request& r) {
  json j = ToJson(r);
  j.erase("id");
  j.erase("created_ms");
  return Record(kRequestDoc, r.id, r.owner_id, NameOf(r.state), r.due_ms, r.ukey, j);
}

Result<Request> RequestFromDoc(const store::DocRecord& d) {
  TD_ASSIGN_OR_RETURN(json j, ParseDoc(d, kRequestDoc));
  FieldReader f(j, fmt::format("request {}", d.id));
  Request r;
  r.id = d.id;
  r.created_ms = d.created_ms;
  r.state = f.Enum("status", RequestState::kReceived);
  r.owner_id = f.Int("owner_id", d.owner);
  {
    FieldReader q = f.Object("requester");
    r.requester_key_id = q.Int("key_id");
    r.requester_name = q.Str("name");
    r.requester_profile = q.Str("profile");
    r.requester_member_state = q.Str("member_state");
    f.Merge(q);
  }
  r.source_type = f.Enum("source_type", SourceType::kNotice);
  r.trusted = f.Bool("trusted");
  r.priority = f.Int32("priority", 1);
  r.category = f.Enum("category", Category::kOther);
  {
    FieldReader n = f.Object("notice");
    r.notice.explanation = n.Str("explanation");
    FieldReader who = n.Object("notifier");
    r.notice.notifier_name = who.Str("name");
    r.notice.notifier_email = who.Str("email");
    n.Merge(who);
    r.notice.anonymous = n.Bool("anonymous");
    r.notice.accuracy_statement = n.Bool("accuracy_statement");
    r.notice.good_faith_statement = n.Bool("good_faith_statement");
    r.notice.signature = n.Str("signature");
    r.notice.legal_basis = n.Str("legal_basis");
    r.notice.issuing_authority = n.Str("issuing_authority");
    r.notice.case_reference = n.Str("case_reference");
    r.notice.territorial_scope = n.Str("territorial_scope");
    f.Merge(n);
  }
  const json& ev = f.Array("evidence");
  for (size_t i = 0; i < ev.size(); ++i) r.evidence.push_back(EvidenceFromJson(ev[i], f, i));
  r.received_ms = f.Int("received_ms");
  r.deadline_ms = f.Int("deadline_ms");
  r.due_ms = f.Int("due_ms", d.due_ms);
  const json& hist = f.Array("history");
  for (size_t i = 0; i < hist.size(); ++i) {
    FieldReader h(hist[i], f.where(), fmt::format("history[{}].", i));
    r.history.emplace_back(h.Enum("status", RequestState::kReceived), h.Int("time_ms"));
    f.Merge(h);
  }
  r.ukey = f.Str("ukey", d.ukey);
  if (f.Has("decision")) {
    FieldReader x = f.Object("decision");
    r.decision = Decision{x.Bool("approved"), x.Str("by"), x.Bool("automated"), x.Int("time_ms"),
                          x.Str("reason")};
    r.decision->dsa_category = x.Str("dsa_category");
    if (x.Has("dsa_keywords")) r.decision->dsa_keywords = x.Strings("dsa_keywords");
    r.decision->ground = x.Str("ground");
    f.Merge(x);
  }
  r.bank = f.Str("bank");
  if (f.Has("sweep")) {
    FieldReader s = f.Object("sweep");
    SweepSummary sw;
    sw.bank = s.Str("bank");
    for (const auto& e : s.Array("entries")) {
      if (!e.is_number_integer()) {
        s.Fail("entries", "is not an array of integers");
        break;
      }
      sw.entries.push_back(e.get<int64_t>());
    }
    sw.matched = s.Int("matched");
    sw.actions = s.Int("actions");
    sw.skipped_already_gone = s.Int("skipped_already_gone");
    sw.ms = s.Int("ms");
    r.sweep = sw;
    f.Merge(s);
  }
  r.confirmed_ms = f.Int("confirmed_ms");
  if (f.Has("claim")) {
    FieldReader c = f.Object("claim");
    r.claim = Request::Claim{c.Int("key_id"), c.Str("name"), c.Int("expires_ms")};
    f.Merge(c);
  }
  TD_RETURN_IF_ERROR(f.status());
  return r;
}

}  // namespace takedown::service
