// The direct email line: regulators and hotlines send removal requests by email, and get an
// acknowledgement (request id, what was understood, the deadline) within seconds and a
// confirmation listing every removed item when the request is actioned, both threaded to their
// message.
//
//   IMAP mailbox(es) --poll--> Take(raw): parse (GMime) -> authenticate the sender (requester
//   allowlist from the requester's profile, DKIM, optional shared secret) -> notice fields,
//   evidence (media attachments, hashes, message links and content ids found by the platform's
//   patterns) -> Workflow::CreateRequest (idempotent by Message-ID) -> a reply queued in the
//   store -> the message flagged taken on the server.
//   Requests reaching confirmed or rejected -> a closing reply queued. Queued replies -> SMTP,
//   retried with backoff until sent.
//
// Nothing is lost: a message is flagged taken only after its outcome (request, refusal,
// quarantine) and its reply are durable in the store; a crash before that takes it again and
// the Message-ID key files no second request. A message that fails authentication is
// quarantined (reason in the audit log), never actioned, and its sender learns nothing beyond
// an optional neutral bounce. The message itself is not kept (it may be the illegal material).
//
// Mail documents in the store: "mail_in" (one per message taken; ukey "mail:" + Message-ID)
// and "mail_out" (one per reply; ukey names its message and kind).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "mail/dkim.h"
#include "mail/message.h"
#include "mail/transport.h"
#include "store/store.h"
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
};

std::vector<std::string> DefaultLinkPatterns();

struct TakeResult {
  // accepted | refused (a request could not be made: reply lists why) | quarantined |
  // duplicate (this Message-ID was taken before) | unreadable | too_large
  std::string outcome;
  int64_t request_id = 0;
  std::string reason;
};

struct MailLineStats {
  std::atomic<int64_t> taken{0}, accepted{0}, refused{0}, quarantined{0}, duplicates{0},
      unreadable{0}, too_large{0};
  std::atomic<int64_t> replies_sent{0}, reply_failures{0}, poll_errors{0};
};

class MailLine {
 public:
  static Result<std::unique_ptr<MailLine>> Create(service::Workflow* workflow, store::Store* store,
                                                  MailLineOptions options);
  ~MailLine();  // stops the thread
  MailLine(const MailLine&) = delete;
  MailLine& operator=(const MailLine&) = delete;

  // Starts polling the mailboxes and sending replies on a thread of its own.
  void Start();
  void Stop();

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
  void Wake();

  const MailLineStats& stats() const { return stats_; }
  std::string MetricsText() const;  // Prometheus text

 private:
  MailLine(service::Workflow* wf, store::Store* store, MailLineOptions o)
      : wf_(wf), store_(store), opt_(std::move(o)) {}
  struct Requester {
    int64_t key_id = 0;
    std::string key_name;
    json profile;
  };
  Result<std::optional<Requester>> FindRequester(const std::string& from);
  Result<std::string> Render(const std::string& kind, const json& profile, const json& data) const;
  Result<TakeResult> Record(const json& mail_in, const std::vector<store::DocRecord>& out,
                            const std::string& audit_kind, const json& audit, TakeResult result);
  Result<store::DocRecord> Reply(const std::string& kind, const std::string& ukey,
                                 const json& mail_in, const json& profile, const json& data);
  void Loop();

  service::Workflow* wf_;
  store::Store* store_;
  MailLineOptions opt_;
  std::unique_ptr<DkimVerifier> dkim_;
  std::vector<std::unique_ptr<ImapMailbox>> boxes_;
  std::unique_ptr<SmtpSender> smtp_;
  std::vector<std::regex> patterns_;
  std::map<std::string, std::string> templates_;  // "ack.en" -> template text
  MailLineStats stats_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  bool woken_ = false;     // GUARDED_BY(mu_)
  struct Warning {
    std::string last;
    int64_t logged_ms = 0;
    int repeats = 0;
  };
  std::map<std::string, Warning> warnings_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace takedown::mail
