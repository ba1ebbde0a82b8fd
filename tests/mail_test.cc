// The email line without servers: MIME parsing (charsets, encoded words, attachments, hostile
// structure), DKIM signing and verification, and MailLine::Take over a real SQLite store and
// workflow: accepted, refused, quarantined (forged sender, bad DKIM, wrong secret), replayed,
// too large, unreadable, and the confirmation queued when the request is actioned. The round
// trip through real Postfix and Dovecot is tests/mail/roundtrip_test.sh.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "mail/dkim.h"
#include "mail/mail_line.h"
#include "mail/message.h"
#include "mail/templates.h"
#include "media/decode.h"
#include "store/store.h"
#include "support/synthetic.h"
#include "takedown/workflow.h"

namespace takedown::mail {
namespace {

using service::Principal;
using service::Role;

// A mailbox by its URL, the rest defaults (set one by one: GCC 12 warns of an uninitialised
// string in the designated-initialiser form).
ImapConfig Mailbox(const std::string& url) {
  ImapConfig c;
  c.url = url;
  return c;
}

std::string FromHex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

std::string Base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(n);
  std::string wrapped;
  for (size_t i = 0; i < out.size(); i += 76) wrapped += out.substr(i, 76) + "\r\n";
  return wrapped;
}

std::string Bytes(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// A message with CRLF line ends: headers, then the body as given (its own MIME headers first).
std::string Mail(const std::string& from, const std::string& id, const std::string& subject,
                 const std::string& mime_and_body, const std::string& extra_headers = "") {
  std::string m = fmt::format(
      "From: Analyst <{}>\r\nTo: takedown@platform.test\r\nSubject: {}\r\nMessage-ID: "
      "<{}>\r\nDate: Sat, 28 Nov 2026 07:00:00 +0000\r\nMIME-Version: 1.0\r\n{}",
      from, subject, id, extra_headers);
  return m + mime_and_body;
}

std::string Text(const std::string& body, const std::string& charset = "utf-8",
                 const std::string& cte = "8bit") {
  return fmt::format(
      "Content-Type: text/plain; charset={}\r\nContent-Transfer-Encoding: {}\r\n\r\n{}", charset,
      cte, body);
}

struct Part {
  std::string type, filename, data;
};
std::string Multipart(const std::string& text, const std::vector<Part>& parts,
                      const std::string& boundary = "b0undary") {
  std::string m =
      fmt::format("Content-Type: multipart/mixed; boundary=\"{}\"\r\n\r\n--{}\r\n{}\r\n", boundary,
                  boundary, Text(text));
  for (const auto& p : parts) {
    m += fmt::format("--{}\r\nContent-Type: {}\r\n", boundary, p.type);
    if (p.type == "message/rfc822") {
      m += "\r\n" + p.data + "\r\n";
    } else {
      m += fmt::format(
          "Content-Disposition: attachment; filename=\"{}\"\r\nContent-Transfer-Encoding: "
          "base64\r\n\r\n{}",
          p.filename, Base64(p.data));
    }
  }
  return m + fmt::format("--{}--\r\n", boundary);
}

struct KeyPair {
  std::string private_pem, public_b64;
};
KeyPair NewKey() {
  EVP_PKEY* k = EVP_RSA_gen(2048);
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  const long n = BIO_get_mem_data(b, &p);
  KeyPair kp{std::string(p, n), ""};
  BIO_free(b);
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(k, &der);
  std::string b64(4 * ((len + 2) / 3) + 1, '\0');
  b64.resize(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), der, len));
  kp.public_b64 = b64;
  OPENSSL_free(der);
  EVP_PKEY_free(k);
  return kp;
}

// ---------------------------------------------------------------------------------------------
// Parsing

TEST(MailParse, DecodesEncodedWordsAndKoreanAndJapaneseCharsets) {
  // Subject in RFC 2047 (EUC-KR, base64), body in EUC-KR 8-bit.
  const std::string subject_euckr = FromHex("b5f6c6e4c0ccc5a920bfb5bbf320bbe8c1a620bfe4c3bb");
  const std::string subject =
      "=?EUC-KR?B?" + Base64(subject_euckr).substr(0, Base64(subject_euckr).size() - 2) + "?=";
  const std::string body = FromHex(
      "bad0b7f93a206465657066616b652d73657875616c0abbe7b0c7b9f8c8a33a204b4353432d323032362d30303432"
      "0a");
  auto m = ParseMail(Mail("a@regulator.test", "k1@regulator.test", subject, Text(body, "euc-kr")));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->subject, "딥페이크 영상 삭제 요청");
  EXPECT_NE(m->text.find("분류: deepfake-sexual"), std::string::npos) << m->text;
  EXPECT_NE(m->text.find("사건번호: KCSC-2026-0042"), std::string::npos);
  EXPECT_TRUE(m->problems.empty());
  EXPECT_EQ(m->message_id, "k1@regulator.test");
  EXPECT_EQ(m->from_address, "a@regulator.test");

  auto iso =
      ParseMail(Mail("a@regulator.test", "k2@x", "x",
                     Text(FromHex("1b2429430e3b6841260f200e3f64433b0f200e3a3b392e4054344f34590f"),
                          "iso-2022-kr", "7bit")));
  ASSERT_TRUE(iso.ok());
  EXPECT_NE(iso->text.find("삭제 요청 본문입니다"), std::string::npos) << iso->text;
  auto sjis = ParseMail(Mail("a@regulator.test", "k3@x", "=?UTF-8?Q?=E5=89=8A=E9=99=A4?=",
                             Text(FromHex("8ded8f9c88cb978a82c582b7"), "shift_jis")));
  ASSERT_TRUE(sjis.ok());
  EXPECT_EQ(sjis->subject, "削除");
  EXPECT_NE(sjis->text.find("削除依頼です"), std::string::npos);
  // No charset declared, EUC-KR bytes: guessed rather than garbled.
  auto guess =
      ParseMail(Mail("a@regulator.test", "k4@x", "x", "Content-Type: text/plain\r\n\r\n" + body));
  ASSERT_TRUE(guess.ok());
  EXPECT_NE(guess->text.find("사건번호"), std::string::npos) << guess->text;
  // A charset nobody knows: replaced characters and a problem, not a failure.
  auto bad = ParseMail(Mail("a@regulator.test", "k5@x", "x", Text("caf\xe9", "x-no-such-charset")));
  ASSERT_TRUE(bad.ok());
  ASSERT_EQ(bad->problems.size(), 1u);
  EXPECT_NE(bad->problems[0].find("x-no-such-charset"), std::string::npos);
}

TEST(MailParse, AttachmentsArchivesNestedMessagesAndLimits) {
  const std::string jpeg = Bytes(*media::EncodeJpeg(testing::DetailedPhoto(64, 48, 1), 90));
  const std::string inner = Mail("b@hotline.test", "inner@x", "fwd",
                                 Multipart("see https://chat.example/c/r/m/nested1",
                                           {{"image/jpeg", "inner.jpg", jpeg}}, "inner"));
  auto m = ParseMail(Mail(
      "a@regulator.test", "att@x", "files",
      Multipart("body text", {{"image/jpeg", "photo.jpg", jpeg},
                              {"application/zip", "all.zip", "PK\x03\x04zzzz"},
                              {"application/octet-stream", "evidence.tar.gz", "\x1f\x8b\x08zzz"},
                              {"message/rfc822", "", inner}})));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->attachments.size(), 2u);  // photo.jpg and the forwarded message's inner.jpg
  EXPECT_EQ(m->attachments[0].filename, "photo.jpg");
  EXPECT_EQ(Bytes(m->attachments[0].data), jpeg);
  EXPECT_EQ(m->attachments[1].filename, "inner.jpg");
  EXPECT_NE(m->text.find("nested1"), std::string::npos) << "the forwarded message's text is read";
  int archives = 0;
  for (const auto& p : m->problems) archives += p.find("archive") != std::string::npos;
  EXPECT_EQ(archives, 2) << fmt::format("{}", fmt::join(m->problems, " | "));

  MailLimits small;
  small.max_attachment_bytes = 100;
  auto big = ParseMail(
      Mail("a@regulator.test", "big@x", "x", Multipart("t", {{"image/jpeg", "photo.jpg", jpeg}})),
      small);
  ASSERT_TRUE(big.ok());
  ASSERT_EQ(big->attachments.size(), 1u);
  EXPECT_TRUE(big->attachments[0].data.empty());
  ASSERT_EQ(big->problems.size(), 1u);
  EXPECT_NE(big->problems[0].find("over the limit"), std::string::npos);

  // Nesting deeper than the limit is reported, not followed.
  std::string nested = Mail("c@x", "n0@x", "n", Text("deepest"));
  for (int i = 1; i <= 5; ++i)
    nested = Mail("c@x", fmt::format("n{}@x", i), "n",
                  Multipart("level", {{"message/rfc822", "", nested}}, fmt::format("b{}", i)));
  auto deep = ParseMail(nested);
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep->text.find("deepest"), std::string::npos);
  EXPECT_FALSE(deep->problems.empty());
}

TEST(MailParse, HostileStructureIsAnErrorOrAProblemNeverACrash) {
  EXPECT_FALSE(ParseMail("").ok());
  EXPECT_FALSE(ParseMail("this is not a mail message at all").ok());
  // No From: nobody to answer.
  EXPECT_FALSE(ParseMail("Subject: x\r\n\r\nbody\r\n").ok());
  // A 300 KB header.
  const std::string huge = "From: a@x\r\nX-Big: " + std::string(300 << 10, 'a') + "\r\n\r\nbody";
  auto h = ParseMail(huge);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("header block"), std::string::npos);
  // A multipart whose boundary never appears, and one with no boundary at all.
  auto missing = ParseMail(
      Mail("a@x", "m1@x", "x",
           "Content-Type: multipart/mixed; boundary=\"never\"\r\n\r\njust text, no parts\r\n"));
  ASSERT_TRUE(missing.ok());
  auto none = ParseMail(Mail("a@x", "m2@x", "x",
                             "Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: "
                             "text/plain\r\n\r\nhi\r\n--x--\r\n"));
  ASSERT_TRUE(none.ok());
  // An empty body.
  auto empty = ParseMail(Mail("a@x", "m3@x", "x", "Content-Type: text/plain\r\n\r\n"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->text.empty());
  EXPECT_TRUE(empty->attachments.empty());
  // Truncated base64 and binary garbage in an attachment.
  auto trunc = ParseMail(
      Mail("a@x", "m4@x", "x",
           "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: "
           "image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQSk\x01\x02\xff"));
  ASSERT_TRUE(trunc.ok());
}

TEST(MailCompose, RepliesAreThreadedUtf8AndCrlf) {
  OutgoingMail o{"takedown@platform.test",
                 "Takedown",
                 "analyst@regulator.test",
                 "[요청 7] 접수 완료",
                 "요청 번호 7번\n",
                 "orig@regulator.test",
                 "<older@x>",
                 "",
                 {}};
  auto raw = ComposeMail(o);
  ASSERT_TRUE(raw.ok());
  EXPECT_NE(raw->find("In-Reply-To: <orig@regulator.test>"), std::string::npos) << *raw;
  EXPECT_NE(raw->find("References: <older@x> <orig@regulator.test>"), std::string::npos);
  EXPECT_NE(raw->find("Subject: =?"), std::string::npos)
      << "the Korean subject is RFC 2047 encoded";
  EXPECT_EQ(raw->find("\n", raw->find("\r\n") + 2) - 1, raw->find("\r\n", raw->find("\r\n") + 2))
      << "CRLF line ends";
  auto back = ParseMail(*raw);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->subject, "[요청 7] 접수 완료");
  EXPECT_NE(back->text.find("요청 번호 7번"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// DKIM

class DkimTest : public ::testing::Test {
 protected:
  static const KeyPair& Key() {
    static const KeyPair k = NewKey();  // one 2048-bit key for every test
    return k;
  }
  void SetUp() override {
    key_ = &Key();
    dir_ = testing::MakeTempDir();
    std::ofstream(dir_ + "/keys") << "sel._domainkey.regulator.test v=DKIM1; k=rsa; p="
                                  << key_->public_b64 << "\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  const KeyPair* key_ = nullptr;
  std::string dir_;
};

TEST(MailTemplates, TheBuiltInOnesAreTheConfigFilesByteForByte) {
  namespace fs = std::filesystem;
  const auto& built_in = BuiltInTemplates();
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(TAKEDOWN_MAIL_TEMPLATES)) {
    std::string name = e.path().filename().string();
    if (!name.ends_with(".mustache")) continue;
    ++files;
    std::ifstream f(e.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    name.resize(name.size() - 9);
    ASSERT_TRUE(built_in.count(name)) << name;
    EXPECT_EQ(built_in.at(name), text) << name;
  }
  EXPECT_GE(files, 6u);
  EXPECT_EQ(built_in.size(), files);
}

TEST_F(DkimTest, SignedMessagesVerifyAndAlteredOnesDoNot) {
  const std::string msg =
      Mail("analyst@regulator.test", "d1@regulator.test", "request", Text("PDQ: 00ff\r\n"));
  auto signed_msg = DkimSign(msg, "regulator.test", "sel", key_->private_pem);
  ASSERT_TRUE(signed_msg.ok()) << signed_msg.status().ToString();
  auto v = DkimVerifier::Create(dir_ + "/keys");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  DkimResult ok = (*v)->Verify(*signed_msg);
  ASSERT_EQ(ok.passed_domains.size(), 1u) << ok.summary;
  EXPECT_EQ(ok.passed_domains[0], "regulator.test");
  // Altered body, altered subject, no signature, an unknown selector.
  std::string body_changed = *signed_msg;
  body_changed.replace(body_changed.find("00ff"), 4, "11ff");
  EXPECT_TRUE((*v)->Verify(body_changed).passed_domains.empty());
  std::string subject_changed = *signed_msg;
  subject_changed.replace(subject_changed.find("Subject: request"), 16, "Subject: rEquest");
  EXPECT_TRUE((*v)->Verify(subject_changed).passed_domains.empty());
  DkimResult none = (*v)->Verify(msg);
  EXPECT_FALSE(none.any_signature);
  EXPECT_TRUE(none.passed_domains.empty());
  auto other = DkimSign(msg, "regulator.test", "nosuchselector", key_->private_pem);
  ASSERT_TRUE(other.ok());
  DkimResult unknown = (*v)->Verify(*other);
  EXPECT_TRUE(unknown.passed_domains.empty());
  EXPECT_TRUE(unknown.any_signature);
  EXPECT_FALSE(DkimVerifier::Create(dir_ + "/missing").ok());
  EXPECT_FALSE(DkimSign(msg, "regulator.test", "sel", "not a key").ok());
}

// ---------------------------------------------------------------------------------------------
// The line over a real store and workflow (no servers: replies stay queued in the store)

class FakeSink : public service::ActionSink {
 public:
  Result<int> Deliver(const std::string&,
                      const std::vector<std::pair<std::string, std::string>>&) override {
    return 200;
  }
};

class MailLineTest : public DkimTest {
 protected:
  void SetUp() override {
    DkimTest::SetUp();
    store_ = std::move(store::OpenSqliteStore(dir_ + "/db").value());
    svc_ = std::move(service::Service::Create(store_.get()).value());
    wf_ = std::make_unique<service::Workflow>(
        svc_.get(), store_.get(), std::make_unique<FakeSink>(), service::WorkflowOptions{});
    admin_ =
        Principal{svc_->CreateKey(Role::kAdmin, "admin", "system")->first, Role::kAdmin, "admin"};
    kcsc_ = svc_->CreateKey(Role::kRequester, "kcsc", "system")->first;
    auto p =
        wf_->SetRequesterProfile(kcsc_,
                                 {{"source_type", "authority_order"},
                                  {"trusted", true},
                                  {"name", "KCSC"},
                                  {"email",
                                   {{"addresses", {"analyst@regulator.test"}},
                                    {"domains", {"kcsc.regulator.test"}},
                                    {"language", "ko"},
                                    {"legal_basis", "Telecommunications Business Act art. 22-5"},
                                    {"default_category", "deepfake-sexual"}}}},
                                 admin_);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    auto line = MailLine::Create(wf_.get(), store_.get(), Options());
    ASSERT_TRUE(line.ok()) << line.status().ToString();
    line_ = std::move(*line);
  }
  // The line under test: servers that do not answer (replies stay queued), the DKIM key file of
  // DkimTest, the templates of config/mail.
  MailLineOptions Options() {
    MailLineOptions o;
    o.address = "takedown@platform.test";
    o.mailboxes = {Mailbox("imaps://127.0.0.1:1/INBOX")};
    o.smtp.url = "smtp://127.0.0.1:1";
    o.dkim_key_file = dir_ + "/keys";
    o.templates_dir = "";  // the built-in ones
    o.max_message_bytes = 100LL << 20;
    return o;
  }
  void TearDown() override {
    line_.reset();
    wf_.reset();
    svc_.reset();
    store_.reset();
    DkimTest::TearDown();
  }
  std::string Signed(const std::string& msg, const std::string& domain = "regulator.test") {
    return DkimSign(msg, domain, "sel", key_->private_pem).value();
  }
  std::vector<json> Docs(const std::string& kind) {
    std::vector<json> out;
    const auto docs = store_->FindDocs({.kind = kind, .limit = 1000})
                          .value();  // not a temporary: the loop would dangle
    for (const auto& d : docs) {
      json j = json::parse(d.doc, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << "doc " << d.id << " kind " << d.kind << " state " << d.state
                                     << ": " << d.doc.substr(0, 300);
      if (j.is_discarded()) continue;
      j["id"] = d.id;
      j["state"] = d.state;
      out.push_back(j);
    }
    return out;
  }
  int64_t Requests() {
    return static_cast<int64_t>(
        store_->FindDocs({.kind = "request", .limit = 1000}).value().size());
  }
  int Audits(const std::string& kind) {
    int n = 0;
    const auto audit = store_->ReadAudit(0, 100000).value();
    for (const auto& a : audit) n += a.kind == kind;
    return n;
  }
  std::vector<uint8_t> Jpeg(uint32_t seed) {
    return *media::EncodeJpeg(testing::DetailedPhoto(320, 240, seed), 90);
  }

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<service::Service> svc_;
  std::unique_ptr<service::Workflow> wf_;
  std::unique_ptr<MailLine> line_;
  Principal admin_;
  int64_t kcsc_ = 0;
};

TEST_F(MailLineTest, ASignedRequestIsFiledAcknowledgedInKoreanAndConfirmedWithEveryRemoval) {
  const auto photo = Jpeg(11);
  // The photo is on the platform twice: once as sent, once re-encoded in another chat.
  ASSERT_TRUE(svc_->Check({"msg-1", "room-1", "u1", {}, photo}, "key:platform").ok());
  ASSERT_TRUE(svc_->Check({"msg-2",
                           "room-2",
                           "u2",
                           {},
                           *media::EncodeJpeg(testing::DetailedPhoto(320, 240, 11), 60)},
                          "key:platform")
                  .ok());
  ASSERT_TRUE(svc_->Check({"msg-3", "room-3", "u3", {}, Jpeg(99)}, "key:platform")
                  .ok());  // an unrelated picture
  const std::string text =
      "삭제를 요청합니다.\r\n분류: 딥페이크\r\n사건번호: KCSC-2026-0042\r\n링크: "
      "https://chat.example/c/room-1/m/msg-1\r\n";
  const std::string raw = Signed(
      Mail("analyst@regulator.test", "req1@regulator.test", "=?UTF-8?B?7IKt7KCcIOyalOyyrQ==?=",
           Multipart(text, {{"image/jpeg", "evidence.jpg", Bytes(photo)},
                            {"application/pdf", "order.pdf", "%PDF-1.4 x"}})));
  auto r = line_->Take(raw, "INBOX");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->outcome, "accepted") << r->reason;
  auto req = wf_->GetRequest(Principal{kcsc_, Role::kRequester, "kcsc"}, r->request_id);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ((*req)["category"], "deepfake-sexual");
  EXPECT_EQ((*req)["notice"]["case_reference"], "KCSC-2026-0042");
  EXPECT_EQ((*req)["notice"]["legal_basis"], "Telecommunications Business Act art. 22-5");
  EXPECT_EQ((*req)["status"], "actioned");   // trusted authority, usable evidence: swept at once
  ASSERT_EQ((*req)["evidence"].size(), 2u);  // the link and the photo; the PDF is reported
  auto out = Docs("mail_out");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["kind"], "ack");
  EXPECT_EQ(out[0]["to"], "analyst@regulator.test");
  const std::string ack = out[0]["raw"];
  EXPECT_NE(ack.find("In-Reply-To: <req1@regulator.test>"), std::string::npos);
  auto parsed = ParseMail(ack);
  ASSERT_TRUE(parsed.ok());
  EXPECT_NE(parsed->subject.find(fmt::format("[요청 {}] 접수 완료", r->request_id)),
            std::string::npos)
      << parsed->subject;
  EXPECT_NE(parsed->text.find("evidence.jpg"), std::string::npos) << parsed->text;
  EXPECT_NE(parsed->text.find("PDQ "), std::string::npos);
  EXPECT_NE(parsed->text.find("order.pdf"), std::string::npos) << "what could not be used is said";
  EXPECT_NE(parsed->text.find("https://chat.example/c/room-1/m/msg-1"), std::string::npos);

  // Not yet confirmed: no closing reply. Then the platform removes both copies.
  EXPECT_EQ(line_->QueueClosings().value(), 0);
  wf_->DeliverDueNow();
  EXPECT_EQ(line_->QueueClosings().value(), 1);
  EXPECT_EQ(line_->QueueClosings().value(), 0) << "once";
  out = Docs("mail_out");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1]["kind"], "confirmed");
  auto conf = ParseMail(out[1]["raw"].get<std::string>());
  ASSERT_TRUE(conf.ok());
  EXPECT_NE(conf->subject.find("조치 완료"), std::string::npos);
  EXPECT_NE(conf->text.find("msg-1"), std::string::npos) << conf->text;
  EXPECT_NE(conf->text.find("msg-2"), std::string::npos) << "the re-encoded copy is listed";
  EXPECT_EQ(conf->text.find("msg-3"), std::string::npos);
  EXPECT_EQ(Audits("mail.accepted"), 1);
}

TEST_F(MailLineTest, ForgedUnsignedUnknownAndWrongSecretSendersAreQuarantinedNeverActioned) {
  const auto photo = Jpeg(12);
  const std::string body =
      Multipart("분류: deepfake-sexual\r\n", {{"image/jpeg", "e.jpg", Bytes(photo)}});
  struct Case {
    std::string name, raw, why;
  } cases[] = {
      {"unsigned", Mail("analyst@regulator.test", "f1@x", "x", body), "not signed"},
      {"signed by another domain",
       Signed(Mail("analyst@regulator.test", "f2@x", "x", body), "evil.test"), "DKIM"},
      {"altered after signing",
       [&] {
         std::string s = Signed(Mail("analyst@regulator.test", "f3@x", "x", body));
         s.replace(s.find("deepfake-sexual"), 4, "DEEP");
         return s;
       }(),
       "DKIM fail"},
      {"not on any allowlist", Signed(Mail("intruder@regulator.test", "f4@x", "x", body)),
       "allowlist"},
  };
  for (const auto& c : cases) {
    auto r = line_->Take(c.raw, "INBOX");
    ASSERT_TRUE(r.ok()) << c.name;
    EXPECT_EQ(r->outcome, "quarantined") << c.name;
    EXPECT_NE(r->reason.find(c.why), std::string::npos) << c.name << ": " << r->reason;
  }
  EXPECT_EQ(Requests(), 0);
  EXPECT_TRUE(Docs("mail_out").empty()) << "no reply, no bounce unless configured";
  EXPECT_EQ(Audits("mail.quarantined"), 4);

  // A shared secret: without it quarantined, with it (a body line, not kept in the text) filed.
  auto p = wf_->GetRequesterProfile(kcsc_).value();
  p["email"]["secret"] = "correct horse battery staple";
  ASSERT_TRUE(wf_->SetRequesterProfile(kcsc_, p, admin_).ok());
  EXPECT_EQ(
      line_->Take(Signed(Mail("analyst@regulator.test", "s1@x", "x", body)), "INBOX")->outcome,
      "quarantined");
  EXPECT_EQ(line_
                ->Take(Signed(Mail("analyst@regulator.test", "s2@x", "x",
                                   Multipart("Secret: wrong one\r\n",
                                             {{"image/jpeg", "e.jpg", Bytes(photo)}}))),
                       "INBOX")
                ->outcome,
            "quarantined");
  auto ok = line_->Take(Signed(Mail("analyst@regulator.test", "s3@x", "x",
                                    Multipart("Secret: correct horse battery staple\r\n",
                                              {{"image/jpeg", "e.jpg", Bytes(photo)}}))),
                        "INBOX");
  EXPECT_EQ(ok->outcome, "accepted") << ok->reason;
  auto req = wf_->GetRequest(admin_, ok->request_id).value();
  EXPECT_EQ(req.dump().find("battery"), std::string::npos)
      << "the secret is not stored in the request";
}

TEST_F(MailLineTest, AReplayedMessageFilesNoSecondRequest) {
  const std::string raw = Signed(Mail("analyst@regulator.test", "replay@regulator.test", "x",
                                      Multipart("PDQ: " + std::string(64, 'a') + "\r\n", {})));
  auto first = line_->Take(raw, "INBOX");
  ASSERT_EQ(first->outcome, "accepted") << first->reason;
  auto again = line_->Take(raw, "INBOX");
  EXPECT_EQ(again->outcome, "duplicate");
  EXPECT_EQ(again->request_id, first->request_id);
  EXPECT_EQ(Requests(), 1);
  EXPECT_EQ(Docs("mail_out").size(), 1u);
  EXPECT_EQ(Audits("mail.duplicate"), 1);
}

TEST_F(MailLineTest, AForgeryCannotTakeAMessageIdAheadOfTheRealMessage) {
  const std::string body = Text("PDQ: " + std::string(64, 'd'));
  EXPECT_EQ(line_->Take(Mail("analyst@regulator.test", "next@regulator.test", "x", body), "INBOX")
                ->outcome,
            "quarantined");
  EXPECT_EQ(line_->Take(Mail("analyst@regulator.test", "next@regulator.test", "x", body), "INBOX")
                ->outcome,
            "duplicate")
      << "the same forgery again";
  auto real = line_->Take(Signed(Mail("analyst@regulator.test", "next@regulator.test", "x", body)),
                          "INBOX");
  EXPECT_EQ(real->outcome, "accepted") << real->reason;
  EXPECT_EQ(Requests(), 1);
}

TEST_F(MailLineTest, EmptyArchiveOnlyAndBadHashMessagesAreRefusedWithReasons) {
  auto empty = line_->Take(Signed(Mail("analyst@regulator.test", "e1@x", "please remove",
                                       "Content-Type: text/plain\r\n\r\n")),
                           "INBOX");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->outcome, "refused");
  EXPECT_NE(empty->reason.find("evidence"), std::string::npos) << empty->reason;
  auto archive = line_->Take(
      Signed(Mail("analyst@regulator.test", "e2@x", "zip",
                  Multipart("see attached", {{"application/zip", "videos.zip", "PK\x03\x04"}}))),
      "INBOX");
  EXPECT_EQ(archive->outcome, "refused");
  auto badhash = line_->Take(
      Signed(Mail("analyst@regulator.test", "e3@x", "hash", Text("PDQ: 1234xyz\r\n"))), "INBOX");
  EXPECT_EQ(badhash->outcome, "refused");
  EXPECT_EQ(Requests(), 0);
  auto out = Docs("mail_out");
  ASSERT_EQ(out.size(), 3u);
  const std::string zip_reply = ParseMail(out[1]["raw"].get<std::string>())->text;
  EXPECT_NE(zip_reply.find("videos.zip"), std::string::npos) << zip_reply;
  const std::string hash_reply = ParseMail(out[2]["raw"].get<std::string>())->text;
  EXPECT_NE(hash_reply.find("1234xyz"), std::string::npos) << hash_reply;
  for (const auto& o : out) EXPECT_EQ(o["kind"], "refused");
}

TEST_F(MailLineTest, An200MbAttachmentGetsAClearReplyAndIsNotRead) {
  // 200 MB of video, base64: the message is over the 100 MB limit; only its header is read.
  std::string raw = Signed(Mail("analyst@regulator.test", "huge@regulator.test", "big video",
                                "Content-Type: multipart/mixed; boundary=z\r\n\r\n"));
  raw += "--z\r\nContent-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  raw.append((200LL << 20) / 3 * 4, 'A');
  raw += "\r\n--z--\r\n";
  auto r = line_->Take(raw, "INBOX");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, "too_large");
  auto out = Docs("mail_out");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["kind"], "too_large");
  auto reply = ParseMail(out[0]["raw"].get<std::string>());
  EXPECT_NE(reply->subject.find("용량 초과"), std::string::npos) << "in the requester's language";
  EXPECT_NE(reply->text.find(std::to_string(raw.size())), std::string::npos) << reply->text;
  EXPECT_EQ(Requests(), 0);
}

TEST_F(MailLineTest, UndecodableMediaIsReportedWhileTheRestIsFiled) {
  const std::string raw =
      Signed(Mail("analyst@regulator.test", "u1@x", "x",
                  Multipart("https://chat.example/c/r/m/msg-9\r\n",
                            {{"image/jpeg", "broken.jpg", "\xff\xd8\xff\xe0 not really a jpeg"}})));
  auto r = line_->Take(raw, "INBOX");
  ASSERT_EQ(r->outcome, "accepted") << r->reason;
  auto req = wf_->GetRequest(admin_, r->request_id).value();
  ASSERT_EQ(req["evidence"].size(), 2u);
  EXPECT_FALSE(req["evidence"][1]["usable"].get<bool>());
  EXPECT_EQ(req["status"], "pending_review") << "not everything usable: a person looks";
  const std::string ack = ParseMail(Docs("mail_out")[0]["raw"].get<std::string>())->text;
  EXPECT_NE(ack.find("broken.jpg"), std::string::npos);
  EXPECT_NE(ack.find("문제"), std::string::npos) << ack;
  // The reviewer rejects: the closing reply says so with the reason.
  auto reviewer =
      Principal{svc_->CreateKey(Role::kReviewer, "rev", "system")->first, Role::kReviewer, "rev"};
  ASSERT_TRUE(wf_->Decide(reviewer, r->request_id, false,
                          "the linked message is not in the reported category")
                  .ok());
  EXPECT_EQ(line_->QueueClosings().value(), 1);
  const std::string closing = ParseMail(Docs("mail_out")[1]["raw"].get<std::string>())->text;
  EXPECT_NE(closing.find("not in the reported category"), std::string::npos) << closing;
}

TEST_F(MailLineTest, GarbageIsRecordedUnreadableOnceAndRepliesWaitWhileSmtpIsDown) {
  auto r = line_->Take("\x01\x02garbage without any header", "INBOX");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, "unreadable");
  EXPECT_EQ(line_->Take("\x01\x02garbage without any header", "INBOX")->outcome, "duplicate");
  EXPECT_EQ(Audits("mail.unreadable"), 1);
  // A reply queued while the SMTP server is unreachable stays pending and is retried later.
  ASSERT_EQ(line_
                ->Take(Signed(Mail("analyst@regulator.test", "q1@x", "x",
                                   Text("PDQ: " + std::string(64, 'b')))),
                       "INBOX")
                ->outcome,
            "accepted");
  auto sent = line_->SendDue();
  ASSERT_FALSE(sent.ok()) << "the SMTP server is unreachable";
  EXPECT_NE(sent.status().message().find("SMTP"), std::string::npos) << sent.status().message();
  auto out = Docs("mail_out");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["state"], "pending");
  EXPECT_EQ(out[0]["attempts"], 1);
  EXPECT_GT(out[0]["due_ms"].get<int64_t>(), out[0]["queued_ms"].get<int64_t>());
  EXPECT_NE(line_->MetricsText().find("takedown_mail_reply_failures_total 1"), std::string::npos);
}

TEST_F(MailLineTest, AVideoAttachmentFindsTheVideoOnThePlatform) {
  const std::string path = dir_ + "/clip.mp4";
  testing::WriteVideo(path, 160, 120, 60, 30, 5);
  std::ifstream in(path, std::ios::binary);
  const std::string video((std::istreambuf_iterator<char>(in)), {});
  ASSERT_TRUE(
      svc_->Check({"vid-1", "room-9", "u9", {}, std::vector<uint8_t>(video.begin(), video.end())},
                  "key:platform")
          .ok());
  auto r =
      line_->Take(Signed(Mail("analyst@regulator.test", "vid@regulator.test", "video",
                              Multipart("Category: ncii\r\n", {{"video/mp4", "clip.mp4", video}}))),
                  "INBOX");
  ASSERT_EQ(r->outcome, "accepted") << r->reason;
  auto req = wf_->GetRequest(admin_, r->request_id).value();
  ASSERT_EQ(req["evidence"].size(), 1u);
  EXPECT_GT(req["evidence"][0]["video"]["frames"].get<int>(), 10) << req["evidence"][0].dump();
  EXPECT_EQ(req["category"], "ncii");
  const std::string ack = ParseMail(Docs("mail_out")[0]["raw"].get<std::string>())->text;
  EXPECT_NE(ack.find("clip.mp4"), std::string::npos);
  EXPECT_NE(ack.find("video"), std::string::npos) << ack;
  wf_->DeliverDueNow();
  ASSERT_EQ(line_->QueueClosings().value(), 1);
  const std::string conf = ParseMail(Docs("mail_out")[1]["raw"].get<std::string>())->text;
  EXPECT_NE(conf.find("vid-1"), std::string::npos) << conf;
}

TEST_F(MailLineTest, ANeutralBounceWhenConfiguredSaysNothingOfWhy) {
  MailLineOptions o = Options();
  o.neutral_bounce = true;
  line_ = std::move(MailLine::Create(wf_.get(), store_.get(), o).value());
  auto r = line_->Take(
      Mail("analyst@regulator.test", "nb@x", "please", Text("PDQ: " + std::string(64, 'c'))),
      "INBOX");  // unsigned
  ASSERT_EQ(r->outcome, "quarantined");
  auto out = Docs("mail_out");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["kind"], "bounce");
  auto bounce = ParseMail(out[0]["raw"].get<std::string>());
  ASSERT_TRUE(bounce.ok());
  EXPECT_EQ(bounce->text.find("DKIM"), std::string::npos) << bounce->text;
  EXPECT_EQ(bounce->text.find("allowlist"), std::string::npos);
  EXPECT_NE(bounce->text.find("could not be processed"), std::string::npos);
  EXPECT_EQ(Requests(), 0);
}

TEST_F(MailLineTest, AnAddressBelongsToOneRequesterOnly) {
  const int64_t other = svc_->CreateKey(Role::kRequester, "other", "system")->first;
  auto clash = wf_->SetRequesterProfile(
      other, {{"source_type", "hotline"}, {"email", {{"addresses", {"ANALYST@regulator.test"}}}}},
      admin_);
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.status().message().find("already on requester"), std::string::npos)
      << clash.status().message();
  auto bad = wf_->SetRequesterProfile(
      other,
      {{"source_type", "hotline"},
       {"email", {{"addresses", {"not-an-address"}}, {"dkim", "maybe"}, {"language", "fr"}}}},
      admin_);
  ASSERT_FALSE(bad.ok());
  for (const char* field : {"email.addresses", "email.dkim", "email.language"})
    EXPECT_NE(bad.status().message().find(field), std::string::npos) << field;
  EXPECT_TRUE(wf_->SetRequesterProfile(
                     other,
                     {{"source_type", "hotline"}, {"email", {{"domains", {"hotline.test"}}}}},
                     admin_)
                  .ok());
  auto list = wf_->ListRequesterProfiles(0, 100).value();
  ASSERT_EQ(list["requesters"].size(), 2u);
  EXPECT_EQ(list["requesters"][0]["key_id"], kcsc_);
  EXPECT_EQ(list["requesters"][0]["email"]["addresses"][0], "analyst@regulator.test");
  EXPECT_EQ(list["requesters"][1]["email"]["domains"][0], "hotline.test");
  EXPECT_EQ(wf_->ListRequesterProfiles(kcsc_, 100).value()["requesters"].size(), 1u)
      << "paged by key id";
  // Setting its own profile again (the same addresses) is fine.
  auto mine = wf_->GetRequesterProfile(kcsc_).value();
  EXPECT_TRUE(wf_->SetRequesterProfile(kcsc_, mine, admin_).ok());
  EXPECT_FALSE(mine["email"].contains("secret"));
}

TEST(MailLineConfig, BadSettingsAreNamed) {
  MailLineOptions o;
  EXPECT_NE(MailLine::Create(nullptr, nullptr, o).status().message().find("mail.address"),
            std::string::npos);
  o.address = "t@p.test";
  o.mailboxes = {Mailbox("imaps://127.0.0.1:1")};
  o.smtp.url = "smtp://127.0.0.1:1";
  o.templates_dir = TAKEDOWN_MAIL_TEMPLATES;
  o.link_patterns = {"https://x/(unclosed"};
  EXPECT_NE(MailLine::Create(nullptr, nullptr, o).status().message().find("link_patterns"),
            std::string::npos);
  o.link_patterns = {"no group here"};
  EXPECT_NE(MailLine::Create(nullptr, nullptr, o).status().message().find("no group"),
            std::string::npos);
  o.link_patterns = {};
  o.templates_dir = "/nonexistent";
  EXPECT_NE(MailLine::Create(nullptr, nullptr, o).status().message().find("templates_dir"),
            std::string::npos);
  EXPECT_EQ(RedactUrl("imaps://user:pw@host:993/INBOX"), "imaps://***@host:993/INBOX");
}

}  // namespace
}  // namespace takedown::mail
