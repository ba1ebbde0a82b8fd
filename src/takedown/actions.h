// Actions for the platform (remove, restore, restrict_chat) and their delivery: queued as
// "action" documents, delivered through the outbox as signed webhooks (HMAC-SHA256 over
// "timestamp.body", an idempotency key each, a statement of reasons with every removal), and
// acknowledged by the platform's 2xx or its explicit acknowledgement call. An acknowledgement
// writes the action, the content's new state and the audit record in one transaction. Without a
// sink, actions wait for the platform's acknowledgement (it polls GET /v1/actions).
// Thread-safe.
#pragma once

#include <functional>
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
  std::string GiveUpAudit(const store::DocRecord& item, const std::string& error) override;

  Outbox* outbox() { return outbox_.get(); }

 private:
  Status Ack(int64_t action_id, const std::string& via, const std::string& actor);
  Status CountChatRemoval(const Action& a);

  WorkflowContext* ctx_;
  std::unique_ptr<ActionSink> sink_;
  Statements* statements_;
  std::function<Status(int64_t)> on_removed_;
  std::unique_ptr<Outbox> outbox_;
  Mutex chat_mu_;  // the per-chat removal counts (read-modify-write)
};

}  // namespace takedown::service
