// The platform's webhook receiver as an ActionSink: POSTs each action as JSON to a configured
// http:// or https:// URL (cpp-httplib client, built by Debian with OpenSSL; connect timeout 2 s,
// read timeout 5 s). Over https the server's certificate and host name are always verified,
// against ca_file when one is given, else against the system's trust store.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "takedown/workflow.h"

namespace takedown::http {

// url: "http[s]://host[:port][/path]". InvalidArgument when it is not one, or when ca_file is
// given for http:// or cannot be read.
Result<std::unique_ptr<service::ActionSink>> MakeWebhookSink(const std::string& url,
                                                             const std::string& ca_file = "");

}  // namespace takedown::http
