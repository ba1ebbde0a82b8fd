// The roles an API key can hold. What each may do is decided per route (src/http/server.cc) and
// documented per operation in docs/openapi.json (x-roles).
#pragma once

#include <string_view>

#include "core/status.h"

namespace takedown::service {

// platform: upload gate, content ingestion, action acknowledgements. requester: its own requests
// only. reviewer: review queues and bank listings. admin: keys, banks, audit, metrics.
enum class Role { kPlatform, kRequester, kReviewer, kAdmin };
std::string_view RoleName(Role r);
Result<Role> ParseRole(std::string_view s);

}  // namespace takedown::service
