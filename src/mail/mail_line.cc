// The email line's wiring: options, the mailboxes and the SMTP sender, the polling thread.
// Taking a message is mail_intake.cc; replies are mail_replies.cc.
#include "mail/mail_line.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace takedown::mail {

std::vector<std::string> DefaultLinkPatterns() {
  return {
      // ...?content_id=ID or &content_id=ID
      R"(https?://[^\s<>"']*[?&]content_id=([A-Za-z0-9._~-]{1,128}))",
      // https://host/.../m/ID (message, media and content paths)
      R"(https?://[A-Za-z0-9.-]+(?::\d+)?/(?:[^\s<>"'?#]*/)?(?:m|msg|message|messages|media|content|c)/([A-Za-z0-9._~-]{1,128}))",
  };
}

MailLine::MailLine(service::Workflow* wf, store::DocumentStore* docs, MailLineOptions o,
                   MetricsRegistry* metrics)
    : wf_(wf), docs_(docs), opt_(std::move(o)), metrics_(metrics) {
  const std::string help = "Messages taken from the email line, by outcome.";
  for (TakeOutcome t :
       {TakeOutcome::kAccepted, TakeOutcome::kRefused, TakeOutcome::kQuarantined,
        TakeOutcome::kDuplicate, TakeOutcome::kUnreadable, TakeOutcome::kTooLarge}) {
    taken_[t] = metrics_->Counter("takedown_mail_messages_total", help,
                                  {{"outcome", std::string(TakeOutcomeName(t))}});
  }
  replies_sent_ = metrics_->Counter("takedown_mail_replies_total", "Replies sent over SMTP.");
  reply_failures_ =
      metrics_->Counter("takedown_mail_reply_failures_total", "Failed SMTP attempts (retried).");
  poll_errors_ = metrics_->Counter("takedown_mail_poll_errors_total", "Failed IMAP operations.");
}

Result<std::unique_ptr<MailLine>> MailLine::Create(service::Workflow* workflow,
                                                   store::DocumentStore* docs, MailLineOptions o,
                                                   MetricsRegistry* metrics) {
  if (o.address.empty() || o.address.find('@') == std::string::npos) {
    return InvalidArgument("mail.address: the line's own email address is missing");
  }
  if (o.smtp.url.empty())
    return InvalidArgument("mail.smtp_url: missing (replies go out over SMTP)");
  if (o.poll_interval_s < 1) return InvalidArgument("mail.poll_interval_s: must be at least 1");
  std::vector<std::regex> patterns;
  if (o.link_patterns.empty()) o.link_patterns = DefaultLinkPatterns();
  for (const auto& p : o.link_patterns) {
    try {
      std::regex re(p, std::regex::ECMAScript | std::regex::icase);
      if (re.mark_count() < 1) {
        return InvalidArgument(
            fmt::format("mail.link_patterns: '{}' has no group for the content id", p));
      }
      patterns.push_back(std::move(re));
    } catch (const std::regex_error& e) {
      return InvalidArgument(
          fmt::format("mail.link_patterns: '{}' is not a regular expression ({})", p, e.what()));
    }
  }
  static MetricsRegistry unused;  // validation failures above never reach a registry
  if (metrics == nullptr) metrics = workflow != nullptr ? workflow->metrics() : &unused;
  std::unique_ptr<MailLine> m(new MailLine(workflow, docs, std::move(o), metrics));
  m->patterns_ = std::move(patterns);
  TD_RETURN_IF_ERROR(m->LoadTemplates());
  TD_ASSIGN_OR_RETURN(m->dkim_, DkimVerifier::Create(m->opt_.dkim_key_file));
  for (const auto& b : m->opt_.mailboxes) m->boxes_.push_back(std::make_unique<ImapMailbox>(b));
  m->smtp_ = std::make_unique<SmtpSender>(m->opt_.smtp);
  if (workflow == nullptr || docs == nullptr) return InvalidArgument("mail: no workflow or store");
  m->reply_sender_ = m->NewReplySender();
  service::OutboxOptions ro;
  ro.kind = std::string(service::kMailOutDoc);
  ro.name = "mail";
  ro.workers = 0;  // sent by the line's own thread, between looks at the mailboxes
  ro.backoff = {2000, 600'000, 0};
  ro.max_attempts = m->opt_.max_send_attempts;
  ro.audit_actor = "mail";
  ro.give_up_audit_kind = "mail.failed";
  m->replies_ =
      std::make_unique<service::Outbox>(workflow->env(), docs, ro, m->reply_sender_.get(), metrics);
  return m;
}

MailLine::~MailLine() { Stop(); }

void MailLine::Start() {
  // Where this process runs the workflow alone (the store's lock or lease), replies an earlier
  // run claimed and did not finish are due now, not after their claims' lease.
  if (!opt_.shared) replies_->TakeOverClaims();
  wf_->SetClosedListener([this](int64_t) { Wake(); });
  thread_ = std::thread([this] { Loop(); });
}

void MailLine::Stop() {
  {
    MutexLock l(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) {
    thread_.join();
    wf_->SetClosedListener(nullptr);
  }
}

void MailLine::Wake() {
  {
    MutexLock l(&mu_);
    woken_ = true;
  }
  cv_.SignalAll();
}

void MailLine::Loop() {
  for (;;) {
    const bool backlog = RunOnce();
    MutexLock l(&mu_);
    if (stopping_) return;
    if (backlog) continue;  // a full batch: more is waiting, take it now
    if (!woken_) cv_.WaitFor(&mu_, std::chrono::seconds(opt_.poll_interval_s));
    woken_ = false;
    if (stopping_) return;
  }
}

// A server that is down fails every round: the same warning is logged once a minute, with how
// often it repeated, and once more when it clears.
void MailLine::Warn(const std::string& what, const Status& st) {
  MutexLock l(&mu_);
  auto& w = warnings_[what];
  const int64_t now = wf_->env()->NowMs();
  if (st.ok()) {
    if (w.repeats > 0 || !w.last.empty()) spdlog::info("mail: {}: working again", what);
    warnings_.erase(what);
    return;
  }
  const std::string msg(st.message());
  if (msg == w.last && now - w.logged_ms < 60'000) {
    ++w.repeats;
    return;
  }
  spdlog::warn("mail: {}: {}{}", what, msg,
               w.repeats > 0 ? fmt::format(" (and {} more times)", w.repeats) : "");
  w = {msg, now, 0};
}

bool MailLine::RunOnce() {
  auto taken = PollMailboxes();
  Warn("reading the mailboxes", taken.status());
  auto closings = QueueClosings();
  Warn("closing replies", closings.status());
  auto sent = SendDue();
  Warn("sending replies", sent.status());
  return taken.ok() && static_cast<size_t>(*taken) >= opt_.batch;
}

Result<int> MailLine::PollMailboxes() {
  // Shared: one process at a time reads the mailboxes (a null lock where the store is this
  // process's alone). The next one finds the messages already taken and moved.
  std::unique_ptr<store::DocumentStore::DocLock> held;
  if (opt_.shared) {
    TD_ASSIGN_OR_RETURN(held, docs_->LockDoc(service::kMailboxesLock));
  }
  int taken = 0;
  Status first = Status::Ok();
  for (auto& box : boxes_) {
    auto list = box->Untaken(opt_.batch);
    if (!list.ok()) {
      poll_errors_->Inc();
      if (first.ok()) first = list.status();
      continue;
    }
    for (const auto& info : *list) {
      const bool too_large = info.size > opt_.max_message_bytes;
      auto raw = box->Fetch(info.uid, too_large);
      if (!raw.ok()) {
        poll_errors_->Inc();
        if (first.ok()) first = raw.status();
        break;
      }
      auto r = Take(*raw, box->Describe(), info.size);
      if (!r.ok()) {  // the store failed: leave the message for the next round
        if (first.ok()) first = r.status();
        break;
      }
      if (Status s = box->MarkTaken(info.uid); !s.ok()) {
        poll_errors_->Inc();  // taken again next round: the Message-ID makes it a duplicate
        if (first.ok()) first = s;
        break;
      }
      ++taken;
      // Replies go out between messages, so that a long queue does not hold up the first ack.
      if (taken % 10 == 0) Warn("sending replies", SendDue().status());
    }
  }
  if (!first.ok() && taken == 0) return first;
  if (!first.ok()) spdlog::warn("mail: {}", first.message());
  return taken;
}

}  // namespace takedown::mail
