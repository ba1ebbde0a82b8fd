#include "mail/transport.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <regex>

namespace takedown::mail {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t Append(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

struct Upload {
  const std::string* data;
  size_t off = 0;
};
size_t Read(char* p, size_t size, size_t n, void* in) {
  auto* u = static_cast<Upload*>(in);
  const size_t k = std::min(size * n, u->data->size() - u->off);
  std::memcpy(p, u->data->data() + u->off, k);
  u->off += k;
  return k;
}

void SetCommon(CURL* c, const std::string& user, const std::string& password, const TlsOptions& tls,
               int timeout_s) {
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(timeout_s));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  if (!user.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_USE_SSL,
                   static_cast<long>(tls.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  if (!tls.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, tls.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, tls.verify_peer ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, tls.verify_peer ? 2L : 0L);
}

}  // namespace

std::string RedactUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t at = url.find('@', scheme + 3), slash = url.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  return url.substr(0, scheme + 3) + "***@" + url.substr(at + 1);
}

ImapMailbox::ImapMailbox(ImapConfig c) : c_(std::move(c)) {
  GlobalInit();
  const size_t scheme = c_.url.find("://");
  const size_t path =
      scheme == std::string::npos ? std::string::npos : c_.url.find('/', scheme + 3);
  if (path == std::string::npos)
    c_.url += "/INBOX";
  else if (path == c_.url.size() - 1)
    c_.url += "INBOX";
  curl_ = curl_easy_init();
}

ImapMailbox::~ImapMailbox() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

std::string ImapMailbox::Describe() const { return RedactUrl(c_.url); }

Result<std::string> ImapMailbox::Run(const std::string& url, const std::string& custom) {
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) return Internal("libcurl could not be initialised");
  std::string out;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, custom.empty() ? nullptr : custom.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  SetCommon(c, c_.user, c_.password, c_.tls, c_.timeout_s);
  char err[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) {
    return IoError(fmt::format("IMAP {}{}: {}{}", Describe(), custom.empty() ? "" : " " + custom,
                               curl_easy_strerror(rc), err[0] ? fmt::format(" ({})", err) : ""));
  }
  return out;
}

Result<std::vector<ImapMessageInfo>> ImapMailbox::Untaken(size_t limit) {
  // The connection (and the selected mailbox) stays open between looks; a server need not report
  // mail that arrived since until it is asked to check: NOOP does that.
  TD_RETURN_IF_ERROR(Run(c_.url, "NOOP").status());
  // ESEARCH (RFC 4731) answers with ranges ("3:502,504"), short however large the backlog; plain
  // SEARCH lists every UID (and libcurl caps a response at 300 KB), so it is the fallback.
  std::vector<uint32_t> uids;
  auto search = Run(c_.url, "UID SEARCH RETURN (ALL) NOT KEYWORD " + c_.taken_keyword);
  if (search.ok() && search->find("ESEARCH") != std::string::npos) {
    static const std::regex kAll(R"(ALL ([0-9:,]+))");
    std::smatch m;
    if (std::regex_search(*search, m, kAll)) {
      const std::string set = m[1];
      for (size_t b = 0; b < set.size() && uids.size() < limit;) {
        size_t e = set.find(',', b);
        if (e == std::string::npos) e = set.size();
        const std::string r = set.substr(b, e - b);
        const size_t colon = r.find(':');
        uint64_t lo = std::stoull(r.substr(0, colon)),
                 hi = colon == std::string::npos ? lo : std::stoull(r.substr(colon + 1));
        if (lo > hi) std::swap(lo, hi);
        for (uint64_t u = lo; u <= hi && uids.size() < limit; ++u)
          uids.push_back(static_cast<uint32_t>(u));
        b = e + 1;
      }
    }
  } else {
    TD_ASSIGN_OR_RETURN(std::string plain,
                        Run(c_.url, "UID SEARCH NOT KEYWORD " + c_.taken_keyword));
    static const std::regex kSearch(R"(\* SEARCH([ 0-9]*))");
    for (std::sregex_iterator it(plain.begin(), plain.end(), kSearch), end; it != end; ++it) {
      const std::string nums = (*it)[1];
      size_t pos = 0;
      while (pos < nums.size()) {
        while (pos < nums.size() && nums[pos] == ' ') ++pos;
        size_t e = pos;
        while (e < nums.size() && nums[e] != ' ') ++e;
        if (e > pos) uids.push_back(static_cast<uint32_t>(std::stoul(nums.substr(pos, e - pos))));
        pos = e;
      }
    }
  }
  std::sort(uids.begin(), uids.end());
  if (uids.size() > limit) uids.resize(limit);
  std::vector<ImapMessageInfo> out;
  if (uids.empty()) return out;
  TD_ASSIGN_OR_RETURN(std::string sizes,
                      Run(c_.url, fmt::format("UID FETCH {} (RFC822.SIZE)", fmt::join(uids, ","))));
  static const std::regex kUid(R"(UID (\d+))"), kSize(R"(RFC822\.SIZE (\d+))");
  std::map<uint32_t, int64_t> size_of;
  size_t start = 0;
  while (start < sizes.size()) {
    size_t nl = sizes.find('\n', start);
    if (nl == std::string::npos) nl = sizes.size();
    const std::string line = sizes.substr(start, nl - start);
    std::smatch u, s;
    if (std::regex_search(line, u, kUid) && std::regex_search(line, s, kSize))
      size_of[static_cast<uint32_t>(std::stoul(u[1]))] = std::stoll(s[1]);
    start = nl + 1;
  }
  for (uint32_t uid : uids) out.push_back({uid, size_of.count(uid) ? size_of[uid] : -1});
  return out;
}

Result<std::string> ImapMailbox::Fetch(uint32_t uid, bool header_only) {
  return Run(fmt::format("{};UID={}{}", c_.url, uid, header_only ? ";SECTION=HEADER" : ""), "");
}

Status ImapMailbox::MarkTaken(uint32_t uid) {
  TD_RETURN_IF_ERROR(
      Run(c_.url, fmt::format("UID STORE {} +FLAGS ({} \\Seen)", uid, c_.taken_keyword)).status());
  if (!c_.move_to.empty())
    TD_RETURN_IF_ERROR(Run(c_.url, fmt::format("UID MOVE {} \"{}\"", uid, c_.move_to)).status());
  return Status::Ok();
}

SmtpSender::SmtpSender(SmtpConfig c) : c_(std::move(c)) {
  GlobalInit();
  curl_ = curl_easy_init();
}

SmtpSender::~SmtpSender() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

std::string SmtpSender::Describe() const { return RedactUrl(c_.url); }

Status SmtpSender::Send(const std::string& from, const std::vector<std::string>& to,
                        const std::string& raw) {
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) return Internal("libcurl could not be initialised");
  if (to.empty()) return InvalidArgument("no recipient");
  curl_slist* rcpt = nullptr;
  for (const auto& t : to) rcpt = curl_slist_append(rcpt, fmt::format("<{}>", t).c_str());
  const std::string mail_from = fmt::format("<{}>", from);
  Upload up{&raw};
  curl_easy_setopt(c, CURLOPT_URL, c_.url.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, Read);
  curl_easy_setopt(c, CURLOPT_READDATA, &up);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  SetCommon(c, c_.user, c_.password, c_.tls, c_.timeout_s);
  char err[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, nullptr);
  curl_slist_free_all(rcpt);
  if (rc != CURLE_OK) {
    return IoError(fmt::format("SMTP {}: {}{}", Describe(), curl_easy_strerror(rc),
                               err[0] ? fmt::format(" ({})", err) : ""));
  }
  return Status::Ok();
}

}  // namespace takedown::mail
