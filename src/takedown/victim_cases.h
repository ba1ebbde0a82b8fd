// The victims' form (/report): a person whose intimate image is being shared asks for its removal
// without sending it to anyone. The page hashes the pictures on the person's device (the
// project's own hashing built for WebAssembly) and sends hashes and the fields the TAKE IT DOWN
// Act asks for (category, a good-faith statement, a typed signature, contact information, where
// it was seen); nothing here ever receives image or video bytes.
//
// A case is one or more removal requests from the `victim` source (48-hour deadline, untrusted:
// always reviewed by a person) filed under the form's own requester key, followed with a case
// number and a PIN shown once (the PIN is kept only as a salted PBKDF2 hash). With them the
// person sees the case's status, adds more pictures (a new request in the same case) or withdraws
// it: every bank entry its requests made is disabled at once, and the withdrawal is audited.
//
// An unauthenticated write path, so every call is bounded: a proof of work on each filing and
// addition (a challenge signed by this process, used once), cases per address and in all per
// hour, wrong PINs per case and per address per hour (the answer for a wrong PIN and an unknown
// case number is the same), hashes per case, quality below the bank minimum refused. The budgets
// and spent challenges are kept in the store, so every process on it shares them. All of it is
// counted in /metrics. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/metrics.h"
#include "core/mutex.h"
#include "store/event_window.h"
#include "takedown/context.h"
#include "takedown/requests.h"

namespace takedown::service {

class VictimCases {
 public:
  static constexpr std::string_view kCaseDoc = "report_case";
  static constexpr std::string_view kFormKeyName = "victims' form (/report)";

  // Bounds from ctx->opt.report.
  VictimCases(WorkflowContext* ctx, Requests* requests, RequesterProfiles* profiles);

  // {"challenge", "bits", "expires_at", "recovery_by_email"}: a proof-of-work challenge, valid
  // challenge_ttl_s, once; and whether a lost PIN can be replaced by a link sent by email.
  Result<nlohmann::json> Challenge();

  // Each takes the JSON body the page sent and the client's address. Errors: InvalidArgument
  // naming every bad field ("items[2].quality: ..."), ResourceExhausted for a limit (HTTP 429),
  // NotFound for a case number and PIN that match no case (whichever of the two was wrong).
  //   File: {"challenge", "nonce", "category", "locations"?, "statement", "signature", "email"?,
  //          "language"?, "items": [...]} -> {"case", "pin", "status", "deadline", "items"}.
  //   CaseStatus: {"case", "pin"} -> the case's status.
  //   AddItems: {"case", "pin", "challenge", "nonce", "items"} -> the case's status.
  //   Withdraw: {"case", "pin"} -> the case's status ("withdrawn").
  Result<nlohmann::json> File(const nlohmann::json& body, const std::string& address);
  Result<nlohmann::json> CaseStatus(const nlohmann::json& body, const std::string& address);
  Result<nlohmann::json> AddItems(const nlohmann::json& body, const std::string& address);
  Result<nlohmann::json> Withdraw(const nlohmann::json& body, const std::string& address);

  // Recovery by email (a person who lost the PIN): `compose` makes the message of a link
  // (to, language "en"|"ko", data {case, link, expires_at, minutes}, ukey) as the mail line sends
  // it; `wake` asks the sender to send now. Set once, before the form serves. Without it, or
  // without report.public_url, recovery is not offered (Recover answers FailedPrecondition).
  using RecoveryMailer =
      std::function<Result<MailOut>(const std::string& to, const std::string& language,
                                    const nlohmann::json& data, const std::string& ukey)>;
  void SetRecoveryMailer(RecoveryMailer compose, std::function<void()> wake);
  bool RecoveryByEmail() const { return compose_ != nullptr && !opt_.public_url.empty(); }
  //   Recover: {"challenge", "nonce", "case", "email"} -> the same answer whether or not the case
  //     exists and has that address; when both hold, a link that works once for
  //     recovery_link_ttl_s is mailed to it (at most recovery_links_per_case_per_day a day).
  //   ResetPin: {"case", "token"} (the link's) -> the case's status with a new "pin" (shown
  //     once; the old PIN stops working). A wrong or used link counts as a wrong PIN.
  Result<nlohmann::json> Recover(const nlohmann::json& body, const std::string& address);
  Result<nlohmann::json> ResetPin(const nlohmann::json& body, const std::string& address);

  // The form's requester key (role requester, profile: victim, untrusted), made at the first
  // filing and found again afterwards; its key is never handed out: nobody signs in as the form.
  Result<int64_t> FormKey() TD_EXCLUDES(key_mu_);

 private:
  struct Case {
    int64_t doc_id = 0;
    std::string number;  // "TD-XXXX-XXXX-XXXX"
    std::string state;   // open | withdrawn
    nlohmann::json doc;
  };
  // The case of a canonical number (XXXX-XXXX-XXXX), or none.
  Result<std::optional<Case>> Load(const std::string& number);
  // Refuses (429) when the address or the case number had too many failures in the last hour;
  // Failed counts one.
  Status PinBudget(const std::string& number, const std::string& address) TD_EXCLUDES(mu_);
  void PinFailed(const std::string& number, const std::string& address) TD_EXCLUDES(mu_);
  // Checks the proof of work; with spend, also spends the challenge (once: a second spend fails).
  Status CheckWork(const nlohmann::json& body, bool spend);
  Status SpendWorkAndBudget(const nlohmann::json& body, const std::string& address);
  // Counts a filing or an addition against the address's and the global hourly budgets.
  Status TakeFilingBudget(const std::string& address);
  // The case the body's number and PIN open, counting a failure against both budgets.
  Result<Case> Open(const nlohmann::json& body, const std::string& address);
  // Files one request of the case's items (and the filing's locations) under the form's key.
  // `gate` runs once everything is valid, just before the request is stored (the proof of work
  // spent, the hourly budget taken): a filing refused for its fields costs the person no new work.
  Result<Request> FileRequest(const nlohmann::json& body, const nlohmann::json& items,
                              const std::string& number, const std::function<Status()>& gate);
  Result<nlohmann::json> View(const Case& c);
  // The case's document (doc_id 0: a new one), owned by its first request.
  static store::DocRecord ToDoc(const Case& c);

  WorkflowContext* ctx_;
  Requests* requests_;
  RequesterProfiles* profiles_;
  ReportOptions opt_;
  Mutex key_mu_;
  int64_t form_key_id_ TD_GUARDED_BY(key_mu_) = 0;
  // Signs challenges: one key for every process on the store (a challenge one replica gave is good
  // at another, and after a restart), made once and kept as a document (ChallengeKey).
  std::string secret_ TD_GUARDED_BY(key_mu_);
  Result<std::string> ChallengeKey();

  RecoveryMailer compose_;
  std::function<void()> wake_;
  // Serialises the read-modify-write of case documents (PIN resets, recovery links, additions,
  // withdrawals), so that none overwrites another's change: between this process's threads
  // case_mu_, between the processes sharing the store its lock kVictimCasesLock. A withdrawal
  // takes its requests' locks while holding it; nothing takes them the other way round.
  Mutex case_mu_;

  // The hourly budgets, kept in the store so that every process on it counts the same ones (one
  // document an event). A budget's key: its kind ("file", "pin", "case", "recover") and the
  // address or case number keyed with the challenge key (no address is stored), or "file:*".
  // Within a process mu_ makes a look and its count one step; processes racing may each take the
  // last unit of a budget (one over, at most, per process).
  Mutex mu_;
  Result<std::string> Budget(const std::string& kind, const std::string& who);
  // Events of a budget in the last hour (at most cap + 1 are read).
  Result<int> Events(const std::string& budget, int cap);
  Status AddEvents(const std::vector<std::string>& budgets);
  store::EventWindow events_;  // an hour's, deleted at most once a minute
  // Deletes spent challenges past their lifetime (at most once a minute, from any process).
  void ForgetSpent();
  std::atomic<int64_t> last_forget_ms_{0};

  MetricsRegistry::CounterMetric* filed_ = nullptr;
  MetricsRegistry::CounterMetric* refused_invalid_ = nullptr;
  MetricsRegistry::CounterMetric* refused_work_ = nullptr;
  MetricsRegistry::CounterMetric* refused_rate_ = nullptr;
  MetricsRegistry::CounterMetric* pin_failed_ = nullptr;
  MetricsRegistry::CounterMetric* pin_limited_ = nullptr;
  MetricsRegistry::CounterMetric* withdrawn_ = nullptr;
  MetricsRegistry::CounterMetric* items_ = nullptr;
  MetricsRegistry::CounterMetric* recovery_sent_ = nullptr;
  MetricsRegistry::CounterMetric* recovery_unmatched_ = nullptr;
  MetricsRegistry::CounterMetric* recovery_limited_ = nullptr;
  MetricsRegistry::CounterMetric* pin_reset_ = nullptr;
};

}  // namespace takedown::service
