"""HTTP/2 in the server: cleartext prior knowledge, h2c Upgrade, TLS with ALPN h2.

Clients: curl (--http2-prior-knowledge, --http2 over https), nghttp (SETTINGS exchange) and
python3-h2 over a raw socket (concurrent streams, RST_STREAM, graceful GOAWAY). Every socket has
a timeout and every loop is bounded.
"""

import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.settings

from harness import CURL, Server, curl, raw_exchange, scaled

HELLO = b"Hello, World!"
NGHTTP = shutil.which("nghttp") or "/usr/bin/nghttp"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


class H2Client:
    """A python3-h2 client connection over a (TLS) socket."""

    def __init__(self, sock):
        self.sock = sock
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.flush()
        self.responses = {}  # stream id -> {"headers":..., "data": bytearray, "ended": bool}
        self.resets = {}
        self.goaway = None
        self.settings_acked = False
        self.peer_settings = None

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, method="GET", body=None, extra=()):
        sid = self.conn.get_next_available_stream_id()
        headers = [(":method", method), (":path", path), (":scheme", "http"),
                   (":authority", "localhost")] + list(extra)
        self.conn.send_headers(sid, headers, end_stream=body is None)
        if body is not None:
            for i in range(0, len(body), 16384):
                self.conn.send_data(sid, body[i:i + 16384],
                                    end_stream=i + 16384 >= len(body))
        self.responses[sid] = {"headers": None, "data": bytearray(), "ended": False}
        self.flush()
        return sid

    def pump(self, until, timeout=20.0):
        deadline = time.monotonic() + scaled(timeout)
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for HTTP/2 events")
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            for ev in self.conn.receive_data(data):
                self.on_event(ev)
            self.flush()

    def on_event(self, ev):
        if isinstance(ev, h2.events.ResponseReceived):
            self.responses[ev.stream_id]["headers"] = dict(
                (k.decode(), v.decode()) for k, v in ev.headers)
        elif isinstance(ev, h2.events.DataReceived):
            self.responses[ev.stream_id]["data"] += ev.data
            self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            self.responses[ev.stream_id]["ended"] = True
        elif isinstance(ev, h2.events.StreamReset):
            self.resets[ev.stream_id] = ev.error_code
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = ev
        elif isinstance(ev, h2.events.SettingsAcknowledged):
            self.settings_acked = True
        elif isinstance(ev, h2.events.RemoteSettingsChanged):
            self.peer_settings = ev.changed_settings

    def ended(self, sid):
        return self.responses[sid]["ended"]


class Http2Base:
    kind = "test"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        base = Path(cls.tmp.name)
        root = base / "root"
        root.mkdir()
        (root / "hello.txt").write_bytes(HELLO)
        cls.big = os.urandom(5 * 1024 * 1024)
        (root / "big.bin").write_bytes(cls.big)
        cls.root = root
        cls.base = base
        cls.server = Server(["--threads", "1"] + cls.extra_args(), root=root, kind=cls.kind,
                            listen_tls=cls.listen_tls()).start()

    @classmethod
    def extra_args(cls):
        return []

    @classmethod
    def listen_tls(cls):
        return None

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.server.kill()
            cls.server.cleanup()
            cls.tmp.cleanup()


class PriorKnowledgeTest(Http2Base, unittest.TestCase):
    def url(self, path):
        return self.server.url(path)

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=scaled(10))
        return s

    def test_curl_small_and_big_file(self):
        p = curl("--http2-prior-knowledge", "-w", "%{http_version}", "-o", "/dev/null",
                 self.url("/hello.txt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"2")
        p = curl("--http2-prior-knowledge", self.url("/hello.txt"))
        self.assertEqual(p.stdout, HELLO)
        out = self.base / "big.out"
        p = curl("--http2-prior-knowledge", "-o", out, "-w", "%{http_version} %{http_code}",
                 self.url("/big.bin"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"2 200")
        self.assertEqual(out.read_bytes(), self.big)

    def test_curl_range(self):
        p = curl("--http2-prior-knowledge", "-r", "1000-1999", "-w", "\n%{http_code}",
                 self.url("/big.bin"))
        self.assertEqual(p.returncode, 0, p.stderr)
        body, code = p.stdout.rsplit(b"\n", 1)
        self.assertEqual(code, b"206")
        self.assertEqual(body, self.big[1000:2000])

    def test_http11_still_served(self):
        p = curl("--http1.1", "-w", " %{http_version}", self.url("/hello.txt"))
        self.assertEqual(p.stdout, HELLO + b" 1.1")
        # A request line that starts like the preface but is not it is HTTP/1.1.
        with self.connect() as s:
            s.sendall(b"PRI")
            time.sleep(0.05)
            s.sendall(b"NT / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            self.assertTrue(data.startswith(b"HTTP/1.1 "), data[:100])

    def test_nghttp_settings_exchange(self):
        p = subprocess.run([NGHTTP, "-nv", self.url("/hello.txt")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=scaled(30))
        out = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, out + p.stderr.decode(errors="replace"))
        self.assertIn("recv SETTINGS frame", out)
        self.assertIn("SETTINGS_MAX_CONCURRENT_STREAMS", out)
        self.assertRegex(out, r"recv SETTINGS frame <length=0, flags=0x01")  # our ACK
        self.assertIn(":status: 200", out)

    def nghttp_end_order(self, *args):
        """Runs nghttp -nv with `args`; returns the request paths in the order their responses
        ended (END_STREAM on DATA)."""
        p = subprocess.run([NGHTTP, "-nv"] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=scaled(60))
        out = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, out[-2000:] + p.stderr.decode(errors="replace"))
        paths, sid, order = {}, None, []
        for line in out.splitlines():
            m = re.search(r"send HEADERS frame <.*stream_id=(\d+)>", line)
            if m:
                sid = int(m.group(1))
                continue
            m = re.search(r"^\s*:path: (\S+)", line)
            if m and sid is not None and sid not in paths:
                paths[sid] = m.group(1)
                continue
            m = re.search(r"recv DATA frame <length=\d+, flags=0x0[13], stream_id=(\d+)>", line)
            if m:
                order.append(paths.get(int(m.group(1))))
        return order

    def test_nghttp_rfc7540_weights_order_streams(self):
        # nghttp puts its requests under idle grouping streams with the weights of -p (RFC 7540
        # §5.3); the server maps them onto its RFC 9218 scheduler (docs/http2.md): the heavier
        # request is sent first whatever its place on the command line.
        a, b = self.url("/big.bin?a"), self.url("/big.bin?b")
        self.assertEqual(self.nghttp_end_order("-p", "1", "-p", "256", a, b),
                         ["/big.bin?b", "/big.bin?a"])
        self.assertEqual(self.nghttp_end_order("-p", "256", "-p", "1", a, b),
                         ["/big.bin?a", "/big.bin?b"])
        # SETTINGS_NO_RFC7540_PRIORITIES=1 from the client: no RFC 7540 signal is used, so
        # requests of equal (default) urgency go one at a time in stream order (RFC 9218 §2.1).
        self.assertEqual(self.nghttp_end_order("--no-rfc7540-pri", "-p", "1", "-p", "256", a, b),
                         ["/big.bin?a", "/big.bin?b"])

    def test_request_trailers_python_h2_and_http1_chunked(self):
        # RFC 9113 §8.1: trailers in a HEADERS frame that ends the stream, sent by python3-h2;
        # RFC 9112 §7.1.2: the same over HTTP/1.1 in the last chunk. The handler sees both.
        with self.connect() as s:
            c = H2Client(s)
            sid = c.conn.get_next_available_stream_id()
            c.conn.send_headers(sid, [(":method", "POST"), (":path", "/request-trailers"),
                                      (":scheme", "http"), (":authority", "localhost")])
            c.conn.send_data(sid, b"x" * 1000)
            c.conn.send_headers(sid, [("x-checksum", "abc123"), ("x-parts", "1")],
                                end_stream=True)
            c.responses[sid] = {"headers": None, "data": bytearray(), "ended": False}
            c.flush()
            c.pump(lambda: c.ended(sid))
            self.assertEqual(c.responses[sid]["headers"][":status"], "200")
            self.assertEqual(bytes(c.responses[sid]["data"]),
                             b"body 1000\nx-checksum: abc123\nx-parts: 1\n")
        r, conn = raw_exchange(self.server, b"POST /request-trailers HTTP/1.1\r\nHost: x\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                               b"0\r\nX-Checksum: abc123\r\n\r\n")
        conn.close()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"body 5\nX-Checksum: abc123\n")

    def test_concurrent_streams_and_reset(self):
        with self.connect() as s:
            c = H2Client(s)
            big = c.request("/big.bin")
            small = [c.request("/hello.txt") for _ in range(5)]
            echo = c.request("/echo", method="POST", body=b"x" * 60000,
                             extra=[("content-length", "60000")])
            # Reset the big download once its headers arrived.
            c.pump(lambda: c.responses[big]["headers"] is not None)
            c.conn.reset_stream(big)
            c.flush()
            c.pump(lambda: all(c.ended(i) for i in small) and c.ended(echo))
            for i in small:
                self.assertEqual(c.responses[i]["headers"][":status"], "200")
                self.assertEqual(bytes(c.responses[i]["data"]), HELLO)
            self.assertEqual(c.responses[echo]["headers"][":status"], "200")
            self.assertEqual(bytes(c.responses[echo]["data"]), b"x" * 60000)
            self.assertFalse(c.ended(big))
            # The connection still serves new streams after the reset.
            again = c.request("/hello.txt")
            c.pump(lambda: c.ended(again))
            self.assertEqual(bytes(c.responses[again]["data"]), HELLO)
            self.assertIsNone(c.goaway)
            self.assertTrue(c.settings_acked)

    def test_metrics_protocol_label(self):
        with self.connect() as s:
            c = H2Client(s)
            sid = c.request("/hello.txt")
            c.pump(lambda: c.ended(sid) and c.settings_acked)
            m = self.server.metrics()
            self.assertGreaterEqual(m['portico_connections{protocol="http2",state="idle"}'], 1)
            # The scrape itself is HTTP/1.1.
            self.assertGreaterEqual(m['portico_connections{protocol="http1",state="writing"}'], 1)
        self.assertIn('portico_connections{protocol="http2",state="writing"}',
                      self.server.metrics())

    def test_access_log_says_http2(self):
        log = self.base / "access.log"
        with Server(["--threads", "1", "--access-log", str(log)], root=self.root) as srv:
            p = curl("--http2-prior-knowledge", srv.url("/hello.txt"))
            self.assertEqual(p.stdout, HELLO)
            deadline = time.monotonic() + scaled(5)
            while time.monotonic() < deadline and b"HTTP/2.0" not in (
                    log.read_bytes() if log.exists() else b""):
                time.sleep(0.05)
            self.assertIn(b'"GET /hello.txt HTTP/2.0" 200 13', log.read_bytes())

    def test_bad_preface_frames_goaway(self):
        # The preface, then a frame that is not SETTINGS: GOAWAY PROTOCOL_ERROR and close.
        with self.connect() as s:
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x08\x06\x00\x00\x00\x00\x00"
                      + b"12345678")
            data = b""
            deadline = time.monotonic() + scaled(10)
            while time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            # A GOAWAY frame (type 7) with PROTOCOL_ERROR (1) somewhere in what came back.
            self.assertIn(b"\x07\x00\x00\x00\x00\x00", data)


class UpgradeTest(Http2Base, unittest.TestCase):
    """HTTP/1.1 Upgrade: h2c with HTTP2-Settings (RFC 7540 §3.2)."""

    def test_curl_upgrade(self):
        out = self.base / "big.out"
        p = curl("-v", "--http2", "-o", out, "-w", "%{http_version} %{http_code}",
                 self.server.url("/big.bin"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("101 Switching Protocols", p.stderr)
        self.assertEqual(p.stdout, b"2 200")
        self.assertEqual(out.read_bytes(), self.big)
        # Two URLs: the second request reuses the upgraded connection.
        p = curl("--http2", "-w", " %{http_version}\n", self.server.url("/hello.txt"),
                 self.server.url("/hello.txt"))
        self.assertEqual(p.stdout, (HELLO + b" 2\n") * 2)

    def test_upgrade_with_body_is_ignored(self):
        p = curl("--http2", "-w", " %{http_version}", "--data-binary", "abc",
                 self.server.url("/echo"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"abc 1.1")

    def test_bad_settings_is_ignored(self):
        with socket.create_connection(("127.0.0.1", self.server.port),
                                      timeout=scaled(10)) as s:
            s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, "
                      b"HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: %%%\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
            self.assertTrue(data.endswith(HELLO))

    def test_raw_upgrade_with_preface_sent_at_once(self):
        with socket.create_connection(("127.0.0.1", self.server.port),
                                      timeout=scaled(10)) as s:
            c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            token = c.initiate_upgrade_connection()
            preface = c.data_to_send()
            s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, "
                      b"HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: " + token
                      + b"\r\n\r\n" + preface)
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                self.assertTrue(chunk, "closed before the 101")
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
            client = H2Client.__new__(H2Client)
            client.sock, client.conn = s, c
            client.responses = {1: {"headers": None, "data": bytearray(), "ended": False}}
            client.resets, client.goaway = {}, None
            client.settings_acked, client.peer_settings = False, None
            for ev in c.receive_data(rest):
                client.on_event(ev)
            client.flush()
            client.pump(lambda: client.ended(1))
            self.assertEqual(client.responses[1]["headers"][":status"], "200")
            self.assertEqual(bytes(client.responses[1]["data"]), HELLO)
            sid = client.request("/hello.txt")
            client.pump(lambda: client.ended(sid))
            self.assertEqual(bytes(client.responses[sid]["data"]), HELLO)


class DrainTest(Http2Base, unittest.TestCase):
    def test_sigterm_finishes_stream_then_closes(self):
        # python3-h2 treats the first GOAWAY as the end, so curl is the client here.
        p = subprocess.Popen([CURL, "-sS", "--http2-prior-knowledge", "-w", " %{http_version}",
                              self.server.url("/slow/500")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.2)
        self.server.proc.send_signal(15)
        out, err = p.communicate(timeout=scaled(20))
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out, b"slow done\n 2")
        self.server.wait(scaled(15))


class TlsTest(Http2Base, unittest.TestCase):
    @classmethod
    def extra_args(cls):
        key = cls.base / "key.pem"
        cert = cls.base / "cert.pem"
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out",
                        str(cert), "-days", "2", "-subj", "/CN=localhost"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return ["--tls-cert", str(cert), "--tls-key", str(key)]

    @classmethod
    def listen_tls(cls):
        return "127.0.0.1:0"

    def url(self, path):
        return "https://127.0.0.1:%d%s" % (self.server.tls_port, path)

    def test_curl_alpn_h2(self):
        out = self.base / "big.out"
        p = curl("-k", "--http2", "-o", out, "-w", "%{http_version} %{http_code}",
                 self.url("/big.bin"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"2 200")
        self.assertEqual(out.read_bytes(), self.big)
        p = curl("-k", "--http2", "-r", "5-9", self.url("/big.bin"))
        self.assertEqual(p.stdout, self.big[5:10])

    def test_nghttp_tls(self):
        p = subprocess.run([NGHTTP, "-nv", self.url("/hello.txt")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=scaled(30))
        out = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, out + p.stderr.decode(errors="replace"))
        self.assertRegex(out, r"[Nn]egotiated protocol: h2")
        self.assertIn(":status: 200", out)

    def test_h2_client_over_tls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", self.server.tls_port), timeout=scaled(10))
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            self.assertEqual(s.selected_alpn_protocol(), "h2")
            c = H2Client(s)
            ids = [c.request("/hello.txt") for _ in range(4)] + [c.request("/big.bin")]
            c.pump(lambda: all(c.ended(i) for i in ids), timeout=60)
            for i in ids[:4]:
                self.assertEqual(bytes(c.responses[i]["data"]), HELLO)
            self.assertEqual(bytes(c.responses[ids[4]]["data"]), self.big)


if __name__ == "__main__":
    unittest.main()
