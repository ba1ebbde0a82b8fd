#include "takedown/model.h"

#include <fmt/format.h>

namespace takedown::service {
namespace {

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
Result<json> ParseDoc(const store::DocRecord& d, std::string_view kind) {
  if (d.kind != kind) return NotFound(fmt::format("no {} {}", kind, d.id));
  json j = json::parse(d.doc, nullptr, false);
  if (j.is_discarded()) return DataLoss(fmt::format("{} {}: the stored document is not JSON", kind, d.id));
  if (!j.is_object()) return DataLoss(fmt::format("{} {}: the stored document is not an object", kind, d.id));
  return j;
}

store::DocRecord Record(std::string_view kind, int64_t id, int64_t owner, std::string_view state,
                        int64_t due_ms, const std::string& ukey, const json& doc) {
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
  e.video_signals = f.Int("video_signals");
  e.image_signals = f.Int("image_signals");
  e.retained_until = f.Str("retained_until");
  e.entry_id = f.Int("entry_id");
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
  if (e.video_signals != 0) j["video_signals"] = e.video_signals;
  if (e.image_signals != 0) j["image_signals"] = e.image_signals;
  if (!e.retained_until.empty()) j["retained_until"] = e.retained_until;
  if (e.entry_id != 0) j["entry_id"] = e.entry_id;
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
  json j = {{"status", NameOf(r.state)},
            {"owner_id", r.owner_id},
            {"requester",
             {{"key_id", r.requester_key_id},
              {"name", r.requester_name},
              {"profile", r.requester_profile}}},
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
  }
  if (!r.bank.empty()) j["bank"] = r.bank;
  if (r.sweep) {
    const SweepSummary& s = *r.sweep;
    j["sweep"] = {{"bank", s.bank},           {"entries", s.entries},
                  {"matched", s.matched},     {"actions", s.actions},
                  {"skipped_already_gone", s.skipped_already_gone}, {"ms", s.ms}};
  }
  if (r.confirmed_ms != 0) j["confirmed_ms"] = r.confirmed_ms;
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
  TD_RETURN_IF_ERROR(f.status());
  return r;
}

// ------------------------------------------------------------------------------------------
// Actions

json ToJson(const Action& a) {
  json j = {{"kind", NameOf(a.kind)},
            {"status", NameOf(a.state)},
            {"owner_id", a.owner_id},
            {"ukey", a.ukey},
            {"idempotency_key", a.ukey},
            {"attempts", a.attempts},
            {"due_ms", a.due_ms}};
  if (a.content_row) j["content_row"] = *a.content_row;
  switch (a.kind) {
    case ActionKind::kRemove:
      j.update({{"request_id", a.request_id},
                {"content_id", a.content_id},
                {"chat_id", a.chat_id},
                {"uploader_id", a.uploader_id},
                {"content_created_ms", a.content_created_ms},
                {"media", a.media},
                {"signal", a.signal},
                {"distance", a.distance},
                {"entry_id", a.entry_id},
                {"bank", a.bank},
                {"category", NameOf(a.category)},
                {"source_type", NameOf(a.source_type)},
                {"trusted", a.trusted},
                {"automated_decision", a.automated_decision}});
      break;
    case ActionKind::kRestore:
      j.update({{"request_id", a.request_id},
                {"appeal_id", a.appeal_id},
                {"content_id", a.content_id},
                {"chat_id", a.chat_id},
                {"uploader_id", a.uploader_id}});
      break;
    case ActionKind::kRestrictChat:
      j.update({{"chat_id", a.chat_id}, {"confirmed_removals", a.confirmed_removals}});
      break;
  }
  if (a.id != 0) j["id"] = a.id;
  if (a.created_ms != 0) j["created_ms"] = a.created_ms;
  if (!a.last_error.empty()) j["last_error"] = a.last_error;
  if (a.last_attempt_ms != 0) j["last_attempt_ms"] = a.last_attempt_ms;
  if (a.acknowledged_ms != 0) {
    j["acknowledged_ms"] = a.acknowledged_ms;
    j["acknowledged_via"] = a.acknowledged_via;
  }
  return j;
}

store::DocRecord ToDoc(const Action& a) {
  json j = ToJson(a);
  j.erase("id");
  j.erase("created_ms");
  return Record(kActionDoc, a.id, a.owner_id, NameOf(a.state), a.due_ms, a.ukey, j);
}

Result<Action> ActionFromDoc(const store::DocRecord& d) {
  TD_ASSIGN_OR_RETURN(json j, ParseDoc(d, kActionDoc));
  FieldReader f(j, fmt::format("action {}", d.id));
  Action a;
  a.id = d.id;
  a.created_ms = d.created_ms;
  a.kind = f.Enum("kind", ActionKind::kRemove);
  a.state = f.Enum("status", ActionState::kPending);
  a.owner_id = f.Int("owner_id", d.owner);
  a.request_id = f.Int("request_id");
  if (f.Has("content_row")) a.content_row = f.Int("content_row");
  a.content_id = f.Str("content_id");
  a.chat_id = f.Str("chat_id");
  a.uploader_id = f.Str("uploader_id");
  a.content_created_ms = f.Int("content_created_ms");
  a.media = f.Str("media");
  a.signal = f.Str("signal");
  a.distance = f.Int32("distance");
  a.entry_id = f.Int("entry_id");
  a.bank = f.Str("bank");
  a.category = f.Enum("category", Category::kOther);
  a.source_type = f.Enum("source_type", SourceType::kNotice);
  a.trusted = f.Bool("trusted");
  a.automated_decision = f.Bool("automated_decision");
  a.appeal_id = f.Int("appeal_id");
  a.confirmed_removals = f.Int("confirmed_removals");
  a.ukey = f.Str("ukey", d.ukey);
  a.attempts = f.Int32("attempts");
  a.due_ms = f.Int("due_ms", d.due_ms);
  a.last_error = f.Str("last_error");
  a.last_attempt_ms = f.Int("last_attempt_ms");
  a.acknowledged_ms = f.Int("acknowledged_ms");
  a.acknowledged_via = f.Str("acknowledged_via");
  TD_RETURN_IF_ERROR(f.status());
  return a;
}

// ------------------------------------------------------------------------------------------
// Appeals

json ToJson(const Appeal& a) {
  json j = {{"status", NameOf(a.state)},   {"owner_id", a.action_id},
            {"action_id", a.action_id},    {"content_id", a.content_id},
            {"uploader_id", a.uploader_id}, {"reason", a.reason},
            {"filed_ms", a.filed_ms},      {"filed_by", a.filed_by},
            {"ukey", fmt::format("appeal:{}", a.action_id)}};
  if (a.id != 0) j["id"] = a.id;
  if (a.created_ms != 0) j["created_ms"] = a.created_ms;
  if (a.state != AppealState::kOpen) {
    j["decided_ms"] = a.decided_ms;
    j["decided_by"] = a.decided_by;
    j["decision_reason"] = a.decision_reason;
  }
  if (a.restore_action_id != 0) j["restore_action_id"] = a.restore_action_id;
  if (a.disabled_entry_id != 0) j["disabled_entry_id"] = a.disabled_entry_id;
  return j;
}

store::DocRecord ToDoc(const Appeal& a) {
  json j = ToJson(a);
  j.erase("id");
  j.erase("created_ms");
  return Record(kAppealDoc, a.id, a.action_id, NameOf(a.state), 0, j["ukey"].get<std::string>(), j);
}

Result<Appeal> AppealFromDoc(const store::DocRecord& d) {
  TD_ASSIGN_OR_RETURN(json j, ParseDoc(d, kAppealDoc));
  FieldReader f(j, fmt::format("appeal {}", d.id));
  Appeal a;
  a.id = d.id;
  a.created_ms = d.created_ms;
  a.state = f.Enum("status", AppealState::kOpen);
  a.action_id = f.Int("action_id", d.owner);
  a.content_id = f.Str("content_id");
  a.uploader_id = f.Str("uploader_id");
  a.reason = f.Str("reason");
  a.filed_ms = f.Int("filed_ms");
  a.filed_by = f.Str("filed_by");
  a.decided_ms = f.Int("decided_ms");
  a.decided_by = f.Str("decided_by");
  a.decision_reason = f.Str("decision_reason");
  a.restore_action_id = f.Int("restore_action_id");
  a.disabled_entry_id = f.Int("disabled_entry_id");
  TD_RETURN_IF_ERROR(f.status());
  return a;
}

// ------------------------------------------------------------------------------------------
// Requester profiles

json ToJson(const EmailSettings& e) {
  json j = {{"addresses", e.addresses},
            {"domains", e.domains},
            {"dkim", e.dkim},
            {"language", e.language},
            {"default_category", e.default_category},
            {"legal_basis", e.legal_basis},
            {"issuing_authority", e.issuing_authority},
            {"template", e.template_name},
            {"standing_statements", e.standing_statements}};
  if (!e.secret_sha256.empty()) j["secret_sha256"] = e.secret_sha256;
  return j;
}

json ToJson(const RequesterProfile& p) {
  json j = {{"key_id", p.key_id},
            {"source_type", NameOf(p.source_type)},
            {"trusted", p.trusted},
            {"deadline_hours", p.deadline_hours},
            {"name", p.name}};
  if (p.email) j["email"] = ToJson(*p.email);
  return j;
}

store::DocRecord ToDoc(const RequesterProfile& p) {
  json j = ToJson(p);
  j["owner_id"] = p.key_id;
  j["status"] = "active";
  const std::string ukey = fmt::format("requester:{}", p.key_id);
  j["ukey"] = ukey;
  return Record(kRequesterDoc, p.id, p.key_id, "active", 0, ukey, j);
}

Result<EmailSettings> EmailSettingsFromJson(const json& j, const std::string& where) {
  FieldReader f(j, where, "email.");
  EmailSettings e;
  e.addresses = f.Strings("addresses");
  e.domains = f.Strings("domains");
  e.dkim = f.Str("dkim", "required");
  e.language = f.Str("language", "en");
  e.default_category = f.Str("default_category");
  e.legal_basis = f.Str("legal_basis");
  e.issuing_authority = f.Str("issuing_authority");
  e.template_name = f.Str("template");
  e.standing_statements = f.Bool("standing_statements");
  e.secret_sha256 = f.Str("secret_sha256");
  TD_RETURN_IF_ERROR(f.status());
  return e;
}

Result<RequesterProfile> ProfileFromDoc(const store::DocRecord& d) {
  TD_ASSIGN_OR_RETURN(json j, ParseDoc(d, kRequesterDoc));
  const std::string where = fmt::format("requester profile {}", d.owner);
  FieldReader f(j, where);
  RequesterProfile p;
  p.id = d.id;
  p.key_id = f.Int("key_id", d.owner);
  p.source_type = f.Enum("source_type", SourceType::kNotice);
  p.trusted = f.Bool("trusted");
  p.deadline_hours = f.Int32("deadline_hours");
  p.name = f.Str("name");
  TD_RETURN_IF_ERROR(f.status());
  if (j.contains("email") && !j["email"].is_null()) {
    TD_ASSIGN_OR_RETURN(p.email, EmailSettingsFromJson(j["email"], where));
  }
  return p;
}

// ------------------------------------------------------------------------------------------
// Mail

json ToJson(const MailIn& m) {
  json j = {{"status", NameOf(m.state)}, {"ukey", m.ukey},         {"mailbox", m.mailbox},
            {"received_ms", m.received_ms}, {"size", m.size}};
  if (!m.message_id.empty() || !m.from.empty()) {
    j.update({{"message_id", m.message_id},
              {"from", m.from},
              {"subject", m.subject},
              {"references", m.references}});
  }
  if (!m.reason.empty()) j["reason"] = m.reason;
  if (m.requester_key_id != 0) j["owner_id"] = m.requester_key_id;
  if (m.request_id != 0) j["request_id"] = m.request_id;
  if (m.closed_ms != 0) j["closed_ms"] = m.closed_ms;
  return j;
}

store::DocRecord ToDoc(const MailIn& m) {
  return Record(kMailInDoc, m.id, m.requester_key_id, NameOf(m.state), 0, m.ukey, ToJson(m));
}

Result<MailIn> MailInFromDoc(const store::DocRecord& d) {
  TD_ASSIGN_OR_RETURN(json j, ParseDoc(d, kMailInDoc));
  FieldReader f(j, fmt::format("mail message {}", d.id));
  MailIn m;
  m.id = d.id;
  m.created_ms = d.created_ms;
  m.state = f.Enum("status", MailInState::kOpen);
  m.ukey = f.Str("ukey", d.ukey);
  m.mailbox = f.Str("mailbox");
  m.message_id = f.Str("message_id");
  m.from = f.Str("from");
  m.subject = f.Str("subject");
  m.references = f.Str("references");
  m.reason = f.Str("reason");
  m.received_ms = f.Int("received_ms");
  m.size = f.Int("size");
  m.requester_key_id = f.Int("owner_id", d.owner);
  m.request_id = f.Int("request_id");
  m.closed_ms = f.Int("closed_ms");
  TD_RETURN_IF_ERROR(f.status());
  return m;
}

json ToJson(const MailOut& m) {
  json j = {{"status", NameOf(m.state)}, {"ukey", m.ukey},
            {"kind", m.kind},             {"to", m.to},
            {"subject", m.subject},       {"raw", m.raw},
            {"request_id", m.request_id}, {"in_reply_to", m.in_reply_to},
            {"attempts", m.attempts},     {"queued_ms", m.queued_ms},
            {"due_ms", m.due_ms},         {"owner_id", m.request_id}};
  if (!m.last_error.empty()) j["last_error"] = m.last_error;
  if (m.sent_ms != 0) j["sent_ms"] = m.sent_ms;
  return j;
}

store::DocRecord ToDoc(const MailOut& m) {
  return Record(kMailOutDoc, m.id, m.request_id, NameOf(m.state), m.due_ms, m.ukey, ToJson(m));
}

Result<MailOut> MailOutFromDoc(const store::DocRecord& d) {
  TD_ASSIGN_OR_RETURN(json j, ParseDoc(d, kMailOutDoc));
  FieldReader f(j, fmt::format("mail reply {}", d.id));
  MailOut m;
  m.id = d.id;
  m.created_ms = d.created_ms;
  m.state = f.Enum("status", MailOutState::kPending);
  m.ukey = f.Str("ukey", d.ukey);
  m.kind = f.Str("kind");
  m.to = f.Str("to");
  m.subject = f.Str("subject");
  m.raw = f.Str("raw");
  m.in_reply_to = f.Str("in_reply_to");
  m.last_error = f.Str("last_error");
  m.request_id = f.Int("request_id");
  m.attempts = f.Int32("attempts");
  m.queued_ms = f.Int("queued_ms");
  m.due_ms = f.Int("due_ms", d.due_ms);
  m.sent_ms = f.Int("sent_ms");
  TD_RETURN_IF_ERROR(f.status());
  return m;
}

namespace {
template <typename T>
Result<T> Load(store::DocumentStore* docs, int64_t id, std::string_view kind,
               Result<T> (*decode)(const store::DocRecord&)) {
  TD_ASSIGN_OR_RETURN(auto rec, docs->GetDoc(id));
  if (!rec || rec->kind != kind) return NotFound(fmt::format("no {} {}", kind, id));
  return decode(*rec);
}
}  // namespace

Result<Request> LoadRequest(store::DocumentStore* docs, int64_t id) {
  return Load<Request>(docs, id, kRequestDoc, &RequestFromDoc);
}
Result<Action> LoadAction(store::DocumentStore* docs, int64_t id) {
  return Load<Action>(docs, id, kActionDoc, &ActionFromDoc);
}
Result<Appeal> LoadAppeal(store::DocumentStore* docs, int64_t id) {
  return Load<Appeal>(docs, id, kAppealDoc, &AppealFromDoc);
}

}  // namespace takedown::service
