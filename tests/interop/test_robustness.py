"""Hostile and heavy clients: resets, slowloris, slow readers, 2,000 connections, TCP options, IPv6."""

import errno
import resource
import selectors
import socket
import struct
import threading
import time
import unittest

from harness import (Server, curl, fd_of_inode, parse_response_bytes, pidfd_getfd, request,
                     scaled, server_socket_inode, wait_for)

HELLO = b"Hello, World!"


def reset(sock):
    """Closes with an RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Robustness(unittest.TestCase):
    def server(self, *args, **kw):
        s = Server(list(args), **kw).start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.stop)
        return s

    def get(self, s, path="/hello.txt", timeout=10):
        with s.conn(timeout) as c:
            c.send(request("GET", path, headers={"Connection": "close"}))
            return c.read_response(timeout=timeout)

    def assert_served(self, s):
        r = self.get(s)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, HELLO)

    # -- resets --------------------------------------------------------------------------------

    def test_client_reset_mid_response_does_not_hurt_others(self):
        s = self.server("--threads", "2")
        errors = []
        done = threading.Event()

        def others():
            try:
                for _ in range(200):
                    if done.is_set():
                        break
                    r = self.get(s, "/big/1000000", timeout=20)
                    if r.status != 200 or len(r.body) != 1000000:
                        errors.append("big: %d %d" % (r.status, len(r.body)))
                    r = self.get(s)
                    if r.body != HELLO:
                        errors.append("hello: %r" % r)
            except Exception as e:  # reported below
                errors.append(repr(e))

        t = threading.Thread(target=others)
        t.start()
        n = 60
        for i in range(n):
            self.assertTrue(s.alive(), "server died (exit %s) after %d resets; stderr:\n%s"
                            % (s.proc.poll(), i, s.stderr_text()[-4000:]))
            c = s.conn()
            self.addCleanup(c.close)
            c.send(request("GET", "/big/50000000"))
            # reset after the first bytes, or after some 100 KB
            want = 1 if i % 2 else 100000
            got = 0
            for _ in range(1000):
                try:
                    data = c.sock.recv(4096)
                except OSError as e:
                    time.sleep(0.2)
                    self.fail("%r before the reset; server alive: %s (exit %s), stderr:\n%s"
                              % (e, s.alive(), s.proc.poll(), s.stderr_text()[-4000:]))
                if not data:
                    time.sleep(0.3)
                    self.fail("EOF before the reset; server alive: %s (exit %s), stderr:\n%s"
                              % (s.alive(), s.proc.poll(), s.stderr_text()[-4000:]))
                got += len(data)
                if got >= want:
                    break
            reset(c.sock)
        done.set()
        t.join(scaled(60))
        self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])
        self.assertTrue(s.alive())
        self.assert_served(s)
        # Every reset was noticed, and the connections were released.
        self.assertTrue(wait_for(
            lambda: s.metrics()["portico_resets_received_total"] >= n, timeout=5),
            s.metrics())
        self.assertTrue(wait_for(
            lambda: s.metrics()["portico_connections_open"] == 1, timeout=5), s.metrics())

    # -- slowloris -----------------------------------------------------------------------------

    def test_slowloris_is_cut_by_the_header_timeout(self):
        s = self.server("--threads", "1", "--header-timeout", "2")
        head = b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 100
        n = 20
        result = {}  # index -> (seconds until cut, bytes received)

        def slowloris():
            sel = selectors.DefaultSelector()
            socks = []
            t0 = time.monotonic()
            for i in range(n):
                c = s.connect()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, i)
                socks.append(c)
            received = {i: b"" for i in range(n)}
            pos = 0
            deadline = t0 + scaled(10)
            while len(result) < n and time.monotonic() < deadline and pos < len(head):
                for i, c in enumerate(socks):
                    if i not in result:
                        try:
                            c.send(head[pos:pos + 1])
                        except OSError:
                            result[i] = (time.monotonic() - t0, received[i])
                pos += 1
                step_end = time.monotonic() + 0.5
                while time.monotonic() < step_end:
                    for key, _ in sel.select(max(0.0, step_end - time.monotonic())):
                        i = key.data
                        try:
                            data = key.fileobj.recv(4096)
                        except OSError:
                            data = b""
                        if data:
                            received[i] += data
                        else:
                            result[i] = (time.monotonic() - t0, received[i])
                            sel.unregister(key.fileobj)
            for c in socks:
                c.close()
            sel.close()

        t = threading.Thread(target=slowloris)
        t.start()
        time.sleep(0.7)
        # A normal client is served at once while the slowloris connections hang on.
        for _ in range(3):
            t0 = time.monotonic()
            self.assert_served(s)
            self.assertLess(time.monotonic() - t0, scaled(1.0))
        t.join(scaled(20))
        self.assertFalse(t.is_alive())
        self.assertEqual(len(result), n, "some slowloris connections were never cut")
        for i, (when, data) in sorted(result.items()):
            self.assertGreater(when, 1.5, "cut before the header timeout")
            self.assertLess(when, scaled(4.5), "cut too late")
            if data:
                self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data[:100])
        self.assertGreaterEqual(s.metrics()['portico_timeouts_total{phase="header"}'], n)
        self.assert_served(s)

    # -- slow reader ---------------------------------------------------------------------------

    def test_slow_reader_is_dropped_by_the_write_timeout(self):
        s = self.server("--threads", "1", "--write-timeout", "1")
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.settimeout(scaled(10))
        c.connect((s.host, s.port))
        try:
            c.sendall(request("GET", "/big/50000000"))
            t0 = time.monotonic()
            # Others are served while the reader stalls.
            time.sleep(0.3)
            for _ in range(3):
                t1 = time.monotonic()
                self.assert_served(s)
                self.assertLess(time.monotonic() - t1, scaled(1.0))
            self.assertTrue(wait_for(
                lambda: s.metrics()['portico_timeouts_total{phase="write"}'] >= 1, timeout=8),
                "no write timeout counted")
            self.assertLess(time.monotonic() - t0, scaled(6))
            # The client finds its connection cut: what it can still read ends early.
            got = 0
            c.settimeout(scaled(5))
            for _ in range(20000):
                try:
                    data = c.recv(1 << 16)
                except ConnectionResetError:
                    break
                if not data:
                    break
                got += len(data)
            self.assertLess(got, 50000000)
        finally:
            c.close()
        self.assertTrue(wait_for(
            lambda: s.metrics()["portico_connections_open"] == 1, timeout=5), s.metrics())
        self.assert_served(s)

    # -- many connections ----------------------------------------------------------------------

    def test_2000_concurrent_keepalive_connections(self):
        n = 2000
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = n + 1000
        if soft < want:
            if hard != resource.RLIM_INFINITY and hard < want:
                self.skipTest("RLIMIT_NOFILE hard limit %d < %d" % (hard, want))
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        s = self.server("--threads", "2")
        socks = []
        self.addCleanup(lambda: [c.close() for c in socks])
        for _ in range(n):
            socks.append(s.connect(timeout=20))
        for c in socks:
            c.setblocking(False)

        def round_trip(round_no):
            pending = {}
            for i, c in enumerate(socks):
                c.send(request("GET", "/headers" if i % 2 else "/hello.txt",
                               headers={"X-Conn": "%d-%d" % (i, round_no)}))
                pending[c.fileno()] = (i, c, bytearray())
            sel = selectors.DefaultSelector()
            for fd, (i, c, _) in pending.items():
                sel.register(c, selectors.EVENT_READ, fd)
            ok = 0
            deadline = time.monotonic() + scaled(30)
            try:
                while pending and time.monotonic() < deadline:
                    for key, _ in sel.select(timeout=1.0):
                        i, c, buf = pending[key.data]
                        data = c.recv(65536)
                        self.assertTrue(data, "connection %d closed in round %d" % (i, round_no))
                        buf += data
                        parsed = parse_response_bytes(buf)
                        if parsed is None:
                            continue
                        r, used = parsed
                        self.assertEqual(used, len(buf), "extra bytes on connection %d" % i)
                        self.assertEqual(r.status, 200)
                        if i % 2:
                            self.assertIn(b"x-conn: %d-%d" % (i, round_no), r.body.lower())
                        else:
                            self.assertEqual(r.body, HELLO)
                        self.assertNotIn("close", r.connection_tokens())
                        ok += 1
                        sel.unregister(c)
                        del pending[key.data]
            finally:
                sel.close()
            return ok

        self.assertEqual(round_trip(1), n)
        self.assertEqual(round_trip(2), n)  # the same sockets: they were kept alive
        m = s.metrics()
        self.assertEqual(m["portico_connections_accepted_total"], n + 1)
        self.assertEqual(m["portico_connections_open"], n + 1)

    # -- TCP options ---------------------------------------------------------------------------

    def server_side_socket(self, s, client):
        """A duplicate of the server's accepted socket for this client connection."""
        client_port = client.getsockname()[1]
        inode = server_socket_inode(s.port, client_port)
        self.assertIsNotNone(inode, "server socket not found in /proc/net/tcp")
        fd = wait_for(lambda: fd_of_inode(s.pid, inode), timeout=3)
        self.assertIsNotNone(fd, "no fd of the server links to socket:[%d]" % inode)
        try:
            dup = pidfd_getfd(s.pid, fd)
        except OSError as e:
            if e.errno in (errno.EPERM, errno.ENOSYS, errno.EACCES):
                self.skipTest("pidfd_getfd not permitted here: %s" % e)
            raise
        sock = socket.socket(fileno=dup)
        self.addCleanup(sock.detach)
        self.addCleanup(lambda: __import__("os").close(dup))
        return sock

    def connected_pair(self, s):
        c = s.conn()
        self.addCleanup(c.close)
        c.send(request("GET", "/hello.txt"))
        self.assertEqual(c.read_response().body, HELLO)  # accepted and configured by now
        return c.sock

    def test_tcp_keepalive_options_are_applied(self):
        s = self.server("--threads", "1", "--tcp-keepalive", "30,7,4",
                        "--tcp-user-timeout", "12000")
        srv = self.server_side_socket(s, self.connected_pair(s))
        self.assertEqual(srv.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE), 1)
        self.assertEqual(srv.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE), 30)
        self.assertEqual(srv.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL), 7)
        self.assertEqual(srv.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT), 4)
        self.assertEqual(srv.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT), 12000)
        self.assertEqual(srv.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), 1)

    def test_tcp_defaults(self):
        s = self.server("--threads", "1")
        srv = self.server_side_socket(s, self.connected_pair(s))
        self.assertEqual(srv.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE), 0)
        self.assertEqual(srv.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), 1)
        self.assertEqual(srv.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT), 0)

    def test_tcp_keepalive_without_values_and_nagle(self):
        s = self.server("--threads", "1", "--tcp-keepalive", "--no-tcp-nodelay")
        srv = self.server_side_socket(s, self.connected_pair(s))
        self.assertEqual(srv.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE), 1)
        self.assertEqual(srv.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE), 60)
        self.assertEqual(srv.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL), 10)
        self.assertEqual(srv.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT), 6)
        self.assertEqual(srv.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), 0)

    # -- IPv6 ----------------------------------------------------------------------------------

    def test_ipv6_loopback(self):
        try:
            probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            probe.bind(("::1", 0))
            probe.close()
        except OSError as e:
            self.skipTest("no ::1 on this machine: %s" % e)
        s = self.server("--threads", "1", listen="[::1]:0")
        self.assertEqual(s.host, "::1")
        p = curl("-g", "-v", "http://[::1]:%d/hello.txt" % s.port)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, HELLO)
        self.assert_served(s)


if __name__ == "__main__":
    unittest.main()
