// Statements of reasons against the DSA Transparency Database's rules (issue 24): one test per
// rule of the validator, the category mapping of every request category, territorial scopes,
// UTF-8-safe limits and puids.
#include "takedown/dsa.h"

#include <gtest/gtest.h>

#include <string>

#include "core/text.h"

namespace takedown::service::dsa {
namespace {

using nlohmann::json;

// A statement the database takes: every test breaks one rule of it.
json Valid() {
  return {{"decision_visibility", json::array({"DECISION_VISIBILITY_CONTENT_REMOVED"})},
          {"decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"},
          {"illegal_content_legal_ground", "Article 5 of Directive (EU) 2024/1385"},
          {"illegal_content_explanation", "an intimate image shared without consent"},
          {"content_type", json::array({"CONTENT_TYPE_IMAGE"})},
          {"category", "STATEMENT_CATEGORY_CYBER_VIOLENCE"},
          {"category_specification", json::array({"KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"})},
          {"territorial_scope", json::array({"DE", "FR"})},
          {"decision_facts", "removed after a notice"},
          {"source_type", "SOURCE_ARTICLE_16"},
          {"automated_detection", "Yes"},
          {"automated_decision", "AUTOMATED_DECISION_PARTIALLY"},
          {"application_date", "2026-12-02"},
          {"content_date", "2026-11-30"},
          {"puid", "takedown-action-42"}};
}

// The fields named by the validator's problems.
std::string Fields(const json& st) {
  std::string out;
  for (const auto& p : Validate(st)) out += p.field + " ";
  return out;
}

TEST(DsaStatement, AValidStatementPasses) { EXPECT_EQ(Fields(Valid()), ""); }

TEST(DsaStatement, RequiredFieldsAreNamed) {
  for (const char* k :
       {"decision_ground", "content_type", "category", "decision_facts", "source_type",
        "automated_detection", "automated_decision", "application_date", "content_date", "puid"}) {
    json st = Valid();
    st.erase(k);
    EXPECT_EQ(Fields(st), std::string(k) + " ") << k;
  }
  json st = Valid();
  st.erase("decision_visibility");
  EXPECT_EQ(Fields(st), "decision_visibility ") << "some decision is required";
  st["decision_account"] = "DECISION_ACCOUNT_SUSPENDED";
  EXPECT_EQ(Fields(st), "") << "an account decision alone is a decision";
}

TEST(DsaStatement, IllegalContentNeedsItsGroundAndExplanation) {
  for (const char* k : {"illegal_content_legal_ground", "illegal_content_explanation"}) {
    json st = Valid();
    st.erase(k);
    EXPECT_EQ(Fields(st), std::string(k) + " ");
  }
  json st = Valid();
  st["decision_ground"] = "DECISION_GROUND_INCOMPATIBLE_CONTENT";
  EXPECT_EQ(Fields(st), "incompatible_content_ground incompatible_content_explanation ");
}

TEST(DsaStatement, CategoriesRemovedIn2025AreRefused) {
  json st = Valid();
  st["category"] = "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR";
  st.erase("category_specification");
  EXPECT_EQ(Fields(st), "category ");
  st["category"] = "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE";  // renamed OTHER_VIOLATION_TC
  EXPECT_EQ(Fields(st), "category ");
  st["category"] = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC";
  EXPECT_EQ(Fields(st), "");
}

TEST(DsaStatement, KeywordsMustExistAndBelongToTheCategory) {
  json st = Valid();
  st["category_specification"] = json::array({"KEYWORD_NON_CONSENSUAL_ITEMS_DEEPFAKE"});  // renamed
  EXPECT_EQ(Fields(st), "category_specification[0] ");
  st["category_specification"] = json::array({"KEYWORD_TERRORIST_CONTENT"});
  EXPECT_EQ(Fields(st), "category_specification[0] ");
  st["category_specification"] = json::array({"KEYWORD_OTHER"});  // fits any category
  EXPECT_EQ(Fields(st), "");
}

TEST(DsaStatement, TerritorialScopeIsAnArrayOfEuEeaCodes) {
  json st = Valid();
  st["territorial_scope"] = "DE";
  EXPECT_EQ(Fields(st), "territorial_scope ");
  st["territorial_scope"] = json::array({"DE", "KR", "EL"});  // Greece is GR here
  EXPECT_EQ(Fields(st), "territorial_scope[1] territorial_scope[2] ");
  st["territorial_scope"] = json::array({"NO", "IS", "LI", "GR"});
  EXPECT_EQ(Fields(st), "");
  st.erase("territorial_scope");
  EXPECT_EQ(Fields(st), "") << "nullable";
}

TEST(DsaStatement, DatesHaveTheirFormatAndBounds) {
  json st = Valid();
  st["content_date"] = "1970-01-01";
  EXPECT_EQ(Fields(st), "content_date ");
  st["content_date"] = "2000-01-01";
  EXPECT_EQ(Fields(st), "");
  st["application_date"] = "2019-12-31";
  EXPECT_EQ(Fields(st), "application_date ");
  st["application_date"] = "2026-12-02-10";  // the 2023 schema's format
  EXPECT_EQ(Fields(st), "application_date ");
  st["application_date"] = "2026-13-01";
  EXPECT_EQ(Fields(st), "application_date ");
  st["application_date"] = "2039-01-01";
  EXPECT_EQ(Fields(st), "application_date ");
}

TEST(DsaStatement, LimitsCountCharactersNotBytes) {
  json st = Valid();
  std::string korean;
  for (int i = 0; i < 500; ++i) korean += "가";  // 1,500 bytes, 500 characters
  st["illegal_content_legal_ground"] = korean;
  EXPECT_EQ(Fields(st), "");
  st["illegal_content_legal_ground"] = korean + "가";
  EXPECT_EQ(Fields(st), "illegal_content_legal_ground ");
  st["decision_facts"] = std::string(5001, 'x');
  st["illegal_content_legal_ground"] = korean;
  EXPECT_EQ(Fields(st), "decision_facts ");
}

TEST(DsaStatement, PuidIsSafeAndBounded) {
  json st = Valid();
  st["puid"] = "chat/1 m-1";
  EXPECT_EQ(Fields(st), "puid ");
  st["puid"] = std::string(501, 'a');
  EXPECT_EQ(Fields(st), "puid ");
  st["puid"] = Puid(9'223'372'036'854'775'807);
  EXPECT_EQ(Fields(st), "");
  EXPECT_NE(Puid(1), Puid(2));
}

TEST(DsaStatement, EnumeratedValuesAreChecked) {
  const std::pair<const char*, json> bad[] = {
      {"decision_ground", "DECISION_GROUND_OTHER"},
      {"source_type", "SOURCE_HOTLINE"},
      {"automated_detection", "yes"},
      {"automated_decision", "Yes"},  // the 2023 schema's value
  };
  for (const auto& [k, v] : bad) {
    json st = Valid();
    st[k] = v;
    EXPECT_NE(Fields(st).find(k), std::string::npos) << k;
  }
  // A chat restriction is a decision on the provision of the service; monetary decisions too.
  json provision = Valid();
  provision.erase("decision_visibility");
  provision["decision_provision"] = "DECISION_PROVISION_PARTIAL_SUSPENSION";
  EXPECT_EQ(Fields(provision), "");
  provision["decision_provision"] = "DECISION_PROVISION_PARTIAL";
  EXPECT_EQ(Fields(provision), "decision_provision ");
  provision.erase("decision_provision");
  provision["decision_monetary"] = "DECISION_MONETARY_OTHER";
  EXPECT_EQ(Fields(provision), "decision_monetary_other ") << "OTHER must say what";
  provision["decision_monetary_other"] = "payouts held";
  EXPECT_EQ(Fields(provision), "");
  provision["decision_monetary"] = "DECISION_MONETARY_FINE";
  EXPECT_EQ(Fields(provision), "decision_monetary ");
  json st = Valid();
  st["content_type"] = json::array({"CONTENT_TYPE_OTHER"});
  EXPECT_EQ(Fields(st), "content_type_other ");
  st["content_type"] = json::array({"CONTENT_TYPE_PICTURE"});
  EXPECT_EQ(Fields(st), "content_type[0] ");
  st = Valid();
  st["source_type"] = "SOURCE_VOLUNTARY";
  st["source_identity"] = "someone";
  EXPECT_EQ(Fields(st), "source_identity ");
}

TEST(DsaMapping, EveryRequestCategoryMapsToTheCurrentTree) {
  for (Category c :
       {Category::kNcii, Category::kDeepfakeSexual, Category::kCsam, Category::kTerrorism}) {
    auto m = MapCategory(c);
    ASSERT_TRUE(m.has_value()) << NameOf(c);
    json st = Valid();
    st["category"] = m->category;
    st["category_specification"] = m->keywords;
    EXPECT_EQ(Fields(st), "") << NameOf(c);
    EXPECT_LE(DefaultLegalGround(c).size(), 500u);
  }
  EXPECT_EQ(MapCategory(Category::kNcii)->category, "STATEMENT_CATEGORY_CYBER_VIOLENCE");
  EXPECT_EQ(MapCategory(Category::kNcii)->keywords[0], "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING");
  EXPECT_EQ(MapCategory(Category::kDeepfakeSexual)->keywords[0],
            "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE");
  EXPECT_EQ(MapCategory(Category::kDeepfakeSexual)->extra_content_types[0],
            "CONTENT_TYPE_SYNTHETIC_MEDIA");
  EXPECT_EQ(MapCategory(Category::kCsam)->category, "STATEMENT_CATEGORY_PROTECTION_OF_MINORS");
  EXPECT_EQ(MapCategory(Category::kCsam)->keywords[0], "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL");
  EXPECT_EQ(MapCategory(Category::kTerrorism)->keywords[0], "KEYWORD_TERRORIST_CONTENT");
  EXPECT_FALSE(MapCategory(Category::kOther).has_value()) << "a reviewer chooses";
}

TEST(DsaText, TerritorialScopesAreParsedFromText) {
  std::vector<std::string> unknown;
  EXPECT_EQ(ParseTerritorialScope("de, fr; EL fr", &unknown),
            (std::vector<std::string>{"DE", "FR", "GR"}));
  EXPECT_TRUE(unknown.empty());
  EXPECT_EQ(ParseTerritorialScope("EU").size(), 30u);
  EXPECT_EQ(ParseTerritorialScope("KR US", &unknown).size(), 0u);
  EXPECT_EQ(unknown, (std::vector<std::string>{"KR", "US"}));
  EXPECT_TRUE(ParseTerritorialScope("").empty());
}

TEST(DsaText, PrefixesNeverSplitACharacter) {
  EXPECT_EQ(Utf8Prefix("가나다", 2), "가나");
  EXPECT_EQ(Utf8Prefix("abc", 10), "abc");
  EXPECT_EQ(Utf8Length("가나다"), 3u);
  // A byte that is not UTF-8 becomes U+FFFD, so the JSON writer never throws on it.
  const std::string fixed = Utf8Prefix(std::string("a\xff") + "b", 10);
  EXPECT_EQ(fixed,
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_NO_THROW((void)json(fixed).dump());
  // A sequence cut at the end of the input is not valid either.
  EXPECT_EQ(Utf8Prefix(std::string("가").substr(0, 2), 5), "\xEF\xBF\xBD\xEF\xBF\xBD");
  // Nor a surrogate or an overlong form (JSON writers refuse both): one U+FFFD a byte.
  for (const std::string bad : {"\xED\xA0\x80", "\xE0\x80\xAF", "\xF4\x90\x80\x80"}) {
    const std::string p = Utf8Prefix(bad, 10);
    EXPECT_EQ(Utf8Length(bad), bad.size());
    EXPECT_FALSE(IsUtf8(bad));
    EXPECT_TRUE(IsUtf8(p));
    EXPECT_NO_THROW((void)json(p).dump()) << p;
  }
  EXPECT_TRUE(IsUtf8("가나 abc \xF0\x9F\x98\x80"));
}

}  // namespace
}  // namespace takedown::service::dsa
