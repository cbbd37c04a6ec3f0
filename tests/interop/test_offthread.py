"""response::post() from another thread: a handler answers from a thread of its own (as a thread
pool doing blocking work would), over HTTP/1.1 and HTTP/2, also when the client has gone away
before the answer is ready (the handle is then released off the worker thread)."""

import concurrent.futures
import socket
import subprocess
import unittest

from harness import Server, request


def curl(args):
    return subprocess.run(["curl", "-s", "--max-time", "20"] + args, capture_output=True,
                          text=True, timeout=30)


class OffThreadResponseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(["--threads", "2"], kind="test").start()

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        # A clean drain: no sanitizer report, no crash from late posts or off-thread releases.
        assert code == 0, "server exit status %s:\n%s" % (code, cls.server.stderr_text())

    def test_http1_answer_made_on_another_thread(self):
        r = curl(["-i", self.server.url("/offthread/50")])
        self.assertIn("200", r.stdout.splitlines()[0])
        self.assertIn("made off the worker thread after 50 ms", r.stdout)

    def test_http2_many_streams_answered_from_other_threads(self):
        # nghttp: 24 concurrent streams on one connection, each answered from its own thread.
        urls = [self.server.url("/offthread/%d" % (10 + i)) for i in range(24)]
        r = subprocess.run(["nghttp", "-v", "-t", "20"] + urls, capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count(":status: 200"), 24, r.stdout[-2000:])
        for i in range(24):
            self.assertIn("made off the worker thread after %d ms" % (10 + i), r.stdout)

    def test_client_gone_before_the_answer(self):
        # 40 requests whose clients close before their answers are posted: the posted work runs
        # on the worker with aborted() true, the last handle goes away on the other thread.
        for _ in range(40):
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
            s.sendall(request("GET", "/offthread/200"))
            s.close()
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            results = list(ex.map(lambda i: curl([self.server.url("/offthread/%d" % i)]).stdout,
                                  range(300, 308)))
        for i, body in zip(range(300, 308), results):
            self.assertEqual(body, "made off the worker thread after %d ms\n" % i)
        self.assertTrue(self.server.alive())


if __name__ == "__main__":
    unittest.main()
