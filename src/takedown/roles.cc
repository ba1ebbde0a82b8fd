#include "takedown/roles.h"

#include <fmt/format.h>

namespace takedown::service {

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kPlatform:
      return "platform";
    case Role::kRequester:
      return "requester";
    case Role::kReviewer:
      return "reviewer";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

Result<Role> ParseRole(std::string_view s) {
  if (s == "platform") return Role::kPlatform;
  if (s == "requester") return Role::kRequester;
  if (s == "reviewer") return Role::kReviewer;
  if (s == "admin") return Role::kAdmin;
  return InvalidArgument(
      fmt::format("unknown role '{}' (platform, requester, reviewer or admin)", s));
}

}  // namespace takedown::service
