// Actions for the platform (remove, restore, restrict_chat, preserve, account_action) and their
// delivery: queued as "action" documents, delivered through the outbox as signed webhooks
// (HMAC-SHA256 over "timestamp.body", an idempotency key each, a statement of reasons with every
// removal), and acknowledged by the platform's 2xx or its explicit acknowledgement call. An
// acknowledgement writes the action, the content's new state and the audit record in one
// transaction. Without a sink, actions wait for the platform's acknowledgement (it polls GET
// /v1/actions). Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>

#include "takedown/context.h"
#include "takedown/model.h"
#include "takedown/outbox.h"
#include "takedown/statements.h"

namespace takedown::service {

class Actions : public Outbox::Handler {
 public:
  // on_removed(request_id): a removal of that request was acknowledged (the request may now be
  // confirmed).
  Actions(WorkflowContext* ctx, std::unique_ptr<ActionSink> sink, Statements* statements,
          std::function<Status(int64_t)> on_removed);
  ~Actions() override;

  // strikes(removals): told of removals whose acknowledgement was committed (the repeat-uploader
  // count). Set before Start, once.
  void SetOnRemovals(std::function<Status(const std::vector<Action>&)> strikes) {
    on_removals_ = std::move(strikes);
  }

  void Start();  // delivery workers (when there is a sink)
  void Stop();
  void Wake() { outbox_->Wake(); }
  // Delivers every due action now, on the calling thread.
  void DeliverDueNow();

  // Queues an action (idempotent by its ukey); returns its id (the existing one for a known key).
  Result<int64_t> Queue(Action a);
  // The platform's acknowledgement (the same effect as a 2xx webhook); acknowledging twice
  // changes nothing.
  Result<nlohmann::json> Acknowledge(const Principal& who, int64_t action_id);
  Result<nlohmann::json> List(ActionState state, int64_t after_id, int64_t limit);
  Result<Action> Load(int64_t id);

  // The webhook body's signature: hex HMAC-SHA256 of "ts.body" under the webhook secret.
  std::string Sign(const std::string& ts, const std::string& body) const;

  // Outbox::Handler
  Status Deliver(const store::DocRecord& item) override;
  Status Delivered(const store::DocRecord& item) override;
  bool batches() const override { return true; }
  Status DeliveredBatch(const std::vector<store::DocRecord>& items) override;
  std::string GiveUpAudit(const store::DocRecord& item, const std::string& error) override;

  Outbox* outbox() { return outbox_.get(); }

 private:
  Status Ack(Action a, const std::string& via, const std::string& actor);
  // What an acknowledgement writes (the action, its content's state, the audit record), added to
  // ch; a changes nothing when it is not pending.
  void AddAck(Action& a, const std::string& via, const std::string& actor,
              store::DocumentStore::Changes* ch);
  // After acknowledgements are committed: chats counted, requests confirmed.
  Status AfterAcks(const std::vector<Action>& acked);
  // A request as its statements of reasons need it. What a statement reads of a request (its
  // notice, category, source, receipt) never changes after intake, so requests are kept in a
  // small cache: a sweep's thousands of removals read their request once.
  Result<std::shared_ptr<const Request>> RequestOf(int64_t id) TD_EXCLUDES(requests_mu_);
  Status CountChatRemoval(const Action& a);

  WorkflowContext* ctx_;
  std::unique_ptr<ActionSink> sink_;
  Statements* statements_;
  std::function<Status(int64_t)> on_removed_;
  std::function<Status(const std::vector<Action>&)> on_removals_;
  std::unique_ptr<Outbox> outbox_;
  MetricsRegistry::CounterMetric* statement_errors_;
  Mutex chat_mu_;  // the per-chat removal counts (read-modify-write)
  static constexpr size_t kCachedRequests = 1024;
  Mutex requests_mu_;
  std::map<int64_t, std::shared_ptr<const Request>> requests_ TD_GUARDED_BY(requests_mu_);
};

}  // namespace takedown::service
