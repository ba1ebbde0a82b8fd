#include "http/sessions.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <vector>

#include "hash/digest.h"

namespace takedown::http {

Sessions::Sessions(SessionOptions options, Env* env)
    : opt_(options), env_(env != nullptr ? env : Env::Default()) {}

std::string Sessions::RandomHex(size_t bytes) {
  std::vector<uint8_t> b(bytes);
  env_->RandomBytes(b.data(), b.size());
  return hash::HexOf(b);
}

void Sessions::DropExpired(int64_t now) {
  for (auto it = by_digest_.begin(); it != by_digest_.end();) {
    if (now >= it->second.idle_expires_ms(opt_) || now >= it->second.expires_ms(opt_))
      it = by_digest_.erase(it);
    else
      ++it;
  }
}

Sessions::Issued Sessions::Create(const std::string& key_hash, int64_t key_id) {
  Issued out;
  out.token = RandomHex(32);
  const int64_t now = env_->NowMs();
  out.session = {key_hash, key_id, RandomHex(32), now, now};
  MutexLock l(&mu_);
  DropExpired(now);
  // The key's oldest sessions past max_per_key, then the least recently used past max_sessions.
  std::vector<std::map<std::string, Session>::iterator> of_key;
  for (auto it = by_digest_.begin(); it != by_digest_.end(); ++it) {
    if (it->second.key_id == key_id) of_key.push_back(it);
  }
  std::sort(of_key.begin(), of_key.end(), [](const auto& a, const auto& b) {
    return a->second.created_ms < b->second.created_ms;
  });
  for (size_t i = 0; i + opt_.max_per_key <= of_key.size() && opt_.max_per_key > 0; ++i)
    by_digest_.erase(of_key[i]);
  while (!by_digest_.empty() && by_digest_.size() >= std::max<size_t>(1, opt_.max_sessions)) {
    auto lru = std::min_element(
        by_digest_.begin(), by_digest_.end(),
        [](const auto& a, const auto& b) { return a.second.last_ms < b.second.last_ms; });
    by_digest_.erase(lru);
  }
  by_digest_[hash::Sha256HexOfText(out.token)] = out.session;
  return out;
}

std::optional<Sessions::Session> Sessions::Use(const std::string& token) {
  if (token.size() != 64) return std::nullopt;
  const std::string digest = hash::Sha256HexOfText(token);
  const int64_t now = env_->NowMs();
  MutexLock l(&mu_);
  auto it = by_digest_.find(digest);
  if (it == by_digest_.end()) return std::nullopt;
  if (now >= it->second.idle_expires_ms(opt_) || now >= it->second.expires_ms(opt_)) {
    by_digest_.erase(it);
    return std::nullopt;
  }
  it->second.last_ms = now;
  return it->second;
}

bool Sessions::End(const std::string& token) {
  const std::string digest = hash::Sha256HexOfText(token);
  MutexLock l(&mu_);
  return by_digest_.erase(digest) > 0;
}

size_t Sessions::Count() {
  MutexLock l(&mu_);
  DropExpired(env_->NowMs());
  return by_digest_.size();
}

bool Sessions::Allowed(const std::string& address) {
  const int64_t now = env_->NowMs();
  MutexLock l(&mu_);
  auto it = failures_.find(address);
  if (it == failures_.end()) return true;
  if (now - it->second.window_start_ms >= 60'000) {
    failures_.erase(it);
    return true;
  }
  return it->second.count < opt_.max_failures_per_minute;
}

void Sessions::Failed(const std::string& address) {
  const int64_t now = env_->NowMs();
  MutexLock l(&mu_);
  if (failures_.size() >= 100'000) {  // bounded: windows that ended go first
    for (auto it = failures_.begin(); it != failures_.end();) {
      it = now - it->second.window_start_ms >= 60'000 ? failures_.erase(it) : std::next(it);
    }
    if (failures_.size() >= 100'000) failures_.clear();
  }
  Failures& f = failures_[address];
  if (now - f.window_start_ms >= 60'000) f = {now, 0};
  ++f.count;
}

bool Sessions::SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string_view part(header.data() + pos, end - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    const size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) {
      return std::string(part.substr(eq + 1));
    }
    pos = end + 1;
  }
  return "";
}

}  // namespace takedown::http
