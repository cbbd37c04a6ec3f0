"""Malformed and hostile requests over raw sockets: precise status, Connection: close, then EOF."""

import unittest

from harness import Server, chunked, request

MAX_BODY = 10000


def head(lines, body=b""):
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# (name, request bytes, expected status)
CASES = [
    ("CL+TE", head(["POST /echo HTTP/1.1", "Host: x", "Content-Length: 5",
                    "Transfer-Encoding: chunked"], b"0\r\n\r\n"), 400),
    ("TE+CL", head(["POST /echo HTTP/1.1", "Host: x", "Transfer-Encoding: chunked",
                    "Content-Length: 5"], b"0\r\n\r\n"), 400),
    ("duplicate Content-Length", head(["POST /echo HTTP/1.1", "Host: x", "Content-Length: 5",
                                       "Content-Length: 6"], b"hello!"), 400),
    ("obs-fold", head(["GET /hello.txt HTTP/1.1", "Host: x", "X-A: a", "  folded"]), 400),
    ("bare CR in a field value", head(["GET /hello.txt HTTP/1.1", "Host: x", "X-A: a\rb"]), 400),
    ("missing Host in HTTP/1.1", head(["GET /hello.txt HTTP/1.1"]), 400),
    ("invalid token char in header name", head(["GET /hello.txt HTTP/1.1", "Host: x",
                                                "X@A: b"]), 400),
    ("space before colon", head(["GET /hello.txt HTTP/1.1", "Host: x", "X-A : b"]), 400),
    ("request line over 8 KiB", head(["GET /" + "a" * 9000 + " HTTP/1.1", "Host: x"]), 414),
    ("head over 64 KiB", head(["GET /hello.txt HTTP/1.1", "Host: x"]
                              + ["X-H%d: %s" % (i, "v" * 1000) for i in range(70)]), 431),
    ("101 header fields", head(["GET /hello.txt HTTP/1.1", "Host: x"]
                               + ["X-H%d: v" % i for i in range(100)]), 431),
    ("Content-Length body over --max-body-size",
     head(["POST /echo HTTP/1.1", "Host: x", "Content-Length: %d" % (2 * MAX_BODY)],
          b"a" * (2 * MAX_BODY)), 413),
    ("chunked body over --max-body-size",
     head(["POST /echo HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"],
          chunked(b"a" * (2 * MAX_BODY), 1000)), 413),
    ("Transfer-Encoding: gzip, chunked", head(["POST /echo HTTP/1.1", "Host: x",
                                               "Transfer-Encoding: gzip, chunked"],
                                              b"0\r\n\r\n"), 501),
    ("HTTP/2.0 request line", head(["GET / HTTP/2.0", "Host: x"]), 505),
    ("Expect: something-else", head(["POST /echo HTTP/1.1", "Host: x",
                                     "Expect: something-else", "Content-Length: 3"],
                                    b"abc"), 417),
]


class ErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(["--threads", "1", "--max-body-size", str(MAX_BODY)]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()

    def assert_served_normally(self):
        with self.server.conn() as c:
            c.send(request("GET", "/hello.txt"))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, b"Hello, World!")

    def test_malformed_requests_get_precise_status_and_close(self):
        before = self.server.metrics()["portico_protocol_errors_total"]
        for name, data, status in CASES:
            with self.subTest(name):
                with self.server.conn() as c:
                    c.send(data)
                    r = c.read_response(timeout=10)
                    self.assertEqual(r.status, status, r)
                    self.assertIn("close", r.connection_tokens(), r)
                    rest, how = c.read_until_close(timeout=10)
                    self.assertEqual(rest, b"", "bytes after the error response")
                    self.assertEqual(how, "eof", "connection should end with FIN, not RST")
        # The same server keeps serving normal requests.
        self.assert_served_normally()
        after = self.server.metrics()["portico_protocol_errors_total"]
        self.assertEqual(after - before, len(CASES))
        self.assertTrue(self.server.alive())

    def test_unknown_method_on_static_path_is_405_with_allow(self):
        with self.server.conn() as c:
            c.send(request("BREW", "/hello.txt"))
            r = c.read_response()
            self.assertEqual(r.status, 405, r)
            allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
            self.assertLessEqual({"GET", "HEAD"}, allow, r)
            # 405 is not a protocol error: a body sent with it is consumed, never parsed as the
            # next request, and the connection stays usable.
            c.send(request("POST", "/hello.txt", body=b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"))
            r = c.read_response()
            self.assertEqual(r.status, 405, r)
            c.send(request("GET", "/hello.txt"))
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, b"Hello, World!")

    def test_smuggled_request_after_cl_te_is_never_answered(self):
        data = head(["POST /echo HTTP/1.1", "Host: x", "Content-Length: 5",
                     "Transfer-Encoding: chunked"], b"0\r\n\r\n")
        data += request("GET", "/hello.txt")
        with self.server.conn() as c:
            c.send(data)
            r = c.read_response()
            self.assertEqual(r.status, 400, r)
            rest, how = c.read_until_close(timeout=10)
            self.assertEqual(rest, b"", "the smuggled request was answered")
            self.assertNotIn(b"Hello, World!", r.body)
        self.assert_served_normally()


if __name__ == "__main__":
    unittest.main()
