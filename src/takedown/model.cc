#include "takedown/model.h"

#include <fmt/format.h>

#include "takedown/model_reader.h"

namespace takedown::service {

using internal::FieldReader;
using internal::ParseDoc;
using internal::Record;

// ------------------------------------------------------------------------------------------
// Actions

json ToJson(const Action& a) {
  json j = {{"kind", NameOf(a.kind)}, {"status", NameOf(a.state)}, {"owner_id", a.owner_id},
            {"ukey", a.ukey},         {"idempotency_key", a.ukey}, {"attempts", a.attempts},
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
      if (a.account_action_id != 0) {
        j.update({{"account_action_id", a.account_action_id}, {"measure", NameOf(a.measure)}});
      }
      break;
    case ActionKind::kPreserve:
      j.update({{"hold_id", a.hold_id},
                {"content_ids", a.content_ids},
                {"account_ids", a.account_ids},
                {"preserve_until_ms", a.preserve_until_ms},
                {"legal_reference", a.legal_reference}});
      if (a.request_id != 0) j["request_id"] = a.request_id;
      break;
    case ActionKind::kRestrictChat:
      j.update({{"chat_id", a.chat_id}, {"confirmed_removals", a.confirmed_removals}});
      if (a.request_id != 0) {  // the removal that reached the count (its statement of reasons)
        j.update({{"request_id", a.request_id},
                  {"category", NameOf(a.category)},
                  {"media", a.media},
                  {"content_created_ms", a.content_created_ms}});
      }
      break;
    case ActionKind::kAccountAction:
      j.update({{"uploader_id", a.uploader_id},
                {"measure", NameOf(a.measure)},
                {"category", NameOf(a.category)},
                {"strikes", a.strikes},
                {"window_days", a.window_days},
                {"content_ids", a.content_ids},
                {"request_id", a.request_id},
                {"chat_id", a.chat_id},
                {"media", a.media},
                {"content_created_ms", a.content_created_ms}});
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
  a.account_action_id = f.Int("account_action_id");
  a.confirmed_removals = f.Int("confirmed_removals");
  a.hold_id = f.Int("hold_id");
  a.content_ids = f.Strings("content_ids");
  a.account_ids = f.Strings("account_ids");
  a.preserve_until_ms = f.Int("preserve_until_ms");
  a.legal_reference = f.Str("legal_reference");
  a.measure = f.Enum("measure", AccountMeasure::kWarn);
  a.strikes = f.Int("strikes");
  a.window_days = f.Int32("window_days");
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
  json j = {{"status", NameOf(a.state)},
            {"owner_id", a.action_id},
            {"action_id", a.action_id},
            {"content_id", a.content_id},
            {"uploader_id", a.uploader_id},
            {"reason", a.reason},
            {"filed_ms", a.filed_ms},
            {"filed_by", a.filed_by},
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
  if (!p.member_state.empty()) j["member_state"] = p.member_state;
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
  p.member_state = f.Str("member_state");
  TD_RETURN_IF_ERROR(f.status());
  if (j.contains("email") && !j["email"].is_null()) {
    TD_ASSIGN_OR_RETURN(p.email, EmailSettingsFromJson(j["email"], where));
  }
  return p;
}

// ------------------------------------------------------------------------------------------
// Mail

json ToJson(const MailIn& m) {
  json j = {{"status", NameOf(m.state)},
            {"ukey", m.ukey},
            {"mailbox", m.mailbox},
            {"received_ms", m.received_ms},
            {"size", m.size}};
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
  json j = {{"status", NameOf(m.state)},
            {"ukey", m.ukey},
            {"kind", m.kind},
            {"to", m.to},
            {"subject", m.subject},
            {"raw", m.raw},
            {"request_id", m.request_id},
            {"in_reply_to", m.in_reply_to},
            {"attempts", m.attempts},
            {"queued_ms", m.queued_ms},
            {"due_ms", m.due_ms},
            {"owner_id", m.request_id}};
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
Result<Disclosure> LoadDisclosure(store::DocumentStore* docs, int64_t id) {
  return Load<Disclosure>(docs, id, kDisclosureDoc, &DisclosureFromDoc);
}
Result<Hold> LoadHold(store::DocumentStore* docs, int64_t id) {
  return Load<Hold>(docs, id, kHoldDoc, &HoldFromDoc);
}

}  // namespace takedown::service
