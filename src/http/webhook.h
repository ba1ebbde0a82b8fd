// The platform's webhook receiver as an ActionSink: POSTs each action as JSON to a configured
// http:// URL (cpp-httplib client; connect timeout 2 s, read timeout 5 s).
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "takedown/workflow.h"

namespace takedown::http {

// url: "http://host[:port][/path]". InvalidArgument when it is not one.
Result<std::unique_ptr<service::ActionSink>> MakeWebhookSink(const std::string& url);

}  // namespace takedown::http
