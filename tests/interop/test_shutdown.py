"""SIGTERM / SIGINT: graceful drain, exit status 0, the shutdown deadline."""

import signal
import time
import unittest

from harness import Server, request, scaled


class ShutdownTest(unittest.TestCase):
    def server(self, *args):
        s = Server(["--threads", "2"] + list(args)).start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.kill)
        return s

    def assert_not_served(self, s):
        """A new connection is refused, or closed without any response."""
        try:
            c = s.conn(timeout=3)
        except (ConnectionRefusedError, ConnectionResetError):
            return
        with c:
            try:
                c.send(request("GET", "/hello.txt"))
                data, _ = c.read_until_close(timeout=5)
            except (ConnectionResetError, BrokenPipeError):
                return
            self.assertEqual(data, b"", "a connection made after SIGTERM was served")

    def test_sigterm_lets_a_slow_response_finish(self):
        s = self.server()
        with s.conn(timeout=15) as c:
            c.send(request("GET", "/slow/2000"))
            time.sleep(0.3)
            s.signal(signal.SIGTERM)
            time.sleep(0.3)
            self.assert_not_served(s)
            r = c.read_response(timeout=15)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, b"slow done\n")
            self.assertIn("close", r.connection_tokens(), "the last response of a drain")
            self.assertEqual(c.read_until_close(timeout=5)[0], b"")
        self.assertEqual(s.wait(timeout=scaled(10)), 0, s.stderr_text())

    def test_sigterm_lets_a_slow_stream_finish(self):
        s = self.server()
        with s.conn(timeout=15) as c:
            c.send(request("GET", "/slowstream/2000"))
            first = c.read_head(timeout=5)  # the stream has started
            self.assertEqual(first.status, 200)
            s.signal(signal.SIGTERM)
            # read the rest of the chunked body by hand: 10 chunks "chunk i\n", then the end
            data, how = c.read_until_close(timeout=15)
            self.assertEqual(how, "eof")
            self.assertTrue(data.endswith(b"0\r\n\r\n"), data[-100:])
            for i in range(10):
                self.assertIn(b"chunk %d\n" % i, data)
        self.assertEqual(s.wait(timeout=scaled(10)), 0, s.stderr_text())

    def test_sigint_on_idle_server_exits_promptly(self):
        s = self.server()
        with s.conn() as c:
            c.send(request("GET", "/hello.txt", headers={"Connection": "close"}))
            self.assertEqual(c.read_response().status, 200)
        t0 = time.monotonic()
        s.signal(signal.SIGINT)
        self.assertEqual(s.wait(timeout=scaled(10)), 0, s.stderr_text())
        self.assertLess(time.monotonic() - t0, scaled(3))

    def test_idle_keepalive_connection_is_closed_at_sigterm(self):
        s = self.server("--keepalive-timeout", "60")
        with s.conn() as c:
            c.send(request("GET", "/hello.txt"))
            self.assertEqual(c.read_response().body, b"Hello, World!")
            t0 = time.monotonic()
            s.signal(signal.SIGTERM)
            data, how = c.read_until_close(timeout=5)
            self.assertEqual(data, b"")
            self.assertEqual(how, "eof")
            self.assertLess(time.monotonic() - t0, scaled(3))
        self.assertEqual(s.wait(timeout=scaled(5)), 0, s.stderr_text())
        self.assertLess(time.monotonic() - t0, scaled(3))

    def test_shutdown_timeout_cuts_slow_requests(self):
        s = self.server("--shutdown-timeout", "1")
        with s.conn(timeout=15) as c:
            c.send(request("GET", "/slow/10000"))
            time.sleep(0.3)
            t0 = time.monotonic()
            s.signal(signal.SIGTERM)
            self.assertEqual(s.wait(timeout=scaled(8)), 0, s.stderr_text())
            elapsed = time.monotonic() - t0
            self.assertGreater(elapsed, 0.7, "exited before the shutdown deadline")
            self.assertLess(elapsed, scaled(4))
            data, _ = c.read_until_close(timeout=5)  # cut: EOF or RST, never a hang
            self.assertNotIn(b"slow done", data)


if __name__ == "__main__":
    unittest.main()
