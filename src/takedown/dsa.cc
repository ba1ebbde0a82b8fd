#include "takedown/dsa.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <map>
#include <regex>
#include <set>

#include "core/text.h"

namespace takedown::service::dsa {
namespace {

using nlohmann::json;

// EU member states (ISO 3166-1 alpha-2; Greece as GR) and the EEA's Iceland, Liechtenstein and
// Norway.
constexpr std::array<std::string_view, 30> kCountries = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO"};

// The database's statement categories (the schema in force since 1 July 2025) and the keywords
// (category_specification) its guidance places under each. KEYWORD_OTHER fits any category.
const std::map<std::string, std::set<std::string>>& Tree() {
  static const std::map<std::string, std::set<std::string>> t = {
      {"STATEMENT_CATEGORY_ANIMAL_WELFARE",
       {"KEYWORD_ANIMAL_HARM", "KEYWORD_UNLAWFUL_SALE_ANIMALS"}},
      {"STATEMENT_CATEGORY_CONSUMER_INFORMATION",
       {"KEYWORD_HIDDEN_ADVERTISEMENT", "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
        "KEYWORD_MISLEADING_INFO_GOODS_SERVICES", "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
        "KEYWORD_NONCOMPLIANCE_PRICING"}},
      {"STATEMENT_CATEGORY_CYBER_VIOLENCE",
       {"KEYWORD_CYBER_BULLYING_INTIMIDATION", "KEYWORD_CYBER_HARASSMENT",
        "KEYWORD_CYBER_INCITEMENT", "KEYWORD_CYBER_STALKING",
        "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING", "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE"}},
      {"STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
       {"KEYWORD_BULLYING_AGAINST_GIRLS", "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
        "KEYWORD_CYBER_STALKING_AGAINST_WOMEN", "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
        "KEYWORD_INCITEMENT_AGAINST_WOMEN", "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
        "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN"}},
      {"STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
       {"KEYWORD_BIOMETRIC_DATA_BREACH", "KEYWORD_DATA_FALSIFICATION",
        "KEYWORD_MISSING_PROCESSING_GROUND", "KEYWORD_RIGHT_TO_BE_FORGOTTEN"}},
      {"STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
       {"KEYWORD_DEFAMATION", "KEYWORD_DISCRIMINATION", "KEYWORD_HATE_SPEECH"}},
      {"STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
       {"KEYWORD_COPYRIGHT_INFRINGEMENT", "KEYWORD_DESIGN_INFRINGEMENT",
        "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT", "KEYWORD_PATENT_INFRINGEMENT",
        "KEYWORD_TRADE_SECRET_INFRINGEMENT", "KEYWORD_TRADEMARK_INFRINGEMENT"}},
      {"STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
       {"KEYWORD_MISINFORMATION_DISINFORMATION", "KEYWORD_VIOLATION_EU_LAW",
        "KEYWORD_VIOLATION_NATIONAL_LAW"}},
      {"STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE", {}},
      {"STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
       {"KEYWORD_ADULT_SEXUAL_MATERIAL", "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
        "KEYWORD_GEOGRAPHICAL_REQUIREMENTS", "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
        "KEYWORD_LANGUAGE_REQUIREMENTS", "KEYWORD_NUDITY"}},
      {"STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
       {"KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
        "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE", "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
        "KEYWORD_UNSAFE_CHALLENGES"}},
      {"STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
       {"KEYWORD_ILLEGAL_ORGANIZATIONS", "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
        "KEYWORD_RISK_PUBLIC_HEALTH", "KEYWORD_TERRORIST_CONTENT"}},
      {"STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
       {"KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING", "KEYWORD_INAUTHENTIC_ACCOUNTS",
        "KEYWORD_INAUTHENTIC_LISTINGS", "KEYWORD_INAUTHENTIC_USER_REVIEWS", "KEYWORD_PHISHING",
        "KEYWORD_PYRAMID_SCHEMES"}},
      {"STATEMENT_CATEGORY_SELF_HARM",
       {"KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS", "KEYWORD_SELF_MUTILATION",
        "KEYWORD_SUICIDE"}},
      {"STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
       {"KEYWORD_PROHIBITED_PRODUCTS", "KEYWORD_UNSAFE_PRODUCTS"}},
      {"STATEMENT_CATEGORY_VIOLENCE",
       {"KEYWORD_COORDINATED_HARM", "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
        "KEYWORD_HUMAN_EXPLOITATION", "KEYWORD_HUMAN_TRAFFICKING",
        "KEYWORD_TRAFFICKING_WOMEN_GIRLS"}},
  };
  return t;
}

const std::set<std::string>& Categories() {
  static const std::set<std::string> s = [] {
    std::set<std::string> out;
    for (const auto& [c, k] : Tree()) out.insert(c);
    return out;
  }();
  return s;
}

// keyword -> its category ("" for KEYWORD_OTHER and the database's leftover KEYWORD_STALKING).
const std::map<std::string, std::string>& Keywords() {
  static const std::map<std::string, std::string> s = [] {
    std::map<std::string, std::string> out = {{"KEYWORD_OTHER", ""}, {"KEYWORD_STALKING", ""}};
    for (const auto& [c, ks] : Tree()) {
      for (const auto& k : ks) out[k] = c;
    }
    return out;
  }();
  return s;
}

const std::set<std::string> kVisibilities = {"DECISION_VISIBILITY_CONTENT_REMOVED",
                                             "DECISION_VISIBILITY_CONTENT_DISABLED",
                                             "DECISION_VISIBILITY_CONTENT_DEMOTED",
                                             "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
                                             "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
                                             "DECISION_VISIBILITY_CONTENT_LABELLED",
                                             "DECISION_VISIBILITY_OTHER"};
const std::set<std::string> kProvisions = {
    "DECISION_PROVISION_PARTIAL_SUSPENSION", "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION", "DECISION_PROVISION_TOTAL_TERMINATION"};
const std::set<std::string> kMonetary = {
    "DECISION_MONETARY_SUSPENSION", "DECISION_MONETARY_TERMINATION", "DECISION_MONETARY_OTHER"};
const std::set<std::string> kAccounts = {"DECISION_ACCOUNT_SUSPENDED",
                                         "DECISION_ACCOUNT_TERMINATED"};
const std::set<std::string> kGrounds = {"DECISION_GROUND_ILLEGAL_CONTENT",
                                        "DECISION_GROUND_INCOMPATIBLE_CONTENT"};
const std::set<std::string> kContentTypes = {"CONTENT_TYPE_APP",
                                             "CONTENT_TYPE_AUDIO",
                                             "CONTENT_TYPE_IMAGE",
                                             "CONTENT_TYPE_PRODUCT",
                                             "CONTENT_TYPE_SYNTHETIC_MEDIA",
                                             "CONTENT_TYPE_TEXT",
                                             "CONTENT_TYPE_VIDEO",
                                             "CONTENT_TYPE_OTHER"};
const std::set<std::string> kSourceTypes = {"SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER",
                                            "SOURCE_TYPE_OTHER_NOTIFICATION", "SOURCE_VOLUNTARY"};
const std::set<std::string> kAutomatedDecisions = {
    "AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY", "AUTOMATED_DECISION_NOT_AUTOMATED"};

bool ValidDate(const std::string& d, const std::string& min, std::string* why) {
  static const std::regex kDate(R"(^(\d{4})-(\d{2})-(\d{2})$)");
  std::smatch m;
  if (!std::regex_match(d, m, kDate)) {
    *why = "must be a date YYYY-MM-DD";
    return false;
  }
  const int month = std::stoi(m[2]), day = std::stoi(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > 31) {
    *why = "is not a calendar date";
    return false;
  }
  if (d < min) {
    *why = fmt::format("must be on or after {}", min);
    return false;
  }
  if (d > "2038-01-01") {
    *why = "must be on or before 2038-01-01";
    return false;
  }
  return true;
}

class Checker {
 public:
  explicit Checker(const json& st) : st_(st) {}
  std::vector<Problem> problems;

  void Add(const std::string& field, const std::string& message) {
    problems.push_back({field, message});
  }
  bool Has(const char* k) const { return st_.contains(k) && !st_[k].is_null(); }
  // A required string.
  void Text(const char* k, size_t max_chars, bool required) {
    if (!Has(k)) {
      if (required) Add(k, "is required");
      return;
    }
    if (!st_[k].is_string()) return Add(k, "must be a string");
    const std::string& v = st_[k].get_ref<const std::string&>();
    if (required && v.empty()) return Add(k, "is required (empty)");
    if (Utf8Length(v) > max_chars) {
      Add(k, fmt::format("is {} characters, over the limit of {}", Utf8Length(v), max_chars));
    }
  }
  void OneOf(const char* k, const std::set<std::string>& allowed, bool required) {
    if (!Has(k)) {
      if (required) Add(k, "is required");
      return;
    }
    if (!st_[k].is_string() || allowed.count(st_[k].get<std::string>()) == 0) {
      Add(k, fmt::format("'{}' is not one of the allowed values", st_[k].dump()));
    }
  }
  // An array of allowed values; returns the values.
  std::vector<std::string> Array(const char* k, const std::function<bool(const std::string&)>& ok,
                                 bool required) {
    std::vector<std::string> out;
    if (!Has(k)) {
      if (required) Add(k, "is required");
      return out;
    }
    if (!st_[k].is_array()) {
      Add(k, "must be an array");
      return out;
    }
    if (required && st_[k].empty()) Add(k, "must not be empty");
    for (size_t i = 0; i < st_[k].size(); ++i) {
      const json& v = st_[k][i];
      if (!v.is_string() || !ok(v.get<std::string>())) {
        Add(fmt::format("{}[{}]", k, i), fmt::format("'{}' is not an allowed value", v.dump()));
      } else {
        out.push_back(v.get<std::string>());
      }
    }
    return out;
  }
  const json& st_;
};

}  // namespace

std::optional<CategoryMapping> MapCategory(Category c) {
  switch (c) {
    case Category::kNcii:
      return CategoryMapping{
          "STATEMENT_CATEGORY_CYBER_VIOLENCE", {"KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"}, {}};
    case Category::kDeepfakeSexual:
      return CategoryMapping{"STATEMENT_CATEGORY_CYBER_VIOLENCE",
                             {"KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE"},
                             {"CONTENT_TYPE_SYNTHETIC_MEDIA"}};
    case Category::kCsam:
      return CategoryMapping{
          "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", {"KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"}, {}};
    case Category::kTerrorism:
      return CategoryMapping{
          "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", {"KEYWORD_TERRORIST_CONTENT"}, {}};
    case Category::kOther:
      break;
  }
  return std::nullopt;
}

std::string DefaultLegalGround(Category c) {
  switch (c) {
    case Category::kNcii:
      return "Non-consensual sharing of intimate images, an offence under Article 5 of Directive "
             "(EU) 2024/1385 and the law of the member state concerned";
    case Category::kDeepfakeSexual:
      return "Non-consensual sharing of manipulated intimate material (deepfake), an offence under "
             "Article 5(1)(b) of Directive (EU) 2024/1385 and the law of the member state "
             "concerned";
    case Category::kCsam:
      return "Child sexual abuse material, an offence under Article 5 of Directive 2011/93/EU and "
             "the law of the member state concerned";
    case Category::kTerrorism:
      return "Terrorist content within Article 2(7) of Regulation (EU) 2021/784 and Article 5 of "
             "Directive (EU) 2017/541";
    case Category::kOther:
      break;
  }
  return "Illegal content under the law of the member state concerned, as stated in the notice";
}

bool IsCategory(std::string_view category) { return Categories().count(std::string(category)) > 0; }
bool IsKeyword(std::string_view keyword) { return Keywords().count(std::string(keyword)) > 0; }

std::string KeywordMisfit(std::string_view keyword, std::string_view category) {
  const auto it = Keywords().find(std::string(keyword));
  if (it == Keywords().end() || it->second.empty() || it->second == category) return "";
  return fmt::format("{} belongs to {}, not {}", keyword, it->second, category);
}
bool IsEuEeaCountry(std::string_view code) {
  return std::find(kCountries.begin(), kCountries.end(), code) != kCountries.end();
}

std::vector<std::string> ParseTerritorialScope(std::string_view text,
                                               std::vector<std::string>* unknown) {
  std::vector<std::string> out;
  auto add = [&](const std::string& c) {
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  };
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    std::string up = word;
    for (auto& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (up == "EL") up = "GR";  // the EU's own code for Greece
    if (up == "EU" || up == "EEA") {
      for (auto c : kCountries) add(std::string(c));
    } else if (IsEuEeaCountry(up)) {
      add(up);
    } else if (unknown != nullptr) {
      unknown->push_back(word);
    }
    word.clear();
  };
  for (char ch : text) {
    if (std::isalpha(static_cast<unsigned char>(ch))) {
      word += ch;
    } else {
      flush();
    }
  }
  flush();
  return out;
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t k = Utf8SequenceLength(s, i);
    i += k == 0 ? 1 : k;
    ++n;
  }
  return n;
}

std::string Utf8Prefix(std::string_view s, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < s.size() && chars < max_chars; ++chars) {
    const size_t k = Utf8SequenceLength(s, i);
    if (k == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not UTF-8
      ++i;
    } else {
      out.append(s.substr(i, k));
      i += k;
    }
  }
  return out;
}

std::string Puid(int64_t action_id) { return fmt::format("takedown-action-{}", action_id); }
std::string BlockPuid(int64_t block_id) { return fmt::format("takedown-block-{}", block_id); }

std::vector<Problem> Validate(const json& st) {
  Checker c(st);
  if (!st.is_object()) return {{"statement", "must be a JSON object"}};
  const bool any_decision = c.Has("decision_visibility") || c.Has("decision_account") ||
                            c.Has("decision_monetary") || c.Has("decision_provision");
  if (!any_decision) {
    c.Add("decision_visibility",
          "is required without decision_monetary, decision_provision or decision_account");
  }
  const auto vis = c.Array(
      "decision_visibility", [](const std::string& v) { return kVisibilities.count(v); }, false);
  if (std::find(vis.begin(), vis.end(), "DECISION_VISIBILITY_OTHER") != vis.end()) {
    c.Text("decision_visibility_other", 500, true);
  }
  c.OneOf("decision_account", kAccounts, false);
  c.OneOf("decision_provision", kProvisions, false);
  c.OneOf("decision_monetary", kMonetary, false);
  if (c.Has("decision_monetary") && st["decision_monetary"] == "DECISION_MONETARY_OTHER") {
    c.Text("decision_monetary_other", 500, true);
  }
  c.OneOf("decision_ground", kGrounds, true);
  if (c.Has("decision_ground") && st["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT") {
    c.Text("illegal_content_legal_ground", 500, true);
    c.Text("illegal_content_explanation", 2000, true);
  }
  if (c.Has("decision_ground") && st["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT") {
    c.Text("incompatible_content_ground", 500, true);
    c.Text("incompatible_content_explanation", 2000, true);
  }
  const auto types = c.Array(
      "content_type", [](const std::string& v) { return kContentTypes.count(v); }, true);
  if (std::find(types.begin(), types.end(), "CONTENT_TYPE_OTHER") != types.end()) {
    c.Text("content_type_other", 500, true);
  }
  c.OneOf("category", Categories(), true);
  const auto keywords = c.Array(
      "category_specification", [](const std::string& v) { return Keywords().count(v) > 0; },
      false);
  if (c.Has("category") && st["category"].is_string()) {  // stricter than the database: coherent
    const std::string category = st["category"].get<std::string>();
    for (size_t i = 0; i < keywords.size(); ++i) {
      if (std::string why = KeywordMisfit(keywords[i], category); !why.empty()) {
        c.Add(fmt::format("category_specification[{}]", i), why);
      }
    }
  }
  c.Array(
      "territorial_scope", [](const std::string& v) { return IsEuEeaCountry(v); }, false);
  std::string why;
  if (!c.Has("application_date")) {
    c.Add("application_date", "is required");
  } else if (!st["application_date"].is_string() ||
             !ValidDate(st["application_date"].get<std::string>(), "2020-01-01", &why)) {
    c.Add("application_date", why.empty() ? "must be a date YYYY-MM-DD" : why);
  }
  why.clear();
  if (!c.Has("content_date")) {
    c.Add("content_date", "is required");
  } else if (!st["content_date"].is_string() ||
             !ValidDate(st["content_date"].get<std::string>(), "2000-01-01", &why)) {
    c.Add("content_date", why.empty() ? "must be a date YYYY-MM-DD" : why);
  }
  c.Text("decision_facts", 5000, true);
  c.OneOf("source_type", kSourceTypes, true);
  c.Text("source_identity", 500, false);
  if (c.Has("source_identity") && st["source_type"] == "SOURCE_VOLUNTARY") {
    c.Add("source_identity", "is not stated for own-initiative decisions (SOURCE_VOLUNTARY)");
  }
  if (c.Has("automated_detection") && st["automated_detection"] != "Yes" &&
      st["automated_detection"] != "No") {
    c.Add("automated_detection", "must be Yes or No");
  } else if (!c.Has("automated_detection")) {
    c.Add("automated_detection", "is required");
  }
  c.OneOf("automated_decision", kAutomatedDecisions, true);
  c.Text("puid", 500, true);
  if (c.Has("puid") && st["puid"].is_string()) {
    const std::string& p = st["puid"].get_ref<const std::string&>();
    const bool safe = std::all_of(p.begin(), p.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
    });
    if (!safe) c.Add("puid", "may hold only A-Z, a-z, 0-9, '-' and '_'");
  }
  return c.problems;
}

}  // namespace takedown::service::dsa
