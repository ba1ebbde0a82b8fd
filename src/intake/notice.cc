#include "intake/notice.h"

#include <fmt/format.h>

#include "core/text.h"

namespace takedown::intake {
namespace {

using nlohmann::json;
using service::Category;
using service::SourceType;

void Add(Problems* p, std::string field, std::string what) {
  p->push_back({std::move(field), std::move(what)});
}

// A string field of `j`: absent or null -> "", another type -> a problem.
std::string Str(const json& j, const char* key, const std::string& prefix, Problems* p) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (!it->is_string()) {
    Add(p, prefix + key, "must be a string");
    return "";
  }
  return it->get<std::string>();
}

std::optional<std::string> OptStr(const json& j, const char* key, const std::string& prefix,
                                  Problems* p) {
  if (!j.contains(key)) return std::nullopt;
  if (!j[key].is_string()) {
    Add(p, prefix + key, "must be a string");
    return std::string();  // present, unusable: validation reports no second problem for it
  }
  return j[key].get<std::string>();
}

bool Flag(const json& j, const char* key, Problems* p) {
  if (!j.contains(key)) return false;
  if (!j[key].is_boolean()) {
    Add(p, key, "must be true or false");
    return false;
  }
  return j[key].get<bool>();
}

void Limit(const std::string& v, const std::string& field, size_t max, Problems* p) {
  if (v.size() > max) Add(p, field, fmt::format("longer than {} characters", max));
}

EvidenceDraft EvidenceFromJson(const json& ev, const std::string& f, Problems* p) {
  EvidenceDraft d;
  if (ev.contains("pdq")) {
    d.pdq = ev["pdq"].is_string() ? ev["pdq"].get<std::string>() : std::string("?");
    if (ev.contains("quality")) {
      const json& q = ev["quality"];
      d.quality = q.is_number_integer() ? q.get<int64_t>() : int64_t{-1};  // -1: refused below
    }
  }
  for (const char* k : {"md5", "sha256"}) {
    if (!ev.contains(k)) continue;
    (std::string(k) == "md5" ? d.md5 : d.sha256) =
        ev[k].is_string() ? ev[k].get<std::string>() : std::string("?");
  }
  d.content_id = OptStr(ev, "content_id", f + ".", p);
  d.message_link = OptStr(ev, "message_link", f + ".", p);
  if (ev.contains("robust")) d.robust = ev["robust"];
  if (ev.contains("video")) d.video = ev["video"];
  if (ev.contains("vpdq")) d.vpdq = ev["vpdq"];
  return d;
}

// [64 hex digits, quality 0..100].
std::optional<hash::PdqHash> PdqPair(const json& j, const std::string& field, Problems* p) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_string() || !j[1].is_number_integer()) {
    Add(p, field, "must be [64 hex digits, quality]");
    return std::nullopt;
  }
  auto h = hash::Hash256::FromHex(AsciiLower(j[0].get<std::string>()));
  const int64_t q = j[1].get<int64_t>();
  if (!h.ok()) {
    Add(p, field, "not 64 hex digits");
    return std::nullopt;
  }
  if (q < 0 || q > 100) {
    Add(p, field, "quality must be an integer 0..100");
    return std::nullopt;
  }
  return hash::PdqHash{*h, static_cast<int>(q)};
}

}  // namespace

std::optional<RobustClaim> ParseRobustClaim(const json& j, const std::string& f, Problems* p) {
  if (!j.is_object()) {
    Add(p, f, "must be an object of norm, box and variants");
    return std::nullopt;
  }
  RobustClaim r;
  const size_t before = p->size();
  for (const auto& [k, v] : j.items()) {
    if (k == "norm") {
      r.norm = PdqPair(v, f + ".norm", p);
    } else if (k == "box") {
      r.box = PdqPair(v, f + ".box", p);
    } else if (k == "variants") {
      if (!v.is_array() || v.size() > kMaxRobustVariants) {
        Add(p, f + ".variants", fmt::format("must be a list of at most {}", kMaxRobustVariants));
        continue;
      }
      for (size_t i = 0; i < v.size(); ++i) {
        if (auto h = PdqPair(v[i], fmt::format("{}.variants[{}]", f, i), p))
          r.variants.push_back(*h);
      }
    } else {
      Add(p, f + "." + k, "is not a robust signal (norm, box, variants)");
    }
  }
  if (!r.norm) Add(p, f + ".norm", "missing");
  if (p->size() != before) return std::nullopt;
  return r;
}

Status ProblemsStatus(const Problems& problems) {
  std::string m = "invalid request: ";
  for (size_t i = 0; i < problems.size(); ++i) m += (i ? "; " : "") + problems[i].ToString();
  return InvalidArgument(m);
}

NoticeDraft DraftFromJson(const json& body, Problems* p) {
  NoticeDraft d;
  if (!body.is_object()) {
    Add(p, "body", "must be a JSON object");
    return d;
  }
  d.category = Str(body, "category", "", p);
  d.explanation = Str(body, "explanation", "", p);
  if (body.contains("notifier")) {
    const json& n = body["notifier"];
    if (!n.is_object()) {
      if (!n.is_null()) Add(p, "notifier", "must be an object with name and email");
    } else {
      d.notifier_name = Str(n, "name", "notifier.", p);
      d.notifier_email = Str(n, "email", "notifier.", p);
    }
  }
  d.accuracy_statement = Flag(body, "accuracy_statement", p);
  d.good_faith_statement = Flag(body, "good_faith_statement", p);
  d.signature = Str(body, "signature", "", p);
  d.legal_basis = Str(body, "legal_basis", "", p);
  d.issuing_authority = Str(body, "issuing_authority", "", p);
  d.case_reference = Str(body, "case_reference", "", p);
  d.territorial_scope = Str(body, "territorial_scope", "", p);
  if (body.contains("evidence") && body["evidence"].is_array()) {
    d.evidence_given = true;
    const json& ev = body["evidence"];
    if (ev.size() > kMaxEvidenceItems) {
      Add(p, "evidence", fmt::format("more than {} items", kMaxEvidenceItems));
      return d;
    }
    for (size_t i = 0; i < ev.size(); ++i) {
      const std::string f = fmt::format("evidence[{}]", i);
      if (!ev[i].is_object()) {
        Add(p, f, "must be an object");
        d.evidence.emplace_back().malformed = true;
        continue;
      }
      d.evidence.push_back(EvidenceFromJson(ev[i], f, p));
      // Media bytes travel apart: an item that named media had it taken out by the caller.
      d.evidence.back().has_media = ev[i].contains("media");
    }
  }
  return d;
}

std::string ContentIdOfLink(const std::string& link) {
  if (auto q = link.find("content_id="); q != std::string::npos) {
    const auto e = link.find_first_of("&#", q);
    return link.substr(q + 11, e == std::string::npos ? std::string::npos : e - q - 11);
  }
  std::string s = link.substr(0, link.find_first_of("?#"));
  while (!s.empty() && s.back() == '/') s.pop_back();
  const auto slash = s.rfind('/');
  return slash == std::string::npos ? "" : s.substr(slash + 1);
}

ValidNotice Validate(const NoticeDraft& d, SourceType source, Problems* p) {
  ValidNotice v;
  const std::string categories = service::EnumChoices<Category>();
  if (d.category.empty()) {
    Add(p, "category", fmt::format("missing (one of {})", categories));
  } else if (auto c = service::EnumFromName<Category>(d.category)) {
    v.category = *c;
  } else {
    Add(p, "category", fmt::format("must be one of {}", categories));
  }
  service::Notice& n = v.notice;
  n.explanation = d.explanation;
  Limit(n.explanation, "explanation", 5000, p);
  if (n.explanation.empty()) {
    Add(p, "explanation", "missing: why the content is illegal (DSA Art. 16(2)(a))");
  }
  // Notifier: name and email, optional only for child sexual abuse material (anonymous notices)
  // and for orders of an authority.
  n.notifier_name = d.notifier_name;
  n.notifier_email = d.notifier_email;
  Limit(n.notifier_name, "notifier.name", 256, p);
  Limit(n.notifier_email, "notifier.email", 256, p);
  n.anonymous = n.notifier_name.empty() && n.notifier_email.empty();
  const bool csam = v.category == Category::kCsam && !d.category.empty();
  if (!csam && source != SourceType::kAuthorityOrder && !d.contact_by_case) {
    const char* why = "missing (anonymous notices are accepted only for csam)";
    if (n.notifier_name.empty()) Add(p, "notifier.name", why);
    if (n.notifier_email.empty()) Add(p, "notifier.email", why);
  }
  if (!n.notifier_email.empty() &&
      (n.notifier_email.find('@') == std::string::npos ||
       n.notifier_email.find_first_of(" \r\n<>") != std::string::npos)) {
    Add(p, "notifier.email", "not an email address");
  }
  n.accuracy_statement = d.accuracy_statement;
  n.good_faith_statement = d.good_faith_statement;
  n.signature = d.signature;
  n.legal_basis = d.legal_basis;
  n.issuing_authority = d.issuing_authority;
  n.case_reference = d.case_reference;
  n.territorial_scope = d.territorial_scope;
  Limit(n.signature, "signature", 256, p);
  Limit(n.legal_basis, "legal_basis", 1000, p);
  Limit(n.issuing_authority, "issuing_authority", 256, p);
  Limit(n.case_reference, "case_reference", 256, p);
  Limit(n.territorial_scope, "territorial_scope", 256, p);
  if (source == SourceType::kAuthorityOrder) {
    if (n.legal_basis.empty()) {
      Add(p, "legal_basis", "missing: an authority order states its legal basis (DSA Art. 9)");
    }
    if (n.issuing_authority.empty()) Add(p, "issuing_authority", "missing for an authority order");
  } else if (!n.accuracy_statement) {
    Add(p, "accuracy_statement",
        "must be true: a statement that the notice is accurate and complete (DSA Art. 16(2)(d))");
  }
  if (source == SourceType::kVictim) {  // TAKE IT DOWN Act
    if (n.signature.empty()) {
      Add(p, "signature", "missing: the depicted person's or their representative's signature");
    }
    if (!n.good_faith_statement) {
      Add(p, "good_faith_statement",
          "must be true: the depiction is non-consensual, stated in good faith");
    }
  }

  if (!d.evidence_given || d.evidence.empty()) {
    Add(p, "evidence",
        "missing: a non-empty array of media, hashes (pdq, md5, sha256) or locations "
        "(content_id, message_link)");
    return v;
  }
  if (d.evidence.size() > kMaxEvidenceItems) {
    Add(p, "evidence", fmt::format("more than {} items", kMaxEvidenceItems));
    return v;
  }
  for (size_t i = 0; i < d.evidence.size(); ++i) {
    const EvidenceDraft& e = d.evidence[i];
    const std::string f = fmt::format("evidence[{}]", i);
    EvidenceClaim c;
    if (e.malformed) {
      v.evidence.push_back(c);
      continue;
    }
    c.has_media = e.has_media;
    bool any = e.has_media;
    if (e.pdq) {
      auto h = hash::Hash256::FromHex(AsciiLower(*e.pdq));
      if (!h.ok()) {
        Add(p, f + ".pdq", "not 64 hex digits");
      } else {
        c.pdq = *h;
        if (e.quality) {
          if (*e.quality < 0 || *e.quality > 100)
            Add(p, f + ".quality", "must be an integer 0..100");
          else
            c.quality = static_cast<int>(*e.quality);
        }
        any = true;
      }
    }
    for (const auto& [given, out, len, name] : {std::tuple{&e.md5, &c.md5, size_t{32}, "md5"},
                                                {&e.sha256, &c.sha256, size_t{64}, "sha256"}}) {
      if (!*given) continue;
      const std::string hex = AsciiLower(**given);
      if (!IsLowerHex(hex, len)) {
        Add(p, f + "." + name, fmt::format("not {} hex digits", len));
        continue;
      }
      *out = hex;
      any = true;
    }
    if (e.robust) {
      if (!c.pdq) Add(p, f + ".robust", "comes with the image's pdq");
      c.robust = ParseRobustClaim(*e.robust, f + ".robust", p);
    }
    if (e.video || e.vpdq) {
      any = true;  // a video's frames, whether or not they are well formed (said below)
      const char* name = e.video ? "video" : "vpdq";
      if (e.video && e.vpdq) {
        Add(p, f + ".vpdq", "a video's frames come as \"video\" or as \"vpdq\", not both");
      } else if (e.pdq || e.robust) {
        Add(p, f + "." + name, "a video's frames come without an image's pdq and robust signals");
      } else if (e.video ? !e.video->is_object() : !e.vpdq->is_array()) {
        Add(p, f + "." + name,
            e.video ? "must be an object with the video's \"frames\""
                    : "must be a list of \"pdqhex,quality,seconds\" frames");
      } else {
        c.video = nlohmann::json{{name, e.video ? *e.video : *e.vpdq}};
      }
    }
    c.content_id = e.content_id.value_or("");
    c.message_link = e.message_link.value_or("");
    Limit(c.content_id, f + ".content_id", 256, p);
    Limit(c.message_link, f + ".message_link", 2048, p);
    if (!c.message_link.empty()) {
      if (c.content_id.empty()) c.content_id = ContentIdOfLink(c.message_link);
      if (c.content_id.empty()) {
        Add(p, f + ".message_link",
            "no content id in the link (expected .../ID or ?content_id=ID)");
      }
    }
    any = any || !c.content_id.empty();
    if (!any && !e.content_id && !e.message_link && !e.pdq && !e.md5 && !e.sha256) {
      Add(p, f, "has none of media, pdq, md5, sha256, content_id, message_link");
    }
    v.evidence.push_back(std::move(c));
  }
  return v;
}

}  // namespace takedown::intake
