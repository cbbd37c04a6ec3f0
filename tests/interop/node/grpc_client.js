#!/usr/bin/env node
// A @grpc/grpc-js client (npm) for tests/interop/test_grpc_node.py: a second, independent gRPC
// implementation (after python3-grpcio, which is gRPC core) against grpc_interop_server.
//
//   node grpc_client.js --port=N --protos=DIR --cases=a,b,... [--tls --ca=FILE
//                       --server_host_override=NAME] [--budget_ms=N]
//                       [--short_deadline_ms=N] [--idle_ms=N]
//
// --budget_ms bounds the whole run (default 60000; an ordinary call's deadline is a quarter
// of it); --short_deadline_ms is deadline_during_streaming's deadline (default 2000);
// --idle_ms the quiet time of idle_channel and quiet_streams (default 6000: past the
// server's 5 s keep-alive timeout).
//
// DIR holds src/proto/grpc/testing/test.proto (loaded with @grpc/proto-loader). The cases are
// the gRPC interop cases (doc/interop-test-descriptions.md) plus a few of Portico's own (see
// CASES below). Each case records what the client saw — status codes by name, status
// details, payload sizes, whether payloads are all zeros, metadata, bytes on the wire — and
// the Python test asserts on it: this script decides nothing. Output: one JSON object on
// stdout, {"grpc_js_version", "proto_loader_version", "cases": {name: {...}}}; a case that
// threw carries "error". Exit status 0 when the JSON was printed, 2 when the run did not end
// within the budget or failed outside a case, 3 when the npm packages are missing.
//
// The connection goes through a byte-counting TCP relay on 127.0.0.1 so the compression cases
// can show what crossed the wire (grpc-js hides the compressed flag and grpc-encoding). Every
// call has a deadline (server_deadline: a client timer instead); every wait is bounded; only
// loopback addresses are used.
'use strict';

const fs = require('fs');
const net = require('net');

let grpc, protoLoader;
try {
  grpc = require('@grpc/grpc-js');
  protoLoader = require('@grpc/proto-loader');
} catch (e) {
  process.stderr.write('grpc_client: the npm packages @grpc/grpc-js and @grpc/proto-loader are ' +
                       'not installed; run scripts/setup.sh (npm ci in tests/interop/node)\n');
  process.exit(3);
}

// ---- arguments -----------------------------------------------------------------------------

const args = {};
for (const a of process.argv.slice(2)) {
  const m = /^--([a-z_]+)(?:=(.*))?$/.exec(a);
  if (!m) {
    process.stderr.write(`grpc_client: bad argument ${a}\n`);
    process.exit(2);
  }
  args[m[1]] = m[2] === undefined ? true : m[2];
}
if (!args.port || !args.protos || !args.cases) {
  process.stderr.write('usage: node grpc_client.js --port=N --protos=DIR --cases=a,b [--tls ' +
                       '--ca=FILE --server_host_override=NAME] [--budget_ms=N]\n');
  process.exit(2);
}
const budgetMs = Number(args.budget_ms || 60000);
const CALL_MS = Math.max(2000, Math.floor(budgetMs / 4));  // the deadline of an ordinary call

const watchdog = setTimeout(() => {
  process.stderr.write(`grpc_client: not finished within ${budgetMs} ms\n`);
  process.exit(2);
}, budgetMs);

// ---- the service ---------------------------------------------------------------------------

const packageDefinition = protoLoader.loadSync('src/proto/grpc/testing/test.proto', {
  includeDirs: [args.protos],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
});
const testing = grpc.loadPackageDefinition(packageDefinition).grpc.testing;

const codeName = {};
for (const [name, value] of Object.entries(grpc.status)) codeName[value] = name;

// A byte-counting relay: grpc-js connects here, the relay connects to the server.
function startRelay(port) {
  const relay = { up: 0, down: 0, sockets: new Set() };
  relay.server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port });
    for (const s of [client, upstream]) {
      relay.sockets.add(s);
      s.on('close', () => relay.sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.on('data', (d) => { relay.up += d.length; });
    upstream.on('data', (d) => { relay.down += d.length; });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    relay.server.once('error', reject);
    relay.server.listen(0, '127.0.0.1', () => {
      relay.port = relay.server.address().port;
      resolve(relay);
    });
  });
}

let relay;  // set in main()

// A new client (its own channel, so its own HTTP/2 connection).
function makeClient(service, options) {
  const opts = Object.assign({}, options || {});
  let creds = grpc.credentials.createInsecure();
  if (args.tls) {
    creds = grpc.credentials.createSsl(fs.readFileSync(args.ca));
    if (args.server_host_override) {
      opts['grpc.ssl_target_name_override'] = args.server_host_override;
      opts['grpc.default_authority'] = args.server_host_override;
    }
  }
  return new (service || testing.TestService)(`127.0.0.1:${relay.port}`, creds, opts);
}

function deadline(ms) {
  return new Date(Date.now() + (ms === undefined ? CALL_MS : ms));
}

function zeros(n) {
  return Buffer.alloc(n);
}

function allZero(buf) {
  for (const b of buf) if (b !== 0) return false;
  return true;
}

// Metadata as a plain object: -bin values as hex.
function mdObject(md) {
  const out = {};
  if (!md) return out;
  for (const [k, v] of Object.entries(md.getMap())) {
    out[k] = Buffer.isBuffer(v) ? 'hex:' + v.toString('hex') : v;
  }
  return out;
}

function echoMetadata() {
  const md = new grpc.Metadata();
  md.set('x-grpc-test-echo-initial', 'test_initial_metadata_value');
  md.set('x-grpc-test-echo-trailing-bin', Buffer.from([0xab, 0xab, 0xab]));
  return md;
}

// Records the status of a finished call.
function statusOf(st) {
  return { code: codeName[st.code], details: st.details, trailing: mdObject(st.metadata) };
}

// A unary call: resolves with the status and the response (never rejects).
function unary(client, method, request, opts) {
  opts = opts || {};
  return new Promise((resolve) => {
    const out = { initial: {} };
    let response = null;
    let status = null;
    let answered = false;  // grpc-js's callback ran
    const finish = () => {
      if (answered && status !== null) resolve(Object.assign(out, status, { response }));
    };
    const call = client[method](request, opts.metadata || new grpc.Metadata(),
                                { deadline: opts.deadline || deadline() }, (err, res) => {
                                  response = err ? null : res;
                                  answered = true;
                                  finish();
                                });
    call.on('metadata', (md) => { out.initial = mdObject(md); });
    call.on('status', (st) => {
      status = statusOf(st);
      finish();
    });
  });
}

// Collects a response stream: resolves with the status and the responses' payload sizes.
// `onData(response, call)` may write the next request (ping-pong) or cancel.
function collect(call, onData) {
  return new Promise((resolve) => {
    const out = { initial: {}, sizes: [], all_zero: true };
    call.on('metadata', (md) => { out.initial = mdObject(md); });
    call.on('data', (r) => {
      const body = r.payload && r.payload.body ? r.payload.body : Buffer.alloc(0);
      out.sizes.push(body.length);
      out.all_zero = out.all_zero && allZero(body);
      if (onData) onData(r, call);
    });
    call.on('error', () => {});  // the status carries it
    call.on('status', (st) => resolve(Object.assign(out, statusOf(st))));
  });
}

function params(size, extra) {
  return Object.assign({ size }, extra || {});
}

function bool(value) {
  return { value };
}

// Runs an EmptyCall on `client`: does the connection still work after the case?
async function emptyCallCode(client) {
  return (await unary(client, 'EmptyCall', {})).code;
}

function wire(before) {
  return { wire_up: relay.up - before.up, wire_down: relay.down - before.down };
}

function mark() {
  return { up: relay.up, down: relay.down };
}

// ---- cases ---------------------------------------------------------------------------------

const LARGE_REQ = 271828;
const LARGE_RES = 314159;
const GZIP = { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip };
const NO_COMPRESS = 2;  // grpc-js WriteFlags.NoCompress: this message goes uncompressed

// The interop spec's large request: 271828 zeros in, 314159 zeros asked for.
function largeRequest(extra) {
  return Object.assign({ response_size: LARGE_RES, payload: { body: zeros(LARGE_REQ) } },
                       extra || {});
}

function largeSummary(r) {
  const body = r.response && r.response.payload ? r.response.payload.body : null;
  return {
    code: r.code, details: r.details,
    size: body ? body.length : null, all_zero: body ? allZero(body) : null,
  };
}

// A StreamingOutputCall asking for `responses` (ResponseParameters); opts.metadata,
// opts.callOptions (default: the ordinary deadline).
function streamingOutput(client, responses, opts) {
  opts = opts || {};
  return client.StreamingOutputCall({ response_parameters: responses },
                                    opts.metadata || new grpc.Metadata(),
                                    opts.callOptions || { deadline: deadline() });
}

// A StreamingInputCall: `drive(call)` writes and half-closes. Resolves with the status and
// the aggregated size.
function streamingInput(client, drive, ms) {
  return new Promise((resolve) => {
    const call = client.StreamingInputCall(new grpc.Metadata(), { deadline: deadline(ms) },
                                           (err, res) => {
                                             resolve({
                                               code: err ? codeName[err.code] : 'OK',
                                               details: err ? err.details : '',
                                               aggregated_payload_size:
                                                 res ? res.aggregated_payload_size : null,
                                             });
                                           });
    drive(call);
  });
}

// Writes `messages` ([message, flags] or message) and half-closes.
function writeAll(messages) {
  return (call) => {
    for (const m of messages) {
      if (Array.isArray(m)) call.write(m[0], m[1]);
      else call.write(m);
    }
    call.end();
  };
}

// A FullDuplexCall (or HalfDuplexCall) that writes `requests` at once and half-closes.
function duplex(client, method, requests, metadata) {
  const call = client[method](metadata || new grpc.Metadata(), { deadline: deadline() });
  const done = collect(call);
  writeAll(requests)(call);
  return done;
}

async function echoStatus(c, message) {
  const u = await unary(c, 'UnaryCall', { response_status: { code: 2, message } });
  const d = await duplex(c, 'FullDuplexCall', [{ response_status: { code: 2, message } }]);
  return { sent: message, unary: { code: u.code, details: u.details },
           full_duplex: { code: d.code, details: d.details } };
}

const CASES = {
  async empty_unary(c) {
    const r = await unary(c, 'EmptyCall', {});
    return { code: r.code, response_fields: r.response ? Object.keys(r.response).length : null };
  },

  async large_unary(c) {
    return largeSummary(await unary(c, 'UnaryCall', largeRequest()));
  },

  // The interop spec's three calls: the probe (uncompressed, expect_compressed) must fail
  // with INVALID_ARGUMENT; then compressed (a channel with gzip as its default) and not.
  async client_compressed_unary() {
    const plain = makeClient();
    const gz = makeClient(null, GZIP);
    try {
      const req = (expect) => largeRequest({ expect_compressed: bool(expect) });
      const probe = await unary(plain, 'UnaryCall', req(true));
      let m = mark();
      const compressed = Object.assign(largeSummary(await unary(gz, 'UnaryCall', req(true))),
                                       wire(m));
      m = mark();
      const uncompressed = Object.assign(
        largeSummary(await unary(plain, 'UnaryCall', req(false))), wire(m));
      return { probe: { code: probe.code, details: probe.details }, compressed, uncompressed };
    } finally {
      plain.close();
      gz.close();
    }
  },

  // grpc-js does not show the compressed flag: the bytes that came down the wire do.
  async server_compressed_unary(c) {
    const out = {};
    for (const compressed of [true, false]) {
      const m = mark();
      const r = await unary(c, 'UnaryCall',
                            largeRequest({ response_compressed: bool(compressed) }));
      out[compressed ? 'compressed' : 'uncompressed'] = Object.assign(largeSummary(r), wire(m));
    }
    return out;
  },

  async client_streaming(c) {
    return streamingInput(c, writeAll([27182, 8, 1828, 45904].map(
      (n) => ({ payload: { body: zeros(n) } }))));
  },

  // The probe (expect_compressed, sent with NoCompress) → INVALID_ARGUMENT; then one call: a
  // compressed message, and one sent with NoCompress.
  async client_compressed_streaming() {
    const gz = makeClient(null, GZIP);
    const msg = (expect, n) => ({ expect_compressed: bool(expect), payload: { body: zeros(n) } });
    try {
      const probe = await streamingInput(gz, writeAll([[msg(true, 27182), NO_COMPRESS]]));
      const m = mark();
      const call = await streamingInput(gz, writeAll([[msg(true, 27182), 0],
                                                      [msg(false, 45904), NO_COMPRESS]]));
      return { probe, call: Object.assign(call, wire(m)) };
    } finally {
      gz.close();
    }
  },

  async server_streaming(c) {
    return collect(streamingOutput(c, [31415, 9, 2653, 58979].map((s) => params(s))));
  },

  async server_compressed_streaming(c) {
    const m = mark();
    const call = streamingOutput(c, [params(31415, { compressed: bool(true) }),
                                     params(92653, { compressed: bool(false) })]);
    return Object.assign(await collect(call), wire(m));
  },

  // Full duplex: one request, then wait for its response before the next; half-close after
  // the fourth response. "log" shows the order the client saw.
  async ping_pong(c) {
    const steps = [[31415, 27182], [9, 8], [2653, 1828], [58979, 45904]];
    const log = [];
    const call = c.FullDuplexCall(new grpc.Metadata(), { deadline: deadline() });
    let i = 0;
    const send = () => {
      const [res, req] = steps[i];
      log.push(`sent ${req}`);
      call.write({ response_parameters: [params(res)], payload: { body: zeros(req) } });
    };
    const done = collect(call, (r) => {
      log.push(`received ${r.payload.body.length}`);
      if (++i < steps.length) send();
      else call.end();
    });
    send();
    return Object.assign(await done, { log });
  },

  async half_duplex(c) {
    return duplex(c, 'HalfDuplexCall',
                  [31415, 9, 2653, 58979].map((s) => ({ response_parameters: [params(s)] })));
  },

  async empty_stream(c) {
    return duplex(c, 'FullDuplexCall', []);
  },

  async custom_metadata(c) {
    const u = await unary(c, 'UnaryCall', largeRequest(), { metadata: echoMetadata() });
    const d = await duplex(c, 'FullDuplexCall', [{ response_parameters: [params(LARGE_RES)],
                                                  payload: { body: zeros(LARGE_REQ) } }],
                           echoMetadata());
    return {
      unary: Object.assign(largeSummary(u), { initial: u.initial, trailing: u.trailing }),
      full_duplex: d,
    };
  },

  async status_code_and_message(c) {
    return echoStatus(c, 'test status message');
  },

  async special_status_message(c) {
    return echoStatus(
      c, '\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \u{1f608}\t\n');
  },

  async unimplemented_method(c) {
    const r = await unary(c, 'UnimplementedCall', {});
    return { code: r.code, details: r.details };
  },

  async unimplemented_service() {
    const u = makeClient(testing.UnimplementedService);
    try {
      const r = await unary(u, 'UnimplementedCall', {});
      return { code: r.code, details: r.details };
    } finally {
      u.close();
    }
  },

  // The spec: "a request can be cancelled after metadata has been sent but before payloads
  // are sent". An EmptyCall on the same connection, answered after the StreamingInputCall's
  // HEADERS went out, shows the server has the call; then the client cancels, and the
  // connection goes on.
  async cancel_after_begin(c) {
    let call;
    const result = streamingInput(c, (cl) => { call = cl; });
    const before = await emptyCallCode(c);
    call.cancel();
    const r = await result;
    return { code: r.code, details: r.details, empty_call_before_cancel: before,
             empty_call_after: await emptyCallCode(c) };
  },

  async cancel_after_first_response(c) {
    const call = c.FullDuplexCall(new grpc.Metadata(), { deadline: deadline() });
    const done = collect(call, (r, cl) => cl.cancel());
    call.write({ response_parameters: [params(31415)], payload: { body: zeros(27182) } });
    const r = await done;
    return Object.assign(r, { empty_call_after: await emptyCallCode(c) });
  },

  // The spec's case: a 1 ms deadline on a FullDuplexCall that never half-closes.
  async timeout_on_sleeping_server(c) {
    const call = c.FullDuplexCall(new grpc.Metadata(), { deadline: deadline(1) });
    const done = collect(call);
    call.write({ payload: { body: zeros(27182) } });
    const r = await done;
    return Object.assign(r, { empty_call_after: await emptyCallCode(c) });
  },

  // The first response is due at once, the second 60 s later; the deadline (a few seconds)
  // ends the call in between, whichever side's timer fires first.
  async deadline_during_streaming(c) {
    const shortMs = Number(args.short_deadline_ms || 2000);
    const started = Date.now();
    const call = streamingOutput(c, [params(10), params(10, { interval_us: 60000000 })],
                                 { callOptions: { deadline: deadline(shortMs) } });
    const r = await collect(call);
    return Object.assign(r, { ended_before_second_response: Date.now() - started < 60000,
                              empty_call_after: await emptyCallCode(c) });
  },

  // The server's own deadline as grpc-js sees it: grpc-timeout sent as metadata on a call that
  // has no grpc-js deadline (grpc-js then sends none of its own), so DEADLINE_EXCEEDED can only
  // come from the server. A client timer cancels the call if the server never ends it.
  async server_deadline(c) {
    const md = new grpc.Metadata();
    md.set('grpc-timeout', '500m');
    const call = streamingOutput(c, [params(10), params(10, { interval_us: 60000000 })],
                                 { metadata: md, callOptions: {} });
    const guard = setTimeout(() => call.cancel(), CALL_MS);
    const r = await collect(call);
    clearTimeout(guard);
    return Object.assign(r, { empty_call_after: await emptyCallCode(c) });
  },

  // Deadlines that are long enough: a large unary and a stream with pauses both finish.
  async deadline_long_enough(c) {
    const u = await unary(c, 'UnaryCall', largeRequest(), { deadline: deadline(CALL_MS) });
    const call = streamingOutput(c, [100, 200, 300].map((s) => params(s, { interval_us: 50000 })));
    return { unary: largeSummary(u), streaming: await collect(call) };
  },

  // grpc-js's own receive limit: the server's response is too big for this channel; the
  // connection goes on (the server took grpc-js's RST_STREAM).
  async client_receive_limit() {
    const small = makeClient(null, { 'grpc.max_receive_message_length': 1024 });
    try {
      const r = await unary(small, 'UnaryCall', { response_size: 4096 });
      const ok = await unary(small, 'UnaryCall', { response_size: 512 });
      return { code: r.code, details: r.details, then: largeSummary(ok) };
    } finally {
      small.close();
    }
  },

  // Many large unaries at once on one connection: HTTP/2 flow control per stream and for the
  // connection, both directions.
  async concurrent_large_unary(c) {
    const rs = await Promise.all(Array.from({ length: 16 },
                                            () => unary(c, 'UnaryCall', largeRequest())));
    return { calls: rs.map(largeSummary) };
  },

  // More calls at once than the server's SETTINGS_MAX_CONCURRENT_STREAMS (128): the client
  // holds the rest back until streams close; all succeed.
  async many_concurrent_calls(c) {
    const n = 300;
    const rs = await Promise.all(Array.from({ length: n }, () => unary(c, 'EmptyCall', {})));
    const codes = {};
    for (const r of rs) codes[r.code] = (codes[r.code] || 0) + 1;
    return { calls: n, codes };
  },

  // Flow control both ways on one bidirectional call: eight 512 KiB requests written at once,
  // each asking for a 512 KiB response.
  async bidi_large(c) {
    const req = { response_parameters: [params(512 * 1024)], payload: { body: zeros(512 * 1024) } };
    return duplex(c, 'FullDuplexCall', Array(8).fill(req));
  },

  // grpc-js keepalive PINGs every second during a 3 s call: the connection stays up.
  async keepalive_pings() {
    const k = makeClient(null, { 'grpc.keepalive_time_ms': 1000,
                                 'grpc.keepalive_timeout_ms': 5000 });
    try {
      const r = await collect(streamingOutput(k, [params(10),
                                                  params(10, { interval_us: 3000000 })]));
      return Object.assign(r, { after: await emptyCallCode(k) });
    } finally {
      k.close();
    }
  },

  // Large metadata within the server's SETTINGS_MAX_HEADER_LIST_SIZE (64 KiB): 20000 octets
  // echoed as initial metadata and 20000 binary octets (26668 in base64) as trailing metadata,
  // so every header block crosses SETTINGS_MAX_FRAME_SIZE (CONTINUATION frames both ways).
  // Then a request over that size (431 from the server), while another call is in progress on
  // the same connection: that call and the next ones are not affected.
  async large_metadata(c) {
    const md = (text, bin) => {
      const m = new grpc.Metadata();
      m.set('x-grpc-test-echo-initial', 'x'.repeat(text));
      m.set('x-grpc-test-echo-trailing-bin', Buffer.alloc(bin, 0xab));
      return m;
    };
    const r = await unary(c, 'UnaryCall', { response_size: 10 }, { metadata: md(20000, 20000) });
    const ini = r.initial['x-grpc-test-echo-initial'];
    const fits = {
      code: r.code, details: r.details, initial_length: ini ? ini.length : null,
      initial_equal: ini === 'x'.repeat(20000),
      trailing_equal: r.trailing['x-grpc-test-echo-trailing-bin'] === 'hex:' + 'ab'.repeat(20000),
    };
    const other = collect(streamingOutput(c, [params(10), params(20, { interval_us: 500000 })]));
    const big = await unary(c, 'UnaryCall', { response_size: 10 }, { metadata: md(40000, 30000) });
    return { fits, too_large: { code: big.code, details: big.details },
             concurrent_call: await other, empty_call_after: await emptyCallCode(c) };
  },

  // grpc-js compresses with deflate, which the server does not take: UNIMPLEMENTED naming the
  // encoding (doc/compression.md). (grpc-js would switch to what grpc-accept-encoding lists,
  // but reads it only from a response that is not Trailers-Only, so it does not here.)
  async unsupported_compression() {
    const df = makeClient(null, { 'grpc.default_compression_algorithm':
                                    grpc.compressionAlgorithms.deflate });
    try {
      const r = await unary(df, 'UnaryCall', { response_size: 1000,
                                               payload: { body: zeros(1000) } });
      return { code: r.code, details: r.details,
               accept_encoding: r.trailing['grpc-accept-encoding'] || null };
    } finally {
      df.close();
    }
  },

  // A channel left idle past the server's keep-alive timeout (5 s): the server closes the
  // connection with GOAWAY; the next call reconnects and succeeds.
  async idle_channel(c) {
    const before = await emptyCallCode(c);
    await new Promise((resolve) => setTimeout(resolve, Number(args.idle_ms || 6000)));
    return { before, after: await emptyCallCode(c) };
  },

  // Open calls with no bytes either way for longer than the keep-alive timeout carry on.
  async quiet_streams(c) {
    const gapMs = Number(args.idle_ms || 6000);
    const server = await collect(streamingOutput(
      c, [params(10), params(20, { interval_us: gapMs * 1000 })],
      { callOptions: { deadline: deadline(CALL_MS + gapMs) } }));
    const client = await streamingInput(c, (call) => {
      call.write({ payload: { body: zeros(100) } });
      setTimeout(() => writeAll([{ payload: { body: zeros(200) } }])(call), gapMs);
    }, CALL_MS + gapMs);
    return { server_streaming: server, client_streaming: client };
  },

  // Against a server started with --max_message_size=65536.
  async oversize_request(c) {
    const r = await unary(c, 'UnaryCall', { payload: { body: zeros(70000) } });
    return { code: r.code, details: r.details, empty_call_after: await emptyCallCode(c) };
  },

  async oversize_response(c) {
    const r = await unary(c, 'UnaryCall', { response_size: 70000 });
    return { code: r.code, details: r.details, empty_call_after: await emptyCallCode(c) };
  },

  async oversize_streaming_request(c) {
    return streamingInput(c, writeAll([{ payload: { body: zeros(1000) } },
                                       { payload: { body: zeros(70000) } }]));
  },

  async at_the_limit(c) {
    return largeSummary(await unary(c, 'UnaryCall', { response_size: 65000,
                                                      payload: { body: zeros(65000) } }));
  },
};

async function main() {
  relay = await startRelay(Number(args.port));
  const out = {
    grpc_js_version: require('@grpc/grpc-js/package.json').version,
    proto_loader_version: require('@grpc/proto-loader/package.json').version,
    cases: {},
  };
  const client = makeClient();
  for (const name of String(args.cases).split(',')) {
    const fn = CASES[name];
    try {
      if (!fn) throw new Error(`no case ${name}`);
      out.cases[name] = await fn(client);
    } catch (e) {
      out.cases[name] = { error: String(e && e.stack ? e.stack : e) };
    }
  }
  client.close();
  out.wire_total = { up: relay.up, down: relay.down };
  for (const s of relay.sockets) s.destroy();
  relay.server.close();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().then(
  () => { clearTimeout(watchdog); process.exit(0); },
  (e) => {
    process.stderr.write(`grpc_client: ${e && e.stack ? e.stack : e}\n`);
    process.exit(2);
  });
