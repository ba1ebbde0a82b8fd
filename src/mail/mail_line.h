// The direct email line: regulators and hotlines send removal requests by email, and get an
// acknowledgement (request id, what was understood, the deadline) within seconds and a
// confirmation listing every removed item when the request is actioned, both threaded to their
// message.
//
//   IMAP mailbox(es) --poll--> Take(raw): parse (GMime) -> authenticate the sender (the sender
//   index of requester profiles, DKIM, optional shared secret; mail_auth.cc) -> one notice draft
//   (the structured section, message links and content ids found by the platform's patterns,
//   media attachments; mail_intake.cc) -> Workflow::Submit (idempotent by Message-ID) -> a reply
//   queued in the store -> the message flagged taken on the server.
//   Requests reaching confirmed or rejected -> a closing reply queued. Queued replies go out
//   through an outbox over SMTP, retried with backoff until sent (mail_replies.cc).
//
// Nothing is lost: a message is flagged taken only after its outcome (request, refusal,
// quarantine) and its reply are durable in the store; a crash before that takes it again and
// the Message-ID key files no second request. A message that fails authentication is
// quarantined (reason in the audit log), never actioned, and its sender learns nothing beyond
// an optional neutral bounce. The message itself is not kept (it may be the illegal material).
//
// Mail documents in the store: "mail_in" (one per message taken; ukey "mail:" + Message-ID)
// and "mail_out" (one per reply; ukey names its message and kind); see takedown/model.h.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "core/mutex.h"
#include "core/status.h"
#include "mail/dkim.h"
#include "mail/message.h"
#include "mail/sections.h"
#include "mail/transport.h"
#include "store/store.h"
#include "takedown/outbox.h"
#include "takedown/workflow.h"

namespace takedown::mail {

using nlohmann::json;

struct MailLineOptions {
  std::vector<ImapConfig> mailboxes;
  SmtpConfig smtp;
  std::string address;  // the line's own address: From of every reply
  std::string display_name = "Takedown";
  int poll_interval_s = 2;    // seconds between looks at the mailboxes
  std::string dkim_key_file;  // "" = public keys from DNS
  std::string templates_dir;  // reply templates: KIND.LANG.mustache (see config/mail)
  // Regular expressions (ECMAScript, case-insensitive) whose first group is a platform content
  // id: message links and ids in the text become locations. Empty = the defaults
  // (DefaultLinkPatterns).
  std::vector<std::string> link_patterns;
  MailLimits limits;
  int64_t max_message_bytes = 100LL << 20;  // larger: only the header is read; the sender is told
  bool neutral_bounce = false;              // answer failed authentication with a neutral bounce
  size_t batch = 100;                       // messages taken per mailbox per round
  int max_send_attempts = 20;  // a reply still unsent after this many tries is marked failed
  // Other processes run this line on the same store (store.workflow shared): replies they may be
  // sending are not taken over at start, and the mailboxes are read by one process at a time
  // (the store's lock service::kMailboxesLock), so a message is taken, audited and moved once.
  bool shared = false;
};

std::vector<std::string> DefaultLinkPatterns();

enum class TakeOutcome { kAccepted, kRefused, kQuarantined, kDuplicate, kUnreadable, kTooLarge };
std::string_view TakeOutcomeName(TakeOutcome o);

struct TakeResult {
  // accepted | refused (a request could not be made: reply lists why) | quarantined |
  // duplicate (this Message-ID was taken before) | unreadable | too_large
  std::string outcome;
  int64_t request_id = 0;
  std::string reason;
};

// Messages of the line, for the operator's quarantine view (GET /v1/mail/messages): what came
// in and what became of it, never the message itself. status "" for any.
Result<json> ListMailMessages(store::DocumentStore* docs, const std::string& status,
                              int64_t after_id, int64_t limit);

class MailLine {
 public:
  // metrics: where the line's counters go (the workflow's registry when null).
  static Result<std::unique_ptr<MailLine>> Create(service::Workflow* workflow,
                                                  store::DocumentStore* docs,
                                                  MailLineOptions options,
                                                  MetricsRegistry* metrics = nullptr);
  ~MailLine();  // stops the thread
  MailLine(const MailLine&) = delete;
  MailLine& operator=(const MailLine&) = delete;

  // Starts polling the mailboxes and sending replies on a thread of its own.
  void Start();
  void Stop() TD_EXCLUDES(mu_);

  // Takes one message (the raw bytes, or only its header when full_size says it is larger than
  // max_message_bytes). Idempotent by Message-ID. Errors only when the store fails (the
  // message is then left untaken on the server and taken again next round).
  Result<TakeResult> Take(std::string_view raw, const std::string& mailbox, int64_t full_size = -1);
  // One look at every mailbox: takes what is new; returns how many messages were taken.
  Result<int> PollMailboxes();
  // Queues the closing reply (confirmation or rejection) of requests that reached it.
  Result<int> QueueClosings();
  // Sends due replies; returns how many went, or the SMTP error that stopped the round (the
  // rest wait, with backoff).
  Result<int> SendDue();
  // One round of all three (what the thread does every poll interval); true when a mailbox had
  // a full batch (more is waiting: the thread goes on without waiting).
  bool RunOnce();
  // Wakes the thread early (a request was confirmed).
  void Wake() TD_EXCLUDES(mu_);

  std::string MetricsText() const { return metrics_->Render(); }

  // A message of the line that answers no message (a victims' case's recovery link: kind
  // "case_recovery"), rendered now from KIND.LANG (KIND.en when LANG has none) and composed, to
  // be queued as a mail_out document; the line sends it like its replies.
  Result<service::MailOut> Compose(const std::string& kind, const std::string& ukey,
                                   const std::string& to, const std::string& lang,
                                   const json& data);

 private:
  MailLine(service::Workflow* wf, store::DocumentStore* docs, MailLineOptions o,
           MetricsRegistry* metrics);
  class ReplySender;  // the outbox's handler: SMTP (mail_replies.cc)
  std::unique_ptr<service::Outbox::Handler> NewReplySender();

  // What the message's sender is to us (mail_auth.cc).
  struct Authenticated {
    std::optional<service::RequesterProfiles::Sender> sender;
    std::string failure;  // "" when the message may be acted on
    DkimResult dkim;
  };
  Result<Authenticated> Authenticate(std::string_view raw, const ParsedMail& m,
                                     const std::string& secret_in_text, bool too_large);
  MetricsRegistry::CounterMetric* Counted(TakeOutcome o) { return taken_.at(o); }
  // The pieces of Take (mail_intake.cc).
  Result<TakeResult> TakeUnreadable(std::string_view raw, const std::string& mailbox, int64_t size,
                                    const Status& why);
  Result<std::optional<TakeResult>> Duplicate(const std::string& ukey, const ParsedMail& m);
  Result<TakeResult> Quarantine(service::MailIn in, const ParsedMail& m, const Authenticated& auth);
  struct Draft {
    intake::NoticeDraft notice;
    service::MediaByItem media;
    std::vector<std::string> labels;    // what each evidence item was in the message
    std::vector<std::string> problems;  // what could not be used, each a sentence
  };
  Draft DraftOf(ParsedMail& m, const Sections& u, const service::RequesterProfile& profile);
  Result<TakeResult> Refuse(service::MailIn in, const ParsedMail& m,
                            const service::RequesterProfile& profile, json data,
                            const std::vector<std::string>& reasons);
  Result<TakeResult> Accept(service::MailIn in, const ParsedMail& m,
                            const service::RequesterProfile& profile, json data,
                            const service::Request& r, const std::vector<std::string>& labels,
                            const Authenticated& auth);
  // Writes the message's record, its replies and its audit record in one transaction.
  Result<TakeResult> Record(const service::MailIn& in, const std::vector<service::MailOut>& out,
                            const std::string& audit_kind, const json& audit, TakeResult result);

  // Replies (mail_replies.cc).
  Result<std::string> Render(const std::string& kind, const service::RequesterProfile* profile,
                             const json& data) const;
  Result<std::string> Render(const std::string& kind, const std::string& lang,
                             const std::string& tmpl, const json& data) const;
  // The mail_out document of a rendered template (its first line "Subject: ..."), from the line.
  Result<service::MailOut> Queued(const std::string& kind, const std::string& ukey,
                                  const std::string& rendered, const std::string& subject_if_none,
                                  OutgoingMail m, int64_t request_id);
  Result<service::MailOut> Reply(const std::string& kind, const std::string& ukey,
                                 const service::MailIn& in,
                                 const service::RequesterProfile* profile, const json& data);
  Status LoadTemplates();
  void Loop() TD_EXCLUDES(mu_);
  void Warn(const std::string& what, const Status& st) TD_EXCLUDES(mu_);

  service::Workflow* wf_;
  store::DocumentStore* docs_;
  MailLineOptions opt_;
  MetricsRegistry* metrics_;
  std::unique_ptr<DkimVerifier> dkim_;
  std::vector<std::unique_ptr<ImapMailbox>> boxes_;
  std::unique_ptr<SmtpSender> smtp_;
  std::vector<std::regex> patterns_;
  std::map<std::string, std::string> templates_;  // "ack.en" -> template text
  std::unique_ptr<service::Outbox::Handler> reply_sender_;
  std::unique_ptr<service::Outbox> replies_;
  std::map<TakeOutcome, MetricsRegistry::CounterMetric*> taken_;
  MetricsRegistry::CounterMetric *poll_errors_, *replies_sent_, *reply_failures_;

  Mutex mu_;
  CondVar cv_;
  bool stopping_ TD_GUARDED_BY(mu_) = false;
  bool woken_ TD_GUARDED_BY(mu_) = false;
  struct Warning {
    std::string last;
    int64_t logged_ms = 0;
    int repeats = 0;
  };
  std::map<std::string, Warning> warnings_ TD_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace takedown::mail
