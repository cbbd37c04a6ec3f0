"""HTTP keep-alive, HTTP/1.0, chunked uploads and 100-continue, with curl and raw sockets."""

import os
import tempfile
import time
import unittest

from harness import Server, curl, request, scaled

HELLO = b"Hello, World!"


def accepted(server):
    """Connections accepted so far, not counting the connection that fetches the metrics."""
    return server.metrics()["portico_connections_accepted_total"] - 1


class KeepAliveTest(unittest.TestCase):
    def server(self, *args):
        s = Server(["--threads", "1"] + list(args)).start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.stop)
        return s

    def test_curl_reuses_one_connection_for_20_requests(self):
        s = self.server()
        n = 20
        p = curl("-v", *[s.url("/hello.txt")] * n)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, HELLO * n)
        self.assertEqual(p.stderr.count("Re-using existing connection"), n - 1, p.stderr)
        self.assertEqual(accepted(s), 1)
        self.assertEqual(s.metrics()["portico_requests_total"], n + 2)  # + 2 metrics fetches

    def test_connection_close_is_honoured(self):
        s = self.server()
        p = curl("-v", "-H", "Connection: close", s.url("/hello.txt"), s.url("/hello.txt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, HELLO * 2)
        self.assertRegex(p.stderr, r"(?i)< Connection: close")
        self.assertNotIn("Re-using existing connection", p.stderr)
        self.assertEqual(accepted(s), 2)
        with s.conn() as c:
            c.send(request("GET", "/hello.txt", headers={"Connection": "close"}))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertIn("close", r.connection_tokens())
            self.assertEqual(c.read_until_close(timeout=5), (b"", "eof"))

    def test_http10_without_keepalive_is_closed(self):
        s = self.server()
        with s.conn() as c:
            c.send(b"GET /hello.txt HTTP/1.0\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, HELLO)
            self.assertNotIn("keep-alive", r.connection_tokens())
            self.assertEqual(c.read_until_close(timeout=5), (b"", "eof"))
        p = curl("-v", "--http1.0", s.url("/hello.txt"), s.url("/hello.txt"))
        self.assertEqual(p.stdout, HELLO * 2)
        self.assertNotIn("Re-using existing connection", p.stderr)

    def test_http10_with_keepalive_is_reused(self):
        s = self.server()
        p = curl("-v", "--http1.0", "-H", "Connection: keep-alive",
                 s.url("/hello.txt"), s.url("/hello.txt"), s.url("/hello.txt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, HELLO * 3)
        self.assertEqual(p.stderr.count("< Connection: keep-alive"), 3, p.stderr)
        self.assertEqual(p.stderr.count("Re-using existing connection"), 2, p.stderr)
        self.assertEqual(accepted(s), 1)
        with s.conn() as c:
            for _ in range(3):
                c.send(b"GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                r = c.read_response()
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, HELLO)
                self.assertIn("keep-alive", r.connection_tokens())

    def test_chunked_upload_is_echoed_identically(self):
        s = self.server()
        data = os.urandom(300 * 1024)
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            p = curl("-v", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + f.name,
                     s.url("/echo"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stderr, r"(?i)> Transfer-Encoding: chunked")
        self.assertRegex(p.stderr, r"(?i)< X-Body-Length: %d\b" % len(data))
        self.assertEqual(len(p.stdout), len(data))
        self.assertTrue(p.stdout == data, "echoed body differs")

    def test_expect_100_continue_with_curl(self):
        s = self.server()
        data = os.urandom(4096)
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            p = curl("-v", "-H", "Expect: 100-continue", "--data-binary", "@" + f.name,
                     s.url("/echo"))
        self.assertEqual(p.returncode, 0, p.stderr)
        i100 = p.stderr.find("< HTTP/1.1 100 Continue")
        i200 = p.stderr.find("< HTTP/1.1 200")
        self.assertGreaterEqual(i100, 0, p.stderr)
        self.assertGreater(i200, i100, p.stderr)
        self.assertTrue(p.stdout == data, "echoed body differs")

    def test_expect_100_continue_raw(self):
        s = self.server()
        body = os.urandom(2000)
        with s.conn() as c:
            c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(body))
            # The interim response arrives before any body byte is sent.
            interim = c.read_head(timeout=5)
            self.assertEqual(interim.status, 100)
            self.assertEqual(interim.raw_head, b"HTTP/1.1 100 Continue\r\n\r\n")
            c.send(body)
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertTrue(r.body == body, "echoed body differs")
            # and the connection is still usable
            c.send(request("GET", "/hello.txt"))
            self.assertEqual(c.read_response().body, HELLO)

    def test_expect_100_continue_with_too_large_body_is_refused_without_100(self):
        s = self.server("--max-body-size", "1000")
        with s.conn() as c:
            c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                   b"Content-Length: 5000\r\n\r\n")
            r = c.read_response(skip_1xx=False, timeout=5)
            self.assertEqual(r.status, 413, r)

    def test_max_requests_per_connection(self):
        s = self.server("--max-requests-per-connection", "3")
        with s.conn() as c:
            for i in range(3):
                c.send(request("GET", "/hello.txt"))
                r = c.read_response()
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, HELLO)
                if i < 2:
                    self.assertNotIn("close", r.connection_tokens(), "response %d" % (i + 1))
                else:
                    self.assertIn("close", r.connection_tokens(), "third response")
            self.assertEqual(c.read_until_close(timeout=5), (b"", "eof"))
        p = curl("-v", *[s.url("/hello.txt")] * 6)
        self.assertEqual(p.stdout, HELLO * 6)
        self.assertEqual(p.stderr.count("Re-using existing connection"), 4, p.stderr)

    def test_no_keepalive_closes_after_every_response(self):
        s = self.server("--no-keepalive")
        p = curl("-v", *[s.url("/hello.txt")] * 3)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, HELLO * 3)
        self.assertEqual(p.stderr.count("< Connection: close"), 3, p.stderr)
        self.assertNotIn("Re-using existing connection", p.stderr)
        self.assertEqual(accepted(s), 3)
        with s.conn() as c:
            c.send(request("GET", "/hello.txt") + request("GET", "/hello.txt"))
            r = c.read_response()
            self.assertIn("close", r.connection_tokens())
            self.assertEqual(c.read_until_close(timeout=5), (b"", "eof"))

    def test_idle_keepalive_timeout(self):
        s = self.server("--keepalive-timeout", "1")
        with s.conn() as c:
            c.send(request("GET", "/hello.txt"))
            self.assertEqual(c.read_response().body, HELLO)
            t0 = time.monotonic()
            rest, how = c.read_until_close(timeout=3)
            elapsed = time.monotonic() - t0
        self.assertEqual(rest, b"")
        self.assertEqual(how, "eof")
        self.assertGreater(elapsed, 0.5, "closed before the keep-alive timeout")
        self.assertLess(elapsed, scaled(3))
        self.assertEqual(s.metrics()['portico_timeouts_total{phase="idle"}'], 1)


if __name__ == "__main__":
    unittest.main()
