"""HTTP/2 conformance of the real server, case by case in the spirit of h2spec: each MUST of
RFC 9113 §§3-8 and RFC 7541 that a client can provoke, each test named after its section and
asserting the exact answer (GOAWAY or RST_STREAM, and the error code) the RFC requires.

Raw frames over a plain socket (tests/interop/h2raw.py: frames built byte by byte, the server's
frames parsed with python3-hyperframe, its field blocks decoded with python3-hpack). One server
for the whole file; every test uses its own connection. Every socket has a timeout and every
loop is bounded.
"""

import struct
import tempfile
import time
import unittest
from pathlib import Path

from h2raw import (ACK, CONTINUATION, DATA, END_HEADERS, END_STREAM, ENABLE_PUSH,
                   FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR, HEADER_TABLE_SIZE, HEADERS,
                   INITIAL_WINDOW_SIZE, MAX_CONCURRENT_STREAMS, MAX_FRAME_SIZE, NO_ERROR, PADDED,
                   PING, PRIORITY, PRIORITY_FLAG, PROTOCOL_ERROR, PUSH_PROMISE, REFUSED_STREAM,
                   RST_STREAM, SETTINGS, STREAM_CLOSED, WINDOW_UPDATE, COMPRESSION_ERROR, H2Raw,
                   PREFACE, block, data, frame, get, goaway, headers, hpack_int, hpack_str,
                   literal, ping, priority, request_fields, rst_stream, settings, window_update)
from harness import Server

HELLO = b"Hello, World!"


def post(sid, path="/echo", extra=(), end_stream=False):
    return headers(sid, request_fields(path, "POST") + list(extra), end_stream=end_stream)


class ConformanceBase:
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = Path(cls.tmp.name)
        (root / "hello.txt").write_bytes(HELLO)
        cls.big = bytes(range(256)) * 4096  # 1 MiB
        (root / "big.bin").write_bytes(cls.big)
        # A keep-alive timeout far above any case: under a loaded sanitizer build a client may
        # pause long enough for the 5 s default to start a graceful GOAWAY mid-case.
        cls.server = Server(["--threads", "1", "--keepalive-timeout", "120"], root=root,
                            kind="test").start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.server.kill()
            cls.server.cleanup()
            cls.tmp.cleanup()

    def conn(self, *pairs, **kw):
        c = H2Raw(self.server, **kw)
        self.addCleanup(c.close)
        return c.handshake(*pairs)

    def ok(self, c, sid=1, path="/hello.txt"):
        """The connection still serves a request on `sid`."""
        c.send(get(sid, path))
        status, _, body = c.expect_response(sid)
        self.assertEqual(status, 200)
        return body

    def malformed(self, fields, end_stream=True):
        """A request whose field section breaks §8: RST_STREAM PROTOCOL_ERROR, and the connection
        goes on (§8.1.1)."""
        c = self.conn()
        c.send(headers(1, fields, end_stream=end_stream))
        c.expect_reset(1, PROTOCOL_ERROR)
        self.ok(c, 3)


class Rfc9113Section3Test(ConformanceBase, unittest.TestCase):
    """§3.4 HTTP/2 connection preface."""

    def test_3_4_server_preface_is_settings(self):
        c = H2Raw(self.server)
        self.addCleanup(c.close)
        c.preface()
        c.wait(lambda: c.frames)
        self.assertEqual(c.frames[0].type, SETTINGS)
        self.assertNotIn("ACK", c.frames[0].flags)

    def test_3_4_settings_acknowledged(self):
        c = self.conn()
        c.wait(lambda: c.settings_acks >= 1)

    def test_3_4_invalid_preface(self):
        # Octets that are not the preface are not HTTP/2: the server answers them as HTTP/1.1
        # (it speaks both on one port) or with GOAWAY PROTOCOL_ERROR, and closes; it never
        # goes on as HTTP/2.
        c = H2Raw(self.server)
        self.addCleanup(c.close)
        c.send(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + settings())
        self.assertTrue(c.drain(), "the server did not close")
        got = bytes(c.buf)
        self.assertTrue(got.startswith(b"HTTP/1.1 4") or got.startswith(b"HTTP/1.1 5") or
                        any(f.type == 7 and f.error_code == PROTOCOL_ERROR for f in c.frames),
                        "unexpected answer %r / %s" % (got[:80], c.summary()))

    def test_3_4_first_frame_not_settings(self):
        c = H2Raw(self.server)
        self.addCleanup(c.close)
        c.send(PREFACE, ping())
        c.expect_goaway(PROTOCOL_ERROR)

    def test_3_4_first_frame_settings_ack(self):
        c = H2Raw(self.server)
        self.addCleanup(c.close)
        c.send(PREFACE, settings(ack=True))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_3_4_first_frame_headers(self):
        c = H2Raw(self.server)
        self.addCleanup(c.close)
        c.send(PREFACE, get(1))
        c.expect_goaway(PROTOCOL_ERROR)


class Rfc9113Section4Test(ConformanceBase, unittest.TestCase):
    """§4 frame format, frame size, field section compression."""

    def test_4_1_unknown_frame_type_ignored(self):
        c = self.conn()
        c.send(frame(0x7e, 0xff, 0, b"ignore me"), frame(0x7e, 0, 1, b"x" * 100))
        c.ping_roundtrip()
        self.ok(c)

    def test_4_1_undefined_flags_ignored(self):
        c = self.conn()
        c.send(frame(PING, 0xfe, 0, b"flags!!!"))  # no ACK bit, the rest undefined
        c.wait(lambda: b"flags!!!" in c.ping_acks)

    def test_4_1_reserved_bit_ignored(self):
        c = self.conn()
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 0x80000001,
                     block(request_fields())))
        status, _, body = c.expect_response(1)
        self.assertEqual((status, body), (200, HELLO))

    def test_4_2_data_larger_than_max_frame_size(self):
        c = self.conn()
        c.send(post(1), data(1, b"x" * 16385))
        c.expect_goaway(FRAME_SIZE_ERROR)

    def test_4_2_headers_larger_than_max_frame_size(self):
        c = self.conn()
        fields = request_fields() + [("x-big", "y" * 16400)]
        c.send(headers(1, fields))
        c.expect_goaway(FRAME_SIZE_ERROR)

    def test_4_2_frame_of_max_frame_size_accepted(self):
        c = self.conn()
        c.send(post(1, extra=[("content-length", "16384")]), data(1, b"z" * 16384, True))
        status, _, body = c.expect_response(1)
        self.assertEqual((status, body), (200, b"z" * 16384))

    def test_4_2_unknown_frame_larger_than_max_frame_size(self):
        c = self.conn()
        c.send(frame(0x7e, 0, 0, b"u" * 16385))
        c.expect_goaway(FRAME_SIZE_ERROR)

    def test_4_3_invalid_field_block(self):
        c = self.conn()
        c.send(headers(1, b"\xff\xff\xff\xff\xff\xff\xff"))  # index overflow
        c.expect_goaway(COMPRESSION_ERROR)

    def test_4_3_priority_inside_field_block(self):
        c = self.conn()
        blk = block(request_fields())
        c.send(headers(1, blk[:5], end_headers=False), priority(1, 0),
               frame(CONTINUATION, END_HEADERS, 1, blk[5:]))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_4_3_headers_of_other_stream_inside_field_block(self):
        c = self.conn()
        blk = block(request_fields())
        c.send(headers(1, blk[:5], end_headers=False), get(3))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_4_3_field_block_decoded_for_refused_stream(self):
        # A stream refused for concurrency still has its block decoded (§4.3): an entry it
        # adds to the dynamic table is usable by the next request.
        c = self.conn()
        opened = [get(i, "/slow/3000") for i in range(1, 257, 2)]  # 128 open streams
        extra = literal("x-shared", "v", indexing=True)
        refused = headers(257, block(request_fields()) + extra)
        c.send(*opened, refused)
        c.expect_reset(257, REFUSED_STREAM)
        for i in range(1, 257, 2):
            c.send(rst_stream(i))
        # index 62 = the entry the refused block added
        c.send(headers(259, block(request_fields("/headers")) + b"\xbe"))
        status, _, body = c.expect_response(259, timeout=20)
        self.assertEqual(status, 200)
        self.assertIn(b"x-shared: v", body)


class Rfc9113Section5Test(ConformanceBase, unittest.TestCase):
    """§5 streams: states, identifiers, concurrency, priority, error handling, extensions."""

    def test_5_1_idle_data(self):
        c = self.conn()
        c.send(data(1, b"x"))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_5_1_idle_rst_stream(self):
        c = self.conn()
        c.send(rst_stream(1))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_5_1_idle_window_update(self):
        c = self.conn()
        c.send(window_update(1, 100))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_5_1_idle_continuation(self):
        c = self.conn()
        c.send(frame(CONTINUATION, END_HEADERS, 1, block(request_fields())))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_5_1_idle_window_update_zero_increment(self):
        # Both a zero increment (§6.9) and a frame on an idle stream (§5.1); the idle rule makes
        # it a connection error, and §6.4 forbids RST_STREAM on an idle stream anyway.
        c = self.conn()
        c.send(window_update(1, 0))
        c.expect_goaway(PROTOCOL_ERROR)
        self.assertEqual(c.resets, {})

    def test_5_1_idle_priority_depends_on_itself(self):
        # §5.3.1 makes it a stream error, but §6.4: "RST_STREAM frames MUST NOT be sent for a
        # stream in the idle state": the answer is a connection error (§5.4.1 allows it).
        c = self.conn()
        c.send(priority(9, 9))
        c.expect_goaway(PROTOCOL_ERROR)
        self.assertEqual(c.resets, {})

    def test_5_1_idle_priority_wrong_length(self):
        c = self.conn()
        c.send(frame(PRIORITY, 0, 9, b"\0\0\0\0"))
        c.expect_goaway(FRAME_SIZE_ERROR)
        self.assertEqual(c.resets, {})

    def test_5_1_idle_priority_allowed(self):
        c = self.conn()
        c.send(priority(9, 0))
        c.ping_roundtrip()
        self.ok(c, 11)

    def test_5_1_half_closed_remote_data(self):
        c = self.conn()
        c.send(get(1, "/slow/2000"), data(1, b"late"))
        c.expect_reset(1, STREAM_CLOSED)
        self.ok(c, 3)

    def test_5_1_half_closed_remote_headers(self):
        c = self.conn()
        c.send(get(1, "/slow/2000"), headers(1, [("x-trailer", "1")]))
        c.expect_reset(1, STREAM_CLOSED)
        self.ok(c, 3)

    def test_5_1_half_closed_remote_window_update_and_priority_allowed(self):
        c = self.conn()
        c.send(get(1, "/slow/300"), window_update(1, 1000), priority(1, 0))
        status, _, body = c.expect_response(1)
        self.assertEqual((status, body), (200, b"slow done\n"))

    def test_5_1_closed_data_after_client_reset(self):
        c = self.conn()
        c.send(post(1), rst_stream(1), data(1, b"x"))
        c.expect_reset(1, STREAM_CLOSED)
        self.ok(c, 3)

    def test_5_1_closed_headers_after_response(self):
        c = self.conn()
        self.ok(c, 1)
        c.send(get(1))
        c.expect_goaway(STREAM_CLOSED)

    def test_5_1_closed_headers_after_client_reset(self):
        c = self.conn()
        c.send(get(1, "/slow/2000"), rst_stream(1))
        c.ping_roundtrip()
        c.send(get(1))
        c.expect_goaway(STREAM_CLOSED)

    def test_5_1_closed_rst_stream_and_window_update_ignored(self):
        c = self.conn()
        self.ok(c, 1)
        c.send(rst_stream(1), window_update(1, 100), priority(1, 0))
        c.ping_roundtrip()
        self.ok(c, 3)

    def test_5_1_frames_after_our_reset_ignored(self):
        c = self.conn()
        c.send(post(1, extra=[("content-length", "1")]), data(1, b"too long", True))
        c.expect_reset(1, PROTOCOL_ERROR)
        c.send(data(1, b"more"), window_update(1, 10))
        c.ping_roundtrip()
        self.ok(c, 3)

    def test_5_1_1_even_stream_id(self):
        c = self.conn()
        c.send(get(2))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_5_1_1_decreasing_stream_id(self):
        c = self.conn()
        self.ok(c, 5)
        c.send(get(3))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_5_1_1_ids_may_skip(self):
        c = self.conn()
        self.ok(c, 1)
        self.ok(c, 201)

    def test_5_1_2_exceeding_max_concurrent_streams(self):
        c = self.conn()
        limit = c.server_settings[MAX_CONCURRENT_STREAMS]
        c.send(*[get(2 * i + 1, "/slow/3000") for i in range(limit + 1)])
        refused = 2 * limit + 1
        c.expect_reset(refused, REFUSED_STREAM)
        for i in range(limit):
            c.send(rst_stream(2 * i + 1))
        self.ok(c, refused + 2)

    def test_5_3_1_headers_depends_on_itself(self):
        c = self.conn()
        prio = struct.pack(">IB", 1, 15)
        c.send(frame(HEADERS, END_STREAM | END_HEADERS | PRIORITY_FLAG, 1,
                     prio + block(request_fields())))
        c.expect_reset(1, PROTOCOL_ERROR)
        self.ok(c, 3)

    def test_5_3_1_priority_depends_on_itself(self):
        c = self.conn()
        c.send(get(1, "/slow/2000"), priority(1, 1))
        c.expect_reset(1, PROTOCOL_ERROR)
        self.ok(c, 3)

    def test_5_3_2_headers_with_priority_accepted(self):
        c = self.conn()
        prio = struct.pack(">IB", 0x80000000, 200)
        c.send(frame(HEADERS, END_STREAM | END_HEADERS | PRIORITY_FLAG, 1,
                     prio + block(request_fields())))
        self.assertEqual(c.expect_response(1)[0], 200)

    def test_5_4_1_goaway_carries_last_stream_id(self):
        c = self.conn()
        self.ok(c, 1)
        self.ok(c, 7)
        c.send(ping(b"12"))  # wrong length: FRAME_SIZE_ERROR
        g = c.expect_goaway(FRAME_SIZE_ERROR)
        self.assertEqual(g.last_stream_id, 7)

    def test_5_5_unknown_extension_frame_on_stream(self):
        c = self.conn()
        c.send(get(1, "/slow/200", end_stream=True), frame(0xaa, 0, 1, b"ext"))
        self.assertEqual(c.expect_response(1)[0], 200)

    def test_5_5_unknown_frame_inside_field_block(self):
        c = self.conn()
        blk = block(request_fields())
        c.send(headers(1, blk[:5], end_headers=False), frame(0x7e, 0, 1, b"x"),
               frame(CONTINUATION, END_HEADERS, 1, blk[5:]))
        c.expect_goaway(PROTOCOL_ERROR)


class Rfc9113Section6Test(ConformanceBase, unittest.TestCase):
    """§6 frame definitions."""

    # -- §6.1 DATA
    def test_6_1_data_on_stream_0(self):
        c = self.conn()
        c.send(data(0, b"x"))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_1_data_padding_exceeds_payload(self):
        c = self.conn()
        c.send(post(1), frame(DATA, PADDED | END_STREAM, 1, b"\x05abc"))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_1_data_padded_accepted(self):
        c = self.conn()
        c.send(post(1, extra=[("content-length", "3")]),
               frame(DATA, PADDED | END_STREAM, 1, b"\x04abc\0\0\0\0"))
        status, _, body = c.expect_response(1)
        self.assertEqual((status, body), (200, b"abc"))

    def test_6_1_data_padded_without_pad_length(self):
        c = self.conn()
        c.send(post(1), frame(DATA, PADDED, 1, b""))
        c.expect_goaway(FRAME_SIZE_ERROR)

    # -- §6.2 HEADERS
    def test_6_2_headers_on_stream_0(self):
        c = self.conn()
        c.send(get(0))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_2_headers_padding_exceeds_payload(self):
        c = self.conn()
        blk = block(request_fields())
        c.send(frame(HEADERS, END_STREAM | END_HEADERS | PADDED, 1,
                     bytes([len(blk) + 1]) + blk))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_2_headers_padded_accepted(self):
        c = self.conn()
        blk = block(request_fields())
        c.send(frame(HEADERS, END_STREAM | END_HEADERS | PADDED, 1, b"\x06" + blk + b"\0" * 6))
        self.assertEqual(c.expect_response(1)[0], 200)

    def test_6_2_data_inside_field_block(self):
        c = self.conn()
        blk = block(request_fields("/echo", "POST"))
        c.send(headers(1, blk[:5], end_stream=False, end_headers=False), data(1, b"x"))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_2_headers_too_short_for_priority(self):
        c = self.conn()
        c.send(frame(HEADERS, END_HEADERS | PRIORITY_FLAG, 1, b"\x00\x00"))
        c.expect_goaway(FRAME_SIZE_ERROR)

    # -- §6.3 PRIORITY
    def test_6_3_priority_on_stream_0(self):
        c = self.conn()
        c.send(priority(0, 1))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_3_priority_wrong_length(self):
        c = self.conn()
        c.send(get(1, "/slow/2000"), frame(PRIORITY, 0, 1, b"\0\0\0\0\0\0"))
        c.expect_reset(1, FRAME_SIZE_ERROR)
        self.ok(c, 3)

    # -- §6.4 RST_STREAM
    def test_6_4_rst_stream_on_stream_0(self):
        c = self.conn()
        c.send(rst_stream(0))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_4_rst_stream_wrong_length(self):
        c = self.conn()
        c.send(get(1, "/slow/2000"), frame(RST_STREAM, 0, 1, b"\0\0\0\0\0"))
        c.expect_goaway(FRAME_SIZE_ERROR)

    def test_6_4_rst_stream_cancels_response(self):
        c = self.conn()
        c.send(get(1, "/slow/300"), rst_stream(1))
        c.ping_roundtrip()
        time.sleep(0.6)  # the handler answers after 300 ms: its answer must not go out
        self.ok(c, 3)
        self.assertNotIn(1, c.responses)

    # -- §6.5 SETTINGS
    def test_6_5_settings_on_stream(self):
        c = self.conn()
        c.send(frame(SETTINGS, 0, 1, b""))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_5_settings_length_not_multiple_of_6(self):
        c = self.conn()
        c.send(frame(SETTINGS, 0, 0, b"\x00\x03\x00\x00"))
        c.expect_goaway(FRAME_SIZE_ERROR)

    def test_6_5_3_settings_ack_with_payload(self):
        c = self.conn()
        c.send(frame(SETTINGS, ACK, 0, b"\x00\x03\x00\x00\x00\x64"))
        c.expect_goaway(FRAME_SIZE_ERROR)

    def test_6_5_3_settings_acknowledged_each_time(self):
        c = self.conn()
        c.wait(lambda: c.settings_acks >= 1)
        c.send(settings((MAX_CONCURRENT_STREAMS, 10)), settings())
        c.wait(lambda: c.settings_acks >= 3)

    def test_6_5_2_enable_push_invalid(self):
        c = self.conn()
        c.send(settings((ENABLE_PUSH, 2)))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_5_2_initial_window_size_too_large(self):
        c = self.conn()
        c.send(settings((INITIAL_WINDOW_SIZE, 0x80000000)))
        c.expect_goaway(FLOW_CONTROL_ERROR)

    def test_6_5_2_max_frame_size_too_small(self):
        c = self.conn()
        c.send(settings((MAX_FRAME_SIZE, 16383)))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_5_2_max_frame_size_too_large(self):
        c = self.conn()
        c.send(settings((MAX_FRAME_SIZE, 1 << 24)))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_5_2_unknown_setting_ignored(self):
        c = self.conn()
        c.send(settings((0xff, 1), (0x1234, 0xffffffff)))
        c.wait(lambda: c.settings_acks >= 2)
        self.ok(c)

    def test_6_5_2_header_table_size_0_honoured(self):
        # Our decoder's table is 0: the server must not index anything (RFC 7541 §4.2 update).
        c = H2Raw(self.server)
        self.addCleanup(c.close)
        c.decoder.header_table_size = 0  # an entry the server indexed cannot be referenced
        c.decoder.max_allowed_table_size = 0  # and a size update above 0 fails
        c.handshake((HEADER_TABLE_SIZE, 0))
        self.ok(c, 1)
        self.ok(c, 3)

    def test_6_5_2_max_frame_size_larger_used(self):
        c = self.conn((MAX_FRAME_SIZE, 65536), (INITIAL_WINDOW_SIZE, 1 << 20))
        c.send(window_update(0, 1 << 20))
        c.send(get(1, "/big.bin"))
        status, _, body = c.expect_response(1, timeout=30)
        self.assertEqual((status, body), (200, self.big))
        sizes = [len(f.data) for f in c.frames if f.type == DATA]
        self.assertLessEqual(max(sizes), 65536)

    # -- §6.7 PING
    def test_6_7_ping_answered_with_same_payload(self):
        c = self.conn()
        c.send(ping(b"\x00\x01\x02\x03\xfc\xfd\xfe\xff"))
        c.wait(lambda: b"\x00\x01\x02\x03\xfc\xfd\xfe\xff" in c.ping_acks)

    def test_6_7_ping_ack_not_answered(self):
        c = self.conn()
        c.send(ping(b"ackackac", ack=True))
        c.ping_roundtrip(b"afterack")
        self.assertNotIn(b"ackackac", c.ping_acks)

    def test_6_7_ping_on_stream(self):
        c = self.conn()
        c.send(frame(PING, 0, 1, b"12345678"))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_7_ping_wrong_length(self):
        c = self.conn()
        c.send(frame(PING, 0, 0, b"123456"))
        c.expect_goaway(FRAME_SIZE_ERROR)

    # -- §6.8 GOAWAY
    def test_6_8_goaway_on_stream(self):
        c = self.conn()
        c.send(frame(7, 0, 1, struct.pack(">II", 0, 0)))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_8_goaway_from_client_lets_streams_finish(self):
        c = self.conn()
        c.send(get(1, "/slow/300"), goaway(0))
        status, _, body = c.expect_response(1)
        self.assertEqual((status, body), (200, b"slow done\n"))
        self.assertTrue(c.drain(), "the server did not close after the client's GOAWAY")

    def test_6_8_goaway_too_short(self):
        c = self.conn()
        c.send(frame(7, 0, 0, b"\0\0\0\0"))
        c.expect_goaway(FRAME_SIZE_ERROR)

    # -- §6.9 WINDOW_UPDATE
    def test_6_9_window_update_zero_on_stream(self):
        c = self.conn()
        c.send(get(1, "/slow/2000"), window_update(1, 0))
        c.expect_reset(1, PROTOCOL_ERROR)
        self.ok(c, 3)

    def test_6_9_window_update_zero_on_connection(self):
        c = self.conn()
        c.send(window_update(0, 0))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_9_window_update_wrong_length(self):
        c = self.conn()
        c.send(frame(WINDOW_UPDATE, 0, 0, b"\0\0\0\1\0"))
        c.expect_goaway(FRAME_SIZE_ERROR)

    def test_6_9_1_connection_window_overflow(self):
        c = self.conn()
        c.send(window_update(0, 0x7fffffff))
        c.expect_goaway(FLOW_CONTROL_ERROR)

    def test_6_9_1_stream_window_overflow(self):
        c = self.conn()
        c.send(get(1, "/slow/2000"), window_update(1, 0x7fffffff))
        c.expect_reset(1, FLOW_CONTROL_ERROR)
        self.ok(c, 3)

    def test_6_9_1_server_respects_stream_window(self):
        c = self.conn((INITIAL_WINDOW_SIZE, 1000), auto_window=False)
        c.send(get(1, "/big.bin"))
        c.wait(lambda: c.responses.get(1, {}).get("headers") is not None)
        c.ping_roundtrip()
        c.ping_roundtrip(b"again!!!")
        self.assertEqual(len(c.responses[1]["data"]), 1000)
        c.send(window_update(1, 500))
        c.wait(lambda: len(c.responses[1]["data"]) >= 1500)
        c.ping_roundtrip(b"third!!!")
        self.assertEqual(len(c.responses[1]["data"]), 1500)
        self.assertEqual(bytes(c.responses[1]["data"]), self.big[:1500])

    def test_6_9_1_server_respects_connection_window(self):
        c = self.conn((INITIAL_WINDOW_SIZE, 1 << 20), auto_window=False)
        c.send(get(1, "/big.bin"))
        c.wait(lambda: len(c.responses.get(1, {}).get("data", b"")) >= 65535)
        c.ping_roundtrip()
        self.assertEqual(len(c.responses[1]["data"]), 65535)

    def test_6_9_2_initial_window_size_change_applies_to_open_streams(self):
        c = self.conn((INITIAL_WINDOW_SIZE, 0), auto_window=False)
        c.send(get(1, "/hello.txt"))
        c.wait(lambda: c.responses.get(1, {}).get("headers") is not None)
        c.ping_roundtrip()
        self.assertEqual(len(c.responses[1]["data"]), 0)
        c.send(settings((INITIAL_WINDOW_SIZE, 100)))
        c.wait(lambda: c.responses[1]["ended"])
        self.assertEqual(bytes(c.responses[1]["data"]), HELLO)

    def test_6_9_2_window_may_become_negative(self):
        c = self.conn((INITIAL_WINDOW_SIZE, 1000), auto_window=False)
        c.send(get(1, "/big.bin"))
        c.wait(lambda: len(c.responses.get(1, {}).get("data", b"")) >= 1000)
        c.send(settings((INITIAL_WINDOW_SIZE, 0)))  # window 1000 - 1000 - 1000 = -1000
        c.send(window_update(1, 1000))  # back to 0: still nothing
        c.ping_roundtrip()
        self.assertEqual(len(c.responses[1]["data"]), 1000)
        c.send(window_update(1, 10))
        c.wait(lambda: len(c.responses[1]["data"]) >= 1010)
        c.ping_roundtrip(b"again!!!")
        self.assertEqual(len(c.responses[1]["data"]), 1010)

    def test_6_9_2_initial_window_size_overflow(self):
        c = self.conn()
        c.send(get(1, "/slow/2000"), window_update(1, 0x7fffffff - 65535))
        c.ping_roundtrip()
        c.send(settings((INITIAL_WINDOW_SIZE, 65536)))
        c.expect_goaway(FLOW_CONTROL_ERROR)

    # -- §6.10 CONTINUATION
    def test_6_10_continuation_without_headers(self):
        c = self.conn()
        self.ok(c, 1)
        c.send(frame(CONTINUATION, END_HEADERS, 1, b""))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_10_continuation_after_end_headers(self):
        c = self.conn()
        c.send(get(1, "/slow/2000"), frame(CONTINUATION, END_HEADERS, 1, literal("a", "b")))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_10_continuation_on_other_stream(self):
        c = self.conn()
        blk = block(request_fields())
        c.send(headers(1, blk[:5], end_headers=False),
               frame(CONTINUATION, END_HEADERS, 3, blk[5:]))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_10_continuation_on_stream_0(self):
        c = self.conn()
        blk = block(request_fields())
        c.send(headers(1, blk[:5], end_headers=False),
               frame(CONTINUATION, END_HEADERS, 0, blk[5:]))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_6_10_field_block_over_several_continuations(self):
        c = self.conn()
        blk = block(request_fields())
        c.send(headers(1, blk[:3], end_headers=False),
               frame(CONTINUATION, 0, 1, blk[3:10]), frame(CONTINUATION, 0, 1, blk[10:20]),
               frame(CONTINUATION, END_HEADERS, 1, blk[20:]))
        status, _, body = c.expect_response(1)
        self.assertEqual((status, body), (200, HELLO))


class Rfc9113Section8Test(ConformanceBase, unittest.TestCase):
    """§8 HTTP semantics: message framing, field validity, pseudo-headers, push."""

    # -- §8.1
    def test_8_1_1_content_length_above_data(self):
        c = self.conn()
        c.send(post(1, extra=[("content-length", "10")]), data(1, b"12345", True))
        c.expect_reset(1, PROTOCOL_ERROR)
        self.ok(c, 3)

    def test_8_1_1_content_length_below_data(self):
        c = self.conn()
        c.send(post(1, extra=[("content-length", "3")]), data(1, b"12345", True))
        c.expect_reset(1, PROTOCOL_ERROR)
        self.ok(c, 3)

    def test_8_1_1_content_length_without_body(self):
        self.malformed(request_fields() + [("content-length", "5")])

    def test_8_1_1_content_length_not_a_number(self):
        self.malformed(request_fields() + [("content-length", "5x")])

    def test_8_1_body_over_limit_413_then_in_flight_data_ignored(self):
        # §8.1: the server may answer before the request is complete and stop the upload with
        # RST_STREAM NO_ERROR; the DATA the client had in flight is ignored (§5.1), even when
        # 64 uploads on one connection are stopped that way. (Streams past the connection's
        # budget for request bodies are refused instead: REFUSED_STREAM, §8.7.)
        c = self.conn()
        streams = list(range(1, 129, 2))
        c.send(*[post(i) for i in streams])
        c.upload(dict.fromkeys(streams, 2 << 20))
        c.wait(lambda: all(i in c.resets for i in streams), timeout=30)  # each upload stopped
        c.ping_roundtrip(timeout=30)
        for i in streams:
            if c.resets.get(i) != REFUSED_STREAM:
                self.assertEqual(c.responses[i]["headers"][":status"], "413")
                self.assertEqual(c.resets.get(i), NO_ERROR)
        self.assertIsNone(c.goaway_frame, c.summary())
        self.ok(c, 201)

    def test_8_1_trailers_accepted(self):
        c = self.conn()
        c.send(post(1), data(1, b"body"), headers(1, [("x-checksum", "abc")], end_stream=True))
        status, _, body = c.expect_response(1)
        self.assertEqual((status, body), (200, b"body"))

    def test_8_1_trailers_without_end_stream(self):
        c = self.conn()
        c.send(post(1), data(1, b"body"), headers(1, [("x-checksum", "abc")], end_stream=False))
        c.expect_reset(1, PROTOCOL_ERROR)
        self.ok(c, 3)

    def test_8_1_trailers_with_pseudo_header(self):
        c = self.conn()
        c.send(post(1), data(1, b"body"), headers(1, [(":path", "/x")], end_stream=True))
        c.expect_reset(1, PROTOCOL_ERROR)
        self.ok(c, 3)

    def test_8_1_trailers_with_connection_field(self):
        c = self.conn()
        c.send(post(1), data(1, b"body"), headers(1, [("connection", "close")], end_stream=True))
        c.expect_reset(1, PROTOCOL_ERROR)
        self.ok(c, 3)

    # -- §8.2.1 field validity
    def test_8_2_1_uppercase_field_name(self):
        self.malformed(request_fields() + [("X-Upper", "1")])

    def test_8_2_1_field_name_with_space(self):
        self.malformed(request_fields() + [("x bad", "1")])

    def test_8_2_1_field_name_with_colon(self):
        self.malformed(request_fields() + [("x:bad", "1")])

    def test_8_2_1_empty_field_name(self):
        self.malformed(request_fields() + [("", "1")])

    def test_8_2_1_field_value_with_lf(self):
        self.malformed(request_fields() + [("x-v", "a\nb")])

    def test_8_2_1_field_value_with_cr(self):
        self.malformed(request_fields() + [("x-v", "a\rb")])

    def test_8_2_1_field_value_with_nul(self):
        self.malformed(request_fields() + [("x-v", "a\0b")])

    def test_8_2_1_field_value_leading_space(self):
        self.malformed(request_fields() + [("x-v", " a")])

    def test_8_2_1_field_value_trailing_tab(self):
        self.malformed(request_fields() + [("x-v", "a\t")])

    def test_8_2_1_pseudo_header_value_with_lf(self):
        self.malformed([(":method", "GET"), (":scheme", "http"), (":path", "/a\nb"),
                        (":authority", "localhost")])

    # -- §8.2.2 connection-specific fields
    def test_8_2_2_connection(self):
        self.malformed(request_fields() + [("connection", "keep-alive")])

    def test_8_2_2_keep_alive(self):
        self.malformed(request_fields() + [("keep-alive", "timeout=5")])

    def test_8_2_2_proxy_connection(self):
        self.malformed(request_fields() + [("proxy-connection", "keep-alive")])

    def test_8_2_2_transfer_encoding(self):
        self.malformed(request_fields() + [("transfer-encoding", "chunked")])

    def test_8_2_2_upgrade(self):
        self.malformed(request_fields() + [("upgrade", "h2c")])

    def test_8_2_2_te_other_than_trailers(self):
        self.malformed(request_fields() + [("te", "gzip")])

    def test_8_2_2_te_trailers_accepted(self):
        c = self.conn()
        c.send(get(1, extra=[("te", "trailers")]))
        self.assertEqual(c.expect_response(1)[0], 200)

    # -- §8.2.3 cookies
    def test_8_2_3_cookie_crumbs_joined(self):
        c = self.conn()
        c.send(get(1, "/headers", extra=[("cookie", "a=1"), ("cookie", "b=2")]))
        status, _, body = c.expect_response(1)
        self.assertEqual(status, 200)
        self.assertIn(b"cookie: a=1; b=2\n", body)

    # -- §8.3.1 request pseudo-header fields
    def test_8_3_1_unknown_pseudo_header(self):
        self.malformed(request_fields() + [(":foo", "bar")])

    def test_8_3_1_response_pseudo_header_in_request(self):
        self.malformed(request_fields() + [(":status", "200")])

    def test_8_3_1_pseudo_header_after_regular_field(self):
        f = request_fields()
        self.malformed(f[:3] + [("x-a", "1")] + f[3:])

    def test_8_3_1_missing_method(self):
        self.malformed([(":scheme", "http"), (":path", "/"), (":authority", "localhost")])

    def test_8_3_1_missing_scheme(self):
        self.malformed([(":method", "GET"), (":path", "/"), (":authority", "localhost")])

    def test_8_3_1_missing_path(self):
        self.malformed([(":method", "GET"), (":scheme", "http"), (":authority", "localhost")])

    def test_8_3_1_empty_path(self):
        self.malformed(request_fields(path=""))

    def test_8_3_1_duplicate_method(self):
        self.malformed(request_fields() + [(":method", "GET")])

    def test_8_3_1_duplicate_path(self):
        f = request_fields()
        self.malformed(f[:3] + [(":path", "/")] + f[3:])

    def test_8_3_1_duplicate_scheme(self):
        f = request_fields()
        self.malformed(f[:2] + [(":scheme", "https")] + f[2:])

    def test_8_3_1_asterisk_path_not_options(self):
        self.malformed(request_fields(path="*"))

    def test_8_3_1_path_without_slash(self):
        self.malformed(request_fields(path="hello.txt"))

    def test_8_3_1_asterisk_path_with_options_accepted(self):
        c = self.conn()
        c.send(headers(1, request_fields("*", "OPTIONS")))
        status, _, _ = c.expect_response(1)
        self.assertLess(status, 500)

    def test_8_3_1_authority_becomes_host(self):
        c = self.conn()
        c.send(headers(1, request_fields("/headers", authority="example.test:8")))
        status, _, body = c.expect_response(1)
        self.assertEqual(status, 200)
        self.assertIn(b"host: example.test:8\n", body)

    def test_8_3_1_protocol_pseudo_header_not_enabled(self):
        self.malformed([(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                        (":path", "/"), (":authority", "localhost")])

    def test_8_5_connect_with_path(self):
        self.malformed([(":method", "CONNECT"), (":authority", "localhost:1"), (":path", "/")])

    def test_8_5_connect_without_authority(self):
        self.malformed([(":method", "CONNECT")])

    def test_8_5_connect_well_formed_not_reset(self):
        c = self.conn()
        c.send(headers(1, [(":method", "CONNECT"), (":authority", "localhost:1")]))
        c.wait(lambda: 1 in c.responses or 1 in c.resets or c.goaway_frame is not None)
        self.assertIsNone(c.goaway_frame)
        self.assertNotEqual(c.resets.get(1), PROTOCOL_ERROR)

    # -- §8.4 server push
    def test_8_4_push_promise_from_client(self):
        c = self.conn()
        c.send(get(1, "/slow/2000"),
               frame(PUSH_PROMISE, END_HEADERS, 1, struct.pack(">I", 2) + block(
                   request_fields())))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_8_4_enable_push_0_accepted(self):
        c = self.conn((ENABLE_PUSH, 0))
        self.ok(c)

    def test_8_1_header_list_too_large_431(self):
        c = self.conn()
        limit = c.server_settings.get(6, 65536)
        fields = request_fields() + [("x-f%d" % i, "v" * 1000) for i in range(limit // 1000 + 2)]
        blk = block(fields)
        frames = [headers(1, blk[:16000], end_headers=False)]
        rest = blk[16000:]
        while rest:
            piece, rest = rest[:16000], rest[16000:]
            frames.append(frame(CONTINUATION, 0 if rest else END_HEADERS, 1, piece))
        c.send(*frames)
        self.assertEqual(c.expect_response(1)[0], 431)
        self.ok(c, 3)


class ResponseAndExtensionTest(ConformanceBase, unittest.TestCase):
    """What the server sends (§4.2, §8.1, §8.2.2, §8.3.2, RFC 7541 §4.2) and RFC 9218
    PRIORITY_UPDATE."""

    def test_4_2_server_frames_within_max_frame_size(self):
        c = self.conn()
        c.send(get(1, "/big.bin"))
        status, _, body = c.expect_response(1, timeout=30)
        self.assertEqual((status, body), (200, self.big))
        self.assertLessEqual(max(len(f.data) for f in c.frames if f.type == DATA), 16384)

    def test_8_1_head_response_has_no_data(self):
        c = self.conn()
        c.send(get(1, method="HEAD"))
        status, h, body = c.expect_response(1)
        self.assertEqual((status, h.get("content-length"), body), (200, "13", b""))
        self.assertFalse([f for f in c.frames if f.type == DATA and f.stream_id == 1])

    def test_8_3_2_response_fields(self):
        # :status first, lowercase names, no connection-specific fields (§8.2.1, §8.2.2) even
        # for a streamed response, which HTTP/1.1 would send chunked.
        c = self.conn()
        c.send(get(1, "/stream/4"))
        status, _, body = c.expect_response(1)
        self.assertEqual((status, len(body)), (200, 4096))
        hdrs = list(c.responses[1]["headers"].items())
        self.assertEqual(hdrs[0][0], ":status")
        for k, _ in hdrs:
            self.assertEqual(k, k.lower())
            self.assertNotIn(k, ("connection", "keep-alive", "proxy-connection",
                                 "transfer-encoding", "upgrade"))

    def test_hpack_4_2_table_size_reduced_mid_connection(self):
        # RFC 7541 §4.2: after our SETTINGS_HEADER_TABLE_SIZE shrinks, the server's next block
        # MUST start with a dynamic table size update within the new limit.
        c = self.conn()
        self.ok(c, 1)
        acks = c.settings_acks
        c.send(settings((HEADER_TABLE_SIZE, 0)))
        c.wait(lambda: c.settings_acks > acks)
        self.ok(c, 3)
        first = [f for f in c.frames if f.type == HEADERS and f.stream_id == 3][0].data
        self.assertEqual(first[0], 0x20, "block does not start with a size update to 0")
        self.assertEqual(c.decoder.header_table_size, 0)

    def test_rfc9218_7_1_priority_update_on_stream(self):
        c = self.conn()
        c.send(frame(0x10, 0, 1, struct.pack(">I", 1) + b"u=1"))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_rfc9218_7_1_priority_update_for_stream_0(self):
        c = self.conn()
        c.send(frame(0x10, 0, 0, struct.pack(">I", 0) + b"u=1"))
        c.expect_goaway(PROTOCOL_ERROR)

    def test_rfc9218_7_1_priority_update_accepted(self):
        c = self.conn()
        c.send(get(1, "/slow/200"), frame(0x10, 0, 0, struct.pack(">I", 1) + b"u=0, i"),
               frame(0x10, 0, 0, struct.pack(">I", 99) + b"u=7"))
        self.assertEqual(c.expect_response(1)[0], 200)


class Rfc7541Test(ConformanceBase, unittest.TestCase):
    """HPACK (RFC 7541): decoding errors are connection errors of type COMPRESSION_ERROR
    (RFC 9113 §4.3)."""

    def test_hpack_6_1_index_0(self):
        c = self.conn()
        c.send(headers(1, block(request_fields()) + b"\x80"))
        c.expect_goaway(COMPRESSION_ERROR)

    def test_hpack_2_3_3_index_past_the_tables(self):
        c = self.conn()
        c.send(headers(1, block(request_fields()) + hpack_int(70, 7, 0x80)))
        c.expect_goaway(COMPRESSION_ERROR)

    def test_hpack_2_3_3_literal_name_index_past_the_tables(self):
        c = self.conn()
        c.send(headers(1, block(request_fields()) + hpack_int(99, 4, 0x00) + hpack_str("v")))
        c.expect_goaway(COMPRESSION_ERROR)

    def test_hpack_2_3_2_dynamic_entry_reused(self):
        c = self.conn()
        c.send(headers(1, block(request_fields("/headers")) +
                       literal("x-dyn", "one", indexing=True)))
        self.assertIn(b"x-dyn: one", c.expect_response(1)[2])
        c.send(headers(3, block(request_fields("/headers")) + b"\xbe"))  # index 62
        self.assertIn(b"x-dyn: one", c.expect_response(3)[2])

    def test_hpack_4_2_table_size_update_accepted(self):
        c = self.conn()
        c.send(headers(1, b"\x20" + block(request_fields())))  # size update to 0
        self.assertEqual(c.expect_response(1)[0], 200)

    def test_hpack_4_2_table_size_update_above_limit(self):
        c = self.conn()
        c.send(headers(1, hpack_int(4097, 5, 0x20) + block(request_fields())))
        c.expect_goaway(COMPRESSION_ERROR)

    def test_hpack_4_2_table_size_update_after_field(self):
        c = self.conn()
        c.send(headers(1, block(request_fields()) + b"\x20"))
        c.expect_goaway(COMPRESSION_ERROR)

    def test_hpack_4_2_three_table_size_updates(self):
        c = self.conn()
        c.send(headers(1, b"\x20\x20\x20" + block(request_fields())))
        c.expect_goaway(COMPRESSION_ERROR)

    def test_hpack_4_4_eviction_makes_index_invalid(self):
        c = self.conn()
        c.send(headers(1, block(request_fields("/headers")) +
                       literal("x-dyn", "one", indexing=True)))
        c.expect_response(1)
        c.send(headers(3, b"\x20" + block(request_fields()) + b"\xbe"))  # table emptied first
        c.expect_goaway(COMPRESSION_ERROR)

    def test_hpack_5_1_integer_overflow(self):
        c = self.conn()
        c.send(headers(1, block(request_fields()) + b"\xff\xff\xff\xff\xff\xff\xff\x7f"))
        c.expect_goaway(COMPRESSION_ERROR)

    def test_hpack_5_2_huffman_eos_in_string(self):
        c = self.conn()
        # value: Huffman, 4 octets = EOS (30 ones) + 2 padding ones
        c.send(headers(1, block(request_fields()) + b"\x00" + hpack_str("x-h") +
                       b"\x84\xff\xff\xff\xff"))
        c.expect_goaway(COMPRESSION_ERROR)

    def test_hpack_5_2_huffman_padding_longer_than_7_bits(self):
        c = self.conn()
        # 'a' is 00011 (5 bits); then 11 bits of ones: padding > 7 bits
        c.send(headers(1, block(request_fields()) + b"\x00" + hpack_str("x-h") +
                       b"\x82\x1f\xff"))
        c.expect_goaway(COMPRESSION_ERROR)

    def test_hpack_5_2_huffman_padding_not_ones(self):
        c = self.conn()
        # 'a' = 00011, padding 000 (must be the EOS prefix, all ones)
        c.send(headers(1, block(request_fields()) + b"\x00" + hpack_str("x-h") + b"\x81\x18"))
        c.expect_goaway(COMPRESSION_ERROR)

    def test_hpack_5_2_huffman_valid(self):
        c = self.conn()
        # 'a' = 00011 + 111 padding
        c.send(headers(1, block(request_fields("/headers")) + b"\x00" + hpack_str("x-h") +
                       b"\x81\x1f"))
        self.assertIn(b"x-h: a\n", c.expect_response(1)[2])

    def test_hpack_5_2_string_longer_than_block(self):
        c = self.conn()
        c.send(headers(1, block(request_fields()) + b"\x00\x7f\x20abc"))
        c.expect_goaway(COMPRESSION_ERROR)

    def test_hpack_6_2_3_never_indexed_accepted(self):
        c = self.conn()
        c.send(headers(1, block(request_fields("/headers")) +
                       literal("authorization", "secret", never=True)))
        self.assertIn(b"authorization: secret", c.expect_response(1)[2])

    def test_hpack_compression_error_on_trailers(self):
        c = self.conn()
        c.send(post(1), data(1, b"x"), headers(1, b"\x80", end_stream=True))
        c.expect_goaway(COMPRESSION_ERROR)

    def test_hpack_compression_error_on_ignored_stream(self):
        # A block on a stream closed by our reset is still decoded (RFC 9113 §4.3).
        c = self.conn()
        c.send(post(1, extra=[("content-length", "1")]), data(1, b"xx", True))
        c.expect_reset(1, PROTOCOL_ERROR)
        c.send(headers(1, b"\x80", end_stream=True))
        c.expect_goaway(COMPRESSION_ERROR)


if __name__ == "__main__":
    unittest.main()
