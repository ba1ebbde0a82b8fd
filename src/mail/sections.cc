#include "mail/sections.h"

#include <sstream>

#include "core/text.h"

namespace takedown::mail {
namespace {

std::string TrimImpl(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The fields a structured section ("Key: value" lines) may carry, by normalised key: English and
// Korean names, case, spaces, hyphens and underscores ignored.
const std::map<std::string, std::string>& FieldNames() {
  static const std::map<std::string, std::string> m = {
      {"category", "category"},
      {"분류", "category"},
      {"카테고리", "category"},
      {"유형", "category"},
      {"legalbasis", "legal_basis"},
      {"법적근거", "legal_basis"},
      {"근거법령", "legal_basis"},
      {"casereference", "case_reference"},
      {"caseref", "case_reference"},
      {"case", "case_reference"},
      {"사건번호", "case_reference"},
      {"접수번호", "case_reference"},
      {"심의번호", "case_reference"},
      {"issuingauthority", "issuing_authority"},
      {"authority", "issuing_authority"},
      {"요청기관", "issuing_authority"},
      {"기관", "issuing_authority"},
      {"explanation", "explanation"},
      {"reason", "explanation"},
      {"사유", "explanation"},
      {"요청사유", "explanation"},
      {"설명", "explanation"},
      {"territorialscope", "territorial_scope"},
      {"scope", "territorial_scope"},
      {"적용범위", "territorial_scope"},
      {"signature", "signature"},
      {"서명", "signature"},
      {"accuracystatement", "accuracy_statement"},
      {"goodfaithstatement", "good_faith_statement"},
      {"pdq", "pdq"},
      {"md5", "md5"},
      {"sha256", "sha256"},
      {"contentid", "content_id"},
      {"콘텐츠id", "content_id"},
      {"secret", "secret"},
      {"비밀키", "secret"},
  };
  return m;
}

const std::map<std::string, std::string>& CategoryNames() {
  static const std::map<std::string, std::string> m = {
      {"ncii", "ncii"},
      {"csam", "csam"},
      {"deepfake-sexual", "deepfake-sexual"},
      {"deepfake", "deepfake-sexual"},
      {"terrorism", "terrorism"},
      {"other", "other"},
      {"딥페이크", "deepfake-sexual"},
      {"허위영상물", "deepfake-sexual"},
      {"불법촬영물", "ncii"},
      {"불법촬영", "ncii"},
      {"비동의촬영물", "ncii"},
      {"아동성착취물", "csam"},
      {"아동성학대", "csam"},
      {"테러", "terrorism"},
      {"기타", "other"},
  };
  return m;
}

std::string NormaliseKey(const std::string& k) {
  std::string out;
  for (unsigned char c : k) {
    if (c == ' ' || c == '-' || c == '_' || c == '\t') continue;
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

bool YesImpl(const std::string& v) {
  const std::string l = AsciiLower(Trim(v));
  return l == "yes" || l == "true" || l == "y" || l == "예" || l == "네" || l == "동의";
}

}  // namespace

std::string Trim(const std::string& s) { return TrimImpl(s); }

bool Yes(const std::string& v) { return YesImpl(v); }

std::string CanonicalCategory(const std::string& text) {
  auto it = CategoryNames().find(AsciiLower(Trim(text)));
  return it == CategoryNames().end() ? text : it->second;
}

Sections ReadSections(const std::string& text) {
  Sections u;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const std::string t = Trim(line);
    size_t colon = t.find(':');
    const size_t wide = t.find("\xEF\xBC\x9A");  // a full-width colon, as Korean keyboards type it
    size_t skip = 1;
    if (wide != std::string::npos && (colon == std::string::npos || wide < colon)) {
      colon = wide;
      skip = 3;
    }
    if (!t.empty() && t[0] != '>' && colon != std::string::npos && colon > 0 && colon <= 48) {
      const auto it = FieldNames().find(NormaliseKey(t.substr(0, colon)));
      if (it != FieldNames().end()) {
        const std::string v = Trim(t.substr(colon + skip));
        const std::string& f = it->second;
        if (f == "pdq")
          u.pdq.push_back(AsciiLower(v));
        else if (f == "md5")
          u.md5.push_back(AsciiLower(v));
        else if (f == "sha256")
          u.sha256.push_back(AsciiLower(v));
        else if (f == "content_id")
          u.content_ids.push_back(v);
        else if (f == "secret")
          u.secret = v;
        else if (!u.fields.count(f))
          u.fields[f] = v;
        continue;  // structured lines (and the secret) are not part of the free text
      }
    }
    u.rest += line + "\n";
  }
  return u;
}

}  // namespace takedown::mail
