#!/usr/bin/env python3
"""A takedown webhook receiver and upload-gate client in Python, standard library only.

  serve   receive takedown's signed action webhooks and apply each action once
  check   the one call a platform makes at upload time (POST /v1/check/media)

  TAKEDOWN_WEBHOOK_SECRET=... receiver.py serve --port 8081 --log actions.jsonl
  TAKEDOWN_PLATFORM_KEY=td_... receiver.py check --takedown http://127.0.0.1:8080 \
      --file photo.jpg --content-id msg-1 --chat chat-1 --uploader user-1

What takedown sends (config/takedown.toml [webhook]): POST, Content-Type application/json,
  Idempotency-Key       the same on every delivery of one action (and "idempotency_key" in the body)
  X-Takedown-Timestamp  Unix seconds at sending
  X-Takedown-Signature  v1=HEX(HMAC-SHA256(secret, TIMESTAMP + "." + RAW_BODY))
Any 2xx acknowledges the action; anything else (or no answer within 5 s) is retried with backoff,
forever: answer 2xx only once the action is applied (or was applied before).
"""
import argparse, hashlib, hmac, http.server, json, os, sys, threading, time
import urllib.error, urllib.parse, urllib.request

MAX_BODY = 1 << 20   # an action is a few KB; refuse anything over 1 MiB
DRAIN_MAX = 8 << 20  # an oversized body is read and dropped up to this, then the connection closed
MAX_SKEW_S = 300     # refuse deliveries signed more than 5 minutes away from our clock
PATH = "/takedown/webhook"


def signature_ok(secret, ts, body, header):
    """True if header is v1=HMAC-SHA256(secret, ts.body) and ts is recent; constant time."""
    if not (ts.isascii() and ts.isdigit()) or abs(time.time() - int(ts)) > MAX_SKEW_S:
        return False
    expected = "v1=" + hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: takedown reuses its connections
    timeout = 30                   # seconds a silent or slow client may hold a connection
    lock = threading.Lock()        # deliveries arrive concurrently (webhook.workers)
    seen = set()                   # idempotency keys applied (loaded from the log at start)
    secret = b""
    log_path = capture = ""

    def answer(self, code, result):
        out = json.dumps({"result": result}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def handle_expect_100(self):
        """A client that asks first (Expect: 100-continue, as curl does for large bodies) is
        refused before it sends the body."""
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_BODY:
            self.close_connection = True
            self.answer(413, "too large")
            return False
        return super().handle_expect_100()

    def do_POST(self):
        if self.path != PATH:
            return self.answer(404, "not found")
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.close_connection = True
            return self.answer(411, "length required")
        if int(length) > MAX_BODY:
            self.close_connection = True
            # Read and drop it, so that the client, still sending, reads the 413 (a socket closed
            # with unread bytes is reset, and the answer lost with it); far too large: cut off.
            left = int(length) if int(length) <= DRAIN_MAX else 0
            while left > 0:
                got = self.rfile.read(min(left, 1 << 16))
                if not got:
                    break
                left -= len(got)
            return self.answer(413, "too large")
        body = self.rfile.read(int(length))
        ts = self.headers.get("X-Takedown-Timestamp", "")
        if not signature_ok(self.secret, ts, body, self.headers.get("X-Takedown-Signature", "")):
            return self.answer(401, "bad signature")  # not from takedown, or too old
        try:
            action = json.loads(body)
            key = action["idempotency_key"]  # signed, unlike the Idempotency-Key header
        except (ValueError, TypeError, KeyError):
            return self.answer(400, "not an action")
        if not key or self.headers.get("Idempotency-Key", key) != key:  # they must agree
            return self.answer(400, "key mismatched")
        try:
            with self.lock:
                if self.capture and not os.path.exists(self.capture + ".body"):
                    self.keep(body)
                result = "duplicate" if key in self.seen else "applied"
                self.apply(action, key, result)
                self.seen.add(key)
        except OSError as e:  # not applied: a non-2xx makes takedown deliver it again later
            self.log_message("cannot apply %s: %s", key, e)
            return self.answer(500, "not applied")
        self.answer(200, result)

    def apply(self, action, key, result):
        """Apply the action here: remove or restore action["content_id"] in action["chat_id"], or
        restrict the chat (kind restrict_chat). This example appends a line to its log, durably."""
        line = {"result": result, "idempotency_key": key, "kind": action.get("kind"),
                "action_id": action.get("action_id"), "content_id": action.get("content_id"),
                "chat_id": action.get("chat_id"), "request_id": action.get("request_id"),
                "attempt": action.get("attempt"), "received_at": int(time.time())}
        with open(self.log_path, "a") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def keep(self, body):
        """--capture: the first verified delivery (curl -H @P.headers --data-binary @P.body)."""
        names = ("Content-Type", "Idempotency-Key", "X-Takedown-Timestamp", "X-Takedown-Signature")
        with open(self.capture + ".headers", "w") as f:
            f.writelines(f"{h}: {self.headers.get(h, '')}\n" for h in names)
        with open(self.capture + ".body", "wb") as f:
            f.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("receiver: " + fmt % args + "\n")


def serve(a):
    secret = os.environ.get("TAKEDOWN_WEBHOOK_SECRET", "")
    if not secret:
        sys.exit("receiver: set TAKEDOWN_WEBHOOK_SECRET (the same as takedown's webhook.secret)")
    Receiver.secret, Receiver.log_path, Receiver.capture = secret.encode(), a.log, a.capture
    if os.path.exists(a.log):  # keys applied before a restart stay applied
        with open(a.log) as f:
            for line in f:
                try:
                    Receiver.seen.add(json.loads(line)["idempotency_key"])
                except (ValueError, KeyError):
                    pass  # a line cut short by a crash: its action was not acknowledged
    srv = http.server.ThreadingHTTPServer((a.host, a.port), Receiver)
    srv.daemon_threads = True
    print(f"receiver listening on http://{a.host}:{srv.server_address[1]}{PATH}", flush=True)
    srv.serve_forever()


def check(a):
    """The upload gate: send the bytes before storing the upload; store it only on "allow"."""
    key = a.key or os.environ.get("TAKEDOWN_PLATFORM_KEY", "")
    ids = {"content_id": a.content_id, "chat_id": a.chat, "uploader_id": a.uploader}
    query = urllib.parse.urlencode({k: v for k, v in ids.items() if v})
    with open(a.file, "rb") as f:
        req = urllib.request.Request(
            f"{a.takedown}/v1/check/media?{query}", data=f.read(), method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            result = json.load(r)
    except urllib.error.HTTPError as e:  # 4xx/5xx: {"error": {"code", "message"}}
        sys.exit(f"receiver: upload gate: HTTP {e.code}: {e.read().decode(errors='replace')}")
    except OSError as e:  # unreachable, timed out
        sys.exit(f"receiver: upload gate: {e}")
    # {"content_id", "decision": "allow"|"block", "recorded": bool,
    #  "matches": [{"bank", "entry_id", "signal", "distance"}]}. On an error or a timeout the
    # platform chooses: fail closed (refuse the upload) or open.
    print(json.dumps(result))
    return 3 if result["decision"] == "block" else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="receive webhooks")
    s.add_argument("--host", default=os.environ.get("RECEIVER_HOST", "127.0.0.1"))
    s.add_argument("--port", type=int, default=int(os.environ.get("RECEIVER_PORT", "8081")),
                   help="0: any")
    s.add_argument("--log", default=os.environ.get("RECEIVER_LOG", "actions.jsonl"),
                   help="applied actions (JSON lines)")
    s.add_argument("--capture", default="",
                   help="keep the first verified delivery as PREFIX.headers and PREFIX.body")
    c = sub.add_parser("check", help="check an upload; exit 0 allow, 3 block, 1 error")
    c.add_argument("--takedown", default=os.environ.get("TAKEDOWN_URL", "http://127.0.0.1:8080"))
    c.add_argument("--key", default="", help="platform API key (default: TAKEDOWN_PLATFORM_KEY)")
    c.add_argument("--file", required=True)
    c.add_argument("--content-id", required=True)
    c.add_argument("--chat", default="")
    c.add_argument("--uploader", default="")
    a = p.parse_args()
    sys.exit(serve(a) if a.cmd == "serve" else check(a))


if __name__ == "__main__":
    main()
