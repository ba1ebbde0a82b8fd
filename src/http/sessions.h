// Console sessions (issue 18): a person signs in once with an API key and works from then on
// with a server-side session: a random token in a cookie (HttpOnly, SameSite=Strict, Secure
// under TLS), never the key. A session carries the key's hash (its role is read again from the
// key on every request, so a revoked key ends its sessions within the key cache's minute), a
// CSRF token that every state-changing request must echo in X-CSRF-Token, an idle expiry (moved
// on by each use) and an absolute one. Bounded: at most max_sessions in all (the least recently
// used ended first) and max_per_key per key (its oldest ended first). Tokens are kept as their
// SHA-256, compared by digest.
//
// Failed sign-ins are throttled per client address (max_failures a minute; then 429).
//
// Where they live: in this process's memory (a restart signs everyone out), or, given a document
// store, in the store (issue 21: the processes sharing a PostgreSQL store serve the console
// alike, with no sticky sessions: a session made at one is used, ended and counted at every
// other, and failed sign-ins count against one budget). In the store a session is a document
// (kSessionDoc: its unique key the token's digest, owned by the key's id, live or ended, due when
// it would end unused); a use moves its idle expiry on in the store at most every idle/30 (a
// minute for the default half hour); a key signs in at most 200 times an hour (429 past it). Each
// failed sign-in is a document deleted after a minute (at most 100,000 recorded a minute by one
// process).
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/env.h"
#include "core/mutex.h"
#include "core/status.h"
#include "store/event_window.h"

namespace takedown::store {
class DocumentStore;
}

namespace takedown::http {

// The session cookie's name.
inline constexpr char kSessionCookie[] = "takedown_session";
// Their documents in a store: sessions and failed sign-ins.
inline constexpr char kSessionDoc[] = "console_session",
                      kSignInFailureDoc[] = "console_sign_in_failure";

struct SessionOptions {
  int64_t idle_ms = 30 * 60 * 1000;        // ended after this long unused
  int64_t absolute_ms = 12 * 3600 * 1000;  // ended this long after sign-in, used or not
  size_t max_sessions = 10000;
  size_t max_per_key = 16;
  int max_failures_per_minute = 10;  // failed sign-ins per client address
};

class Sessions {
 public:
  struct Session {
    std::string key_hash;
    int64_t key_id = 0;
    std::string csrf;
    int64_t created_ms = 0, last_ms = 0;
    int64_t idle_expires_ms(const SessionOptions& o) const { return last_ms + o.idle_ms; }
    int64_t expires_ms(const SessionOptions& o) const { return created_ms + o.absolute_ms; }
  };
  struct Issued {
    std::string token;  // for the cookie; shown once
    Session session;
  };

  // docs: where sessions live (null: this process's memory).
  Sessions(SessionOptions options, Env* env, store::DocumentStore* docs = nullptr);

  // A new session for the key (an error only when the store failed).
  Result<Issued> Create(const std::string& key_hash, int64_t key_id) TD_EXCLUDES(mu_);
  // The live session of a token, its idle expiry moved on; nullopt when unknown or expired.
  Result<std::optional<Session>> Use(const std::string& token) TD_EXCLUDES(mu_);
  // Ends a session; false when there was none.
  Result<bool> End(const std::string& token) TD_EXCLUDES(mu_);
  // Live sessions now (expired ones are dropped first).
  Result<size_t> Count() TD_EXCLUDES(mu_);

  // Throttling of failed sign-ins by client address: Allowed is false while the address has had
  // max_failures_per_minute failures within the last minute; Failed records one. (A store that
  // fails is logged; the sign-in itself then fails on the same store.)
  bool Allowed(const std::string& address) TD_EXCLUDES(mu_);
  void Failed(const std::string& address) TD_EXCLUDES(mu_);

  const SessionOptions& options() const { return opt_; }

  // Constant-time comparison (CSRF tokens).
  static bool SameSecret(const std::string& a, const std::string& b);

 private:
  void DropExpired(int64_t now) TD_REQUIRES(mu_);
  std::string RandomHex(size_t bytes);
  // The store's side of each (docs_ set).
  Status CreateStored(const std::string& digest, const Session& s);
  Result<std::optional<Session>> UseStored(const std::string& digest, int64_t now);
  Result<bool> EndStored(const std::string& digest);
  Result<size_t> CountStored(int64_t now);
  Status EndExpiredStored(int64_t now);

  const SessionOptions opt_;
  Env* env_;
  store::DocumentStore* docs_;
  Mutex mu_;
  int64_t last_purge_ms_ TD_GUARDED_BY(mu_) = 0;
  // In a store: the failed sign-ins of the last minute (one document each, its state the client
  // address), and how many this process recorded in the current minute (bounded).
  std::optional<store::EventWindow> failed_;
  int64_t recorded_minute_start_ms_ TD_GUARDED_BY(mu_) = 0;
  int recorded_this_minute_ TD_GUARDED_BY(mu_) = 0;
  std::map<std::string, Session> by_digest_ TD_GUARDED_BY(mu_);  // SHA-256 of the token
  struct Failures {
    int64_t window_start_ms = 0;
    int count = 0;
  };
  std::map<std::string, Failures> failures_ TD_GUARDED_BY(mu_);
};

// The value of one cookie in a Cookie header ("" when absent).
std::string CookieValue(const std::string& header, const std::string& name);

}  // namespace takedown::http
