"""Descriptor exhaustion on accept (EMFILE): refused connections are closed, the server does not
spin, logs the condition, and serves again once descriptors are free."""

import socket
import time
import unittest

from harness import Server, request, scaled, wait_for


class LowFdServer(Server):
    """The server under `prlimit --nofile=N`, so that accept4 runs out of descriptors."""

    def __init__(self, nofile, **kw):
        super().__init__(**kw)
        self.nofile = nofile

    def command(self):
        return ["prlimit", "--nofile=%d:%d" % (self.nofile, self.nofile), "--"] + super().command()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / 100.0


class EmfileTest(unittest.TestCase):
    def test_accept_storm_without_descriptors(self):
        with LowFdServer(64, args=["--threads", "1"]) as srv:
            held = []
            try:
                # Fill the descriptor table with served keep-alive connections.
                for _ in range(120):
                    s = srv.connect(timeout=5)
                    held.append(s)
                served, refused = 0, 0
                for s in held:
                    try:
                        # /headers needs no file descriptor (a file would: see below).
                        s.sendall(request("GET", "/headers"))
                        data = s.recv(4096)
                    except (ConnectionResetError, BrokenPipeError, socket.timeout):
                        data = b""
                    if data.startswith(b"HTTP/1.1 200"):
                        served += 1
                    else:
                        refused += 1
                self.assertGreater(served, 20, "connections within the limit are served")
                self.assertGreater(refused, 20, "connections beyond the limit are closed")
                self.assertIn("refusing connections", srv.stderr_text())

                # More connection attempts while out of descriptors: no busy loop.
                before = cpu_seconds(srv.pid)
                extra = []
                for _ in range(50):
                    try:
                        extra.append(srv.connect(timeout=2))
                    except OSError:
                        pass
                time.sleep(scaled(2.0))
                used = cpu_seconds(srv.pid) - before
                self.assertLess(used, 1.0, "the server spun while out of descriptors")
                for s in extra:
                    s.close()
            finally:
                for s in held:
                    s.close()

            # Descriptors are free again: a new client is served.
            def served_again():
                try:
                    with srv.conn(timeout=2) as c:
                        c.send(request("GET", "/hello.txt"))
                        return c.read_response(timeout=2).status == 200
                except OSError:
                    return False

            self.assertTrue(wait_for(served_again, scaled(10)))
            m = srv.metrics()
            self.assertGreater(m["portico_connections_refused_total"], 0)

    def test_static_file_without_descriptors_is_503_not_404(self):
        with LowFdServer(32, args=["--threads", "1"]) as srv:
            held = []
            try:
                for _ in range(40):
                    try:
                        held.append(srv.connect(timeout=2))
                    except OSError:
                        break
                # Once the server has run out of descriptors, one of the first (accepted)
                # connections asks for a file it cannot open.
                self.assertTrue(wait_for(lambda: "refusing connections" in srv.stderr_text(),
                                         scaled(10)))
                held[0].sendall(request("GET", "/index.html"))
                data = held[0].recv(4096)
                self.assertTrue(data.startswith(b"HTTP/1.1 503"), data[:100])
                self.assertIn(b"Retry-After: 1", data)
            finally:
                for s in held:
                    s.close()


if __name__ == "__main__":
    unittest.main()
