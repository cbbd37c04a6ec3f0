"""HTTP/2 server push (RFC 9113 §8.4), response trailers (§8.1, RFC 9112 §7.1.2) and
handler-driven stream resets, against the real server.

Clients: nghttp (push visible in its frame log), python3-h2 (PUSH_PROMISE events, push
disabled by SETTINGS_ENABLE_PUSH=0, a cancelled pushed stream, trailers), curl (chunked
trailers over HTTP/1.1 and over h2). Every socket has a timeout; every loop is bounded.
"""

import os
import re
import socket
import subprocess
import tempfile
import unittest
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.settings

from harness import Server, curl, scaled
from test_http2 import NGHTTP, H2Client


PATTERN = b"0123456789abcdef"  # the test server's body pattern (pattern() in test_server.cpp)


def pattern(n):
    return (PATTERN * (n // len(PATTERN) + 1))[:n]


def pattern_sum(n):
    return sum(pattern(n))


class PushClient(H2Client):
    """H2Client that also records PUSH_PROMISEs and trailers."""

    def __init__(self, sock, enable_push=True):
        self.promises = {}  # promised stream id -> (parent id, request headers)
        self.trailers = {}
        super().__init__(sock)
        if not enable_push:
            self.conn.update_settings({h2.settings.SettingCodes.ENABLE_PUSH: 0})
            self.flush()

    def on_event(self, ev):
        if isinstance(ev, h2.events.PushedStreamReceived):
            self.promises[ev.pushed_stream_id] = (
                ev.parent_stream_id, dict((k.decode(), v.decode()) for k, v in ev.headers))
            self.responses[ev.pushed_stream_id] = {"headers": None, "data": bytearray(),
                                                   "ended": False}
            return
        if isinstance(ev, h2.events.TrailersReceived):
            self.trailers[ev.stream_id] = dict((k.decode(), v.decode()) for k, v in ev.headers)
            return
        super().on_event(ev)


class PushBase:
    args = []

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = Path(cls.tmp.name)
        (root / "index.html").write_text("<!doctype html><link rel=stylesheet href=/s.css>\n")
        (root / "s.css").write_text("body { color: #222 }\n")
        cls.server = Server(["--threads", "1"] + cls.args, root=root, kind="test").start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.close()
        finally:
            cls.tmp.cleanup()

    def client(self, enable_push=True):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=scaled(10))
        self.addCleanup(s.close)
        return PushClient(s, enable_push)

    def nghttp(self, *args):
        p = subprocess.run([NGHTTP, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=scaled(30))
        out = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, out + p.stderr.decode(errors="replace"))
        return out


class PushTest(PushBase, unittest.TestCase):
    args = ["--h2-max-pushes", "4"]

    def test_nghttp_sees_promises_and_pushed_responses(self):
        out = self.nghttp("-nv", self.server.url("/push/3"))
        promised = re.findall(r"promised_stream_id=(\d+)", out)
        self.assertEqual(promised, ["2", "4", "6"], out)
        # The promised requests: GET with the pushed paths and the handler's extra field.
        for i in range(3):
            self.assertIn(f":path: /pushed/{i}", out)
        # Each pushed response arrives on its promised stream, served by the router.
        for sid in (2, 4, 6):
            self.assertRegex(out, rf"recv \(stream_id={sid}\) :status: 200")
            self.assertRegex(out, rf"recv \(stream_id={sid}\) x-seen-pushed-by: portico-test")
        # Promises precede the response that refers to them (§8.4).
        head = re.search(r"recv HEADERS frame <[^>]*stream_id=13>", out)
        self.assertIsNotNone(head, out)
        self.assertLess(out.index("promised_stream_id=6"), head.start())

    def test_h2_client_receives_pushed_bodies(self):
        c = self.client()
        sid = c.request("/push/2")
        c.pump(lambda: c.ended(sid) and len(c.promises) == 2
               and all(c.ended(p) for p in c.promises))
        self.assertEqual(bytes(c.responses[sid]["data"]), b"promised 2\n")
        for pid, (parent, req) in c.promises.items():
            self.assertEqual(parent, sid)
            self.assertEqual(pid % 2, 0)
            self.assertEqual(req[":method"], "GET")
            self.assertEqual(req[":scheme"], "http")
            i = req[":path"].rsplit("/", 1)[1]
            self.assertEqual(bytes(c.responses[pid]["data"]), f"pushed {i}\n".encode())

    def test_push_disabled_by_client_settings(self):
        c = self.client(enable_push=False)
        c.pump(lambda: c.settings_acked)
        sid = c.request("/push/3")
        c.pump(lambda: c.ended(sid))
        self.assertEqual(bytes(c.responses[sid]["data"]), b"promised 0\n")
        self.assertEqual(c.promises, {})

    def test_pushed_streams_are_limited(self):
        # --h2-max-pushes 4: at most four pushed streams in progress.
        c = self.client()
        sid = c.request("/push/10")
        c.pump(lambda: c.ended(sid))
        self.assertEqual(bytes(c.responses[sid]["data"]), b"promised 4\n")
        self.assertEqual(len(c.promises), 4)

    def test_client_cancels_a_pushed_stream(self):
        # Two 1 MiB pushes: more than the 64 KiB initial window, so both are still flowing
        # when the client cancels the first.
        c = self.client()
        sid = c.request("/pushbig")
        c.pump(lambda: len(c.promises) == 2)
        cancelled, kept = sorted(c.promises)
        c.conn.reset_stream(cancelled, error_code=8)  # CANCEL
        c.flush()
        c.pump(lambda: c.ended(sid) and c.ended(kept))
        self.assertEqual(bytes(c.responses[sid]["data"]), b"pushed 2\n")
        self.assertEqual(bytes(c.responses[kept]["data"]), pattern(1048576))
        self.assertFalse(c.ended(cancelled))
        self.assertLess(len(c.responses[cancelled]["data"]), 1048576)
        # The connection goes on: a new request is served.
        again = c.request("/pushed/x")
        c.pump(lambda: c.ended(again))
        self.assertEqual(bytes(c.responses[again]["data"]), b"pushed x\n")
        self.assertIsNone(c.goaway)

    def test_link_preload_not_pushed_without_the_option(self):
        out = self.nghttp("-nv", self.server.url("/preload"))
        self.assertNotIn("PUSH_PROMISE", out)

    def test_http11_push_returns_false(self):
        p = curl("--http1.1", self.server.url("/push/2"))
        self.assertEqual(p.stdout, b"promised 0\n")


class PreloadPushTest(PushBase, unittest.TestCase):
    args = ["--h2-push-preload", "--preload", "/=/s.css"]

    def test_link_preload_targets_pushed(self):
        out = self.nghttp("-nv", self.server.url("/preload"))
        paths = re.findall(r"recv \(stream_id=\d+\) :path: (/pushed/\w+)", out)
        # </pushed/a>; rel=preload and </pushed/c>; rel="preload" are pushed; nopush and the
        # other origin are not.
        self.assertEqual(sorted(paths), ["/pushed/a", "/pushed/c"], out)

    def test_static_file_preload_option(self):
        c = self.client()
        sid = c.request("/")
        c.pump(lambda: c.ended(sid) and len(c.promises) == 1
               and all(c.ended(p) for p in c.promises))
        self.assertEqual(c.responses[sid]["headers"]["link"], "</s.css>; rel=preload")
        (pid, (parent, req)), = c.promises.items()
        self.assertEqual((parent, req[":path"]), (sid, "/s.css"))
        self.assertEqual(bytes(c.responses[pid]["data"]), b"body { color: #222 }\n")
        self.assertTrue(c.responses[pid]["headers"]["content-type"].startswith("text/css"))


class TrailersAndResetTest(PushBase, unittest.TestCase):
    def test_http11_chunked_trailers(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=scaled(10)) as s:
            s.sendall(b"GET /trailers/5 HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n"
                      b"Connection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        self.assertIn(b"Transfer-Encoding: chunked", head)
        self.assertEqual(body, b"5\r\n01234\r\n0\r\nX-Checksum: %d\r\nX-Count: 5\r\n\r\n"
                         % pattern_sum(5))

    def test_h2_trailers_after_data(self):
        n = 100000
        c = self.client()
        sid = c.request("/trailers/%d" % n)
        c.pump(lambda: c.ended(sid))
        self.assertEqual(len(c.responses[sid]["data"]), n)
        self.assertEqual(c.trailers[sid], {"x-checksum": str(pattern_sum(n)),
                                           "x-count": str(n)})

    def test_curl_h2_shows_trailers(self):
        p = curl("--http2-prior-knowledge", "-s", "-o", "/dev/null", "-D", "-",
                 self.server.url("/trailers/10"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"x-checksum: %d" % pattern_sum(10), p.stdout)

    def test_handler_reset_cancels_only_its_stream(self):
        c = self.client()
        bad = c.request("/reset/1000")
        good = c.request("/trailers/10")
        c.pump(lambda: bad in c.resets and c.ended(good))
        self.assertEqual(c.resets[bad], 8)  # CANCEL
        self.assertIsNone(c.goaway)

    def test_handler_exception_after_start_resets_the_stream(self):
        c = self.client()
        bad = c.request("/throw-late")
        c.pump(lambda: bad in c.resets)
        self.assertEqual(c.resets[bad], 2)  # INTERNAL_ERROR
        ok = c.request("/trailers/1")
        c.pump(lambda: c.ended(ok))
        self.assertIsNone(c.goaway)

    def test_http11_reset_closes_the_connection(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=scaled(10)) as s:
            s.sendall(b"GET /reset/10 HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                pass
        # The chunked body never gets its last chunk: the client can tell it is incomplete.
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:80])
        self.assertNotIn(b"\r\n0\r\n\r\n", data)


class StreamedRequestBodyTest(PushBase, unittest.TestCase):
    """route_options::stream_body: the handler sees the body as it arrives."""

    def test_full_duplex_over_http2(self):
        # Each piece is echoed before the client sends the next: only possible when the
        # handler runs before the request ends.
        c = self.client()
        sid = c.conn.get_next_available_stream_id()
        c.conn.send_headers(sid, [(":method", "POST"), (":path", "/duplex"), (":scheme", "http"),
                                  (":authority", "localhost")])
        c.responses[sid] = {"headers": None, "data": bytearray(), "ended": False}
        c.flush()
        sent = b""
        for i in range(5):
            piece = (b"piece %d " % i) * (i + 1)
            c.conn.send_data(sid, piece)
            c.flush()
            sent += piece
            c.pump(lambda: bytes(c.responses[sid]["data"]) == sent)
        big = bytes(range(256)) * 1024  # 256 KiB: more than the initial windows
        for i in range(0, len(big), 16384):
            c.pump(lambda: c.conn.local_flow_control_window(sid) >= 16384)
            c.conn.send_data(sid, big[i:i + 16384])
            c.flush()
        c.conn.end_stream(sid)
        c.flush()
        c.pump(lambda: c.ended(sid))
        self.assertEqual(bytes(c.responses[sid]["data"]), sent + big)
        self.assertEqual(c.trailers[sid], {"x-pieces": "21", "x-bytes": str(len(sent + big))})

    def test_http11_gets_the_whole_body_once(self):
        body = b"z" * 100000
        p = curl("--http1.1", "--raw", "--data-binary", "@-", self.server.url("/duplex"),
                 input=body)
        self.assertEqual(p.returncode, 0, p.stderr)
        # Chunked: the echo of one piece, then the trailers counting one piece.
        self.assertIn(b"\r\n0\r\nx-pieces: 1\r\nx-bytes: 100000\r\n\r\n", p.stdout)

    def test_curl_http2_upload_streamed(self):
        body = os.urandom(3 * 1024 * 1024)  # above max_body_size: no limit on streamed routes
        p = curl("--http2-prior-knowledge", "-s", "--data-binary", "@-",
                 self.server.url("/duplex"), input=body)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, body)


if __name__ == "__main__":
    unittest.main()
