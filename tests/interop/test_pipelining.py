"""Pipelined requests in one write are answered in order (raw sockets)."""

import os
import re
import unittest

from harness import Server, chunked, request

HELLO = b"Hello, World!"
PATTERN = b"0123456789abcdef"


def pattern(n):
    return (PATTERN * (n // len(PATTERN) + 1))[:n]


def seq_of(body):
    """The X-Seq value that /headers echoed back, or None."""
    m = re.search(rb"(?im)^x-seq: (\d+)$", body)
    return int(m.group(1)) if m else None


class PipeliningTest(unittest.TestCase):
    def server(self, *args):
        s = Server(["--threads", "1"] + list(args)).start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.stop)
        return s

    def build_gets(self, n, slow_every):
        """n GET requests and, for each, a check of its response body."""
        reqs, checks = [], []
        for i in range(n):
            if i % slow_every == slow_every // 2:
                reqs.append(request("GET", "/slow/%d" % (50 - i % 40)))
                checks.append(("slow", lambda b: b == b"slow done\n"))
            elif i % 4 == 0:
                reqs.append(request("GET", "/hello.txt"))
                checks.append(("hello", lambda b: b == HELLO))
            elif i % 4 == 1:
                size = 1000 + i
                reqs.append(request("GET", "/big/%d" % size))
                checks.append(("big/%d" % size, lambda b, size=size: b == pattern(size)))
            else:
                reqs.append(request("GET", "/headers", headers={"X-Seq": str(i)}))
                checks.append(("headers %d" % i, lambda b, i=i: seq_of(b) == i))
        return reqs, checks

    def check_in_order(self, conn, checks):
        for i, (what, ok) in enumerate(checks):
            r = conn.read_response(timeout=15)
            self.assertEqual(r.status, 200, "response %d (%s): %r" % (i, what, r))
            self.assertTrue(ok(r.body), "response %d should be %s, got %r" % (i, what, r.body[:200]))

    def test_16_pipelined_gets_answered_in_order(self):
        s = self.server()
        reqs, checks = self.build_gets(16, slow_every=16)
        self.assertEqual(checks[8][0], "slow")
        with s.conn() as c:
            c.send(b"".join(reqs))
            self.check_in_order(c, checks)
            # The connection is still in a clean state.
            c.send(request("GET", "/hello.txt"))
            self.assertEqual(c.read_response().body, HELLO)

    def test_pipelined_gets_with_several_slow_responses(self):
        s = self.server()
        reqs, checks = self.build_gets(16, slow_every=5)
        reqs[-1] = request("GET", "/hello.txt", headers={"Connection": "close"})
        checks[-1] = ("hello (close)", lambda b: b == HELLO)
        with s.conn() as c:
            c.send(b"".join(reqs))
            self.check_in_order(c, checks)
            self.assertEqual(c.read_until_close(timeout=5), (b"", "eof"))

    def test_pipelined_posts_answered_in_order(self):
        s = self.server()
        bodies = [os.urandom(n) for n in (0, 1, 100, 5000, 70000, 3, 20000, 1)]
        reqs = []
        for i, b in enumerate(bodies):
            if i % 2:
                reqs.append(request("POST", "/echo", body=b))
            else:
                reqs.append(request("POST", "/echo", headers={"Transfer-Encoding": "chunked"})
                            + chunked(b, 777))
            if i == 3:
                reqs.append(request("GET", "/slow/30"))
        with s.conn() as c:
            c.send(b"".join(reqs))
            for i, b in enumerate(bodies):
                r = c.read_response(timeout=15)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header("X-Body-Length"), str(len(b)), "request %d" % i)
                self.assertTrue(r.body == b, "request %d: echoed body differs" % i)
                if i == 3:
                    self.assertEqual(c.read_response().body, b"slow done\n")

    def test_more_than_max_pipelined_in_one_write(self):
        s = self.server("--max-pipelined", "4")
        reqs, checks = self.build_gets(40, slow_every=7)
        with s.conn() as c:
            c.send(b"".join(reqs))
            self.check_in_order(c, checks)
        with s.conn() as c:
            c.send(b"".join(request("GET", "/headers", headers={"X-Seq": str(i)})
                            for i in range(40)))
            for i in range(40):
                r = c.read_response()
                self.assertEqual(seq_of(r.body), i)


if __name__ == "__main__":
    unittest.main()
