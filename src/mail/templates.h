// The reply templates built into the binary (config/mail/*.mustache at build time), used when
// mail.templates_dir is "": an installed binary needs no file of the source tree.
#pragma once

#include <map>
#include <string>

namespace takedown::mail {

// Template name without ".mustache" ("ack.en") -> its text.
const std::map<std::string, std::string>& BuiltInTemplates();

}  // namespace takedown::mail
