// Replies of the email line: rendered from templates when decided, queued as "mail_out"
// documents, sent over SMTP through an outbox (retried with backoff, given up with an audit
// record after max_send_attempts). Closing replies when a request is confirmed or rejected.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <kainjow/mustache.hpp>
#include <sstream>

#include "core/clock.h"
#include "mail/mail_line.h"
#include "mail/sections.h"
#include "mail/templates.h"

namespace takedown::mail {

using service::MailIn;
using service::MailInState;
using service::MailOut;

namespace {

kainjow::mustache::data ToMustache(const json& j) {
  using kainjow::mustache::data;
  if (j.is_object()) {
    data d;
    for (const auto& [k, v] : j.items()) {
      if (v.is_string() && v.get<std::string>().empty()) continue;  // absent: "{{#k}}" skips it
      d.set(k, ToMustache(v));
    }
    return d;
  }
  if (j.is_array()) {
    data l{data::type::list};
    for (const auto& v : j) l.push_back(ToMustache(v));
    return l;
  }
  if (j.is_boolean())
    return j.get<bool>() ? data{data::type::bool_true} : data{data::type::bool_false};
  if (j.is_string()) return data{j.get<std::string>()};
  if (j.is_null()) return data{std::string()};
  return data{j.dump()};
}

}  // namespace

// The outbox's handler: one reply, one SMTP transaction.
class MailLine::ReplySender : public service::Outbox::Handler {
 public:
  explicit ReplySender(MailLine* line) : line_(line) {}

  Status Deliver(const store::DocRecord& item) override {
    TD_ASSIGN_OR_RETURN(MailOut o, service::MailOutFromDoc(item));
    Status s = line_->smtp_->Send(line_->opt_.address, {o.to}, o.raw);
    (s.ok() ? line_->replies_sent_ : line_->reply_failures_)->Inc();
    return s;
  }

  Status Delivered(const store::DocRecord& item) override {
    TD_ASSIGN_OR_RETURN(MailOut o, service::MailOutFromDoc(item));
    o.state = service::MailOutState::kSent;
    o.sent_ms = line_->wf_->env()->NowMs();
    store::DocumentStore::Changes ch;
    ch.docs.push_back(service::ToDoc(o));
    ch.audits.push_back({"mail", "mail.sent",
                         json{{"kind", o.kind},
                              {"to", o.to},
                              {"request_id", o.request_id},
                              {"in_reply_to", o.in_reply_to}}
                             .dump()});
    // Written only if the reply is still pending: a delivery that outlived its claim may meet
    // another process's delivery of the same reply, and one "mail.sent" is recorded.
    ch.expect_states.emplace_back(item.id, item.state);
    if (auto done = line_->docs_->Transact(ch); !done.ok()) {
      if (done.status().code() == StatusCode::kFailedPrecondition) return Status::Ok();
      return done.status();
    }
    return Status::Ok();
  }

  std::string GiveUpAudit(const store::DocRecord& item, const std::string& error) override {
    auto o = service::MailOutFromDoc(item);
    if (!o.ok()) return json{{"reply", item.id}, {"error", error}}.dump();
    return json{{"kind", o->kind}, {"to", o->to}, {"request_id", o->request_id}, {"error", error}}
        .dump();
  }

 private:
  MailLine* line_;
};

std::unique_ptr<service::Outbox::Handler> MailLine::NewReplySender() {
  return std::make_unique<ReplySender>(this);
}

Status MailLine::LoadTemplates() {
  namespace fs = std::filesystem;
  if (opt_.templates_dir.empty()) {
    templates_ = BuiltInTemplates();
    return Status::Ok();
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(opt_.templates_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with(".mustache")) continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    kainjow::mustache::mustache t(ss.str());
    if (!t.is_valid()) {
      return InvalidArgument(
          fmt::format("mail template {}: {}", e.path().string(), t.error_message()));
    }
    templates_[name.substr(0, name.size() - 9)] = ss.str();
  }
  if (ec)
    return NotFound(fmt::format("mail.templates_dir {}: {}", opt_.templates_dir, ec.message()));
  // Messages that are no reply to a requester (the victims' form's recovery links): the built-in
  // ones unless the directory has its own.
  for (const auto& [name, text] : BuiltInTemplates()) {
    if (name.rfind("case_recovery.", 0) == 0) templates_.emplace(name, text);
  }
  for (const char* kind : {"ack", "refused", "confirmed", "rejected", "too_large", "bounce"}) {
    if (!templates_.count(fmt::format("{}.en", kind))) {
      return NotFound(fmt::format("mail.templates_dir {}: {}.en.mustache is missing",
                                  opt_.templates_dir, kind));
    }
  }
  return Status::Ok();
}

Result<std::string> MailLine::Render(const std::string& kind,
                                     const service::RequesterProfile* profile,
                                     const json& data) const {
  const bool has_email = profile != nullptr && profile->email.has_value();
  return Render(kind, has_email ? profile->email->language : "en",
                has_email ? profile->email->template_name : "", data);
}

Result<std::string> MailLine::Render(const std::string& kind, const std::string& lang,
                                     const std::string& tmpl, const json& data) const {
  const std::string* text = nullptr;
  for (const std::string& name :
       {tmpl.empty() ? std::string() : fmt::format("{}.{}.{}", tmpl, kind, lang),
        fmt::format("{}.{}", kind, lang), fmt::format("{}.en", kind)}) {
    if (name.empty()) continue;
    if (auto it = templates_.find(name); it != templates_.end()) {
      text = &it->second;
      break;
    }
  }
  if (text == nullptr) return NotFound(fmt::format("no mail template for {}", kind));
  kainjow::mustache::mustache t(*text);
  t.set_custom_escape([](const std::string& s) { return s; });  // plain text, not HTML
  return t.render(ToMustache(data));
}

// A reply to the message `in`, rendered and composed now (so that what is sent is what was
// decided), to be queued as a mail_out document.
Result<MailOut> MailLine::Reply(const std::string& kind, const std::string& ukey, const MailIn& in,
                                const service::RequesterProfile* profile, const json& data) {
  TD_ASSIGN_OR_RETURN(std::string rendered, Render(kind, profile, data));
  OutgoingMail m;
  m.to_address = in.from;
  m.in_reply_to = in.message_id;
  m.references = in.references;
  // Machine-readable for the requester's own tooling: which reply this is, for which request.
  m.extra_headers = {{"Auto-Submitted", "auto-replied"}, {"X-Takedown-Reply", kind}};
  if (in.request_id > 0)
    m.extra_headers.push_back({"X-Takedown-Request", std::to_string(in.request_id)});
  return Queued(kind, ukey, rendered, "Re: " + in.subject, std::move(m), in.request_id);
}

Result<MailOut> MailLine::Compose(const std::string& kind, const std::string& ukey,
                                  const std::string& to, const std::string& lang,
                                  const json& data) {
  TD_ASSIGN_OR_RETURN(std::string rendered, Render(kind, lang, "", data));
  OutgoingMail m;
  m.to_address = to;
  m.extra_headers = {{"Auto-Submitted", "auto-generated"}, {"X-Takedown-Reply", kind}};
  return Queued(kind, ukey, rendered, "Takedown", std::move(m), 0);
}

Result<MailOut> MailLine::Queued(const std::string& kind, const std::string& ukey,
                                 const std::string& rendered, const std::string& subject_if_none,
                                 OutgoingMail m, int64_t request_id) {
  // The template's first line is "Subject: ...", then a blank line, then the body.
  std::string subject = subject_if_none;
  std::string body = rendered;
  if (rendered.rfind("Subject:", 0) == 0) {
    const size_t nl = rendered.find('\n');
    subject = Trim(rendered.substr(8, nl == std::string::npos ? std::string::npos : nl - 8));
    body = nl == std::string::npos ? "" : rendered.substr(nl + 1);
    while (!body.empty() && (body[0] == '\n' || body[0] == '\r')) body.erase(0, 1);
  }
  m.from_address = opt_.address;
  m.from_name = opt_.display_name;
  m.subject = subject;
  m.text = body;
  uint64_t rnd[2];
  wf_->env()->RandomBytes(rnd, sizeof rnd);
  const std::string domain = DomainOf(opt_.address);
  m.message_id = fmt::format("{:016x}{:08x}.takedown@{}", rnd[0], static_cast<uint32_t>(rnd[1]),
                             domain.empty() ? "localhost" : domain);
  TD_ASSIGN_OR_RETURN(std::string raw, ComposeMail(m));
  const int64_t now = wf_->env()->NowMs();
  MailOut out;
  out.ukey = ukey;
  out.kind = kind;
  out.to = m.to_address;
  out.subject = subject;
  out.raw = std::move(raw);
  out.request_id = request_id;
  out.in_reply_to = m.in_reply_to;
  out.queued_ms = now;
  out.due_ms = now;
  return out;
}

Result<int> MailLine::QueueClosings() {
  int queued = 0;
  TD_RETURN_IF_ERROR(docs_->ForEachDoc(
      {.kind = std::string(service::kMailInDoc),
       .state = std::string(service::NameOf(MailInState::kOpen)),
       .limit = 500},
      [&](const store::DocRecord& rec) -> Status {
        TD_ASSIGN_OR_RETURN(MailIn in, service::MailInFromDoc(rec));
        service::Principal who{in.requester_key_id, service::Role::kRequester, ""};
        auto got = wf_->GetRequest(who, in.request_id);
        if (!got.ok()) {
          if (got.status().code() == StatusCode::kNotFound) return Status::Ok();
          return got.status();
        }
        const json& v = *got;
        const std::string state = v.value("status", std::string());
        if (state != "confirmed" && state != "rejected") return Status::Ok();
        TD_ASSIGN_OR_RETURN(auto profile, wf_->profiles().Get(in.requester_key_id));
        json data = {{"line", opt_.address},
                     {"subject", in.subject},
                     {"request_id", in.request_id},
                     {"requester", profile.name},
                     {"category", v["category"]},
                     {"case_reference", v["notice"].value("case_reference", std::string())},
                     {"received_at", v.value("received_at", std::string())}};
        if (state == "confirmed") {
          json removals = json::array();
          for (const auto& r : v["removals"]) {
            removals.push_back({{"content_id", r["content_id"]},
                                {"chat_id", r["chat_id"]},
                                {"removed_at", r["removed_at"]},
                                {"signal", r["signal"]},
                                {"distance", r["distance"]}});
          }
          data["count"] = removals.size();
          data["none"] = removals.empty();
          data["removals"] = std::move(removals);
          data["confirmed_at"] = IsoUtc(v.value("confirmed_ms", wf_->env()->NowMs()));
        } else {
          data["reason"] =
              v.contains("decision") ? v["decision"].value("reason", std::string()) : "";
        }
        TD_ASSIGN_OR_RETURN(
            auto r, Reply(state, fmt::format("out:{}:{}", state, in.ukey), in, &profile, data));
        in.state = MailInState::kClosed;
        in.closed_ms = wf_->env()->NowMs();
        TD_RETURN_IF_ERROR(Record(in, {r}, "", json(), {}).status());
        ++queued;
        return Status::Ok();
      }));
  return queued;
}

Result<int> MailLine::SendDue() { return replies_->DeliverDue(/*stop_at_failure=*/true); }

Result<json> ListMailMessages(store::DocumentStore* docs, const std::string& status,
                              int64_t after_id, int64_t limit) {
  if (!status.empty() && !service::EnumFromName<MailInState>(status)) {
    return InvalidArgument(fmt::format("status must be {}", service::EnumChoices<MailInState>()));
  }
  TD_ASSIGN_OR_RETURN(auto rows, docs->FindDocs({.kind = std::string(service::kMailInDoc),
                                                 .state = status,
                                                 .after_id = after_id,
                                                 .limit = std::clamp<int64_t>(limit, 1, 1000)}));
  json out = json::array();
  for (const auto& r : rows) {
    TD_ASSIGN_OR_RETURN(MailIn m, service::MailInFromDoc(r));
    json j = {{"id", r.id},
              {"status", service::NameOf(m.state)},
              {"requester_key_id", r.owner},
              {"mailbox", m.mailbox},
              {"size", m.size},
              {"received_ms", m.received_ms}};
    if (!m.message_id.empty() || !m.from.empty()) {
      j.update({{"message_id", m.message_id}, {"from", m.from}, {"subject", m.subject}});
    }
    if (!m.reason.empty()) j["reason"] = m.reason;
    if (m.request_id != 0) j["request_id"] = m.request_id;
    out.push_back(std::move(j));
  }
  return json{{"messages", out}, {"next_after_id", rows.empty() ? after_id : rows.back().id}};
}

}  // namespace takedown::mail
