#include "takedown/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "core/clock.h"
#include "core/text.h"
#include "takedown/dsa.h"
#include "takedown/model.h"

namespace takedown::service {

using nlohmann::json;

namespace {

double Percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double idx = p * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(idx);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return static_cast<double>(v[lo]) +
         (idx - static_cast<double>(lo)) * static_cast<double>(v[hi] - v[lo]);
}

void Count(json& j, std::string_view key) {
  const std::string k(key);
  j[k] = j.value(k, 0) + 1;
}

double Hours(double ms) { return std::round(ms / 3'600'000.0 * 100) / 100; }

// The member state an authority's order came from, as the EU template counts orders: the
// issuing authority's (its requester profile's member_state), else the request's territorial
// scope when it names one state, "EU" for several, else "not_stated".
std::string MemberStateOf(const Request& r) {
  if (!r.requester_member_state.empty()) return r.requester_member_state;
  const auto codes = dsa::ParseTerritorialScope(r.notice.territorial_scope);
  if (codes.size() == 1) return codes.front();
  if (codes.size() > 1) return "EU";
  return "not_stated";
}

// The first audit sequence number whose time is at or after t (the log is in time order):
// a binary search of single-record reads.
Result<int64_t> FirstAuditAt(store::AuditLog* log, int64_t t) {
  int64_t hi = 1;
  for (;;) {  // past the end, or past t
    TD_ASSIGN_OR_RETURN(auto r, log->ReadAudit(hi, 1));
    if (r.empty() || r.front().time_ms >= t) break;
    hi *= 2;
  }
  int64_t lo = 1;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    TD_ASSIGN_OR_RETURN(auto r, log->ReadAudit(mid, 1));
    if (r.empty() || r.front().time_ms >= t)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

}  // namespace

Result<json> TransparencyReport::Build(int64_t from_ms, int64_t to_ms) {
  store::DocumentStore* docs = ctx_->stores.docs;
  json by_category = json::object(), by_source = json::object(), by_status = json::object();
  json removals_by_category = json::object(), removals_by_source = json::object();
  int64_t requests = 0, automated = 0, removals = 0, appeals = 0, upheld = 0, rejected = 0,
          open = 0, restricted = 0;
  std::vector<int64_t> to_removal, to_decision;
  // The EU template's sections (Implementing Regulation (EU) 2024/2835) and the deadlines.
  json orders_by_state = json::object(), orders_by_category = json::object();
  json notices_by_category = json::object();
  int64_t orders = 0, notices = 0, notices_trusted = 0, notices_actioned = 0, notices_automated = 0;
  std::vector<int64_t> order_to_effect, order_to_inform, notice_to_decision, appeal_to_decision;
  struct Requester {
    int64_t requests = 0, removals = 0, within_24h = 0, within_48h = 0, later = 0;
    std::vector<int64_t> to_removal;
  };
  std::map<std::string, Requester> requesters;
  struct Deadline {
    int64_t requests = 0, met = 0, missed = 0, open = 0;
  };
  Deadline d24, d48;
  const int64_t now = ctx_->Now();
  TD_RETURN_IF_ERROR(docs->ForEachDoc(
      {.kind = std::string(kRequestDoc),
       .created_from = from_ms,
       .created_to = to_ms,
       .limit = 1000},
      [&](const store::DocRecord& rec) -> Status {
        TD_ASSIGN_OR_RETURN(Request r, RequestFromDoc(rec));
        ++requests;
        Count(by_category, NameOf(r.category));
        Count(by_source, NameOf(r.source_type));
        Count(by_status, NameOf(r.state));
        if (r.decision) {
          if (r.decision->automated) ++automated;
          to_decision.push_back(r.decision->time_ms - r.received_ms);
        }
        const bool order = r.source_type == SourceType::kAuthorityOrder;
        if (order) {
          ++orders;
          Count(orders_by_category, NameOf(r.category));
          json& st = orders_by_state[MemberStateOf(r)];
          if (!st.is_object()) st = json::object();
          Count(st, NameOf(r.category));
          if (r.confirmed_ms > 0) order_to_inform.push_back(r.confirmed_ms - r.received_ms);
        } else {
          ++notices;
          Count(notices_by_category, NameOf(r.category));
          if (r.source_type == SourceType::kTrustedFlagger) ++notices_trusted;
          if (r.decision) {
            notice_to_decision.push_back(r.decision->time_ms - r.received_ms);
            if (r.decision->automated) ++notices_automated;
            if (r.decision->approved) ++notices_actioned;
          }
        }
        Requester& who =
            requesters[r.requester_name.empty() ? fmt::format("key:{}", r.requester_key_id)
                                                : r.requester_name];
        ++who.requests;
        // Against its deadline: 24 h (e.g. Korea's regulator) or 48 h (the US TAKE IT DOWN Act).
        const int64_t window = r.deadline_ms - r.received_ms;
        if (r.deadline_ms > 0 && window <= 48 * 3'600'000LL) {
          Deadline& d = window <= 24 * 3'600'000LL ? d24 : d48;
          ++d.requests;
          const int64_t done = r.state == RequestState::kConfirmed ? r.confirmed_ms
                               : r.state == RequestState::kRejected
                                   ? (r.decision ? r.decision->time_ms : 0)
                                   : 0;
          if (done > 0)
            ++(done <= r.deadline_ms ? d.met : d.missed);
          else
            ++(now > r.deadline_ms ? d.missed : d.open);
        }
        int64_t first_removal = 0;
        TD_ASSIGN_OR_RETURN(
            auto actions, docs->FindDocs({.kind = std::string(kActionDoc),
                                          .owner = rec.id,
                                          .state = std::string(NameOf(ActionState::kAcknowledged)),
                                          .limit = 10'000'000}));
        for (const auto& ar : actions) {
          TD_ASSIGN_OR_RETURN(Action a, ActionFromDoc(ar));
          if (a.kind != ActionKind::kRemove) continue;
          ++removals;
          Count(removals_by_category, NameOf(r.category));
          Count(removals_by_source, NameOf(r.source_type));
          const int64_t took = a.acknowledged_ms - r.received_ms;
          to_removal.push_back(took);
          ++who.removals;
          who.to_removal.push_back(took);
          ++(took <= 24 * 3'600'000LL   ? who.within_24h
             : took <= 48 * 3'600'000LL ? who.within_48h
                                        : who.later);
          if (first_removal == 0 || a.acknowledged_ms < first_removal)
            first_removal = a.acknowledged_ms;
          TD_ASSIGN_OR_RETURN(
              auto aps,
              docs->FindDocs({.kind = std::string(kAppealDoc), .owner = ar.id, .limit = 10}));
          for (const auto& ap : aps) {
            ++appeals;
            if (ap.state == NameOf(AppealState::kUpheld))
              ++upheld;
            else if (ap.state == NameOf(AppealState::kRejected))
              ++rejected;
            else
              ++open;
            if (ap.state != NameOf(AppealState::kOpen)) {
              TD_ASSIGN_OR_RETURN(Appeal appeal, AppealFromDoc(ap));
              if (appeal.decided_ms > 0)
                appeal_to_decision.push_back(appeal.decided_ms - appeal.filed_ms);
            }
          }
        }
        if (order && first_removal > 0) order_to_effect.push_back(first_removal - r.received_ms);
        return Status::Ok();
      }));
  // Appeals of repeat uploaders' account actions, filed in the period (a removal's are counted
  // with its request, above).
  TD_RETURN_IF_ERROR(
      docs->ForEachDoc({.kind = std::string(kAppealDoc),
                        .created_from = from_ms,
                        .created_to = to_ms,
                        .limit = 1000},
                       [&](const store::DocRecord& ap) -> Status {
                         TD_ASSIGN_OR_RETURN(Appeal appeal, AppealFromDoc(ap));
                         auto a = LoadAction(docs, appeal.action_id);
                         if (!a.ok() || a->kind != ActionKind::kAccountAction) return Status::Ok();
                         ++appeals;
                         if (appeal.state == AppealState::kUpheld)
                           ++upheld;
                         else if (appeal.state == AppealState::kRejected)
                           ++rejected;
                         else
                           ++open;
                         if (appeal.state != AppealState::kOpen && appeal.decided_ms > 0)
                           appeal_to_decision.push_back(appeal.decided_ms - appeal.filed_ms);
                         return Status::Ok();
                       }));
  // Own-initiative moderation: re-uploads blocked at the upload gate (automated, from the audit
  // log's upload.blocked records of the period), by the category of the bank that matched.
  std::map<std::string, std::string> bank_category;
  if (ctx_->svc != nullptr) {
    TD_ASSIGN_OR_RETURN(auto banks, ctx_->svc->ListBanks());
    for (const auto& b : banks) bank_category[b.name] = b.category;
  }
  int64_t gate_blocks = 0;
  json blocks_by_category = json::object();
  TD_ASSIGN_OR_RETURN(int64_t seq, FirstAuditAt(ctx_->stores.audit, from_ms));
  for (bool more = true; more;) {
    TD_ASSIGN_OR_RETURN(auto recs, ctx_->stores.audit->ReadAudit(seq, 1000));
    if (recs.empty()) break;
    for (const auto& rec : recs) {
      if (rec.time_ms >= to_ms) {
        more = false;
        break;
      }
      if (rec.kind != "upload.blocked") continue;
      ++gate_blocks;
      const json p = json::parse(rec.payload, nullptr, false);
      std::string category = "unknown";
      if (p.is_object() && p.contains("matches") && p["matches"].is_array() &&
          !p["matches"].empty() && p["matches"][0].is_object()) {
        auto it = bank_category.find(p["matches"][0].value("bank", ""));
        if (it != bank_category.end()) category = it->second;
      }
      Count(blocks_by_category, category);
    }
    seq = recs.back().seq + 1;
  }
  // Chat restrictions and repeat uploaders' account actions made in the period (DSA Art. 23:
  // suspensions for repeated illegal content are counted in the report, Art. 24(1)(b)).
  int64_t accounts = 0;
  json accounts_by_measure = json::object(), accounts_by_category = json::object();
  for (const auto& [m, name] : EnumNames<AccountMeasure>::kNames) accounts_by_measure[name] = 0;
  TD_RETURN_IF_ERROR(docs->ForEachDoc({.kind = std::string(kActionDoc),
                                       .created_from = from_ms,
                                       .created_to = to_ms,
                                       .limit = 1000},
                                      [&](const store::DocRecord& ar) -> Status {
                                        TD_ASSIGN_OR_RETURN(Action a, ActionFromDoc(ar));
                                        if (a.kind == ActionKind::kRestrictChat) ++restricted;
                                        if (a.kind == ActionKind::kAccountAction) {
                                          Count(accounts_by_measure, NameOf(a.measure));
                                          Count(accounts_by_category, NameOf(a.category));
                                          ++accounts;
                                        }
                                        return Status::Ok();
                                      }));
  auto times = [](const std::vector<int64_t>& v) {
    return json{{"median", Percentile(v, 0.5)}, {"p95", Percentile(v, 0.95)}};
  };
  auto median_h = [](const std::vector<int64_t>& v) { return Hours(Percentile(v, 0.5)); };
  json by_requester = json::array();
  for (auto& [name, q] : requesters) {
    by_requester.push_back({{"requester", name},
                            {"requests", q.requests},
                            {"removals", q.removals},
                            {"median_hours_to_removal", median_h(q.to_removal)},
                            {"removed_within_24h", q.within_24h},
                            {"removed_within_48h", q.within_48h},
                            {"removed_later", q.later}});
  }
  auto deadline = [](const Deadline& d) {
    return json{{"requests", d.requests}, {"met", d.met}, {"missed", d.missed}, {"open", d.open}};
  };
  // Investigators' disclosure requests filed in the period (issue 25): how many, under which
  // processes, what was decided and how many packages were delivered.
  int64_t disclosures = 0, emergency = 0, items_approved = 0, items_refused = 0, items_pending = 0,
          packages = 0, deliveries = 0;
  json disclosures_by_kind = json::object(), disclosures_by_status = json::object();
  TD_RETURN_IF_ERROR(docs->ForEachDoc({.kind = std::string(kDisclosureDoc),
                                       .created_from = from_ms,
                                       .created_to = to_ms,
                                       .limit = 1000},
                                      [&](const store::DocRecord& rec) -> Status {
                                        TD_ASSIGN_OR_RETURN(Disclosure dc, DisclosureFromDoc(rec));
                                        ++disclosures;
                                        emergency += dc.process.emergency ? 1 : 0;
                                        Count(disclosures_by_kind, NameOf(dc.process.kind));
                                        Count(disclosures_by_status, NameOf(dc.state));
                                        for (const auto& it : dc.items) {
                                          items_approved += it.decision == ItemDecision::kApproved;
                                          items_refused += it.decision == ItemDecision::kRefused;
                                          items_pending += it.decision == ItemDecision::kPending;
                                        }
                                        packages += dc.package_doc != 0 ? 1 : 0;
                                        deliveries += dc.deliveries;
                                        return Status::Ok();
                                      }));
  return json{
      {"disclosures",
       {{"total", disclosures},
        {"emergency", emergency},
        {"by_process_kind", disclosures_by_kind},
        {"by_status", disclosures_by_status},
        {"items_approved", items_approved},
        {"items_refused", items_refused},
        {"items_pending", items_pending},
        {"packages_made", packages},
        {"package_deliveries", deliveries}}},
      {"period",
       {{"from", IsoUtc(from_ms)}, {"to", IsoUtc(to_ms)}, {"from_ms", from_ms}, {"to_ms", to_ms}}},
      {"requests",
       {{"total", requests},
        {"by_category", by_category},
        {"by_source_type", by_source},
        {"by_status", by_status},
        {"decided_automatically", automated}}},
      {"removals",
       {{"total", removals},
        {"by_category", removals_by_category},
        {"by_source_type", removals_by_source},
        {"time_to_removal_ms", times(to_removal)},
        {"time_to_decision_ms", times(to_decision)}}},
      {"chats_restricted", restricted},
      {"account_actions",
       {{"total", accounts},
        {"by_measure", accounts_by_measure},
        {"by_category", accounts_by_category}}},
      {"appeals",
       {{"total", appeals}, {"upheld_reversed", upheld}, {"rejected", rejected}, {"open", open}}},
      {"eu_template",
       {{"orders_from_authorities",
         {{"total", orders},
          {"by_member_state", orders_by_state},
          {"by_category", orders_by_category},
          {"median_hours_to_give_effect", median_h(order_to_effect)},
          {"median_hours_to_inform_authority", median_h(order_to_inform)}}},
        {"notices",
         {{"total", notices},
          {"by_category", notices_by_category},
          {"from_trusted_flaggers", notices_trusted},
          {"from_others", notices - notices_trusted},
          {"actioned_on_legal_grounds", notices_actioned},
          {"decided_automatically", notices_automated},
          {"median_hours_to_decide", median_h(notice_to_decision)}}},
        {"own_initiative",
         {{"upload_blocks", gate_blocks},
          {"by_category", blocks_by_category},
          {"automated_share", gate_blocks > 0 ? 1.0 : 0.0},
          {"detection", "hash matching at upload (PDQ, vPDQ, MD5, SHA-256)"}}},
        {"restrictions",
         {{"content_removed", removals},
          {"uploads_blocked", gate_blocks},
          {"chats_restricted", restricted},
          {"accounts_restricted", accounts_by_measure["restrict"]},
          {"accounts_suspended", accounts_by_measure["suspend"]}}},
        {"complaints",
         {{"total", appeals},
          {"upheld_reversed", upheld},
          {"rejected", rejected},
          {"open", open},
          {"median_hours_to_decide", median_h(appeal_to_decision)}}}}},
      {"deadlines",
       {{"by_requester", by_requester},
        {"within_24h", deadline(d24)},
        {"within_48h", deadline(d48)}}}};
}

std::string TransparencyReport::Csv(const json& report) {
  std::string out = "section,key,value\n";
  std::function<void(const std::string&, const json&)> walk = [&](const std::string& prefix,
                                                                  const json& j) {
    for (const auto& [k, v] : j.items()) {
      const std::string key = prefix.empty() ? k : prefix + "." + k;
      if (v.is_object()) {
        walk(key, v);
        continue;
      }
      if (v.is_array() && !v.empty() && v[0].is_object()) {
        for (size_t i = 0; i < v.size(); ++i) walk(fmt::format("{}[{}]", key, i), v[i]);
        continue;
      }
      const auto dot = key.find('.');
      const std::string val = v.is_string() ? v.get<std::string>() : v.dump();
      out +=
          fmt::format("{},{},{}\n", CsvCell(key.substr(0, dot)),
                      CsvCell(dot == std::string::npos ? "" : key.substr(dot + 1)), CsvCell(val));
    }
  };
  walk("", report);
  return out;
}

}  // namespace takedown::service
