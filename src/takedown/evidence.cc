#include "takedown/evidence.h"

#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "media/preview.h"

namespace takedown::service {
namespace {

using nlohmann::json;

constexpr std::string_view kSignalsDoc = "signals";

store::DocRecord SignalsDoc(const json& body) {
  store::DocRecord d;
  d.kind = std::string(kSignalsDoc);
  d.state = "kept";
  json j = body;
  j["status"] = "kept";
  d.doc = j.dump();
  return d;
}

Result<json> LoadSignals(store::DocumentStore* docs, int64_t id) {
  TD_ASSIGN_OR_RETURN(auto rec, docs->GetDoc(id));
  if (!rec || rec->kind != kSignalsDoc) return DataLoss(fmt::format("signals {} are missing", id));
  json j = json::parse(rec->doc, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return DataLoss(fmt::format("signals {}: the stored document is not JSON", id));
  }
  return j;
}

// A video's signals kept for item i: its frames as a signals document, their count and length on
// the item.
void KeepVideo(size_t i, const match::VideoItem& video, EvidenceItem* item,
               std::vector<std::pair<size_t, json>>* signal_docs) {
  signal_docs->emplace_back(i, json{{"video", VideoToJson(video)}});
  item->video = EvidenceItem::Video{static_cast<int64_t>(video.frames.size()), video.duration};
}

}  // namespace

Evidence::Evidence(WorkflowContext* ctx)
    : ctx_(ctx), reveals_(ctx->stores.docs, std::string(kRevealDoc), 3'600'000) {
  // Never keep media unencrypted: without safe randomness or a key, nothing is kept.
  if (sodium_init() >= 0 && ctx_->opt.evidence_key.size() == crypto_secretbox_KEYBYTES) {
    key_ = true;
    retention_s_ = ctx_->opt.evidence_retention_s;
  }
}

bool Evidence::stages() const { return key_; }

// Fills a media item from its hashed signals (or its problem); the large signals go to
// `signal_docs` to be stored as documents the item refers to.
void Evidence::ApplyMedia(EvidenceItem& item, const Result<Signals>& sig,
                          std::vector<std::pair<size_t, json>>* signal_docs) {
  const size_t i = static_cast<size_t>(item.index);
  item.hashing = false;
  if (!sig.ok()) {
    item.usable = false;
    item.problem = sig.status().message();
    return;
  }
  const Signals& s = *sig;
  if (s.robust) signal_docs->emplace_back(i, json{{"robust", RobustToJson(*s.robust)}});
  if (s.video) KeepVideo(i, *s.video, &item, signal_docs);
  // Hashes claimed beside the media stand (as at intake); those taken from the content index for
  // a located item give way to the media's own.
  auto from_index = [&](const char* k) {
    auto it = std::find(item.from_index.begin(), item.from_index.end(), k);
    if (it == item.from_index.end()) return false;
    item.from_index.erase(it);
    return true;
  };
  if (s.pdq && (item.pdq.empty() || from_index("pdq"))) {
    item.pdq = s.pdq->ToHex();
    item.quality = s.quality;
  }
  if (!s.md5.empty() && (item.md5.empty() || from_index("md5"))) item.md5 = s.md5;
  if (!s.sha256.empty() && (item.sha256.empty() || from_index("sha256"))) item.sha256 = s.sha256;
  item.problem.clear();
  if (!item.pdq.empty() && item.quality < ctx_->opt.min_quality) {
    item.problem = fmt::format("PDQ quality {} is below {}: not usable for matching", item.quality,
                               ctx_->opt.min_quality);
  }
  item.usable = (!item.pdq.empty() && item.quality >= ctx_->opt.min_quality) || !item.md5.empty() ||
                !item.sha256.empty() || item.content_row != 0 || s.video != nullptr;
}

Status Evidence::StoreSignalDocs(std::vector<EvidenceItem>& items,
                                 const std::vector<std::pair<size_t, json>>& signal_docs) {
  // A video's frame signals are large: each goes into its own document, referenced from its item.
  for (const auto& [i, body] : signal_docs) {
    TD_ASSIGN_OR_RETURN(auto ids, ctx_->stores.docs->PutDocs({SignalsDoc(body)}));
    for (auto& item : items) {
      if (item.index != static_cast<int64_t>(i)) continue;
      (body.contains("video") ? item.video_signals : item.image_signals) = ids.at(0);
    }
  }
  return Status::Ok();
}

Result<Evidence::Built> Evidence::Build(const std::vector<intake::EvidenceClaim>& claims,
                                        const MediaByItem& media, bool lenient_media,
                                        bool defer_media) {
  Built out;
  std::vector<std::pair<size_t, json>> signal_docs;  // item -> the document to store
  for (size_t i = 0; i < claims.size(); ++i) {
    const intake::EvidenceClaim& c = claims[i];
    const std::string f = fmt::format("evidence[{}]", i);
    EvidenceItem item;
    item.index = static_cast<int64_t>(i);
    Signals s;
    if (auto m = media.find(i); m != media.end()) {
      item.kind = EvidenceKind::kMedia;
      item.media_bytes = static_cast<int64_t>(m->second.size());
      if (defer_media) {
        item.hashing = true;  // hashed after the request is stored (HashStaged)
      } else {
        auto sig = ctx_->svc->HashMedia(m->second);
        if (!sig.ok()) {
          if (!lenient_media) {
            out.problems.push_back({f + ".media", sig.status().message()});
            continue;
          }
          item.usable = false;
          item.problem = sig.status().message();
          out.items.push_back(std::move(item));
          continue;
        }
        s = *sig;
        if (s.robust) signal_docs.emplace_back(i, json{{"robust", RobustToJson(*s.robust)}});
        if (s.video) KeepVideo(i, *s.video, &item, &signal_docs);
      }
    }
    if (c.pdq) {
      s.pdq = c.pdq;
      s.quality = c.quality;
      if (item.kind == EvidenceKind::kNone) item.kind = EvidenceKind::kHash;
      if (c.robust && !s.robust) {  // computed where the picture is: matched as media's are
        RobustImage robust{c.robust->norm, c.robust->box, c.robust->variants, {}};
        signal_docs.emplace_back(i, json{{"robust", RobustToJson(robust)}});
      }
    }
    if (c.video && !s.video) {  // frames hashed where the video is: matched as media's are
      auto v = VideoFromListLine(*c.video);
      if (!v.ok()) {
        // The list line's own prefix ("video": ...) would repeat the field named here.
        std::string why(v.status().message());
        for (const std::string_view prefix : {"\"video\": ", "\"vpdq\": "}) {
          if (why.rfind(prefix, 0) == 0) why.erase(0, prefix.size());
        }
        out.problems.push_back({f + (c.video->contains("vpdq") ? ".vpdq" : ".video"), why});
        continue;
      }
      s.video = *v;
      KeepVideo(i, *s.video, &item, &signal_docs);
      if (item.kind == EvidenceKind::kNone) item.kind = EvidenceKind::kHash;
    }
    if (!c.md5.empty()) s.md5 = c.md5;
    if (!c.sha256.empty()) s.sha256 = c.sha256;
    if ((!c.md5.empty() || !c.sha256.empty()) && item.kind == EvidenceKind::kNone) {
      item.kind = EvidenceKind::kHash;
    }
    item.message_link = c.message_link;
    if (!c.content_id.empty()) {
      if (item.kind == EvidenceKind::kNone) item.kind = EvidenceKind::kLocation;
      item.content_id = c.content_id;
      TD_ASSIGN_OR_RETURN(auto found, ctx_->stores.content->FindContent(c.content_id));
      if (found) {  // the located item's own signals find its copies too
        item.content_row = found->id;
        item.resolved = true;
        if (!s.pdq && !found->pdq.empty()) {
          if (auto h = hash::Hash256::FromHex(found->pdq); h.ok()) {
            s.pdq = *h;
            s.quality = found->quality;
            item.from_index.push_back("pdq");
          }
        }
        if (s.md5.empty() && !found->md5.empty()) {
          s.md5 = found->md5;
          item.from_index.push_back("md5");
        }
        if (s.sha256.empty() && !found->sha256.empty()) {
          s.sha256 = found->sha256;
          item.from_index.push_back("sha256");
        }
      } else {
        item.resolved = false;
        item.problem = std::string(kNotInContentIndex);
      }
    }
    if (s.pdq) {
      item.pdq = s.pdq->ToHex();
      item.quality = s.quality;
      if (s.quality < ctx_->opt.min_quality) {
        item.problem = fmt::format("PDQ quality {} is below {}: not usable for matching", s.quality,
                                   ctx_->opt.min_quality);
      }
    }
    item.md5 = s.md5;
    item.sha256 = s.sha256;
    item.usable =
        !item.hashing && ((s.pdq && s.quality >= ctx_->opt.min_quality) || !s.md5.empty() ||
                          !s.sha256.empty() || item.content_row != 0 || s.video != nullptr);
    out.items.push_back(std::move(item));
  }
  if (!out.problems.empty()) return out;
  TD_RETURN_IF_ERROR(StoreSignalDocs(out.items, signal_docs));
  return out;
}

Result<Evidence::Hashed> Evidence::HashStaged(Request& r, int64_t budget_ms) {
  Hashed out;
  std::vector<std::pair<size_t, json>> signal_docs;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& item : r.evidence) {
    if (!item.hashing) continue;
    const int64_t spent =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    if (spent >= budget_ms && out.hashed > 0) {
      ApplyMedia(item,
                 ResourceExhausted(fmt::format(
                     "not hashed: this request's hashing budget ({} ms) was spent on its earlier "
                     "media; send this file in a request of its own",
                     budget_ms)),
                 &signal_docs);
      ++out.over_budget;
      continue;
    }
    auto bytes = Open(r.id, static_cast<int>(item.index));
    if (!bytes.ok()) {
      ApplyMedia(item,
                 bytes.status().code() == StatusCode::kNotFound
                     ? NotFound(std::string(kMediaLostProblem))
                     : Result<Signals>(bytes.status()),
                 &signal_docs);
      ++out.failed;
      continue;
    }
    auto sig = ctx_->svc->HashMedia(*bytes);
    sodium_memzero(bytes->data(), bytes->size());
    ++(sig.ok() ? out.hashed : out.failed);
    if (!sig.ok()) out.problems.emplace_back(item.index, sig.status().message());
    ApplyMedia(item, sig, &signal_docs);
  }
  TD_RETURN_IF_ERROR(StoreSignalDocs(r.evidence, signal_docs));
  out.ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  return out;
}

Status Evidence::Unstage(int64_t request_id) {
  if (retains()) return Status::Ok();  // kept for reviewers until its period ends
  return ctx_->stores.evidence->DeleteEvidence(request_id).status();
}

bool Evidence::OpensWith(const std::string& key, const store::EvidenceBlob& blob) {
  if (key.size() != crypto_secretbox_KEYBYTES || blob.data.size() < crypto_secretbox_MACBYTES ||
      blob.nonce.size() != crypto_secretbox_NONCEBYTES)
    return false;
  std::vector<uint8_t> plain(blob.data.size() - crypto_secretbox_MACBYTES);
  return crypto_secretbox_open_easy(
             plain.data(), reinterpret_cast<const unsigned char*>(blob.data.data()),
             blob.data.size(), reinterpret_cast<const unsigned char*>(blob.nonce.data()),
             reinterpret_cast<const unsigned char*>(key.data())) == 0;
}

Result<std::vector<uint8_t>> Evidence::Open(int64_t request_id, int item) {
  TD_ASSIGN_OR_RETURN(auto blob, ctx_->stores.evidence->GetEvidence(request_id, item));
  if (!blob) return NotFound(fmt::format("request {} evidence[{}]: no media", request_id, item));
  if (ctx_->opt.evidence_key.size() != crypto_secretbox_KEYBYTES ||
      blob->data.size() < crypto_secretbox_MACBYTES ||
      blob->nonce.size() != crypto_secretbox_NONCEBYTES) {
    return DataLoss(fmt::format(
        "request {} evidence[{}]: cannot be decrypted with the configured key", request_id, item));
  }
  std::vector<uint8_t> plain(blob->data.size() - crypto_secretbox_MACBYTES);
  if (crypto_secretbox_open_easy(
          plain.data(), reinterpret_cast<const unsigned char*>(blob->data.data()),
          blob->data.size(), reinterpret_cast<const unsigned char*>(blob->nonce.data()),
          reinterpret_cast<const unsigned char*>(ctx_->opt.evidence_key.data())) != 0) {
    return DataLoss(
        fmt::format("request {} evidence[{}]: authentication failed (altered, or another key)",
                    request_id, item));
  }
  return plain;
}

Status Evidence::Seal(int64_t request_id, const MediaByItem& media, int64_t expires_ms) {
  const auto* key = reinterpret_cast<const unsigned char*>(ctx_->opt.evidence_key.data());
  for (const auto& [i, bytes] : media) {
    std::string nonce(crypto_secretbox_NONCEBYTES, '\0');
    std::string box(bytes.size() + crypto_secretbox_MACBYTES, '\0');
    ctx_->env->RandomBytes(nonce.data(), nonce.size());
    crypto_secretbox_easy(reinterpret_cast<unsigned char*>(box.data()), bytes.data(), bytes.size(),
                          reinterpret_cast<const unsigned char*>(nonce.data()), key);
    TD_RETURN_IF_ERROR(ctx_->stores.evidence->PutEvidence(
        {request_id, static_cast<int>(i), std::move(nonce), std::move(box), expires_ms}));
  }
  return Status::Ok();
}

Result<bool> Evidence::TakeReveal(int64_t key_id, int64_t now, int* left) {
  const int budget = ctx_->opt.reveals_per_hour;
  MutexLock l(&reveal_mu_);
  // Counted and taken by one process at a time where several share the store.
  TD_ASSIGN_OR_RETURN(auto held, ctx_->LockShared(kRevealBudgetLock));
  const store::EventWindow::Of mine{.state = "taken", .owner = key_id};
  TD_ASSIGN_OR_RETURN(const int used, reveals_.Count(mine, now, budget + 1));
  if (used >= budget) {
    *left = 0;
    return false;
  }
  TD_RETURN_IF_ERROR(reveals_.Add({mine}, now));
  *left = budget - used - 1;
  return true;
}

Result<Evidence::Look> Evidence::Preview(const Principal& who, int64_t request_id, int item,
                                         bool reveal, const std::string& reason, int frame) {
  if (frame < 0 || frame >= kPreviewKeyframes) {
    return InvalidArgument(
        fmt::format("frame: a video's keyframes are numbered 0 to {}", kPreviewKeyframes - 1));
  }
  if (reveal && reason.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument("reason: a clear look at evidence needs a stated reason");
  }
  if (reason.size() > 1000) return InvalidArgument("reason: longer than 1000 bytes");
  TD_ASSIGN_OR_RETURN(auto rec, ctx_->stores.docs->GetDoc(request_id));
  if (!rec || rec->kind != kRequestDoc) return NotFound(fmt::format("no request {}", request_id));
  TD_ASSIGN_OR_RETURN(auto blob, ctx_->stores.evidence->GetEvidence(request_id, item));
  // Media staged only to be hashed (retention off) is never shown.
  if (!retains() || !blob || blob->expires_ms <= ctx_->Now()) {
    return NotFound(fmt::format(
        "request {} evidence[{}]: no media kept (not media, evidence retention off, or its period "
        "ended)",
        request_id, item));
  }
  TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, request_id));
  std::optional<EvidenceItem::Video> video;
  for (const auto& e : r.evidence) {
    if (e.index == item) video = e.video;
  }
  if (!video && frame != 0) {
    return InvalidArgument(fmt::format("frame: evidence[{}] is a picture, not a video", item));
  }
  TD_ASSIGN_OR_RETURN(std::vector<uint8_t> plain, Open(request_id, item));
  // Decoded where uploads are (the sandboxed workers in `takedown serve`), never beside the keys.
  media::PreviewRequest look_at;
  look_at.video = video.has_value();
  look_at.reveal = reveal;
  look_at.frame = frame;
  look_at.frames = kPreviewKeyframes;
  look_at.duration_s = video ? video->duration_s : 0;
  auto jpeg = ctx_->svc->PreviewMedia(plain, look_at);
  sodium_memzero(plain.data(), plain.size());
  if (!jpeg.ok()) return jpeg.status();  // nothing shown: no reveal spent
  Look look;
  Result<bool> took = true;
  if (reveal) took = TakeReveal(who.key_id, ctx_->Now(), &look.reveals_left);
  if (!took.ok()) {
    sodium_memzero(jpeg->data(), jpeg->size());
    return took.status();
  }
  if (!*took) {
    sodium_memzero(jpeg->data(), jpeg->size());
    TD_RETURN_IF_ERROR(ctx_->Audit(
        who.actor(), "evidence.reveal_refused",
        {{"request_id", request_id}, {"item", item}, {"reason", reason}, {"why", "budget"}}));
    return ResourceExhausted(
        fmt::format("reveals: the budget of {} clear looks an hour is spent: the blurred preview "
                    "is still available; ask an administrator if the work needs more",
                    ctx_->opt.reveals_per_hour));
  }
  json audit = {{"request_id", request_id}, {"item", item}};
  if (video) audit["frame"] = frame;
  if (reveal) audit["reason"] = reason;
  TD_RETURN_IF_ERROR(
      ctx_->Audit(who.actor(), reveal ? "evidence.revealed" : "evidence.previewed", audit));
  look.jpeg = std::move(*jpeg);
  return look;
}

Result<int64_t> Evidence::PurgeExpired() {
  TD_ASSIGN_OR_RETURN(int64_t n, ctx_->stores.evidence->DeleteExpiredEvidence(ctx_->Now()));
  if (n > 0) {
    TD_RETURN_IF_ERROR(ctx_->Audit("system", "evidence.deleted",
                                   {{"items", n}, {"reason", "retention period ended"}}));
  }
  return n;
}

Result<Signals> Evidence::SignalsOf(const EvidenceItem& e) {
  Signals s;
  if (!e.pdq.empty()) {
    TD_ASSIGN_OR_RETURN(s.pdq, hash::Hash256::FromHex(e.pdq));
    s.quality = e.quality;
  }
  s.md5 = e.md5;
  s.sha256 = e.sha256;
  if (e.video_signals != 0) {
    TD_ASSIGN_OR_RETURN(json vd, LoadSignals(ctx_->stores.docs, e.video_signals));
    TD_ASSIGN_OR_RETURN(s.video, VideoFromJson(vd["video"]));
  }
  if (e.image_signals != 0) {
    TD_ASSIGN_OR_RETURN(json rd, LoadSignals(ctx_->stores.docs, e.image_signals));
    TD_ASSIGN_OR_RETURN(s.robust, RobustFromJson(rd["robust"]));
  }
  return s;
}

}  // namespace takedown::service
