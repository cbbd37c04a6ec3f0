"""--access-log PATH writes one combined-format line per request."""

import re
import tempfile
import unittest
from pathlib import Path

from harness import Server, curl, request

# host ident user [time] "request line" status bytes "referer" "user-agent"
COMBINED = re.compile(
    r'^(?P<host>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} '
    r'[+-]\d{4})\] "(?:-|(?P<method>\S+) (?P<path>\S+) (?P<proto>HTTP/\d\.\d))" (?P<status>\d{3}) '
    r'(?P<bytes>\d+|-) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)"$')


class AccessLogTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.log = Path(self.tmp.name) / "access.log"

    def lines(self):
        return self.log.read_text("utf-8").splitlines() if self.log.exists() else []

    def server(self):
        s = Server(["--threads", "1", "--access-log", str(self.log)], metrics=False).start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.stop)
        return s

    def run_requests(self, s):
        """Sends a mix of requests; returns what each log line should say."""
        p = curl("-A", "interop-agent/1.0", "-e", "http://ref.example/page",
                 s.url("/hello.txt"), s.url("/missing.txt"), s.url("/docs"),
                 s.url("/hello.txt?x=1"))
        self.assertEqual(p.returncode, 0, p.stderr)
        p = curl("-A", "poster/2", "--data-binary", "abcdef", s.url("/echo"))
        self.assertEqual(p.stdout, b"abcdef")
        p = curl("-A", "header-only", "-I", s.url("/hello.txt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        with s.conn() as c:  # HTTP/1.0 without User-Agent
            c.send(b"GET /hello.txt HTTP/1.0\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
        ref, agent = "http://ref.example/page", "interop-agent/1.0"
        expected = [
            ("GET", "/hello.txt", "HTTP/1.1", 200, 13, ref, agent),
            ("GET", "/missing.txt", "HTTP/1.1", 404, None, ref, agent),
            ("GET", "/docs", "HTTP/1.1", 301, None, ref, agent),
            ("GET", "/hello.txt?x=1", "HTTP/1.1", 200, 13, ref, agent),
            ("POST", "/echo", "HTTP/1.1", 200, 6, "-", "poster/2"),
            ("HEAD", "/hello.txt", "HTTP/1.1", 200, 0, "-", "header-only"),
            ("GET", "/hello.txt", "HTTP/1.0", 200, 13, "-", "-"),
        ]
        # The log may be written asynchronously; stopping the server flushes it.
        self.assertEqual(s.stop(), 0)
        lines = self.lines()
        self.assertEqual(len(lines), len(expected), "\n".join(lines))
        return list(zip(lines, expected))

    def test_one_combined_line_per_request(self):
        s = self.server()
        for line, (method, path, proto, status, _, referer, agent) in self.run_requests(s):
            with self.subTest(line):
                m = COMBINED.match(line)
                self.assertIsNotNone(m, "not combined log format: %r" % line)
                self.assertEqual(m.group("host"), "127.0.0.1")
                self.assertEqual(m.group("method"), method)
                self.assertEqual(m.group("path"), path)
                self.assertEqual(m.group("proto"), proto)
                self.assertEqual(int(m.group("status")), status)
                self.assertEqual(m.group("referer"), referer)
                self.assertEqual(m.group("agent"), agent)

    def test_bytes_field_is_the_response_body_size(self):
        # Combined format's %b (Apache) / $body_bytes_sent (nginx): body bytes, headers excluded,
        # which is what log analysers (GoAccess, AWStats) sum up as traffic per page.
        s = self.server()
        for line, (method, path, _, _, size, _, _) in self.run_requests(s):
            if size is None:
                continue
            with self.subTest(line):
                m = COMBINED.match(line)
                self.assertIsNotNone(m, "not combined log format: %r" % line)
                self.assertIn(m.group("bytes"), (str(size), "-") if size == 0 else (str(size),))

    def test_quotes_in_fields_are_escaped(self):
        s = self.server()
        with s.conn() as c:
            c.send(request("GET", '/hello.txt?q="x"', headers={"User-Agent": 'evil" "agent'}))
            self.assertEqual(c.read_response().status, 200)
        self.assertEqual(s.stop(), 0)
        lines = self.lines()
        self.assertEqual(len(lines), 1, lines)
        m = COMBINED.match(lines[0])
        self.assertIsNotNone(m, "an unescaped quote breaks the format: %r" % lines[0])
        self.assertNotIn('"', m.group("agent"))
        self.assertTrue(m.group("agent").startswith("evil"))

    def test_refused_request_is_logged_with_the_client_address(self):
        # fail2ban and friends ban by the first field of 4xx lines.
        s = self.server()
        with s.conn() as c:
            c.send(b"GET /hello.txt HTTP/1.1\r\n\r\n")  # no Host: 400
            self.assertEqual(c.read_response().status, 400)
        self.assertEqual(s.stop(), 0)
        lines = self.lines()
        self.assertEqual(len(lines), 1, lines)
        m = COMBINED.match(lines[0])
        self.assertIsNotNone(m, "not combined log format: %r" % lines[0])
        self.assertEqual(m.group("status"), "400")
        self.assertEqual(m.group("host"), "127.0.0.1", lines[0])

    def test_no_access_log_without_the_option(self):
        s = Server(["--threads", "1"], metrics=False).start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.stop)
        p = curl(s.url("/hello.txt"))
        self.assertEqual(p.stdout, b"Hello, World!")
        self.assertEqual(s.stop(), 0)
        self.assertNotIn("/hello.txt", s.stderr_text())
        self.assertFalse(self.log.exists())


if __name__ == "__main__":
    unittest.main()
