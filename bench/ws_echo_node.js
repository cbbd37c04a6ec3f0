#!/usr/bin/env node
// WebSocket echo server on node's `ws` (npm package ws 8.x), a peer for bench/run.sh's ws*
// scenarios: every message comes back as it was sent (text stays text, binary stays binary).
//
//   node bench/ws_echo_node.js PORT [HOST]        (HOST defaults to 127.0.0.1)
//
// Settings: permessage-deflate off (as Portico's --ws-no-deflate and the Python peer), largest
// message 64 MiB, no idle pings; one process, one event loop. ws and its optional native
// helper bufferutil (masking) come from tests/interop/node (scripts/setup.sh runs npm ci there).
// Prints "listening on ws://HOST:PORT (ws X, bufferutil yes|no)" on stderr once ready; exits
// on SIGTERM/SIGINT.
'use strict';

const path = require('path');

const modules = path.join(__dirname, '..', 'tests', 'interop', 'node');
function load(name) {
  return require(require.resolve(name, { paths: [modules] }));
}
let WebSocket;
try {
  WebSocket = load('ws');
} catch (e) {
  process.stderr.write('ws_echo_node: the npm package ws is missing: run scripts/setup.sh ' +
                       '(npm ci in tests/interop/node)\n');
  process.exit(2);
}
let bufferutil = 'no';
try {
  // ws uses bufferutil when it can load it; say whether it is the native build.
  const dir = path.dirname(require.resolve('bufferutil', { paths: [modules] }));
  load('node-gyp-build').resolve(dir);
  bufferutil = 'yes';
} catch (e) {
  bufferutil = 'no';
}

const port = Number(process.argv[2]);
const host = process.argv[3] || '127.0.0.1';
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('usage: node ws_echo_node.js PORT [HOST]\n');
  process.exit(2);
}

const wss = new WebSocket.WebSocketServer({
  host,
  port,
  perMessageDeflate: false,
  maxPayload: 64 * 1024 * 1024,
  clientTracking: true,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});
wss.on('listening', () => {
  const version = load('ws/package.json').version;
  process.stderr.write(`listening on ws://${host}:${port} (ws ${version}, bufferutil ${bufferutil})\n`);
});
wss.on('error', (e) => {
  process.stderr.write(`ws_echo_node: ${e.message}\n`);
  process.exit(1);
});
function stop() {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
