#!/usr/bin/env node
// A takedown webhook receiver and upload-gate client in Node.js 18+, standard library only.
//
//   serve   receive takedown's signed action webhooks and apply each action once
//   check   the one call a platform makes at upload time (POST /v1/check/media)
//
//   TAKEDOWN_WEBHOOK_SECRET=... node receiver.js serve --port 8081 --log actions.jsonl
//   TAKEDOWN_PLATFORM_KEY=td_... node receiver.js check --takedown http://127.0.0.1:8080 \
//       --file photo.jpg --content-id msg-1 --chat chat-1 --uploader user-1
//
// What takedown sends (config/takedown.toml [webhook]): POST, Content-Type application/json,
//   Idempotency-Key       the same on every delivery of an action (and "idempotency_key" in the body)
//   X-Takedown-Timestamp  Unix seconds at sending
//   X-Takedown-Signature  v1=HEX(HMAC-SHA256(secret, TIMESTAMP + "." + RAW_BODY))
// Any 2xx acknowledges the action; anything else (or no answer within 5 s) is retried with backoff,
// forever: answer 2xx only once the action is applied (or was applied before).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');

const MAX_BODY = 1 << 20; // an action is a few KB; refuse anything over 1 MiB
const DRAIN_MAX = 8 * MAX_BODY; // an oversized body is read and dropped up to this, then cut off
const MAX_SKEW_S = 300; // refuse deliveries signed more than 5 minutes away from our clock
const PATH = '/takedown/webhook';

// True if header is v1=HMAC-SHA256(secret, ts.body) and ts is recent; constant time.
function signatureOk(secret, ts, body, header) {
  if (!/^[0-9]+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > MAX_SKEW_S) return false;
  const mac = crypto.createHmac('sha256', secret).update(ts + '.').update(body).digest('hex');
  const want = Buffer.from('v1=' + mac);
  const got = Buffer.from(header || '');
  return got.length === want.length && crypto.timingSafeEqual(got, want); // lengths are public
}

function serve(opt) {
  const secret = process.env.TAKEDOWN_WEBHOOK_SECRET || '';
  if (!secret) fail('set TAKEDOWN_WEBHOOK_SECRET (the same as takedown\'s webhook.secret)');
  const seen = new Set(); // idempotency keys applied; the log keeps them across restarts
  if (fs.existsSync(opt.log)) {
    for (const l of fs.readFileSync(opt.log, 'utf8').split('\n')) {
      try {
        seen.add(JSON.parse(l).idempotency_key);
      } catch (e) { /* empty, or a line cut short by a crash: that action was not acknowledged */ }
    }
  }
  const handle = (req, res) => {
    const answer = (code, result) => {
      if (res.headersSent) return;
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ result }));
    };
    const tooLarge = () => {
      res.setHeader('Connection', 'close');
      answer(413, 'too large');
    };
    if (req.method !== 'POST' || req.url !== PATH) return answer(404, 'not found');
    if (Number(req.headers['content-length'] || 0) > DRAIN_MAX) return tooLarge();
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > DRAIN_MAX) { // far too large, or a chunked body that keeps growing: cut off
        tooLarge();
        req.destroy();
      } else if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      // Over the bound: read and dropped, so that the client, still sending, reads the 413 (a
      // socket closed with unread bytes is reset, and the answer lost with it).
      if (size > MAX_BODY) return tooLarge();
      const body = Buffer.concat(chunks); // the raw bytes: the signature covers them exactly
      const ts = req.headers['x-takedown-timestamp'] || '';
      if (!signatureOk(secret, ts, body, req.headers['x-takedown-signature'])) {
        return answer(401, 'bad signature'); // not from takedown, or too old
      }
      let action;
      try {
        action = JSON.parse(body.toString('utf8'));
      } catch (e) {
        return answer(400, 'not an action');
      }
      const key = action && action.idempotency_key; // signed, unlike the Idempotency-Key header
      const header = req.headers['idempotency-key'];
      if (!key || (header !== undefined && header !== key)) return answer(400, 'key mismatched');
      // Node runs this callback to the end before the next one: check-and-apply needs no lock
      // (an asynchronous apply, e.g. a database call, would need one per key).
      if (opt.capture && !fs.existsSync(`${opt.capture}.body`)) keep(opt.capture, req.headers, body);
      const result = seen.has(key) ? 'duplicate' : 'applied';
      try {
        apply(opt.log, action, key, result);
      } catch (e) { // not applied: a non-2xx makes takedown deliver it again later
        console.error(`receiver: cannot apply ${key}: ${e.message}`);
        return answer(500, 'not applied');
      }
      seen.add(key);
      answer(200, result);
      console.error(`receiver: ${action.kind} ${action.content_id || action.chat_id}: ${result}`);
    });
  };
  const server = http.createServer(handle);
  // A client that asks first (Expect: 100-continue, as curl does for large bodies) is refused
  // before it sends the body.
  server.on('checkContinue', (req, res) => {
    if (Number(req.headers['content-length'] || 0) > MAX_BODY) {
      res.setHeader('Connection', 'close');
      res.writeHead(413, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ result: 'too large' }));
    }
    res.writeContinue();
    handle(req, res);
  });
  server.listen(opt.port, opt.host, () => {
    console.log(`receiver listening on http://${opt.host}:${server.address().port}${PATH}`);
  });
}

// Apply the action here: remove or restore action.content_id in action.chat_id, or restrict the
// chat (kind restrict_chat). This example appends a line to its log, durably.
function apply(log, a, key, result) {
  const line = {
    result, idempotency_key: key, kind: a.kind, action_id: a.action_id,
    content_id: a.content_id, chat_id: a.chat_id, request_id: a.request_id, attempt: a.attempt,
    received_at: Math.floor(Date.now() / 1000),
  };
  const fd = fs.openSync(log, 'a');
  try {
    fs.writeSync(fd, JSON.stringify(line) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

// --capture: the first verified delivery, to replay with curl -H @P.headers --data-binary @P.body.
function keep(prefix, h, body) {
  const names = ['Content-Type', 'Idempotency-Key', 'X-Takedown-Timestamp', 'X-Takedown-Signature'];
  const text = names.map((n) => `${n}: ${h[n.toLowerCase()] || ''}\n`).join('');
  fs.writeFileSync(prefix + '.headers', text);
  fs.writeFileSync(prefix + '.body', body);
}

// The upload gate: send the bytes before storing the upload; store it only on "allow".
function check(opt) {
  const key = opt.key || process.env.TAKEDOWN_PLATFORM_KEY || '';
  const ids = { content_id: opt['content-id'], chat_id: opt.chat, uploader_id: opt.uploader };
  const q = new URLSearchParams(Object.entries(ids).filter(([, v]) => v));
  const url = new URL(`${opt.takedown}/v1/check/media?${q}`);
  const media = fs.readFileSync(opt.file);
  const req = (url.protocol === 'https:' ? https : http).request(url, {
    method: 'POST',
    timeout: 30000,
    headers: {
      Authorization: `Bearer ${key}`,
      'Content-Type': 'application/octet-stream',
      'Content-Length': media.length,
    },
  }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      // 4xx/5xx: {"error": {"code", "message"}}
      if (res.statusCode !== 200) fail(`upload gate: HTTP ${res.statusCode}: ${text}`);
      // {"content_id", "decision": "allow"|"block", "matches": [{"bank", "entry_id", "signal",
      //  "distance"}], "recorded": bool}. On an error or a timeout the platform chooses: fail
      //  closed (refuse the upload) or open.
      const result = JSON.parse(text);
      console.log(JSON.stringify(result));
      process.exitCode = result.decision === 'block' ? 3 : 0;
    });
  });
  req.on('timeout', () => req.destroy(new Error('timed out')));
  req.on('error', (e) => fail(`upload gate: ${e.message}`));
  req.end(media);
}

function fail(msg) {
  console.error(`receiver: ${msg}`);
  process.exit(1);
}

const USAGE = `usage: receiver.js serve [--host H] [--port N] [--log FILE] [--capture PREFIX]
       receiver.js check [--takedown URL] [--key KEY] --file F --content-id ID [--chat C] [--uploader U]
         (exit 0: allow, 3: block, 1: error)`;

function main(argv) {
  const env = process.env;
  const opt = {
    host: env.RECEIVER_HOST || '127.0.0.1', port: Number(env.RECEIVER_PORT || 8081),
    log: env.RECEIVER_LOG || 'actions.jsonl', capture: '',
    takedown: env.TAKEDOWN_URL || 'http://127.0.0.1:8080', key: '', chat: '', uploader: '',
    file: '', 'content-id': '',
  };
  const [cmd, ...rest] = argv;
  for (let i = 0; i < rest.length; i += 2) {
    const name = rest[i].replace(/^--?/, '');
    if (!rest[i].startsWith('-') || !(name in opt) || rest[i + 1] === undefined) fail(USAGE);
    opt[name] = name === 'port' ? Number(rest[i + 1]) : rest[i + 1];
  }
  if (cmd === 'serve' && Number.isInteger(opt.port)) return serve(opt);
  if (cmd === 'check' && opt.file && opt['content-id']) return check(opt);
  fail(USAGE);
}

main(process.argv.slice(2));
