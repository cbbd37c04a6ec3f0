"""HTTP/2 attack families against the real server (DESIGN.md §6): one test per family.

Each test shows (a) the answer (RST_STREAM or GOAWAY with the code docs/http2.md lists, or that
the frames are absorbed at no cost), (b) bounded memory (VmRSS from /proc/PID/status before and
after) and bounded CPU (utime+stime from /proc/PID/stat), and (c) that a second, well-behaved
client (python3-h2) is served while the attacking connection is stalled and afterwards.

The server runs with one worker thread, so a flood that monopolised the event loop would starve
the second client. Under ASan, freed memory waits in a quarantine (256 MiB by default) before
it is reused, which would make RSS meaningless: the server gets a small quarantine here.
Attack sizes are bounded by count (and each send by time); every socket has a timeout. A flood
is at most about 1 MB: after its GOAWAY the server reads on for linger_timeout (2 s) and then
closes, and a close with input still unread makes its kernel reset the connection, dropping the
GOAWAY queued behind a window the attacker never opened. So the attacker sends what the socket
buffers hold, then reads the answer.
"""

import os
import socket
import sys
import tempfile
import time
import unittest
from pathlib import Path

import h2.config
import h2.connection
import h2.events

from h2raw import (CONTINUATION, END_HEADERS, ENHANCE_YOUR_CALM, INITIAL_WINDOW_SIZE, PING,
                   PROTOCOL_ERROR, REFUSED_STREAM, RST_STREAM, STREAM_CLOSED,
                   H2Raw, block, data, frame, get, headers, literal, ping, priority,
                   request_fields, rst_stream, settings, window_update)
from harness import Server, scaled

HELLO = b"Hello, World!"
MEMORY_BOUND_KIB = 32 * 1024
CPU_BOUND_S = 20.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def well_behaved_get(server, path="/hello.txt", timeout=10.0):
    """A python3-h2 client on its own connection: GET, read the whole response."""
    with socket.create_connection((server.host, server.port), timeout=scaled(timeout)) as s:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "GET"), (":path", path), (":scheme", "http"),
                                (":authority", "localhost")], end_stream=True)
        s.sendall(conn.data_to_send())
        status, body, ended = None, bytearray(), False
        deadline = time.monotonic() + scaled(timeout)
        while not ended:
            if time.monotonic() > deadline:
                raise AssertionError("well-behaved client timed out")
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError("well-behaved client: connection closed")
            for ev in conn.receive_data(chunk):
                if isinstance(ev, h2.events.ResponseReceived):
                    status = dict(ev.headers)[b":status"]
                elif isinstance(ev, h2.events.DataReceived):
                    body += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, h2.events.StreamEnded):
                    ended = True
                elif isinstance(ev, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                    raise AssertionError("well-behaved client got %r" % ev)
            s.sendall(conn.data_to_send())
        return int(status), bytes(body)


class HostileBase(unittest.TestCase):
    server_args = []

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = Path(cls.tmp.name)
        (root / "hello.txt").write_bytes(HELLO)
        (root / "big.bin").write_bytes(os.urandom(1 << 20) * 8)  # 8 MiB

        cls.root = root

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        old = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = (old + ":" if old else "") + \
            "quarantine_size_mb=4:thread_local_quarantine_size_kb=256"
        try:
            self.server = Server(["--threads", "1"] + self.server_args, root=self.root,
                                 kind="test").start()
        finally:
            if old is None:
                del os.environ["ASAN_OPTIONS"]
            else:
                os.environ["ASAN_OPTIONS"] = old
        self.addCleanup(self._stop)
        # Warm up (first allocations, file cache), then take the baseline.
        self.assertEqual(well_behaved_get(self.server), (200, HELLO))
        self.rss0 = vm_rss_kib(self.server.pid)
        self.cpu0 = cpu_seconds(self.server.pid)

    def _stop(self):
        try:
            self.server.stop()
        finally:
            self.server.kill()
            self.server.cleanup()

    def attacker(self, *pairs, **kw):
        c = H2Raw(self.server, **kw)
        self.addCleanup(c.close)
        return c.handshake(*pairs)

    def assert_served(self):
        """(c) a second client gets its answer."""
        self.assertEqual(well_behaved_get(self.server), (200, HELLO))

    def assert_bounded(self, memory_kib=MEMORY_BOUND_KIB):
        """(b) memory and CPU."""
        self.assertTrue(self.server.alive(), "server died:\n" + self.server.stderr_text())
        growth = vm_rss_kib(self.server.pid) - self.rss0
        cpu = cpu_seconds(self.server.pid) - self.cpu0
        sys.stderr.write("[RSS %+d KiB, CPU %.2f s] " % (growth, cpu))
        self.assertLess(growth, memory_kib, "RSS grew by %d KiB" % growth)
        self.assertLess(cpu, scaled(CPU_BOUND_S), "server used %.1f s of CPU" % cpu)
        return growth, cpu

    def assert_goaway(self, c, code, counts):
        self.assertIsNotNone(c.goaway_frame, "no GOAWAY: %r" % counts)
        self.assertEqual(c.goaway_frame.error_code, code, c.goaway_frame.additional_data)
        self.assertTrue(counts["closed"], "the server did not close after GOAWAY")


class HostileTest(HostileBase):

    def test_data_dribble_cve_2019_9511(self):
        # The client grants windows one octet at a time on 10 streams of a large file (so the
        # server can only cut 1-octet DATA frames), and reads nothing meanwhile.
        c = self.attacker((INITIAL_WINDOW_SIZE, 0), rcvbuf=4096, auto_window=False)
        streams = list(range(1, 21, 2))
        c.send(*[get(i, "/big.bin") for i in streams])
        updates = b"".join(window_update(i, 1) for i in streams)
        rounds = c.flood(updates, 3000)
        self.assert_served()  # meanwhile
        for i in streams:
            c.send(rst_stream(i))
        c.ping_roundtrip(timeout=60)
        # (a) flow control held: never more DATA than granted, and no error.
        got = sum(len(r["data"]) for r in c.responses.values())
        self.assertLessEqual(got, rounds * len(streams))
        self.assertGreater(got, 0)
        self.assertIsNone(c.goaway_frame)
        # The other direction: a request body in 1-octet DATA frames is simply received.
        n = 20000
        c.send(settings((INITIAL_WINDOW_SIZE, 65535)), window_update(0, 1 << 20))
        c.send(headers(23, request_fields("/echo", "POST") + [("content-length", str(n))],
                       end_stream=False))
        c.flood(data(23, b"d"), n)
        c.send(data(23, b"", end_stream=True))
        status, _, body = c.expect_response(23, timeout=60)
        self.assertEqual((status, body), (200, b"d" * n))
        self.assert_bounded()
        self.assert_served()

    def test_ping_flood_cve_2019_9512(self):
        # PINGs from a client that never reads: the ACKs would queue without bound.
        c = self.attacker(rcvbuf=4096)
        sent = c.flood(ping(b"floodfld"), 20_000)
        self.assert_served()  # meanwhile
        counts = c.skim(timeout=60)
        self.assert_goaway(c, ENHANCE_YOUR_CALM, counts)
        self.assertLess(counts.get(PING, 0), sent)
        self.assert_bounded()
        self.assert_served()

    def test_resource_loop_cve_2019_9513(self):
        # PRIORITY frames shuffling 100 open streams (and idle ones) in a loop. The server keeps
        # no RFC 7540 priority tree (it announces SETTINGS_NO_RFC7540_PRIORITIES, RFC 9218), so
        # each frame is validated and dropped: nothing to churn, nothing to answer.
        c = self.attacker()
        streams = list(range(1, 201, 2))
        c.send(*[get(i, "/slow/1500") for i in streams])
        loop = b"".join(priority(streams[i], streams[(i * 7 + 3) % 100] if i % 3 else 0,
                                 weight=i % 256, exclusive=bool(i % 2)) for i in range(100))
        loop += b"".join(priority(1001 + 2 * i, 1 + 2 * i, exclusive=True) for i in range(100))
        c.flood(loop, 500)  # 100,000 PRIORITY frames
        self.assert_served()  # meanwhile
        c.wait(lambda: all(c.responses.get(i, {}).get("ended") for i in streams), timeout=60)
        for i in streams:
            self.assertEqual(bytes(c.responses[i]["data"]), b"slow done\n")
        self.assertIsNone(c.goaway_frame)
        self.assertEqual(c.resets, {})
        self.assert_bounded()
        self.assert_served()

    def test_reset_flood_cve_2019_9514(self):
        # Requests that each make the server send RST_STREAM (a malformed field), read by
        # nobody.
        c = self.attacker(rcvbuf=4096)
        bad = request_fields() + [("X-Upper", "1")]
        frames = b"".join(headers(i, bad) for i in range(1, 6001, 2))
        c.flood(frames, 1)
        self.assert_served()  # meanwhile
        counts = c.skim(timeout=60)
        self.assert_goaway(c, ENHANCE_YOUR_CALM, counts)
        self.assertLess(counts.get(RST_STREAM, 0), 3000)
        self.assertTrue(all(v == PROTOCOL_ERROR for v in c.resets.values()))
        self.assert_bounded()
        self.assert_served()

    def test_settings_flood_cve_2019_9515(self):
        c = self.attacker(rcvbuf=4096)
        c.flood(settings((INITIAL_WINDOW_SIZE, 65535)), 20_000)
        self.assert_served()  # meanwhile
        counts = c.skim(timeout=60)
        self.assert_goaway(c, ENHANCE_YOUR_CALM, counts)
        self.assert_bounded()
        self.assert_served()

    def test_zero_length_headers_cve_2019_9516(self):
        # Field blocks of empty names and values: each request is malformed (RST_STREAM
        # PROTOCOL_ERROR, §8.2.1) and nothing of it is kept; the resets trip the reset limit.
        c = self.attacker(rcvbuf=4096)
        empties = b"\x00\x00\x00" * 100
        frames = b"".join(headers(i, block(request_fields()) + empties)
                          for i in range(1, 3001, 2))
        c.flood(frames, 1)
        self.assert_served()  # meanwhile
        counts = c.skim(timeout=60)
        self.assert_goaway(c, ENHANCE_YOUR_CALM, counts)
        self.assertTrue(all(v == PROTOCOL_ERROR for v in c.resets.values()))
        self.assert_bounded()
        self.assert_served()

    def test_zero_window_hold_cve_2019_9517(self):
        # Stream windows of 0, 128 streams asking for an 8 MiB file and 16 for a streamed
        # response: the server must read and buffer nothing it cannot send (1 GiB otherwise).
        c = self.attacker((INITIAL_WINDOW_SIZE, 0), auto_window=False)
        files = list(range(1, 225, 2))
        streamed = list(range(225, 257, 2))
        c.send(*[get(i, "/big.bin") for i in files])
        c.send(*[get(i, "/stream/65536") for i in streamed])  # 64 MiB each if unbounded
        c.wait(lambda: all(c.responses.get(i, {}).get("headers") for i in files + streamed),
               timeout=60)
        time.sleep(scaled(1.0))
        self.assert_served()  # meanwhile
        c.ping_roundtrip()
        self.assertEqual(sum(len(r["data"]) for r in c.responses.values()), 0)
        self.assertIsNone(c.goaway_frame)
        growth, _ = self.assert_bounded()
        # Then the windows open: the server sends (and the client resets the rest).
        c.send(window_update(1, 100000))
        c.wait(lambda: len(c.responses[1]["data"]) >= 65535, timeout=30)  # connection window
        for i in files + streamed:
            c.send(rst_stream(i))
        c.ping_roundtrip()
        self.assert_served()

    def test_unfinished_request_bodies(self):
        # CVE-2019-9517 in the request direction: 128 uploads of almost 1 MiB (each within the
        # body limit) that never end. The connection holds at most 16 MiB of bodies; a stream
        # whose DATA would pass that is refused (REFUSED_STREAM: not processed, may be retried).
        c = self.attacker()
        size = 1000 * 1024
        streams = list(range(1, 257, 2))
        c.send(*[headers(i, request_fields("/echo", "POST") +
                         [("content-length", str(size + 1))], end_stream=False)
                 for i in streams])
        c.upload(dict.fromkeys(streams, size), end_stream=False)
        c.ping_roundtrip()
        refused = [i for i, code in c.resets.items() if code == REFUSED_STREAM]
        self.assertEqual(set(c.resets.values()), {REFUSED_STREAM})
        self.assertGreaterEqual(len(refused), 100)
        held = [i for i in streams if i not in c.resets]
        self.assertGreaterEqual(len(held), 8)
        self.assert_served()  # meanwhile
        # 16 MiB of bodies held, plus what the allocator keeps of the buffers each body outgrew
        # on the way to 1 MiB (RSS does not shrink); without the limit: about 150 MiB.
        self.assert_bounded(memory_kib=48 * 1024)
        # The bodies that were held are still whole: one ends and is answered.
        c.upload({held[0]: 1})
        status, _, body = c.expect_response(held[0], timeout=30)
        self.assertEqual((status, len(body)), (200, size + 1))
        self.assertIsNone(c.goaway_frame)
        self.assert_served()

    def test_empty_frames_flood_cve_2019_9518(self):
        c = self.attacker(rcvbuf=4096)
        c.send(headers(1, request_fields("/echo", "POST"), end_stream=False))
        c.flood(data(1, b""), 20_000)
        self.assert_served()  # meanwhile
        counts = c.skim(timeout=60)
        self.assert_goaway(c, ENHANCE_YOUR_CALM, counts)
        self.assert_bounded()
        self.assert_served()

    def test_rapid_reset_cve_2023_44487(self):
        # HEADERS then RST_STREAM at once, over and over, for requests the server has to work
        # on (an asynchronous handler).
        c = self.attacker(rcvbuf=4096)
        pair = b"".join(get(i, "/slow/10000") + rst_stream(i) for i in range(1, 10001, 2))
        c.flood(pair, 1)
        self.assert_served()  # meanwhile
        counts = c.skim(timeout=60)
        self.assert_goaway(c, ENHANCE_YOUR_CALM, counts)
        self.assertLess(c.goaway_frame.last_stream_id, 10000)
        self.assert_bounded()
        self.assert_served()

    def test_continuation_flood(self):
        # 2024 CONTINUATION flood: a field block that never ends, in full frames and (second
        # connection) in empty frames.
        c = self.attacker(rcvbuf=4096)
        c.send(headers(1, block(request_fields()), end_headers=False))
        c.flood(frame(CONTINUATION, 0, 1, literal("x", "y" * 16000)), 64)  # 1 MB
        counts = c.skim(timeout=60)
        self.assert_goaway(c, ENHANCE_YOUR_CALM, counts)
        e = self.attacker(rcvbuf=4096)
        e.send(headers(1, block(request_fields()), end_headers=False))
        e.flood(frame(CONTINUATION, 0, 1), 20_000)
        self.assert_served()  # meanwhile
        counts = e.skim(timeout=60)
        self.assert_goaway(e, ENHANCE_YOUR_CALM, counts)
        self.assert_bounded()
        self.assert_served()

    def test_hpack_bomb(self):
        # One 4 KB dynamic-table entry, then 100,000 one-octet references to it: a 400 MB
        # header list from 100 KB on the wire. The decoder stops collecting at the limit: 431,
        # and the connection (its HPACK state intact) goes on.
        c = self.attacker()
        bomb = block(request_fields()) + literal("x-bomb", "b" * 4000, indexing=True) + \
            b"\xbe" * 100_000
        frames = [headers(1, bomb[:16000], end_headers=False)]
        rest = bomb[16000:]
        while rest:
            piece, rest = rest[:16000], rest[16000:]
            frames.append(frame(CONTINUATION, 0 if rest else END_HEADERS, 1, piece))
        c.send(*frames)
        status, _, _ = c.expect_response(1, timeout=60)
        self.assertEqual(status, 431)
        # The entry is in the table: the next request may use it once.
        c.send(headers(3, block(request_fields("/headers")) + b"\xbe"))
        status, _, body = c.expect_response(3)
        self.assertEqual(status, 200)
        self.assertIn(b"x-bomb: bbbb", body)
        self.assert_bounded()
        self.assert_served()

    def test_stream_id_exhaustion(self):
        # The last stream id a client has, 2^31-1, is served; after it the client has no id left
        # (RFC 9113 §5.1.1): reusing it is STREAM_CLOSED, a lower one PROTOCOL_ERROR; the
        # reserved bit does not make a new id.
        last = 0x7fffffff
        c = self.attacker()
        c.send(get(last))
        status, _, body = c.expect_response(last)
        self.assertEqual((status, body), (200, HELLO))
        c.send(get(last))
        g = c.expect_goaway(STREAM_CLOSED)
        self.assertEqual(g.last_stream_id, last)
        d = self.attacker()
        d.send(get(last - 2, "/slow/200"))
        d.expect_response(last - 2)
        d.send(get(0x80000001))  # reserved bit set: stream 1, below the last
        g = d.expect_goaway(PROTOCOL_ERROR)
        self.assertEqual(g.last_stream_id, last - 2)
        self.assert_bounded()
        self.assert_served()


if __name__ == "__main__":
    unittest.main()
