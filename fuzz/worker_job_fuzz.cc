// libFuzzer target for the sandboxed decoder worker's entry point (sandbox::HandleJob): whatever
// bytes an uploader, a requester or a mail sender sends, the job ends with an answer -- the
// signals, or an error naming why -- and an ok answer is CBOR the pool accepts. No crash, no hang,
// no sanitizer report in our code (the system's decoders are not instrumented; a bug in them costs
// one worker in production, which tests/sandbox_test.cc covers). The first byte picks upload or
// bank side. Run: scripts/fuzz.sh [SECONDS].
#include <cstddef>
#include <cstdint>

#include "sandbox/sandbox.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace takedown;
  if (size == 0 || size > (1 << 20)) return 0;
  const auto kind = data[0] % 2 == 0 ? sandbox::JobKind::kHashQuery : sandbox::JobKind::kHashBank;
  const sandbox::Answer a = sandbox::HandleJob(kind, {data + 1, size - 1});
  if (a.code == StatusCode::kOk) {
    const auto j = nlohmann::json::from_cbor(a.body, true, false);
    if (j.is_discarded() || !service::SignalsFromJson(j).ok()) __builtin_trap();
  } else if (a.body.empty()) {
    __builtin_trap();  // an error names why
  }
  return 0;
}
