#!/usr/bin/env node
// A node `ws` (npm package ws 8.x) client for tests/interop/test_websocket_node.py.
//
//   node ws_client.js ws://127.0.0.1:PORT/ws/echo [TIMEOUT_MS]
//
// Runs the checks below against an echo endpoint, then prints one JSON object on stdout:
//   {"ws_version": "8.x.y",
//    "plain":   {...},   a connection without permessage-deflate (perMessageDeflate: false)
//    "deflate": {...}}   a connection with ws's default offer (permessage-deflate)
// Each check is {"ok": bool, ...details}; a failed check carries "error". The script itself
// decides nothing: the Python test asserts on the figures. Exit status 0 when the JSON was
// printed (whatever the checks say), 2 when the run did not finish within TIMEOUT_MS (default
// 30000) or failed outside a check. Every wait is bounded by a timer.
'use strict';

const crypto = require('crypto');
let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  process.stderr.write('ws_client: the npm package "ws" is not installed; run scripts/setup.sh ' +
                       '(npm ci in tests/interop/node)\n');
  process.exit(3);
}

const url = process.argv[2];
const timeoutMs = Number(process.argv[3] || 30000);
if (!url) {
  process.stderr.write('usage: node ws_client.js URL [TIMEOUT_MS]\n');
  process.exit(2);
}

const watchdog = setTimeout(() => {
  process.stderr.write(`ws_client: not finished within ${timeoutMs} ms\n`);
  process.exit(2);
}, timeoutMs);

const STEP_MS = Math.max(1000, Math.floor(timeoutMs / 4));

// Resolves with the next event `name` on ws (its arguments as an array); rejects on 'error',
// on an unexpected 'close', or after STEP_MS.
function next(ws, name) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`no ${name} within ${STEP_MS} ms`)); },
                             STEP_MS);
    const onEvent = (...args) => { cleanup(); resolve(args); };
    const onError = (err) => { cleanup(); reject(err); };
    const onClose = (code, reason) => {
      cleanup();
      reject(new Error(`closed (${code} ${reason}) while waiting for ${name}`));
    };
    function cleanup() {
      clearTimeout(timer);
      ws.off(name, onEvent);
      ws.off('error', onError);
      if (name !== 'close') ws.off('close', onClose);
    }
    ws.on(name, onEvent);
    ws.on('error', onError);
    if (name !== 'close') ws.on('close', onClose);
  });
}

function sendP(ws, data, opts) {
  return new Promise((resolve, reject) => {
    ws.send(data, opts || {}, (err) => (err ? reject(err) : resolve()));
  });
}

async function open(opts) {
  const ws = new WebSocket(url, opts);
  await next(ws, 'open');
  return ws;
}

// Sends `data` (a string: text; a Buffer: binary) and returns what came back.
async function echo(ws, data) {
  const got = next(ws, 'message');
  await sendP(ws, data, { binary: Buffer.isBuffer(data) });
  const [msg, isBinary] = await got;
  return { msg, isBinary };
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

async function check(results, name, fn) {
  try {
    results[name] = Object.assign({ ok: true }, await fn());
  } catch (e) {
    results[name] = { ok: false, error: String(e && e.stack ? e.stack.split('\n')[0] : e) };
  }
}

async function commonChecks(ws, r) {
  await check(r, 'text', async () => {
    const text = 'héllo ✓ from node ws';
    const { msg, isBinary } = await echo(ws, text);
    return { equal: !isBinary && msg.toString('utf8') === text, binary: isBinary };
  });
  await check(r, 'binary', async () => {
    const data = Buffer.from([0x00, 0xff, 0x80, 0x7f, 0x01, 0xfe]);
    const { msg, isBinary } = await echo(ws, data);
    return { equal: isBinary && Buffer.compare(msg, data) === 0, binary: isBinary };
  });
  await check(r, 'big', async () => {
    const data = crypto.randomBytes(1 << 20);  // 1 MiB, random: no compression helps
    const { msg, isBinary } = await echo(ws, data);
    return { equal: isBinary && Buffer.compare(msg, data) === 0, length: msg.length,
             sent_sha256: sha256(data), got_sha256: sha256(msg) };
  });
  await check(r, 'fragmented', async () => {
    // One text message sent as three frames (RFC 6455 §5.4): ws's `fin: false` option.
    const parts = ['frag', 'mented ', 'text ✓'];
    const got = next(ws, 'message');
    await sendP(ws, parts[0], { fin: false });
    await sendP(ws, parts[1], { fin: false });
    await sendP(ws, parts[2], { fin: true });
    const [msg, isBinary] = await got;
    return { equal: !isBinary && msg.toString('utf8') === parts.join(''), got: msg.toString('utf8') };
  });
  await check(r, 'ping', async () => {
    const payload = Buffer.from('are you there?');
    const got = next(ws, 'pong');
    ws.ping(payload);
    const [data] = await got;
    return { equal: Buffer.compare(data, payload) === 0 };
  });
}

async function closeCheck(ws, r, code, reason) {
  await check(r, 'close', async () => {
    const got = next(ws, 'close');
    ws.close(code, reason);
    const [c, why] = await got;
    return { code: c, reason: why.toString('utf8'), sent_code: code };
  });
}

async function main() {
  const out = { ws_version: require('ws/package.json').version };

  // A connection without permessage-deflate.
  const plain = {};
  {
    const ws = await open({ perMessageDeflate: false });
    plain.extensions = ws.extensions;
    await commonChecks(ws, plain);
    await closeCheck(ws, plain, 4001, 'done here');
  }
  out.plain = plain;

  // ws's default: it offers permessage-deflate (client_max_window_bits; compressing messages of
  // 1024 bytes or more). The socket's byte counters show that compression really happened.
  const deflate = {};
  {
    const ws = await open({});
    deflate.extensions = ws.extensions;
    await commonChecks(ws, deflate);
    await check(deflate, 'compressible', async () => {
      const text = 'compressible portico websocket text '.repeat(32768);  // about 1.1 MiB
      const sock = ws._socket;
      const w0 = sock.bytesWritten;
      const r0 = sock.bytesRead;
      const { msg, isBinary } = await echo(ws, text);
      return { equal: !isBinary && msg.toString('utf8') === text, length: text.length,
               wire_sent: sock.bytesWritten - w0, wire_received: sock.bytesRead - r0 };
    });
    await check(deflate, 'many', async () => {
      // Context takeover across messages, both directions.
      let equal = true;
      for (let i = 0; i < 50; i++) {
        const text = `message ${i} `.repeat(100);
        const { msg } = await echo(ws, text);
        equal = equal && msg.toString('utf8') === text;
      }
      return { equal };
    });
    await closeCheck(ws, deflate, 1000, '');
  }
  out.deflate = deflate;

  process.stdout.write(JSON.stringify(out) + '\n');
}

main().then(
  () => { clearTimeout(watchdog); process.exit(0); },
  (e) => {
    process.stderr.write(`ws_client: ${e && e.stack ? e.stack : e}\n`);
    process.exit(2);
  });
