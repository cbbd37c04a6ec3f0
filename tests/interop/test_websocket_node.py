"""WebSocket interop with node's `ws` (npm package ws 8.x) against `portico serve --ws-echo`.

tests/interop/node/ws_client.js runs the client side (text and binary echo, a 1 MiB message, a
fragmented send, ping/pong, close with a code; then the same over permessage-deflate, which ws
offers by default, with compressible data) and prints its results as JSON; the assertions are
here. The npm package comes from tests/interop/node/package-lock.json: scripts/setup.sh runs
`npm ci` there. Every subprocess has a timeout.
"""

import json
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import Server, scaled

NODE_DIR = Path(__file__).resolve().parent / "node"
CLIENT = NODE_DIR / "ws_client.js"


def node_bin():
    return shutil.which("node") or "/usr/bin/node"


def missing_dependency():
    """A message saying what is missing, or None when node and ws are there."""
    if not Path(node_bin()).exists():
        return "node is not installed: run scripts/setup.sh (Debian package nodejs)"
    if not (NODE_DIR / "node_modules" / "ws" / "package.json").exists():
        return ("tests/interop/node/node_modules is missing (the npm package ws): run "
                "scripts/setup.sh, or `npm ci` in tests/interop/node")
    return None


def run_client(port):
    """Runs ws_client.js against ws://127.0.0.1:port/ws/echo; returns its JSON results."""
    budget_ms = int(scaled(30) * 1000)
    p = subprocess.run([node_bin(), str(CLIENT), "ws://127.0.0.1:%d/ws/echo" % port,
                        str(budget_ms)],
                       cwd=str(NODE_DIR), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=budget_ms / 1000 + scaled(15))
    if p.returncode != 0:
        raise AssertionError("ws_client.js exited with %d:\n%s" %
                             (p.returncode, p.stderr.decode("utf-8", "replace")))
    return json.loads(p.stdout.decode())


class NodeWsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.missing = missing_dependency()

    def setUp(self):
        if self.missing:
            self.fail(self.missing)

    def serve(self, *extra):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        srv = Server(["--threads", "1", "--ws-echo", "/ws/echo"] + list(extra), root=tmp.name,
                     kind="portico").start()

        def stop():
            try:
                srv.stop()
            finally:
                srv.kill()
                srv.cleanup()
        self.addCleanup(stop)
        return srv

    def assert_echo_checks(self, conn, label):
        for name in ("text", "binary", "big", "fragmented", "ping"):
            res = conn[name]
            self.assertTrue(res["ok"], "%s %s: %s" % (label, name, res.get("error")))
            self.assertTrue(res["equal"], "%s %s: echo differs: %r" % (label, name, res))
        self.assertFalse(conn["text"]["binary"], label + ": text came back as binary")
        self.assertTrue(conn["binary"]["binary"], label + ": binary came back as text")
        self.assertEqual(conn["big"]["length"], 1 << 20, label)
        self.assertEqual(conn["big"]["got_sha256"], conn["big"]["sent_sha256"], label)
        self.assertEqual(conn["fragmented"]["got"], "fragmented text \u2713", label)

    def test_echo_deflate_fragments_ping_close(self):
        srv = self.serve()
        out = run_client(srv.port)
        self.assertTrue(out["ws_version"].startswith("8."), out["ws_version"])

        plain = out["plain"]
        self.assertEqual(plain["extensions"], "", "deflate agreed although ws did not offer it")
        self.assert_echo_checks(plain, "plain")
        self.assertTrue(plain["close"]["ok"], plain["close"].get("error"))
        # RFC 6455 §5.5.1: the server's Close echoes the code it received.
        self.assertEqual(plain["close"]["code"], 4001)

        deflate = out["deflate"]
        self.assertIn("permessage-deflate", deflate["extensions"],
                      "ws offers permessage-deflate by default; the server did not agree")
        self.assert_echo_checks(deflate, "deflate")
        comp = deflate["compressible"]
        self.assertTrue(comp["ok"], comp.get("error"))
        self.assertTrue(comp["equal"], "compressible message differs after the echo")
        # About 1.1 MiB of repetitive text each way: compressed on the wire in both directions
        # (ws compresses what it sends; what it reads was compressed by Portico).
        self.assertLess(comp["wire_sent"], comp["length"] // 20, comp)
        self.assertLess(comp["wire_received"], comp["length"] // 20, comp)
        self.assertTrue(deflate["many"]["ok"], deflate["many"].get("error"))
        self.assertTrue(deflate["many"]["equal"], "context takeover across messages failed")
        self.assertTrue(deflate["close"]["ok"], deflate["close"].get("error"))
        self.assertEqual(deflate["close"]["code"], 1000)

        m = srv.metrics()
        self.assertGreaterEqual(m.get("portico_websocket_upgrades_total", 0), 2)

    def test_no_deflate_option(self):
        # --ws-no-deflate (as in bench/run.sh's WebSocket scenarios): ws's offer is declined
        # and everything still echoes uncompressed.
        srv = self.serve("--ws-no-deflate")
        out = run_client(srv.port)
        self.assertEqual(out["deflate"]["extensions"], "")
        self.assert_echo_checks(out["deflate"], "no-deflate")
        comp = out["deflate"]["compressible"]
        self.assertTrue(comp["equal"], comp)
        self.assertGreater(comp["wire_received"], comp["length"], comp)
        self.assertEqual(out["deflate"]["close"]["code"], 1000)


if __name__ == "__main__":
    unittest.main()
