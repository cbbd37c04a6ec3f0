"""`portico portcheck` against real sockets of this test: free, held, and TIME-WAIT ports."""

import json
import os
import socket
import subprocess
import time
import unittest

from harness import portico_bin, scaled, wait_for


def run(*args, timeout=30):
    return subprocess.run([portico_bin(), "portcheck"] + [str(a) for a in args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=scaled(timeout))


def free_port():
    """A port that is free on 0.0.0.0 and :: right now (picked by the kernel)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("0.0.0.0", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s6.bind(("::", port))
        except OSError:
            continue
        return port
    raise AssertionError("no free port found")


def time_wait_on(port):
    """Whether /proc/net/tcp lists a TIME-WAIT socket (state 06) with local port `port`."""
    with open("/proc/net/tcp") as f:
        for row in f.read().splitlines()[1:]:
            cols = row.split()
            if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "06":
                return True
    return False


def make_time_wait(reuseaddr):
    """Leaves a TIME-WAIT socket on 127.0.0.1:PORT, the listening side; returns PORT."""
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if reuseaddr:
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", 0))
    l.listen(1)
    port = l.getsockname()[1]
    c = socket.create_connection(("127.0.0.1", port), timeout=scaled(5))
    a, _ = l.accept()
    l.close()
    a.close()  # the accepted side closes first: TIME-WAIT lands on it
    c.settimeout(scaled(5))
    assert c.recv(1) == b""  # its FIN arrived
    c.close()
    if not wait_for(lambda: time_wait_on(port), 5):
        raise AssertionError("no TIME-WAIT socket appeared on port %d" % port)
    return port


class PortcheckTest(unittest.TestCase):
    def test_free_port_exits_0(self):
        port = free_port()
        p = run(port)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("0.0.0.0:%d (IPv4): free" % port, p.stdout)
        self.assertIn("SO_REUSEADDR", p.stdout)
        j = json.loads(run(port, "--json").stdout)
        self.assertEqual(j["schema"], "portico.portcheck/1")
        self.assertEqual(j["exit_code"], 0)
        statuses = {r["family"]: r["status"] for r in j["results"]}
        self.assertEqual(statuses["ipv4"], "free")
        self.assertIn(statuses["ipv6"], ("free", "unsupported"))
        v4 = [r for r in j["results"] if r["family"] == "ipv4"][0]
        self.assertTrue(v4["free_without_reuseaddr"])
        self.assertEqual(v4["holders"], [])

    def test_port_held_by_this_test_exits_1_and_names_it(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as l:
            l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            l.bind(("0.0.0.0", 0))
            l.listen(8)
            port = l.getsockname()[1]
            p = run(port)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("TAKEN", p.stdout)
            self.assertIn("pid %d (python3)" % os.getpid(), p.stdout)
            self.assertIn("LISTEN", p.stdout)
            j = json.loads(run("127.0.0.1:%d" % port, "--json").stdout)
        self.assertEqual(j["exit_code"], 1)
        r = j["results"][0]
        self.assertEqual(r["status"], "taken")
        self.assertEqual(r["error"]["errno"], "EADDRINUSE")
        procs = [p for h in r["holders"] for p in h["processes"]]
        self.assertIn({"pid": os.getpid(), "program": "python3"}, procs)
        self.assertEqual(r["holders"][0]["state"], "LISTEN")
        self.assertEqual(r["holders"][0]["backlog"], 8)

    def test_time_wait_port_is_free_but_not_without_reuseaddr(self):
        # TIME-WAIT lands on the side that closes first: the accepted socket, whose local port
        # is the checked one, closes before the client.
        # The listener sets SO_REUSEADDR as servers do (on Linux a TIME-WAIT socket yields
        # its port only if its own socket had it too).
        port = make_time_wait(reuseaddr=True)

        p = run("127.0.0.1:%d" % port)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("TIME-WAIT", p.stdout)
        self.assertIn("without SO_REUSEADDR: bind would FAIL", p.stdout)
        j = json.loads(run("127.0.0.1:%d" % port, "--json").stdout)
        r = j["results"][0]
        self.assertEqual(r["status"], "free")
        self.assertGreaterEqual(r["time_wait"], 1)
        self.assertGreaterEqual(r["states"]["TIME-WAIT"], 1)
        self.assertIs(r["free_without_reuseaddr"], False)
        self.assertIs(r["restart_hits_time_wait"], True)

    def test_time_wait_of_a_server_without_reuseaddr_blocks_the_port(self):
        port = make_time_wait(reuseaddr=False)
        p = run("127.0.0.1:%d" % port)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("TIME-WAIT sockets of a server that did not set SO_REUSEADDR", p.stdout)
        r = json.loads(run("127.0.0.1:%d" % port, "--json").stdout)["results"][0]
        self.assertEqual(r["status"], "taken")
        self.assertGreaterEqual(r["time_wait"], 1)
        self.assertIs(r["restart_hits_time_wait"], True)

    def test_bad_arguments_exit_2(self):
        for args in ([], ["notaport"], ["0"], ["70000"], ["::1:80"], ["--bogus", "80"]):
            p = run(*args)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertIn("portico portcheck", p.stderr)
        p = run("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("Usage: portico portcheck", p.stdout)


if __name__ == "__main__":
    unittest.main()
