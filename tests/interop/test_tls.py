"""HTTPS: HTTP/1.1 (and ALPN h2) over TLS 1.2 and 1.3 with curl, openssl s_client and Python's ssl module.

The certificates are made at test start with the openssl CLI in a temporary directory: a CA and
leaf certificates for a.test (the default) and b.test, EC P-256 with subjectAltName. Clients
reach the names with curl --resolve / Python's server_hostname; only 127.0.0.1 is used, every
socket has a timeout and every loop is bounded.
"""

import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from harness import Server, curl, parse_metrics, request, scaled, wait_for

HELLO = b"Hello, World!"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def run(*args, timeout=60, input=None):
    p = subprocess.run([str(a) for a in args], input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=scaled(timeout))
    if p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (args[:3], p.returncode,
                                                    p.stderr.decode(errors="replace")))
    return p


def make_certificates(d):
    """A CA and leaves a.test, b.test signed by it; returns {name: (cert, key)} and the CA."""
    d = Path(d)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run(OPENSSL, "req", "-x509", *ec, "-keyout", d / "ca.key", "-out", d / "ca.pem",
        "-days", "30", "-subj", "/CN=Portico Test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    out = {}
    for name in ("a.test", "b.test"):
        ext = d / (name + ".ext")
        ext.write_text("subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n"
                       "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n" % name)
        run(OPENSSL, "req", "-new", *ec, "-keyout", d / (name + ".key"),
            "-out", d / (name + ".csr"), "-subj", "/CN=" + name)
        run(OPENSSL, "x509", "-req", "-in", d / (name + ".csr"), "-CA", d / "ca.pem",
            "-CAkey", d / "ca.key", "-CAcreateserial", "-days", "30", "-extfile", ext,
            "-out", d / (name + ".pem"))
        out[name] = (d / (name + ".pem"), d / (name + ".key"))
    return out, d / "ca.pem"


class TlsFixture:
    """Certificates, a document root and a server with an HTTPS listener (one per class)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        base = Path(cls.tmp.name)
        cls.certs, cls.ca = make_certificates(base)
        root = base / "root"
        root.mkdir()
        (root / "hello.txt").write_bytes(HELLO)
        cls.big = os.urandom(5 * 1024 * 1024)
        (root / "big.bin").write_bytes(cls.big)
        cls.root = root
        cls.server = Server(cls.server_args() + cls.cert_args(), root=root, kind=cls.kind,
                            listen_tls="127.0.0.1:0").start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.server.kill()
            cls.server.cleanup()
            cls.tmp.cleanup()

    kind = "test"

    @classmethod
    def server_args(cls):
        return ["--threads", "1"]

    @classmethod
    def cert_args(cls):
        a, b = cls.certs["a.test"], cls.certs["b.test"]
        return ["--tls-cert", a[0], "--tls-key", a[1], "--tls-cert", b[0], "--tls-key", b[1]]

    # -- clients ---------------------------------------------------------------------------

    def url(self, path, name="a.test"):
        return "https://%s:%d%s" % (name, self.server.tls_port, path)

    def curl_tls(self, *args, name="a.test"):
        return curl("--resolve", "%s:%d:127.0.0.1" % (name, self.server.tls_port),
                    "--cacert", self.ca, *args)

    def context(self, version=None, alpn=None):
        ctx = ssl.create_default_context(cafile=str(self.ca))
        if version is not None:
            ctx.minimum_version = version
            ctx.maximum_version = version
        if alpn is not None:
            ctx.set_alpn_protocols(alpn)
        return ctx

    def tls_connect(self, name="a.test", ctx=None, session=None, timeout=10.0):
        ctx = ctx or self.context()
        raw = socket.create_connection(("127.0.0.1", self.server.tls_port), timeout=scaled(timeout))
        try:
            if name is None:
                ctx.check_hostname = False
            return ctx.wrap_socket(raw, server_hostname=name, session=session,
                                   suppress_ragged_eofs=False)
        except BaseException:
            raw.close()
            raise

    def metrics(self):
        return self.server.metrics()


_leftover = {}  # bytes read past a response, per socket (pipelined responses)


def read_response(sock, max_bytes=64 << 20, timeout=10.0):
    """One response with a Content-Length body from a (TLS) socket: (head bytes, body). Bytes
    of the next responses are kept for the next call on the same socket."""
    deadline = time.monotonic() + scaled(timeout)
    buf = bytearray(_leftover.pop(id(sock), b""))
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline or len(buf) > 65536:
            raise AssertionError("no response head: %r" % bytes(buf[:200]))
        data = sock.recv(65536)
        if not data:
            raise AssertionError("closed before the head: %r" % bytes(buf))
        buf += data
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end])
    length = 0
    for line in head.decode("latin-1").split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
    body = bytearray(buf[end:])
    while len(body) < length:
        if time.monotonic() > deadline or len(body) > max_bytes:
            raise AssertionError("body cut at %d of %d bytes" % (len(body), length))
        data = sock.recv(min(1 << 20, length - len(body)))
        if not data:
            raise AssertionError("closed in the body at %d of %d bytes" % (len(body), length))
        body += data
    if len(body) > length:
        _leftover[id(sock)] = bytes(body[length:])
    return head, bytes(body[:length])


def read_until_close(sock, timeout=10.0, max_bytes=1 << 20):
    """Reads until EOF or reset; returns (bytes, "eof" | "reset" | "tls-eof")."""
    deadline = time.monotonic() + scaled(timeout)
    buf = bytearray()
    while len(buf) <= max_bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("not closed within %.1fs (got %d bytes)" % (timeout, len(buf)))
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return bytes(buf), "reset"
        except ssl.SSLEOFError:
            return bytes(buf), "tls-eof"
        if not data:
            return bytes(buf), "eof"
        buf += data
    raise AssertionError("more than %d bytes before close" % max_bytes)


def sanitized(pid):
    """The process runs with AddressSanitizer (its runtime is mapped)."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class HttpsTest(TlsFixture, unittest.TestCase):
    def test_get_over_tls13_and_tls12_is_byte_identical(self):
        for version in (["--tlsv1.3"], ["--tlsv1.2", "--tls-max", "1.2"]):
            expect = "TLSv1.3" if version[0] == "--tlsv1.3" else "TLSv1.2"
            with self.subTest(expect):
                p = self.curl_tls("-v", *version, self.url("/hello.txt"))
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("SSL connection using %s" % expect, p.stderr)
                self.assertEqual(p.stdout, HELLO)
                p = self.curl_tls(*version, self.url("/big.bin"))
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(len(p.stdout), len(self.big))
                self.assertTrue(hashlib.sha256(p.stdout).digest()
                                == hashlib.sha256(self.big).digest(), "5 MiB body differs")
                p = self.curl_tls("-D", "-", "--http1.1", *version, "-H",
                                  "Range: bytes=100-2000099", self.url("/big.bin"))
                self.assertEqual(p.returncode, 0, p.stderr)
                head, _, body = p.stdout.partition(b"\r\n\r\n")
                self.assertTrue(head.startswith(b"HTTP/1.1 206"), head)
                self.assertIn(b"Content-Range: bytes 100-2000099/%d" % len(self.big), head)
                self.assertTrue(body == self.big[100:2000100], "range body differs")

    def test_keepalive_reuses_the_tls_connection(self):
        before = self.metrics()
        p = self.curl_tls("-v", self.url("/hello.txt"), self.url("/big.bin"), self.url("/hello.txt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.count("Re-using existing connection"), 2, p.stderr)
        self.assertTrue(p.stdout == HELLO + self.big + HELLO, "bodies differ")
        after = self.metrics()
        self.assertEqual(after['portico_tls_handshakes_total{resumed="false"}']
                         + after['portico_tls_handshakes_total{resumed="true"}']
                         - before['portico_tls_handshakes_total{resumed="false"}']
                         - before['portico_tls_handshakes_total{resumed="true"}'], 1)

    def test_sni_picks_the_certificate(self):
        for name, expect in (("a.test", "a.test"), ("b.test", "b.test"), (None, "a.test")):
            with self.subTest(name):
                ctx = self.context()
                if name is None:
                    ctx.check_hostname = False  # no SNI: the default certificate
                with self.tls_connect(name, ctx) as s:
                    cert = s.getpeercert()
                    subject = dict(x[0] for x in cert["subject"])
                    self.assertEqual(subject["commonName"], expect)
                    issuer = dict(x[0] for x in cert["issuer"])
                    self.assertEqual(issuer["commonName"], "Portico Test CA")
                    s.sendall(request("GET", "/hello.txt", host=name or "127.0.0.1"))
                    self.assertEqual(read_response(s)[1], HELLO)
        # openssl s_client shows the same
        p = run(OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % self.server.tls_port,
                "-servername", "b.test", "-CAfile", self.ca, input=b"")
        out = p.stdout.decode(errors="replace")
        self.assertRegex(out, r"subject=CN\s*=\s*b\.test")
        self.assertIn("Verify return code: 0 (ok)", out)

    def test_alpn_h2_and_http11(self):
        p = run(OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % self.server.tls_port,
                "-servername", "a.test", "-alpn", "http/1.1", input=b"")
        self.assertIn("ALPN protocol: http/1.1", p.stdout.decode(errors="replace"))
        # A client that offers h2 gets h2 (HTTP/2 over TLS, docs/http2.md).
        with self.tls_connect(ctx=self.context(alpn=["h2", "http/1.1"])) as s:
            self.assertEqual(s.selected_alpn_protocol(), "h2")
        # Only a protocol we do not speak: no protocol selected (no alert), and HTTP/1.1 works.
        with self.tls_connect(ctx=self.context(alpn=["spdy/3"])) as s:
            self.assertIsNone(s.selected_alpn_protocol())
            s.sendall(request("GET", "/hello.txt", host="a.test"))
            head, body = read_response(s)
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
            self.assertEqual(body, HELLO)
        p = self.curl_tls("-v", "--http2", self.url("/hello.txt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ALPN: server accepted h2", p.stderr)
        self.assertEqual(p.stdout, HELLO)
        p = self.curl_tls("-v", "--http1.1", self.url("/hello.txt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ALPN: server accepted http/1.1", p.stderr)
        self.assertEqual(p.stdout, HELLO)

    def test_session_resumption(self):
        before = self.metrics()['portico_tls_handshakes_total{resumed="true"}']
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            with self.subTest(version.name):
                ctx = self.context(version)
                with self.tls_connect(ctx=ctx) as s:
                    s.sendall(request("GET", "/hello.txt", host="a.test"))
                    self.assertEqual(read_response(s)[1], HELLO)  # tickets arrive with it
                    session = s.session
                    self.assertFalse(s.session_reused)
                self.assertIsNotNone(session)
                with self.tls_connect(ctx=ctx, session=session) as s:
                    self.assertTrue(s.session_reused)
                    s.sendall(request("GET", "/hello.txt", host="a.test"))
                    self.assertEqual(read_response(s)[1], HELLO)
        after = self.metrics()['portico_tls_handshakes_total{resumed="true"}']
        self.assertEqual(after - before, 2)
        # openssl s_client -reconnect: the later connections resume
        p = run(OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % self.server.tls_port,
                "-servername", "a.test", "-tls1_2", "-reconnect", input=b"")
        self.assertGreaterEqual(p.stdout.decode(errors="replace").count("Reused, TLSv1.2"), 5)

    def test_records_beyond_the_pipeline_limit(self):
        # 40 requests, one TLS record each, sent in one write: more than --max-pipelined (16),
        # so the server stops decrypting with records left in its TLS buffer and goes on when
        # the first responses are out. A MemoryBIO client makes the records arrive together.
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = self.context().wrap_bio(inc, out, server_hostname="a.test")
        with socket.create_connection(("127.0.0.1", self.server.tls_port),
                                      timeout=scaled(10)) as sock:
            for _ in range(100):
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    sock.sendall(out.read())
                    data = sock.recv(65536)
                    self.assertTrue(data, "closed during the handshake")
                    inc.write(data)
            sock.sendall(out.read())  # the client's Finished
            for _ in range(40):
                obj.write(request("GET", "/hello.txt", host="a.test"))
            sock.sendall(out.read())
            got = bytearray()
            deadline = time.monotonic() + scaled(10)
            while got.count(HELLO) < 40 and time.monotonic() < deadline:
                try:
                    got += obj.read(65536)
                except ssl.SSLWantReadError:
                    data = sock.recv(65536)
                    if not data:
                        break
                    inc.write(data)
            self.assertEqual(got.count(b"HTTP/1.1 200 OK"), 40)
            self.assertEqual(got.count(HELLO), 40)

    def test_pipelined_requests_and_upload(self):
        with self.tls_connect() as s:
            s.sendall(request("GET", "/hello.txt", host="a.test") * 20)
            for _ in range(20):
                self.assertEqual(read_response(s)[1], HELLO)
            body = os.urandom(300 * 1024)
            s.sendall(request("POST", "/echo", host="a.test", body=body))
            head, echoed = read_response(s)
            self.assertIn(b"X-Body-Length: %d" % len(body), head)
            self.assertTrue(echoed == body, "echoed body differs")
            # a large body from memory (records cut along the stream, not per piece)
            n = 3 * 1024 * 1024 + 7
            s.sendall(request("GET", "/big/%d" % n, host="a.test"))
            head, big = read_response(s)
            pattern = b"0123456789abcdef" * (n // 16 + 1)
            self.assertEqual(len(big), n)
            self.assertTrue(big == pattern[:n], "memory body differs")
            # a streamed (chunked) response: read it raw up to its last chunk
            s.sendall(request("GET", "/stream/300", host="a.test",
                              headers={"Connection": "close"}))
            data, how = read_until_close(s, max_bytes=1 << 20)
            self.assertEqual(how, "eof", "no close_notify before the close")
            self.assertTrue(data.endswith(b"\r\n0\r\n\r\n"), data[-40:])
            self.assertEqual(data.count(b"0123456789abcdef"), 300 * 64)

    def test_connection_close_sends_close_notify(self):
        with self.tls_connect() as s:
            s.sendall(request("GET", "/hello.txt", host="a.test",
                              headers={"Connection": "close"}))
            data, how = read_until_close(s)
            self.assertTrue(data.endswith(HELLO), data)
            self.assertEqual(how, "eof")  # "tls-eof" would mean no close_notify

    def test_plain_http_to_the_tls_port_gets_400(self):
        before = self.metrics()["portico_tls_handshake_failures_total"]
        with socket.create_connection(("127.0.0.1", self.server.tls_port),
                                      timeout=scaled(10)) as s:
            s.sendall(request("GET", "/hello.txt"))
            data, how = read_until_close(s)
        self.assertTrue(data.startswith(b"HTTP/1.1 400 Bad Request\r\n"), data)
        self.assertIn(b"https://", data)
        self.assertIn(b"Connection: close", data)
        self.assertIn(how, ("eof", "reset"))
        after = self.metrics()["portico_tls_handshake_failures_total"]
        self.assertEqual(after - before, 1)
        p = curl("-s", "http://127.0.0.1:%d/hello.txt" % self.server.tls_port)
        self.assertIn(b"plain HTTP was sent to an HTTPS port", p.stdout)

    def test_garbage_closes_the_connection_and_others_go_on(self):
        before = self.metrics()["portico_tls_handshake_failures_total"]
        garbage = [
            b"\x16\x03\x01\x00\x20" + b"\xff" * 32,             # a handshake record of junk
            b"\x00\x01\x02\x03 this is not TLS at all \xfe\xff" * 10,
            b"\x16\x03\x01\x40\x00" + bytes(range(256)) * 64,   # a full-size junk record
        ]
        with self.tls_connect() as keep:  # a connection in progress that must survive
            for g in garbage:
                with socket.create_connection(("127.0.0.1", self.server.tls_port),
                                              timeout=scaled(10)) as s:
                    s.sendall(g)
                    data, how = read_until_close(s)
                    self.assertLess(len(data), 100)  # at most an alert
                    self.assertIn(how, ("eof", "reset"))
            keep.sendall(request("GET", "/hello.txt", host="a.test"))
            self.assertEqual(read_response(keep)[1], HELLO)
        after = self.metrics()["portico_tls_handshake_failures_total"]
        self.assertEqual(after - before, len(garbage))
        p = self.curl_tls(self.url("/hello.txt"))
        self.assertEqual(p.stdout, HELLO)

    def test_client_refusing_our_certificate(self):
        before = self.metrics()["portico_tls_handshake_failures_total"]
        # No --cacert: curl does not trust the test CA and aborts with an alert.
        p = curl("--resolve", "a.test:%d:127.0.0.1" % self.server.tls_port, self.url("/hello.txt"))
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(wait_for(
            lambda: self.metrics()["portico_tls_handshake_failures_total"] == before + 1, 5))

    def test_connections_by_protocol(self):
        with self.tls_connect() as s:
            s.sendall(request("GET", "/hello.txt", host="a.test"))
            self.assertEqual(read_response(s)[1], HELLO)
            # Scraped on a cleartext connection, which is writing (the scrape itself); earlier
            # tests' connections may still be closing.
            def settled():
                m = self.metrics()
                return (m['portico_connections{protocol="https",state="idle"}'],
                        m['portico_connections{protocol="https",state="writing"}'],
                        m['portico_connections{protocol="https",state="closing"}'],
                        m['portico_connections{protocol="http1",state="idle"}'],
                        m['portico_connections{protocol="http1",state="writing"}'])
            self.assertTrue(wait_for(lambda: settled() == (1, 0, 0, 0, 1), 5), settled())
        self.assertTrue(wait_for(
            lambda: self.metrics()['portico_connections{protocol="https",state="idle"}'] == 0, 5))

    def test_slow_reader_does_not_grow_memory(self):
        # 16 clients ask for the 5 MiB file and read nothing: the server keeps at most its TLS
        # output bound (64 KiB) per connection, not the file (80 MiB in all if it buffered).
        socks = []
        try:
            rss_before = vm_rss_kib(self.server.pid)
            for _ in range(16):
                s = self.tls_connect()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
                s.sendall(request("GET", "/big.bin", host="a.test"))
                socks.append(s)
            time.sleep(scaled(1.0))
            growth_kib = vm_rss_kib(self.server.pid) - rss_before
            # Under ASan freed blocks sit in its quarantine (up to 256 MiB), so RSS says nothing
            # about what the server holds: only the release build is checked.
            if not sanitized(self.server.pid):
                self.assertLess(growth_kib, 24 * 1024, "RSS grew by %d KiB" % growth_kib)
            # and a stalled reader that resumes gets every byte
            head, body = read_response(socks[0])
            self.assertTrue(head.startswith(b"HTTP/1.1 200"))
            self.assertTrue(body == self.big, "body differs after the stall")
        finally:
            for s in socks:
                s.close()


class HttpsOnlyPorticoTest(TlsFixture, unittest.TestCase):
    """`portico serve` itself, with a short handshake timeout."""

    kind = "portico"

    @classmethod
    def server_args(cls):
        return ["--threads", "1", "--tls-handshake-timeout", "1", "--header-timeout", "1",
                "--write-timeout", "1"]

    def test_header_timeout_answers_408_over_tls(self):
        with self.tls_connect() as s:
            s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: a.test\r\n")  # never finished
            data, how = read_until_close(s, timeout=6)
        self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data)
        self.assertEqual(how, "eof")  # close_notify after the answer

    def test_write_timeout_cuts_a_stalled_reader(self):
        before = self.metrics()['portico_timeouts_total{phase="write"}']
        s = self.tls_connect()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
            s.sendall(request("GET", "/big.bin", host="a.test"))
            self.assertTrue(wait_for(
                lambda: self.metrics()['portico_timeouts_total{phase="write"}'] == before + 1, 8))
        finally:
            s.close()

    def test_static_file_over_https(self):
        p = self.curl_tls("-v", self.url("/big.bin"), self.url("/hello.txt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Re-using existing connection", p.stderr)
        self.assertTrue(p.stdout == self.big + HELLO, "bodies differ")

    def test_unfinished_handshake_is_cut_at_the_timeout(self):
        before = self.metrics()['portico_timeouts_total{phase="handshake"}']
        for partial in (b"", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"):
            with self.subTest(len(partial)):
                with socket.create_connection(("127.0.0.1", self.server.tls_port),
                                              timeout=scaled(10)) as s:
                    s.sendall(partial)
                    t0 = time.monotonic()
                    data, how = read_until_close(s, timeout=6)
                    elapsed = time.monotonic() - t0
                self.assertEqual(data, b"")
                self.assertGreater(elapsed, 0.5)
                self.assertLess(elapsed, scaled(5))
        after = self.metrics()['portico_timeouts_total{phase="handshake"}']
        self.assertEqual(after - before, 2)


class HttpsDrainTest(TlsFixture, unittest.TestCase):
    def test_drain_sends_close_notify_to_idle_connections(self):
        with self.tls_connect() as s:
            s.sendall(request("GET", "/hello.txt", host="a.test"))
            self.assertEqual(read_response(s)[1], HELLO)
            self.assertEqual(self.server.stop(), 0)
            data, how = read_until_close(s)
            self.assertEqual((data, how), (b"", "eof"))  # close_notify, then the close


class StartupErrorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.certs, cls.ca = make_certificates(cls.tmp.name)
        cls.bad = Path(cls.tmp.name) / "bad.pem"
        cls.bad.write_text("this is not a certificate\n")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def start(self, *args):
        from harness import portico_bin
        cmd = [portico_bin(), "serve", "--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0"]
        return subprocess.run(cmd + [str(a) for a in args], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=scaled(30))

    def test_bad_certificate_or_key_exits_2_naming_the_file(self):
        a_cert, a_key = self.certs["a.test"]
        b_cert, b_key = self.certs["b.test"]
        missing = Path(self.tmp.name) / "missing.pem"
        cases = [
            ((self.bad, a_key), self.bad, "no PEM certificate"),
            ((a_cert, b_key), b_key, "does not match"),
            ((missing, a_key), missing, "cannot open"),
            ((a_cert, self.bad), self.bad, "key file"),
        ]
        for (cert, key), named, why in cases:
            with self.subTest(why):
                p = self.start("--tls-cert", cert, "--tls-key", key)
                err = p.stderr.decode(errors="replace")
                self.assertEqual(p.returncode, 2, err)
                self.assertIn("portico: TLS: ", err)
                self.assertIn(str(named), err)
                self.assertIn(why, err)
                self.assertNotIn("listening on", err)
        # the second certificate is checked too
        p = self.start("--tls-cert", a_cert, "--tls-key", a_key, "--tls-cert", b_cert,
                       "--tls-key", a_key)
        self.assertEqual(p.returncode, 2)
        self.assertIn(str(a_key), p.stderr.decode(errors="replace"))

    def test_usage_errors(self):
        a_cert, _ = self.certs["a.test"]
        p = self.start("--tls-cert", a_cert)
        self.assertEqual(p.returncode, 2)
        self.assertIn("pairs", p.stderr.decode(errors="replace"))
        p = self.start()  # --listen-tls without a certificate
        self.assertEqual(p.returncode, 2)
        self.assertIn("--tls-cert", p.stderr.decode(errors="replace"))


if __name__ == "__main__":
    unittest.main()
