"""Start-up on an address another socket already listens on.

Every worker listens with SO_REUSEPORT, which would let the kernel split connections with a
listener that was there first (of the same user). Portico refuses such an address unless
--share-port asks to join it.
"""

import socket
import subprocess
import unittest

from harness import Server, portico_bin, scaled


def reuseport_listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


class ListenTest(unittest.TestCase):
    def test_address_with_a_listener_is_refused(self):
        with reuseport_listener() as other:
            port = other.getsockname()[1]
            p = subprocess.run([portico_bin(), "serve", "--listen", "127.0.0.1:%d" % port],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=scaled(20))
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("cannot listen on 127.0.0.1:%d" % port, p.stderr)
            self.assertIn("--share-port", p.stderr)

    def test_share_port_joins_it(self):
        with reuseport_listener() as other:
            port = other.getsockname()[1]
            with Server(["--threads", "1", "--share-port"], kind="portico",
                        listen="127.0.0.1:%d" % port) as server:
                self.assertEqual(server.port, port)

    def test_time_wait_leftovers_do_not_block_a_restart(self):
        with Server(["--threads", "1"], kind="portico") as first:
            port = first.port
            # A request leaves a connection that the server closes (TIME-WAIT on its side).
            with socket.create_connection(("127.0.0.1", port), timeout=scaled(5)) as c:
                c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                while c.recv(65536):
                    pass
        with Server(["--threads", "1"], kind="portico", listen="127.0.0.1:%d" % port) as again:
            self.assertEqual(again.port, port)


if __name__ == "__main__":
    unittest.main()
