#!/usr/bin/env bash
# The email line's benchmark (issue 8), on real Postfix and Dovecot on loopback (root): the mail
# story (a DKIM-signed request with an image through SMTP; seconds from SMTP acceptance to the
# acknowledgement and to the confirmation in the regulator's mailbox), ROUNDS times, then COUNT
# requests with an image attached each sent at once and every acknowledgement counted (none lost,
# none twice; requests filed counted through the API). Release build.
# Usage: scripts/bench-mail.sh   (env: COUNT=1000, ROUNDS=5, SKIP_SETUP=1 to skip apt and the build)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SKIP_SETUP:-0}" != 1 ]; then
  scripts/setup.sh
  scripts/build.sh release >/dev/null
fi
count=${COUNT:-1000} rounds=${ROUNDS:-5}
example=build/examples/platform/takedown-example-platform
for r in $(seq 1 "$rounds"); do
  tests/mail/roundtrip_test.sh build/takedown "$example" 2>&1 | grep -E '^== mail timing|round trip' | sed "s/^/round $r: /"
done
MAIL_BENCH=$count tests/mail/roundtrip_test.sh build/takedown "$example" 2>&1 | grep -E '^== mail|^  [0-9]+ (messages|acknowledgements)|round trip|FAIL'
