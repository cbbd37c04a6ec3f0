"""`portico tcpstat` inside two network namespaces of this test joined by a veth pair.

Scenarios: (a) a full accept queue with ListenOverflows rising, (b) SYN-ACKs dropped by
nftables in the client namespace leaving SYN-RECV sockets on the server, (c) a peer that never
closes after the server's FIN (FIN-WAIT-2 on the server, CLOSE-WAIT on the client), where the
/proc fallback is also compared with netlink. The 10.77.0.0/24 addresses exist only inside
the namespaces, which are deleted in tearDown.
"""

import itertools
import json
import os
import select
import shutil
import subprocess
import sys
import time
import unittest

from harness import portico_bin, scaled

IP = shutil.which("ip") or "/usr/sbin/ip"
NFT = shutil.which("nft") or "/usr/sbin/nft"
SERVER_IP, CLIENT_IP = "10.77.0.1", "10.77.0.2"
_counter = itertools.count()


def _netns_permitted():
    name = "portico-probe-%d" % os.getpid()
    try:
        p = subprocess.run([IP, "netns", "add", name], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, "ip netns add failed: %s" % e
    if p.returncode != 0:
        return False, "ip netns add is not permitted here: %s" % p.stdout.decode().strip()
    subprocess.run([IP, "netns", "del", name], timeout=20)
    return True, ""


NETNS_OK, NETNS_WHY = _netns_permitted()

# A listener in the server namespace: argv = port backlog mode count hold_seconds.
# mode "never": never accepts. mode "fin": accepts `count` connections and shuts each down for
# writing (FIN) while keeping it open. Prints "ready" once listening; exits after hold_seconds.
SERVER = r"""
import socket, sys, time
port, backlog, mode, count, hold = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", port)); l.listen(backlog)
print("ready", flush=True)
deadline = time.monotonic() + hold
kept = []
if mode == "fin":
    l.settimeout(0.2)
    while len(kept) < count and time.monotonic() < deadline:
        try:
            a, _ = l.accept()
        except socket.timeout:
            continue
        a.shutdown(socket.SHUT_WR)
        kept.append(a)
    print("accepted %d" % len(kept), flush=True)
time.sleep(max(0.0, deadline - time.monotonic()))
"""

# Clients in the client namespace: argv = host port count spacing_seconds hold_seconds.
# Non-blocking connects, `spacing` apart; each sends one byte once connected (so a connection
# the server dropped keeps retransmitting). Never closes anything; exits after hold_seconds.
CLIENTS = r"""
import socket, sys, time
host, port, count, spacing, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
socks, sent = [], set()
deadline = time.monotonic() + hold
for i in range(count):
    s = socket.socket(); s.setblocking(False)
    s.connect_ex((host, port)); socks.append(s)
    time.sleep(spacing)
    for j, t in enumerate(socks):
        if j in sent: continue
        try:
            t.send(b"x"); sent.add(j)
        except OSError:
            pass
print("started", flush=True)
time.sleep(max(0.0, deadline - time.monotonic()))
"""


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
class TcpstatNetnsTest(unittest.TestCase):
    def setUp(self):
        n = next(_counter)
        tag = "%d-%d" % (os.getpid(), n)
        self.ns_s = "portico-srv-" + tag
        self.ns_c = "portico-cli-" + tag
        short = "%d%d" % (os.getpid() % 1000000, n)
        veth_s, veth_c = "pvs" + short, "pvc" + short
        self.procs = []
        self.created = []
        for ns in (self.ns_s, self.ns_c):
            self.ip("netns", "add", ns)
            self.created.append(ns)
        self.ip("link", "add", veth_s, "type", "veth", "peer", "name", veth_c)
        self.ip("link", "set", veth_s, "netns", self.ns_s)
        self.ip("link", "set", veth_c, "netns", self.ns_c)
        for ns, dev, addr in ((self.ns_s, veth_s, SERVER_IP), (self.ns_c, veth_c, CLIENT_IP)):
            self.ip("-n", ns, "addr", "add", addr + "/24", "dev", dev)
            self.ip("-n", ns, "link", "set", dev, "up")
            self.ip("-n", ns, "link", "set", "lo", "up")

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            if p.stdout:
                p.stdout.close()
        for ns in self.created:
            subprocess.run([IP, "netns", "del", ns], timeout=30)

    # -- helpers ---------------------------------------------------------------------------

    def ip(self, *args):
        p = subprocess.run([IP] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
        if p.returncode != 0:
            raise AssertionError("ip %s: %s" % (" ".join(args), p.stdout.decode()))

    def spawn(self, ns, script, *args, wait_line):
        p = subprocess.Popen([IP, "netns", "exec", ns, sys.executable, "-c", script]
                             + [str(a) for a in args],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.append(p)
        deadline = time.monotonic() + scaled(20)
        while time.monotonic() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 0.2)
            if r:
                line = p.stdout.readline()
                if line.startswith(wait_line):
                    return p
                if not line:
                    break
        raise AssertionError("helper in %s did not print %r" % (ns, wait_line))

    def tcpstat(self, ns, *args, timeout=60):
        p = subprocess.run([IP, "netns", "exec", ns, portico_bin(), "tcpstat"]
                           + [str(a) for a in args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=scaled(timeout))
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def samples(self, ns, *args):
        out = self.tcpstat(ns, "--json", *args)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def poll(self, ns, predicate, what, timeout=20, *args):
        """Runs tcpstat --json until predicate(sample) holds (bounded); returns that sample."""
        deadline = time.monotonic() + scaled(timeout)
        last = None
        while time.monotonic() < deadline:
            last = self.samples(ns, *args)[0]
            if predicate(last):
                return last
            time.sleep(0.2)
        raise AssertionError("timed out waiting for %s; last sample: %s" % (what, last))

    @staticmethod
    def port(sample, port):
        for p in sample["ports"]:
            if p["port"] == port:
                return p
        return None

    @staticmethod
    def ids(sample):
        return [f["id"] for f in sample["findings"]]

    # -- scenarios -------------------------------------------------------------------------

    def test_a_full_accept_queue_and_listen_overflows(self):
        self.spawn(self.ns_s, SERVER, 8080, 4, "never", 0, 90, wait_line="ready")
        self.spawn(self.ns_c, CLIENTS, SERVER_IP, 8080, 50, 0.05, 90, wait_line="started")

        def queue_full(s):
            return any(l["port"] == 8080 and l["backlog"] == 4 and l["accept_queue"] >= 4
                       for l in s["listeners"])
        self.poll(self.ns_s, queue_full, "a full accept queue", 20, "--port", "8080")

        watch = self.samples(self.ns_s, "--port", "8080", "--watch", "1", "--count", "4")
        self.assertEqual(len(watch), 4)
        self.assertEqual([s["sample"] for s in watch], [1, 2, 3, 4])
        self.assertIsNone(watch[0]["counters"]["TcpExt.ListenOverflows"]["delta"])
        self.assertTrue(any(queue_full(s) for s in watch))
        overflows = [s["counters"]["TcpExt.ListenOverflows"] for s in watch]
        self.assertGreater(overflows[-1]["total"], 0)
        self.assertGreater(sum(c["delta"] for c in overflows[1:]), 0,
                           "ListenOverflows did not rise: %s" % overflows)
        self.assertTrue(any("accept_queue_full" in self.ids(s) for s in watch), watch[-1])
        self.assertTrue(any("listen_overflows" in self.ids(s) for s in watch), watch[-1])
        listener = [l for l in watch[-1]["listeners"] if l["port"] == 8080][0]
        self.assertEqual(listener["processes"][0]["program"], "python3")

        text = self.tcpstat(self.ns_s, "--port", "8080")
        self.assertIn("FULL", text)
        self.assertIn("accept queue full", text)
        self.assertIn("net.core.somaxconn", text)

    def test_b_syn_ack_dropped_leaves_syn_recv(self):
        if not os.path.exists(NFT):
            self.fail("nft not found: scripts/setup.sh installs the nftables package")
        rules = ("add table inet portico_test\n"
                 "add chain inet portico_test in { type filter hook input priority 0; }\n"
                 "add rule inet portico_test in tcp sport 8081 "
                 "tcp flags & (syn | ack) == syn | ack drop\n")
        p = subprocess.run([IP, "netns", "exec", self.ns_c, NFT, "-f", "-"], input=rules,
                           text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.spawn(self.ns_s, SERVER, 8081, 16, "never", 0, 90, wait_line="ready")
        self.spawn(self.ns_c, CLIENTS, SERVER_IP, 8081, 40, 0.01, 90, wait_line="started")

        s = self.poll(self.ns_s,
                      lambda s: (self.port(s, 8081) or {"states": {"SYN-RECV": 0}})
                      ["states"]["SYN-RECV"] >= 8,
                      "SYN-RECV sockets on the server", 20, "--port", "8081")
        self.assertEqual(self.port(s, 8081)["states"]["ESTABLISHED"], 0)
        self.assertIn("syn_recv_high", self.ids(s))
        f = [f for f in s["findings"] if f["id"] == "syn_recv_high"][0]
        self.assertEqual(f["port"], 8081)
        self.assertIn("tcp_syncookies = 1", f["reason"])
        self.assertEqual(s["sysctl"]["net.ipv4.tcp_syncookies"], 1)
        # The queue overflowed (40 SYNs, backlog 16): the kernel answered with SYN cookies.
        self.assertGreater(s["counters"]["TcpExt.SyncookiesSent"]["total"], 0)

        text = self.tcpstat(self.ns_s, "--port", "8081")
        self.assertIn("SYN-RECV", text)
        self.assertIn("SYN flood", text)
        self.assertIn("net.ipv4.tcp_syncookies=1", text)
        # The clients never saw a SYN-ACK: they are still in SYN-SENT.
        c = self.samples(self.ns_c)[0]
        self.assertGreaterEqual(c["totals"]["SYN-SENT"], 8)

    def test_c_peer_never_closes_fin_wait2_and_close_wait(self):
        n = 12
        server = self.spawn(self.ns_s, SERVER, 8082, 64, "fin", n, 90, wait_line="ready")
        self.spawn(self.ns_c, CLIENTS, SERVER_IP, 8082, n, 0.01, 90, wait_line="started")
        r, _, _ = select.select([server.stdout], [], [], scaled(20))
        self.assertTrue(r, "server did not accept")
        self.assertEqual(server.stdout.readline().strip(), "accepted %d" % n)

        s = self.poll(self.ns_s, lambda s: s["totals"]["FIN-WAIT-2"] == n,
                      "FIN-WAIT-2 on the server", 20)
        self.assertEqual(self.port(s, 8082)["states"]["FIN-WAIT-2"], n)
        c = self.poll(self.ns_c, lambda s: s["totals"]["CLOSE-WAIT"] == n,
                      "CLOSE-WAIT on the client", 20)
        self.assertEqual(c["client_side"]["states"]["CLOSE-WAIT"], n)
        self.assertEqual(c["client_side"]["close_wait_processes"][0]["program"], "python3")
        cw = [f for f in c["findings"] if f["id"] == "close_wait"]
        self.assertEqual(len(cw), 1, c["findings"])
        self.assertIsNone(cw[0]["port"])
        self.assertIn("%d sockets in CLOSE-WAIT" % n, cw[0]["summary"])
        self.assertIn("(python3)", cw[0]["summary"])
        text = self.tcpstat(self.ns_c)
        self.assertIn("CLOSE-WAIT", text)
        self.assertIn("never called close()", text)
        text = self.tcpstat(self.ns_s, "--port", "8082")
        self.assertIn("8082 (listen)", text)

        # The /proc fallback sees the same sockets in the same states as netlink.
        for ns in (self.ns_s, self.ns_c):
            self._compare_sources(ns)

    def _compare_sources(self, ns):
        a = self.samples(ns)[0]
        b = self.samples(ns, "--proc")[0]
        self.assertEqual(a["source"], "netlink")
        self.assertEqual(b["source"], "proc")
        self.assertEqual(a["totals"], b["totals"])
        self.assertEqual({p["port"]: p["states"] for p in a["ports"]},
                         {p["port"]: p["states"] for p in b["ports"]})
        return a, b


if __name__ == "__main__":
    unittest.main()
