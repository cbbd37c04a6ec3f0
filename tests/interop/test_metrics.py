"""--metrics PATH: after a known workload the Prometheus series show exactly that workload.

Every count is asserted exactly: N requests of known status classes, M connections reset by the
client (SO_LINGER 0), the bytes sent both ways, the connections by state, the latency
histogram. Only 127.0.0.1, every loop bounded.
"""

import os
import re
import signal
import socket
import struct
import time
import unittest

from harness import (Server, parse_metrics, request, scaled, server_socket_inode,
                     server_socket_queues, wait_for)

HELLO = b"Hello, World!"
HIST = "portico_request_duration_seconds"


def reset_close(sock):
    """Closes with SO_LINGER {1, 0}: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def histogram(m):
    """[(le, cumulative count)] in exposition order, +Inf last."""
    out = []
    for k, v in m.items():
        g = re.fullmatch(HIST + r'_bucket\{le="([^"]+)"\}', k)
        if g:
            out.append((float(g.group(1)), v))
    return out


def scrape(server):
    """GET /metrics on a new connection: returns (metrics, bytes of the request sent)."""
    data = request("GET", "/metrics", headers={"Connection": "close"})
    c = server.conn()
    try:
        c.send(data)
        r = c.read_response()
    finally:
        c.close()
    if r.status != 200:
        raise AssertionError("GET /metrics: %d" % r.status)
    return parse_metrics(r.body.decode()), len(data)


class MetricsWorkloadTest(unittest.TestCase):
    """One worker: what the scrape sees is exactly what happened before it."""

    def setUp(self):
        self.s = Server(["--threads", "1"]).start()
        self.addCleanup(self.s.cleanup)
        self.addCleanup(self.s.stop)
        self.sent = 0       # bytes the server will have read
        self.received = 0   # bytes of complete responses we read
        self.open = []

    def send(self, conn, data):
        conn.send(data)
        self.sent += len(data)

    def exchange(self, conn, data, method="GET"):
        self.send(conn, data)
        r = conn.read_response(method=method)
        self.received += len(r.raw_head) + len(r.body)
        return r

    def wait_read_by_server(self, conn):
        """Until the server has read everything sent on conn (its receive queue is empty)."""
        client_port = conn.sock.getsockname()[1]
        ok = wait_for(lambda: server_socket_queues(self.s.port, client_port) == (0, 0), 10)
        self.assertTrue(ok, "the server did not read what was sent on port %d" % client_port)
        return client_port

    def test_counts_after_a_known_workload(self):
        s = self.s
        statuses = {"1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0}
        n = 0
        # Two keep-alive connections, left open (idle) afterwards.
        a = s.conn()
        b = s.conn()
        self.open += [a, b]
        for path in ["/hello.txt"] * 6 + ["/missing.txt"] * 2:
            r = self.exchange(a, request("GET", path))
            statuses["%dxx" % (r.status // 100)] += 1
            n += 1
        for _ in range(3):
            r = self.exchange(b, request("GET", "/docs"))
            self.assertEqual(r.status, 301)
            statuses["3xx"] += 1
            n += 1
        r = self.exchange(b, request("POST", "/echo", body=b"abc"))
        self.assertEqual(r.body, b"abc")
        statuses["2xx"] += 1
        n += 1
        self.assertEqual(statuses, {"1xx": 0, "2xx": 7, "3xx": 3, "4xx": 2, "5xx": 0})

        # One connection stays in the middle of a request head: "reading".
        c = s.conn()
        self.open.append(c)
        self.send(c, b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n")
        self.wait_read_by_server(c)

        # M resets: three in the middle of a request head, two while a request is being handled
        # (those two requests are dispatched but never answered).
        reset_ports = []
        for _ in range(3):
            r_conn = s.conn()
            self.send(r_conn, b"GET /hello.txt HTTP/1.1\r\nHo")
            reset_ports.append(self.wait_read_by_server(r_conn))
            reset_close(r_conn.sock)
        for _ in range(2):
            r_conn = s.conn()
            self.send(r_conn, request("GET", "/slow/20000"))
            reset_ports.append(self.wait_read_by_server(r_conn))
            reset_close(r_conn.sock)
        m = len(reset_ports)
        self.assertTrue(wait_for(lambda: all(server_socket_inode(s.port, p) is None
                                             for p in reset_ports), 10),
                        "the server kept a reset connection open")

        metrics, scrape_bytes = scrape(s)
        self.sent += scrape_bytes

        def v(name):
            self.assertIn(name, metrics)
            return metrics[name]

        # The scrape itself is a request in flight: dispatched, not yet answered.
        self.assertEqual(v("portico_requests_total"), n + 2 + 1)
        for cls, count in statuses.items():
            self.assertEqual(v('portico_responses_total{class="%s"}' % cls), count, cls)
        self.assertEqual(v("portico_resets_received_total"), m)
        self.assertEqual(v("portico_resets_sent_total"), 0)
        self.assertEqual(v("portico_connections_accepted_total"), 2 + 1 + m + 1)
        self.assertEqual(v("portico_connections_refused_total"), 0)
        self.assertEqual(v("portico_bytes_received_total"), self.sent)
        self.assertEqual(v("portico_bytes_sent_total"), self.received)
        for phase in ("header", "body", "idle", "write"):
            self.assertEqual(v('portico_timeouts_total{phase="%s"}' % phase), 0)
        self.assertEqual(v("portico_protocol_errors_total"), 0)

        # Connections by state: a and b idle, c reading, the scrape writing.
        self.assertEqual(v("portico_connections_open"), 4)
        state = lambda st: v('portico_connections{protocol="http1",state="%s"}' % st)
        self.assertEqual(state("idle"), 2)
        self.assertEqual(state("reading"), 1)
        self.assertEqual(state("writing"), 1)
        self.assertEqual(state("closing"), 0)

        # The histogram holds the N answered requests, cumulative and consistent.
        buckets = histogram(metrics)
        self.assertEqual(len(buckets), 17)
        self.assertEqual(buckets[-1][0], float("inf"))
        for (le1, c1), (le2, c2) in zip(buckets, buckets[1:]):
            self.assertLess(le1, le2)
            self.assertLessEqual(c1, c2, "buckets not cumulative")
        self.assertEqual(buckets[-1][1], n)
        self.assertEqual(v(HIST + "_count"), n)
        self.assertGreater(v(HIST + "_sum"), 0)
        self.assertLess(v(HIST + "_sum"), n * 10.0)
        self.assertEqual(metrics[HIST + '_bucket{le="0.0001"}'], buckets[0][1])

    def tearDown(self):
        for c in self.open:
            c.close()


class MetricsAcrossWorkersTest(unittest.TestCase):
    """Two workers: the counters of both are summed (the kernel spreads the connections)."""

    def test_sum_over_workers(self):
        s = Server(["--threads", "2"]).start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.stop)
        n = 24
        for _ in range(n):
            with s.conn() as c:
                c.send(request("GET", "/hello.txt", headers={"Connection": "close"}))
                self.assertEqual(c.read_response().body, HELLO)
        scrapes = 0
        m = {}
        deadline = time.monotonic() + scaled(10)
        # Another worker's counters become visible to the scraping one a moment later at most.
        while time.monotonic() < deadline:
            m, _ = scrape(s)
            scrapes += 1
            if m[HIST + "_count"] == n + scrapes - 1:
                break
            time.sleep(0.05)
        self.assertEqual(m["portico_requests_total"], n + scrapes)
        self.assertEqual(m['portico_responses_total{class="2xx"}'], n + scrapes - 1)
        self.assertEqual(m[HIST + "_count"], n + scrapes - 1)
        self.assertEqual(m["portico_connections_accepted_total"], n + scrapes)
        # One listening socket per worker, each with its own figures.
        for w in ("0", "1"):
            key = 'portico_listen_queue_length{listener="127.0.0.1:%d",worker="%s"}' % (s.port, w)
            self.assertIn(key, m)
            self.assertEqual(m[key], 0)

    def test_tcp_states_of_the_servers_port(self):
        s = Server(["--threads", "2", "--keepalive-timeout", "120"]).start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.stop)
        conns = [s.conn() for _ in range(3)]
        self.addCleanup(lambda: [c.close() for c in conns])
        for c in conns:
            c.send(request("GET", "/hello.txt"))
            self.assertEqual(c.read_response().status, 200)
        # Sampled once a second off the workers: at least the three idle connections (the
        # scrapes' own connections come and go).
        ok = wait_for(lambda: scrape(s)[0].get('portico_tcp_sockets{state="ESTABLISHED"}', 0) >= 3,
                      10, interval=0.2)
        m, _ = scrape(s)
        self.assertTrue(ok, m)
        self.assertEqual(m['portico_tcp_sockets{state="LISTEN"}'], 2)
        self.assertIn('portico_tcp_sockets{state="TIME-WAIT"}', m)
        self.assertGreaterEqual(m["portico_netns_tcp_listen_overflows_total"], 0)
        self.assertGreaterEqual(m["portico_netns_tcp_listen_drops_total"], 0)


def netns_counter(name):
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split()[1:], values.split()[1:]))[name])
    raise AssertionError("no TcpExt.%s" % name)


def all_threads_stopped(pid):
    """Every thread of pid is in state T (SIGSTOP takes effect thread by thread)."""
    base = "/proc/%d/task" % pid
    for tid in os.listdir(base):
        try:
            with open("%s/%s/stat" % (base, tid)) as f:
                state = f.read().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "T":
            return False
    return True


class ListenQueueTest(unittest.TestCase):
    def test_backlog_and_overflows_of_our_listener(self):
        with open("/proc/sys/net/core/somaxconn") as f:
            somaxconn = int(f.read())
        s = Server(["--threads", "1", "--backlog", "2"]).start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.stop)
        key = 'listener="127.0.0.1:%d",worker="0"' % s.port
        m, _ = scrape(s)
        self.assertEqual(m["portico_listen_queue_limit{%s}" % key], min(2, somaxconn))
        self.assertEqual(m["portico_listen_drops_total{%s}" % key], 0)
        overflows_before = netns_counter("ListenOverflows")

        # A stopped server accepts nothing: its queue fills (backlog + 1) and the kernel drops
        # the handshakes of further clients, counting them on our socket.
        clients = []
        s.signal(signal.SIGSTOP)
        try:
            self.assertTrue(wait_for(lambda: all_threads_stopped(s.pid), 10), "not stopped")
            for _ in range(8):
                c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                c.setblocking(False)
                c.connect_ex(("127.0.0.1", s.port))
                clients.append(c)
            time.sleep(0.5)
        finally:
            s.signal(signal.SIGCONT)
        try:
            ok = wait_for(lambda: scrape(s)[0]["portico_listen_drops_total{%s}" % key] > 0, 10,
                          interval=0.2)
            m, _ = scrape(s)
            self.assertTrue(ok, "no drops counted on our listener: %r" %
                            {k: v for k, v in m.items() if "listen" in k})
            self.assertGreater(netns_counter("ListenOverflows"), overflows_before)
            # The namespace-wide counter as the server shows it (sampled once a second).
            self.assertTrue(wait_for(
                lambda: scrape(s)[0]["portico_netns_tcp_listen_overflows_total"]
                > overflows_before, 10, interval=0.2))
        finally:
            for c in clients:
                c.close()


class MetricsOffTest(unittest.TestCase):
    def test_off_unless_asked_for(self):
        s = Server(["--threads", "1"], kind="portico", metrics=False).start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.stop)
        for path in ("/metrics", "/status", "/status/events"):
            with s.conn() as c:
                c.send(request("GET", path))
                self.assertEqual(c.read_response().status, 404, path)
        # No sampler thread either: the process has its main thread and one worker.
        self.assertEqual(len(os.listdir("/proc/%d/task" % s.pid)), 2)


if __name__ == "__main__":
    unittest.main()
