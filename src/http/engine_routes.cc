// The engine's routes: API keys, banks and their entries, the upload gate, content backfill,
// the audit chain.
#include <algorithm>

#include "core/clock.h"
#include "hash/vpdq.h"
#include "http/server_impl.h"

namespace takedown::http {
namespace {

// The largest /v1/check body parsed and matched on an I/O thread; a larger one (many robust
// layers, a hostile client with a platform key) goes to a worker, where its time harms nobody.
constexpr size_t kInlineCheckBytes = 64 << 10;

// An entry's robust and video signals in the form an import reads back: "robust" as a request's
// evidence carries it ([hex, quality] pairs), a video's frames as "vpdq" strings (and, for a
// video hashed from media, its frames' robust signals as "video"). A stored value
// that cannot be read is left out and logged (the entry's plain signals still go out).
void ExportSignals(const store::BankEntryRecord& e, json* j) {
  auto pair = [](const hash::PdqHash& h) { return json::array({h.hash.ToHex(), h.quality}); };
  if (!e.robust.empty()) {
    auto r = service::RobustFromJson(json::parse(e.robust, nullptr, false));
    if (r.ok()) {
      json robust = json::object();
      if ((*r)->norm) robust["norm"] = pair(*(*r)->norm);
      if ((*r)->box) robust["box"] = pair(*(*r)->box);
      robust["variants"] = json::array();
      for (const auto& v : (*r)->variants) robust["variants"].push_back(pair(v));
      if (robust.contains("norm")) (*j)["robust"] = std::move(robust);
    } else {
      spdlog::warn("export: entry {}: {}", e.id, r.status().message());
    }
  }
  if (!e.video.empty()) {
    auto v = service::VideoFromJson(json::parse(e.video, nullptr, false));
    if (v.ok()) {
      (*j)["type"] = "video";
      if ((*v)->fps > 0) (*j)["fps"] = (*v)->fps;
      (*j)["duration"] = (*v)->duration;
      json frames = json::array();
      for (const auto& f : (*v)->frames)
        frames.push_back(hash::VpdqListFrame(f.pdq.hash, f.pdq.quality, f.seconds));
      (*j)["vpdq"] = std::move(frames);
      // A bank video hashed from media: its frames' robust signals too, as the import reads them.
      const bool robust = std::any_of((*v)->frames.begin(), (*v)->frames.end(), [](const auto& f) {
        return f.norm.quality > 0 || !f.norm_crops.empty() || f.box.has_value();
      });
      if (robust) (*j)["video"] = service::VideoToJson(**v);
    } else {
      spdlog::warn("export: entry {}: {}", e.id, v.status().message());
    }
  }
}

}  // namespace

void Server::Impl::InstallEngineRoutes() {
  Route("POST", "/v1/keys", {Role::kAdmin}, [this](Ctx& c) {
    auto r = ParseKeyRequest(c.req.get_header_value("Content-Type"), c.req.body);
    if (!r.ok()) return SendStatus(c.res, r.status());
    auto k = S()->CreateKey(r->role, r->name, c.who.actor());
    if (!k.ok()) return SendStatus(c.res, k.status());
    SendJson(c.res,
             {{"key_id", k->first},
              {"key", k->second},
              {"role", service::RoleName(r->role)},
              {"name", r->name}},
             201);
  });
  Route("GET", "/v1/keys", {Role::kAdmin}, [this](Ctx& c) {
    auto keys = S()->ListKeys();
    if (!keys.ok()) return SendStatus(c.res, keys.status());
    json out = json::array();
    for (const auto& k : *keys) {  // never the key: its hash stays in the store too
      out.push_back({{"key_id", k.id},
                     {"name", k.name},
                     {"role", k.role},
                     {"created_at", IsoUtc(k.created_ms)},
                     {"revoked", k.revoked}});
    }
    SendJson(c.res, {{"keys", out}});
  });
  Route("DELETE", "/v1/keys/{key_id}", {Role::kAdmin}, [this](Ctx& c) {
    auto id_or = ParseId(c.Param(1), "key_id");
    if (!id_or.ok()) return SendStatus(c.res, id_or.status());
    const int64_t id = *id_or;
    Status st = S()->RevokeKey(id, c.who.actor());
    if (!st.ok()) return SendStatus(c.res, st);
    SendJson(c.res, {{"key_id", id}, {"revoked", true}});
  });

  Route("POST", "/v1/banks", {Role::kAdmin}, [this](Ctx& c) {
    auto spec = ParseBankRequest(c.req.get_header_value("Content-Type"), c.req.body);
    if (!spec.ok()) return SendStatus(c.res, spec.status());
    auto b = S()->CreateBank(*spec, c.who.actor());
    if (!b.ok()) return SendStatus(c.res, b.status());
    SendJson(c.res,
             {{"bank_id", b->id},
              {"name", b->name},
              {"category", b->category},
              {"pdq_threshold", b->pdq_threshold},
              {"action", b->action}},
             201);
  });
  Route("GET", "/v1/banks", {Role::kAdmin, Role::kReviewer}, [this](Ctx& c) {
    auto banks = S()->ListBanks();
    if (!banks.ok()) return SendStatus(c.res, banks.status());
    const auto counts = S()->EntryCounts();
    json out = json::array();
    for (const auto& b : *banks) {
      const auto n = counts.count(b.id) ? counts.at(b.id) : std::pair<int64_t, int64_t>{0, 0};
      out.push_back({{"bank_id", b.id},
                     {"name", b.name},
                     {"category", b.category},
                     {"pdq_threshold", b.pdq_threshold},
                     {"action", b.action},
                     {"entries", {{"enabled", n.first}, {"disabled", n.second}}}});
    }
    SendJson(c.res, {{"banks", out}});
  });
  Route("POST", "/v1/banks/{bank}/entries", {Role::kAdmin}, [this](Ctx& c) {
    auto spec =
        ParseEntryRequest(c.req.get_header_value("Content-Type"), c.req.body, c.who.actor());
    if (!spec.ok()) return SendStatus(c.res, spec.status());
    auto e = S()->AddEntry(c.Param(1), *spec, c.who.actor());
    if (!e.ok()) return SendStatus(c.res, e.status());
    SendJson(c.res,
             {{"entry_id", e->id},
              {"bank", c.Param(1)},
              {"pdq", e->pdq},
              {"quality", e->quality},
              {"md5", e->md5},
              {"sha256", e->sha256}},
             201);
  });
  Route("POST", "/v1/banks/{bank}/import", {Role::kAdmin}, [this](Ctx& c) {
    const std::string format = c.req.has_param("format") ? c.req.get_param_value("format") : "text";
    const std::string signal = c.req.has_param("signal") ? c.req.get_param_value("signal") : "pdq";
    auto list = ParseImport(format, signal, c.req.body, kMaxImportEntries);
    if (!list.ok()) return SendStatus(c.res, list.status());
    const std::string source =
        c.req.has_param("source") ? c.req.get_param_value("source") : c.who.actor();
    auto done =
        S()->ImportEntries(c.Param(1), *list, source.substr(0, 256),
                           c.req.get_param_value("request_id").substr(0, 256), c.who.actor());
    if (!done.ok()) return SendStatus(c.res, done.status());
    json out = {{"bank", c.Param(1)}, {"imported", done->ids.size()}, {"existing", done->existing}};
    if (!done->ids.empty()) {
      out["first_entry_id"] = done->ids.front();
      out["last_entry_id"] = done->ids.back();
    }
    // 201 when something was stored; 200 when the whole list was there already.
    SendJson(c.res, out, done->ids.empty() ? 200 : 201);
  });
  Route("GET", "/v1/banks/{bank}/entries", {Role::kAdmin}, [this](Ctx& c) {
    store::BankEntryQuery q;
    std::string prefix = c.req.get_param_value("prefix");
    for (char& ch : prefix) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (prefix.size() > 64 || prefix.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return SendError(c.res, 400, "invalid_argument",
                       "prefix: up to 64 hex digits of a PDQ, MD5 or SHA-256");
    }
    q.prefix = prefix;
    const std::string state = c.req.get_param_value("state");
    if (state == "enabled" || state == "disabled") {
      q.enabled = state == "enabled";
    } else if (!state.empty()) {
      return SendError(c.res, 400, "invalid_argument", "state must be enabled or disabled");
    }
    auto after = IntQuery(c, "after_id", 0);
    auto limit = IntQuery(c, "limit", 100);
    if (!after.ok()) return SendStatus(c.res, after.status());
    if (!limit.ok()) return SendStatus(c.res, limit.status());
    if (*after < 0) return SendError(c.res, 400, "invalid_argument", "after_id must be >= 0");
    if (*limit < 1 || *limit > 1000)
      return SendError(c.res, 400, "invalid_argument", "limit must be 1 to 1000");
    q.after_id = *after;
    q.limit = *limit;
    auto entries = S()->FindEntries(c.Param(1), q);
    if (!entries.ok()) return SendStatus(c.res, entries.status());
    json out = json::array();
    for (const auto& e : *entries) {
      json j = {{"entry_id", e.id},
                {"enabled", e.enabled},
                {"source", e.source},
                {"request_id", e.request_id},
                {"created_at", IsoUtc(e.created_ms)}};
      if (!e.pdq.empty()) {
        j["pdq"] = e.pdq;
        j["quality"] = e.quality;
      }
      if (!e.md5.empty()) j["md5"] = e.md5;
      if (!e.sha256.empty()) j["sha256"] = e.sha256;
      out.push_back(std::move(j));
    }
    // A full page may have more after it: next_after_id continues; null when this is the end.
    json next =
        static_cast<int64_t>(entries->size()) == q.limit ? json(entries->back().id) : json(nullptr);
    SendJson(c.res, {{"bank", c.Param(1)}, {"entries", out}, {"next_after_id", next}});
  });
  Route("GET", "/v1/banks/{bank}/export", {Role::kAdmin}, [this](Ctx& c) {
    const std::string format =
        c.req.has_param("format") ? c.req.get_param_value("format") : "jsonl";
    if (format != "jsonl" && format != "text")
      return SendError(c.res, 400, "invalid_argument", "format must be jsonl or text");
    auto entries = S()->ExportEntries(c.Param(1));
    if (!entries.ok()) return SendStatus(c.res, entries.status());
    std::string out;
    for (const auto& e : *entries) {
      if (format == "text") {
        if (!e.pdq.empty() && e.enabled) out += fmt::format("{},{}\n", e.pdq, e.quality);
        continue;
      }
      json j = {{"entry_id", e.id},
                {"enabled", e.enabled},
                {"source", e.source},
                {"request_id", e.request_id},
                {"created_ms", e.created_ms}};
      if (!e.pdq.empty()) {
        j["pdq"] = e.pdq;
        j["quality"] = e.quality;
      }
      if (!e.md5.empty()) j["md5"] = e.md5;
      if (!e.sha256.empty()) j["sha256"] = e.sha256;
      ExportSignals(e, &j);
      out += j.dump();
      out += '\n';
    }
    c.res.set_content(out, format == "text" ? "text/plain" : "application/x-ndjson");
  });
  for (const bool enable : {false, true}) {
    Route("POST", enable ? "/v1/entries/{entry_id}/enable" : "/v1/entries/{entry_id}/disable",
          {Role::kAdmin}, [this, enable](Ctx& c) {
            auto id_or = ParseId(c.Param(1), "entry_id");
            if (!id_or.ok()) return SendStatus(c.res, id_or.status());
            const int64_t id = *id_or;
            Status st = S()->SetEntryEnabled(id, enable, c.who.actor());
            if (!st.ok()) return SendStatus(c.res, st);
            SendJson(c.res, {{"entry_id", id}, {"enabled", enable}});
          });
  }

  // A check's answer: its refusal, or the decision with the matches; a block's id names its
  // statement of reasons for the uploader (GET /v1/blocks/{block_id}/statement).
  auto check_answer = [](HttpResponse& res, const std::string& content_id,
                         const Result<service::CheckResult>& r) {
    if (!r.ok()) return SendStatus(res, r.status());
    json ms = json::array();
    for (const auto& m : r->matches)
      ms.push_back({{"entry_id", m.entry_id},
                    {"bank", m.bank},
                    {"signal", m.signal},
                    {"distance", m.distance}});
    json out = {{"content_id", content_id},
                {"decision", r->block ? "block" : "allow"},
                {"matches", ms},
                {"recorded", !r->already_recorded}};
    if (r->block_id != 0) out["block_id"] = r->block_id;
    if (!r->review.empty()) {  // possible copies the gate does not act on (rare: not sent empty)
      json rv = json::array();
      for (const auto& h : r->review)
        rv.push_back({{"entry_id", h.entry_id},
                      {"bank", h.bank},
                      {"reason", h.reason},
                      {"seconds", h.seconds},
                      {"upload_from", h.upload_from},
                      {"upload_to", h.upload_to},
                      {"entry_from", h.entry_from},
                      {"distance", h.distance}});
      out["review"] = std::move(rv);
    }
    SendJson(res, out);
  };
  // A check parsed, matched and recorded on this thread (a worker).
  auto check = [check_answer](service::Service* svc, const HttpRequest& req,
                              const std::string& actor, HttpResponse& res) {
    auto r = ParseCheckRequest(req.get_header_value("Content-Type"), req.body);
    if (!r.ok()) return SendStatus(res, r.status());
    check_answer(res, r->content_id, svc->Check(*r, actor));
  };
  Route("POST", "/v1/check", {Role::kPlatform},
        [this, check](Ctx& c) { check(S(), c.req, c.who.actor(), c.res); });
  // The same on the I/O thread (bodies up to kInlineCheckBytes; a check's signals are a few KB):
  // matching is CPU only, an allowed upload is recorded by the store's group commit without a
  // thread waiting for it, and only a block (a document and an audit record, waited for) goes to a
  // worker. The gate's checks then cost no thread hand-off each.
  table.back().inline_handler = [this, check, check_answer](const HttpRequest& req,
                                                            const service::Principal& who,
                                                            const Reply& reply) {
    service::Service* svc = S();
    // `make`'s answer, written on this connection's I/O strand or made on a worker.
    auto answer = [](auto make) {
      return [make = std::move(make)] {
        HttpResponse res;
        make(res);
        return res;
      };
    };
    if (req.body.size() > kInlineCheckBytes) {  // parsed and matched on a worker
      return reply.Offload(answer([svc, &req, actor = who.actor(), check](HttpResponse& res) {
        check(svc, req, actor, res);
      }));
    }
    auto r = ParseCheckRequest(req.get_header_value("Content-Type"), req.body);
    if (!r.ok()) {
      return reply.Send(answer([st = r.status()](HttpResponse& res) { SendStatus(res, st); }));
    }
    if (r->signals.video) {  // a video's frames are matched on a worker: they may be many
      auto q = std::make_shared<service::CheckRequest>(std::move(*r));
      return reply.Offload(answer([svc, q, actor = who.actor(), check_answer](HttpResponse& res) {
        check_answer(res, q->content_id, svc->Check(*q, actor));
      }));
    }
    auto prepared = svc->PrepareCheck(*r);
    if (!prepared.ok()) {
      return reply.Send(
          answer([st = prepared.status()](HttpResponse& res) { SendStatus(res, st); }));
    }
    const std::string content_id = r->content_id;
    if (prepared->result.block) {
      auto p = std::make_shared<service::Service::PreparedCheck>(std::move(*prepared));
      return reply.Offload(
          answer([svc, p, actor = who.actor(), content_id, check_answer](HttpResponse& res) {
            check_answer(res, content_id, svc->FinishCheck(std::move(*p), actor));
          }));
    }
    svc->RecordAllowed(std::move(*prepared), [reply, content_id, check_answer,
                                              answer](Result<service::CheckResult> done) {
      reply.Send(answer([done = std::move(done), content_id, check_answer](HttpResponse& res) {
        check_answer(res, content_id, done);
      }));
    });
  };
  Route("POST", "/v1/check/media", {Role::kPlatform}, [this, check_answer](Ctx& c) {
    service::CheckRequest r;
    r.content_id = c.req.get_param_value("content_id");
    r.chat_id = c.req.get_param_value("chat_id");
    r.uploader_id = c.req.get_param_value("uploader_id");
    if (r.content_id.empty())
      return SendError(c.res, 400, "invalid_argument", "missing query parameter content_id");
    if (c.req.body.empty())
      return SendError(c.res, 400, "invalid_argument", "empty body: send the media bytes");
    r.media.assign(c.req.body.begin(), c.req.body.end());
    check_answer(c.res, r.content_id, S()->Check(r, c.who.actor()));
  });
  Route("POST", "/v1/content/batch", {Role::kPlatform}, [this](Ctx& c) {
    auto rs = ParseBatchRequest(c.req.get_header_value("Content-Type"), c.req.body);
    if (!rs.ok()) return SendStatus(c.res, rs.status());
    auto added = S()->Backfill(*rs, c.who.actor());
    if (!added.ok()) return SendStatus(c.res, added.status());
    SendJson(c.res, {{"items", rs->size()}, {"new", *added}});
  });
  Route("GET", "/v1/audit/verify", {Role::kAdmin}, [this](Ctx& c) {
    if (deps.audit == nullptr) return SendError(c.res, 503, "unavailable", "no audit log attached");
    auto n = store::VerifyAuditChain(*deps.audit);
    if (!n.ok()) return SendJson(c.res, {{"ok", false}, {"error", n.status().message()}});
    SendJson(c.res, {{"ok", true}, {"records", *n}});
  });
}

}  // namespace takedown::http
