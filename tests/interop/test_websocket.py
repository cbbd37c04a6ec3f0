"""WebSocket endpoints (RFC 6455, RFC 7692) in the real server.

Clients: python3-websockets (echo, permessage-deflate, chat across workers, close codes, TLS)
and raw sockets for what a well-behaved client never sends (unmasked frames, invalid UTF-8,
oversize messages, bad handshakes). Every socket has a timeout; every loop is bounded.
"""

import asyncio
import base64
import hashlib
import os
import socket
import ssl
import struct
import subprocess
import tempfile
import unittest
from pathlib import Path

import websockets

from harness import Server, scaled

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, scaled(30)))


def frame(opcode, payload, fin=True, mask=True, rsv=0):
    """A client frame (RFC 6455 §5.2)."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


class RawWs:
    """A raw-socket WebSocket client: our own handshake, hand-built frames."""

    def __init__(self, port, path="/ws/echo", extra=b""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=scaled(10))
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Key: " % port + key +
                          b"\r\nSec-WebSocket-Version: 13\r\n" + extra + b"\r\n")
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            self.buf += chunk
        self.head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.accept = base64.b64encode(hashlib.sha1(key + GUID).digest())

    def status(self):
        return int(self.head.split(b" ", 2)[1])

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        b0, b1 = self.read_exact(2)
        assert not b1 & 0x80, "server frames are not masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.read_exact(8))[0]
        return b0 & 0x0F, self.read_exact(n)

    def close_code(self):
        """Reads frames up to the server's Close; returns its code."""
        for _ in range(1000):
            op, payload = self.read_frame()
            if op == 8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        raise AssertionError("no Close frame")

    def close(self):
        self.sock.close()


class WebSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.server = Server(["--threads", "2", "--ws-echo", "/ws/echo", "--ws-chat", "/ws/chat",
                             "--ws-max-message", "1048576",
                             "--ws-allow-origin", "https://*.example.com"],
                            root=cls.tmp.name, kind="portico").start()
        cls.port = cls.server.port
        cls.url = "ws://127.0.0.1:%d" % cls.port

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.close()
        finally:
            cls.tmp.cleanup()

    # ---- interop with python3-websockets ------------------------------------------------------

    def test_echo_text_binary_and_large(self):
        async def go():
            async with websockets.connect(self.url + "/ws/echo", compression=None) as ws:
                await ws.send("héllo ✓")
                self.assertEqual(await ws.recv(), "héllo ✓")
                await ws.send(b"\x00\xffbinary")
                self.assertEqual(await ws.recv(), b"\x00\xffbinary")
                big = os.urandom(600000)
                await ws.send(big)
                self.assertEqual(await ws.recv(), big)
                # A fragmented message (RFC 6455 §5.4) comes back whole.
                await ws.send(["frag", "mented", " text"])
                self.assertEqual(await ws.recv(), "fragmented text")
                pong = await ws.ping(b"are you there")
                await asyncio.wait_for(pong, scaled(5))
        run(go())

    def test_permessage_deflate(self):
        async def go():
            async with websockets.connect(self.url + "/ws/echo") as ws:  # offers deflate
                ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
                self.assertIn("permessage-deflate", ext)
                text = "compressible " * 20000
                await ws.send(text)
                self.assertEqual(await ws.recv(), text)
                for i in range(50):  # context takeover across messages
                    await ws.send("message %d" % i)
                    self.assertEqual(await ws.recv(), "message %d" % i)
        run(go())

    def test_chat_reaches_clients_on_every_worker(self):
        async def go():
            clients = [await websockets.connect(self.url + "/ws/chat") for _ in range(6)]
            try:
                await asyncio.sleep(0.2)
                await clients[0].send("hello everyone")
                got = await asyncio.gather(*(c.recv() for c in clients))
                self.assertEqual(got, ["hello everyone"] * 6)
                await clients[3].send(b"binary")
                await asyncio.wait_for(clients[3].wait_closed(), scaled(5))
                self.assertEqual(clients[3].close_code, 1003)
            finally:
                for c in clients:
                    await c.close()
        run(go())
        m = self.server.metrics()
        self.assertGreaterEqual(m.get("portico_websocket_upgrades_total", 0), 6)

    def test_clean_close_with_code(self):
        async def go():
            ws = await websockets.connect(self.url + "/ws/echo")
            await ws.close(4001, "done here")
            # RFC 6455 §5.5.1: the server's Close echoes the code it received.
            self.assertEqual(ws.close_code, 4001)
        run(go())

    # ---- handshake refusals (RFC 6455 §4.2.2, §10.2) ------------------------------------------

    def test_origin_policy(self):
        async def connect(origin):
            async with websockets.connect(self.url + "/ws/echo", origin=origin) as ws:
                await ws.send("x")
                return await ws.recv()
        # Same origin, an allowed wildcard origin, and no Origin (a non-browser client).
        self.assertEqual(run(connect("http://127.0.0.1:%d" % self.port)), "x")
        self.assertEqual(run(connect("https://app.example.com")), "x")
        self.assertEqual(run(connect(None)), "x")
        for bad in ("http://evil.example", "https://example.com.evil.org",
                    "http://127.0.0.1:1"):
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as cm:
                run(connect(bad))
            self.assertEqual(cm.exception.status_code, 403, bad)

    def test_bad_handshakes(self):
        def raw(req):
            with socket.create_connection(("127.0.0.1", self.port), timeout=scaled(10)) as s:
                s.sendall(req)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                return data
        base = (b"GET /ws/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\n")
        ok_key = b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        # A plain GET: 426 naming the protocol.
        r = raw(b"GET /ws/echo HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(r.startswith(b"HTTP/1.1 426"), r)
        self.assertIn(b"Upgrade: websocket", r)
        # Version 8: 426 with Sec-WebSocket-Version: 13.
        r = raw(base + ok_key + b"Sec-WebSocket-Version: 8\r\n\r\n")
        self.assertTrue(r.startswith(b"HTTP/1.1 426"), r)
        self.assertIn(b"Sec-WebSocket-Version: 13", r)
        # A key that is not 16 bytes of base64.
        r = raw(base + b"Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.assertTrue(r.startswith(b"HTTP/1.1 400"), r)
        # The RFC 6455 §1.3 example key: the accept value of the RFC.
        r = raw(base + ok_key + b"Sec-WebSocket-Version: 13\r\n\r\n")
        self.assertTrue(r.startswith(b"HTTP/1.1 101"), r)
        self.assertIn(b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", r)

    # ---- hostile frames (RFC 6455 §5, §7.4.1) -------------------------------------------------

    def test_unmasked_frame_is_1002(self):
        c = RawWs(self.port)
        self.assertEqual(c.status(), 101)
        c.sock.sendall(frame(1, b"hello", mask=False))
        self.assertEqual(c.close_code(), 1002)
        c.close()

    def test_invalid_utf8_is_1007_even_across_fragments(self):
        c = RawWs(self.port)
        c.sock.sendall(frame(1, b"ok \xce", fin=False) + frame(0, b"\xba", fin=False) +
                       frame(0, b"\xff bad", fin=True))
        self.assertEqual(c.close_code(), 1007)
        c.close()

    def test_reserved_bits_and_opcodes_are_1002(self):
        for f in (frame(1, b"x", rsv=2), frame(3, b"x"), frame(9, b"p" * 126),
                  frame(9, b"p", fin=False)):
            c = RawWs(self.port, extra=b"")
            c.sock.sendall(f)
            self.assertEqual(c.close_code(), 1002, f[:2])
            c.close()

    def test_oversize_message_is_1009(self):
        c = RawWs(self.port)
        # --ws-max-message 1048576: fragments adding up past it.
        chunk = b"a" * 400000
        c.sock.sendall(frame(2, chunk, fin=False) + frame(0, chunk, fin=False) +
                       frame(0, chunk, fin=True))
        self.assertEqual(c.close_code(), 1009)
        c.close()

    def test_ping_between_fragments_and_close_echo(self):
        c = RawWs(self.port)
        c.sock.sendall(frame(1, b"Hel", fin=False) + frame(9, b"mid") + frame(0, b"lo"))
        self.assertEqual(c.read_frame(), (10, b"mid"))  # Pong with the Ping's payload
        self.assertEqual(c.read_frame(), (1, b"Hello"))
        c.sock.sendall(frame(8, struct.pack("!H", 1000) + b"bye"))
        op, payload = c.read_frame()
        self.assertEqual(op, 8)
        self.assertEqual(struct.unpack("!H", payload[:2])[0], 1000)
        # RFC 6455 §7.1.1: the server closes the TCP connection first.
        c.sock.settimeout(scaled(5))
        self.assertEqual(c.sock.recv(10), b"")
        c.close()

    def test_invalid_close_code_is_1002(self):
        c = RawWs(self.port)
        c.sock.sendall(frame(8, struct.pack("!H", 1005)))
        self.assertEqual(c.close_code(), 1002)
        c.close()

    def test_other_clients_unaffected_by_a_bad_one(self):
        async def go():
            async with websockets.connect(self.url + "/ws/echo") as good:
                bad = RawWs(self.port)
                bad.sock.sendall(frame(1, b"x", mask=False))
                self.assertEqual(bad.close_code(), 1002)
                bad.close()
                await good.send("still here")
                self.assertEqual(await good.recv(), "still here")
        run(go())


class WebSocketAppTest(unittest.TestCase):
    """/ws/auth of the test server: the upgrade hook, user data, limits, idle pings."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(["--threads", "1", "--ws-echo", "/ws/echo"], kind="test").start()
        cls.url = "ws://127.0.0.1:%d/ws/auth" % cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_upgrade_hook_token(self):
        async def connect(url, headers=None):
            async with websockets.connect(url, extra_headers=headers or {}) as ws:
                return await ws.recv()
        self.assertEqual(run(connect(self.url, {"Authorization": "Bearer let-me-in"})),
                         "welcome")
        self.assertEqual(run(connect(self.url + "?token=let-me-in")), "welcome")
        for url, headers, status in ((self.url, None, 401),
                                     (self.url, {"Authorization": "Bearer wrong"}, 403),
                                     (self.url + "?token=nope", None, 403)):
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as cm:
                run(connect(url, headers))
            self.assertEqual(cm.exception.status_code, status)

    def test_user_data_per_connection(self):
        async def go():
            async with websockets.connect(self.url + "?token=let-me-in") as a, \
                    websockets.connect(self.url + "?token=let-me-in") as b:
                await a.recv(), await b.recv()
                for _ in range(3):
                    await a.send("x")
                    await a.recv()
                await a.send("count")
                await b.send("count")
                return await a.recv(), await b.recv()
        self.assertEqual(run(go()), ("4", "1"))

    def test_slow_consumer_closed_with_1008(self):
        async def go():
            async with websockets.connect(self.url + "?token=let-me-in",
                                          max_size=None) as ws:
                await ws.recv()
                # 100 KiB stays under the 512 KiB limit of the endpoint ...
                await ws.send("flood 100")
                got = 0
                while got < 100 * 1024:
                    got += len(await ws.recv())
                # ... 100 MiB sent without waiting for on_drain does not: close 1008.
                await ws.send("flood 102400")
                with self.assertRaises(websockets.exceptions.ConnectionClosed):
                    for _ in range(2000):
                        await ws.recv()
                return ws.close_code
        self.assertEqual(run(go()), 1008)
        # The server is fine.
        async def again():
            async with websockets.connect(self.url + "?token=let-me-in") as ws:
                return await ws.recv()
        self.assertEqual(run(again()), "welcome")

    def test_idle_ping_and_dead_peer(self):
        # A client that answers pings (python3-websockets does) stays connected ...
        async def alive():
            async with websockets.connect(self.url + "?token=let-me-in",
                                          ping_interval=None) as ws:
                await ws.recv()
                await asyncio.sleep(scaled(2.5))
                await ws.send("still")
                return await ws.recv()
        self.assertEqual(run(alive()), "still")
        # ... one that never answers is dropped after the pong timeout.
        c = RawWs(self.server.port, "/ws/auth?token=let-me-in")
        self.assertEqual(c.read_frame(), (1, b"welcome"))
        c.sock.settimeout(scaled(10))
        op, _ = c.read_frame()
        self.assertEqual(op, 9)  # the idle Ping
        closed = False
        try:
            for _ in range(10):
                c.read_frame()
        except (ConnectionError, OSError):
            closed = True
        self.assertTrue(closed)
        c.close()


class H2Ws:
    """WebSocket over an HTTP/2 stream (RFC 8441), with python3-h2."""

    def __init__(self, port):
        import h2.config
        import h2.connection
        self.h2events = __import__("h2.events").events
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=scaled(10))
        self.port = port
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())
        self.settings = None
        self.status = {}
        self.data = {}
        self.ended = set()
        self.resets = {}
        self.pump(lambda: self.settings is not None)

    def pump(self, until, timeout=10):
        import time
        deadline = time.monotonic() + scaled(timeout)
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError("timed out")
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            for ev in self.conn.receive_data(data):
                e = self.h2events
                if isinstance(ev, e.RemoteSettingsChanged):
                    self.settings = {int(k): v.new_value for k, v in ev.changed_settings.items()}
                elif isinstance(ev, e.ResponseReceived):
                    self.status[ev.stream_id] = dict(ev.headers)[b":status"]
                elif isinstance(ev, e.DataReceived):
                    self.data[ev.stream_id] = self.data.get(ev.stream_id, b"") + ev.data
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, e.StreamEnded):
                    self.ended.add(ev.stream_id)
                elif isinstance(ev, e.StreamReset):
                    self.resets[ev.stream_id] = ev.error_code
            self.sock.sendall(self.conn.data_to_send())

    def connect(self, path="/ws/echo", origin=None):
        sid = self.conn.get_next_available_stream_id()
        headers = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                   (":path", path), (":authority", "127.0.0.1:%d" % self.port),
                   ("sec-websocket-version", "13")]
        if origin:
            headers.append(("origin", origin))
        self.conn.send_headers(sid, headers)
        self.sock.sendall(self.conn.data_to_send())
        self.pump(lambda: sid in self.status or sid in self.resets)
        return sid

    def send(self, sid, data):
        for i in range(0, len(data), 16384):
            self.pump(lambda: self.conn.local_flow_control_window(sid) >= min(16384, len(data) - i))
            self.conn.send_data(sid, data[i:i + 16384])
            self.sock.sendall(self.conn.data_to_send())

    def frames(self, sid, count):
        """Reads `count` WebSocket messages or control frames from the stream's data (server
        frames: unmasked; fragments of a message are joined, RFC 6455 §5.4)."""
        out = []

        def parse():
            buf = self.data.get(sid, b"")
            out.clear()
            pos = 0
            msg_op, msg = None, b""
            while len(out) < count and len(buf) - pos >= 2:
                fin, op, n = buf[pos] & 0x80, buf[pos] & 0x0F, buf[pos + 1] & 0x7F
                hl = 2 + (2 if n == 126 else 8 if n == 127 else 0)
                if len(buf) - pos < hl:
                    break
                if n == 126:
                    n = struct.unpack("!H", buf[pos + 2:pos + 4])[0]
                elif n == 127:
                    n = struct.unpack("!Q", buf[pos + 2:pos + 10])[0]
                if len(buf) - pos < hl + n:
                    break
                payload = buf[pos + hl:pos + hl + n]
                pos += hl + n
                if op >= 8:
                    out.append((op, payload))
                    continue
                if op != 0:
                    msg_op, msg = op, b""
                msg += payload
                if fin:
                    out.append((msg_op, msg))
            return len(out) >= count
        self.pump(parse)
        return list(out)


class WebSocketHttp2Test(unittest.TestCase):
    """RFC 8441: WebSocket over HTTP/2 with the same endpoint and handlers."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        (Path(cls.tmp.name) / "hello.txt").write_bytes(b"Hello, World!")
        cls.server = Server(["--threads", "1", "--ws-echo", "/ws/echo"], root=cls.tmp.name,
                            kind="portico").start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.close()
        finally:
            cls.tmp.cleanup()

    def test_settings_enable_connect_protocol(self):
        c = H2Ws(self.server.port)
        self.assertEqual(c.settings.get(8), 1)  # SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3)
        c.sock.close()

    def test_echo_over_a_stream_beside_other_requests(self):
        c = H2Ws(self.server.port)
        sid = c.connect()
        self.assertEqual(c.status[sid], b"200")
        get = c.conn.get_next_available_stream_id()
        c.conn.send_headers(get, [(":method", "GET"), (":path", "/hello.txt"),
                                  (":scheme", "http"), (":authority", "x")], end_stream=True)
        c.sock.sendall(c.conn.data_to_send())
        big = os.urandom(200000)  # more than the 64 KiB stream windows: flow control both ways
        c.send(sid, frame(1, "über h2".encode()) + frame(2, big))
        (op1, p1), (op2, p2) = c.frames(sid, 2)
        self.assertEqual((op1, p1), (1, "über h2".encode()))
        self.assertEqual((op2, p2), (2, big))
        c.pump(lambda: get in c.ended)
        self.assertEqual(c.data[get], b"Hello, World!")
        # The closing handshake ends the stream (RFC 8441 §5: END_STREAM is the FIN).
        c.send(sid, frame(8, struct.pack("!H", 1000)))
        c.pump(lambda: sid in c.ended or sid in c.resets)
        self.assertEqual(c.frames(sid, 3)[-1][0], 8)
        c.sock.close()

    def test_origin_refused_and_plain_get_426(self):
        c = H2Ws(self.server.port)
        sid = c.connect(origin="https://evil.example")
        self.assertEqual(c.status[sid], b"403")
        get = c.conn.get_next_available_stream_id()
        c.conn.send_headers(get, [(":method", "GET"), (":path", "/ws/echo"),
                                  (":scheme", "http"), (":authority", "x")], end_stream=True)
        c.sock.sendall(c.conn.data_to_send())
        c.pump(lambda: get in c.ended)
        self.assertEqual(c.status[get], b"426")
        c.sock.close()

    def test_client_reset_ends_only_its_stream(self):
        c = H2Ws(self.server.port)
        a = c.connect()
        b = c.connect()
        c.conn.reset_stream(a, error_code=8)
        c.sock.sendall(c.conn.data_to_send())
        c.send(b, frame(1, b"still open"))
        self.assertEqual(c.frames(b, 1), [(1, b"still open")])
        c.sock.close()


class WebSocketTlsAndDrainTest(unittest.TestCase):
    def test_wss_echo_and_close_1001_on_sigterm(self):
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "c.pem", Path(tmp) / "k.pem"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out",
                            str(cert), "-days", "1", "-subj", "/CN=localhost", "-addext",
                            "subjectAltName=IP:127.0.0.1"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=scaled(30))
            srv = Server(["--threads", "1", "--ws-echo", "/ws/echo", "--tls-cert", str(cert),
                          "--tls-key", str(key)], root=tmp, kind="portico",
                         listen_tls="127.0.0.1:0").start()
            try:
                ctx = ssl.create_default_context(cafile=str(cert))

                async def go():
                    url = "wss://127.0.0.1:%d/ws/echo" % srv.tls_port
                    async with websockets.connect(url, ssl=ctx) as ws:
                        await ws.send("over tls")
                        self.assertEqual(await ws.recv(), "over tls")
                        big = os.urandom(300000)
                        await ws.send(big)
                        self.assertEqual(await ws.recv(), big)
                        # SIGTERM: the server says 1001 "going away" and exits.
                        srv.signal(15)
                        await asyncio.wait_for(ws.wait_closed(), scaled(10))
                        self.assertEqual(ws.close_code, 1001)
                run(go())
                self.assertEqual(srv.wait(scaled(15)), 0)
            finally:
                srv.kill()
                srv.cleanup()


if __name__ == "__main__":
    unittest.main()
