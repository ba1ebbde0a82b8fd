// A tiny SMTP server that accepts every message and keeps it (node:net, no TLS, no AUTH): what
// takedown's email line (libcurl) submits, for the tests to read. Each message: {from, to[], raw,
// headers (lowercased names, unfolded), text (the body, quoted-printable or base64 decoded)}.
import { createServer } from 'node:net';

function decodeQuotedPrintable(s) {
  const bytes = [];
  const src = s.replace(/=\r?\n/g, ''); // soft line breaks
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(src.slice(i + 1, i + 3))) {
      bytes.push(parseInt(src.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

// The message's headers and its (single-part) body as text.
export function parseMessage(raw) {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const m = line.match(/^([^:\s]+):\s*(.*)$/);
    if (m) headers[m[1].toLowerCase()] = m[2];
  }
  const cte = (headers['content-transfer-encoding'] || '').toLowerCase();
  let text = body;
  if (cte === 'quoted-printable') text = decodeQuotedPrintable(body);
  else if (cte === 'base64') text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return { headers, text: text.replace(/\r\n/g, '\n') };
}

// startSmtpSink() -> {port, messages, stop()}
export function startSmtpSink() {
  const messages = [];
  const sockets = new Set();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    let inData = false;
    let env = { from: '', to: [] };
    const say = (line) => { if (!sock.destroyed) sock.write(`${line}\r\n`); };
    say('220 sink.test ESMTP test sink');
    sock.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          // The data ends with CRLF.CRLF (or the message is empty: .CRLF right away).
          let end = buf.indexOf('\r\n.\r\n');
          let rawEnd = end, skip = 5;
          if (end < 0 && buf.startsWith('.\r\n')) { end = 0; rawEnd = 0; skip = 3; }
          if (end < 0) return;
          const data = buf.slice(0, rawEnd);
          buf = buf.slice(end + skip);
          inData = false;
          const raw = Buffer.from(data.replace(/^\.\./gm, '.'), 'latin1').toString('utf8');
          messages.push({ from: env.from, to: env.to, raw, ...parseMessage(raw), at: Date.now() });
          env = { from: '', to: [] };
          say('250 2.0.0 OK: queued');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.split(' ')[0].toUpperCase();
        if (verb === 'EHLO') { say('250-sink.test greets you'); say('250-8BITMIME'); say('250-SIZE 10485760'); say('250 SMTPUTF8'); }
        else if (verb === 'HELO') say('250 sink.test');
        else if (verb === 'MAIL') { env = { from: (line.match(/<([^>]*)>/) || [])[1] || '', to: [] }; say('250 2.1.0 OK'); }
        else if (verb === 'RCPT') { env.to.push((line.match(/<([^>]*)>/) || [])[1] || ''); say('250 2.1.5 OK'); }
        else if (verb === 'DATA') { inData = true; say('354 End data with <CR><LF>.<CR><LF>'); }
        else if (verb === 'RSET') { env = { from: '', to: [] }; say('250 2.0.0 OK'); }
        else if (verb === 'NOOP') say('250 2.0.0 OK');
        else if (verb === 'QUIT') { say('221 2.0.0 Bye'); sock.end(); return; }
        else say('502 5.5.2 Command not recognised');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port,
    messages,
    stop: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  })));
}
