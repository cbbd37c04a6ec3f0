"""A WebSocket conformance battery over raw sockets, in the spirit of the public suites
(Autobahn|Testsuite sections 1-7, 9, 12-13): framing, pings and pongs, reserved bits, opcodes,
fragmentation, UTF-8, close handling, limits and compression, against
`portico serve --ws-echo /ws/echo`. Each case names the section it follows. Every socket has
a timeout; every loop is bounded.
"""

import os
import struct
import tempfile
import unittest
import zlib

from harness import Server, scaled
from test_websocket import RawWs, frame

MAX_MESSAGE = 1 << 20


class Battery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.server = Server(["--threads", "1", "--ws-echo", "/ws/echo", "--ws-max-message",
                             str(MAX_MESSAGE)], root=cls.tmp.name, kind="portico").start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.close()
        finally:
            cls.tmp.cleanup()

    def ws(self, extra=b""):
        c = RawWs(self.server.port, "/ws/echo", extra)
        self.addCleanup(c.close)
        self.assertEqual(c.status(), 101, c.head)
        return c

    def expect_close(self, data, code, msg=None):
        c = self.ws()
        c.sock.sendall(data)
        self.assertEqual(c.close_code(), code, msg)
        # The server closes the TCP connection after its Close (RFC 6455 §7.1.1).
        c.sock.settimeout(scaled(5))
        rest = b""
        try:
            for _ in range(100):
                chunk = c.sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
        except ConnectionResetError:
            pass

    # ---- 1. framing ---------------------------------------------------------------------------

    def test_1_1_text_lengths(self):
        c = self.ws()
        for n in (0, 125, 126, 127, 128, 65535, 65536):
            self.echo_whole(c, 1, b"*" * n)

    def test_1_2_binary_lengths(self):
        c = self.ws()
        for n in (0, 125, 126, 127, 128, 65535, 65536):
            self.echo_whole(c, 2, bytes(range(256)) * (n // 256) + bytes(n % 256))

    def test_1_1_8_sent_in_chunks_of_one_byte(self):
        c = self.ws()
        data = frame(1, b"x" * 300)
        for i in range(len(data)):
            c.sock.sendall(data[i:i + 1])
        self.assertEqual(self.recv_message(c), (1, b"x" * 300))

    # ---- 2. pings and pongs -------------------------------------------------------------------

    def test_2_1_to_2_4_ping_payloads(self):
        c = self.ws()
        for payload in (b"", b"Hello, world!", bytes(range(125))):
            c.sock.sendall(frame(9, payload))
            self.assertEqual(c.read_frame(), (10, payload))

    def test_2_5_ping_over_125_is_1002(self):
        self.expect_close(frame(9, b"x" * 126), 1002)

    def test_2_6_ping_sent_slowly(self):
        c = self.ws()
        data = frame(9, b"slow ping")
        for i in range(len(data)):
            c.sock.sendall(data[i:i + 1])
        self.assertEqual(c.read_frame(), (10, b"slow ping"))

    def test_2_7_unsolicited_pong_ignored(self):
        c = self.ws()
        c.sock.sendall(frame(10, b"unsolicited") + frame(1, b"after"))
        self.assertEqual(self.recv_message(c), (1, b"after"))

    def test_2_10_many_pings_answered(self):
        c = self.ws()
        c.sock.sendall(b"".join(frame(9, b"p%d" % i) for i in range(10)) + frame(1, b"end"))
        pongs = []
        for _ in range(20):
            op, payload = c.read_frame()
            if op == 1:
                break
            pongs.append(payload)
        # RFC 6455 §5.5.3: a pong answers the most recent ping; earlier ones may be skipped.
        self.assertTrue(pongs and pongs[-1] == b"p9", pongs)

    def test_2_fragmented_ping_is_1002(self):
        self.expect_close(frame(9, b"frag", fin=False), 1002)

    # ---- 3. reserved bits ---------------------------------------------------------------------

    def test_3_reserved_bits_without_extension_are_1002(self):
        for rsv in (1, 2, 3, 4, 5, 6, 7):
            for op in (1, 2, 9):
                self.expect_close(frame(op, b"rsv", rsv=rsv), 1002, (rsv, op))

    # ---- 4. opcodes ---------------------------------------------------------------------------

    def test_4_reserved_opcodes_are_1002(self):
        for op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
            self.expect_close(frame(op, b"op"), 1002, op)

    def test_4_reserved_opcode_after_a_valid_message(self):
        c = self.ws()
        c.sock.sendall(frame(1, b"fine") + frame(5, b""))
        # Failing the connection may drop the echo still queued (Autobahn counts that as
        # non-strict); what must come is the Close with 1002, and nothing else.
        (fin, op), payload = self.raw_frame(c)
        if op == 1:
            self.assertEqual(payload, b"fine")
            (fin, op), payload = self.raw_frame(c)
        self.assertEqual(op, 8)
        self.assertEqual(struct.unpack("!H", payload[:2])[0], 1002)

    # ---- 5. fragmentation ---------------------------------------------------------------------

    def test_5_fragmented_text_and_binary(self):
        c = self.ws()
        c.sock.sendall(frame(1, b"frag", fin=False) + frame(0, b"men", fin=False) +
                       frame(0, b"ted", fin=True))
        self.assertEqual(self.recv_message(c), (1, b"fragmented"))
        c.sock.sendall(frame(2, b"\x00", fin=False) + frame(0, b"\x01", fin=True))
        self.assertEqual(self.recv_message(c), (2, b"\x00\x01"))

    def test_5_6_to_5_8_control_frames_between_fragments(self):
        c = self.ws()
        c.sock.sendall(frame(1, b"a", fin=False) + frame(9, b"ping") + frame(10, b"pong") +
                       frame(0, b"b", fin=True))
        self.assertEqual(c.read_frame(), (10, b"ping"))
        self.assertEqual(self.recv_message(c), (1, b"ab"))

    def test_5_many_one_byte_fragments(self):
        c = self.ws()
        text = b"fragments of one byte each"
        data = frame(1, text[:1], fin=False)
        data += b"".join(frame(0, text[i:i + 1], fin=False) for i in range(1, len(text) - 1))
        data += frame(0, text[-1:], fin=True)
        c.sock.sendall(data)
        self.assertEqual(self.recv_message(c), (1, text))

    def test_5_9_continuation_without_start_is_1002(self):
        self.expect_close(frame(0, b"orphan", fin=True), 1002)
        self.expect_close(frame(0, b"orphan", fin=False), 1002)

    def test_5_new_message_inside_a_fragmented_one_is_1002(self):
        self.expect_close(frame(1, b"a", fin=False) + frame(1, b"b"), 1002)
        self.expect_close(frame(2, b"a", fin=False) + frame(2, b"b", fin=False), 1002)

    def test_5_fragmented_close_is_1002(self):
        self.expect_close(frame(8, struct.pack("!H", 1000), fin=False), 1002)

    # ---- 6. UTF-8 -----------------------------------------------------------------------------

    VALID = ["κόσμε", "\u0080", "\u07ff", "\u0800", "\uffff", "\U00010000", "\U0010ffff",
             "\ue000", "\ufffd", "Hello-µ@ßöäüàá-UTF-8!!"]
    INVALID = [b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
               b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xf8\x88\x80\x80\xaf",
               b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xfe", b"\xff",
               b"\x80", b"\xbf", b"\xc2", b"\xe0\xa0", b"\xf0\x90\x80", b"\xc1\xbf",
               b"\xed\xa0\x80\xed\xb0\x80"]

    def test_6_valid_utf8_split_anywhere(self):
        c = self.ws()
        for s in self.VALID:
            b = s.encode()
            for cut in range(len(b) + 1):
                c.sock.sendall(frame(1, b[:cut], fin=False) + frame(0, b[cut:], fin=True))
                self.assertEqual(self.recv_message(c), (1, b), (s, cut))

    def test_6_invalid_utf8_is_1007_whole_and_fragmented_at_every_byte(self):
        for seq in self.INVALID:
            text = b"ab" + seq + b"cd"
            self.expect_close(frame(1, text), 1007, seq)
            for cut in range(1, len(text)):
                self.expect_close(frame(1, text[:cut], fin=False) +
                                  frame(0, text[cut:], fin=True), 1007, (seq, cut))

    def test_6_invalid_utf8_fails_fast_before_the_message_ends(self):
        # The rest of the message never comes: the first bad byte is enough (RFC 6455 §8.1).
        c = self.ws()
        c.sock.sendall(frame(1, b"ok \xff", fin=False))
        self.assertEqual(c.close_code(), 1007)

    # ---- 7. close handling --------------------------------------------------------------------

    def test_7_1_close_without_payload(self):
        c = self.ws()
        c.sock.sendall(frame(8, b""))
        op, payload = c.read_frame()
        self.assertEqual(op, 8)
        self.assertEqual(payload, b"")  # RFC 6455 §5.5.1: a Close without a code is echoed so

    def test_7_1_data_after_close_ignored(self):
        c = self.ws()
        c.sock.sendall(frame(8, struct.pack("!H", 1000)) + frame(1, b"late"))
        self.assertEqual(c.close_code(), 1000)

    def test_7_3_one_byte_close_payload_is_1002(self):
        self.expect_close(frame(8, b"\x03"), 1002)

    def test_7_3_close_reason_of_123_bytes(self):
        c = self.ws()
        c.sock.sendall(frame(8, struct.pack("!H", 1000) + b"r" * 123))
        self.assertEqual(c.close_code(), 1000)

    def test_7_5_close_reason_not_utf8_is_1007(self):
        self.expect_close(frame(8, struct.pack("!H", 1000) + b"\xce\xba\xff"), 1007)

    def test_7_7_valid_close_codes_echoed(self):
        for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000,
                     4999):
            c = self.ws()
            c.sock.sendall(frame(8, struct.pack("!H", code)))
            self.assertEqual(c.close_code(), code)

    def test_7_9_invalid_close_codes_are_1002(self):
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
            self.expect_close(frame(8, struct.pack("!H", code)), 1002, code)

    # ---- 9. limits ----------------------------------------------------------------------------

    def test_9_message_at_the_limit_echoed_over_it_1009(self):
        c = self.ws()
        self.echo_whole(c, 2, os.urandom(MAX_MESSAGE))
        self.expect_close(frame(2, b"x" * (MAX_MESSAGE + 1)), 1009)

    def test_9_length_with_most_significant_bit_is_1002(self):
        # RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0.
        head = struct.pack("!BBQ", 0x82, 0x80 | 127, 1 << 63) + b"\x00\x00\x00\x00"
        self.expect_close(head, 1002)

    def test_9_unmasked_client_frame_is_1002(self):
        self.expect_close(frame(1, b"unmasked", mask=False), 1002)

    # ---- 12-13. permessage-deflate (RFC 7692) ---------------------------------------------------

    def deflate_ws(self, offer):
        c = RawWs(self.server.port, "/ws/echo", b"Sec-WebSocket-Extensions: " + offer + b"\r\n")
        self.addCleanup(c.close)
        self.assertEqual(c.status(), 101, c.head)
        ext = [l for l in c.head.split(b"\r\n") if l.lower().startswith(b"sec-websocket-extensions")]
        return c, (ext[0].split(b":", 1)[1].strip() if ext else b"")

    @staticmethod
    def compress(comp, data):
        out = comp.compress(data) + comp.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        return out[:-4]  # RFC 7692 §7.2.1: the tail is removed

    def roundtrip_compressed(self, c, comp, decomp, text):
        c.sock.sendall(frame(1, self.compress(comp, text), rsv=4))
        b0, b1 = c.read_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", c.read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", c.read_exact(8))[0]
        payload = c.read_exact(n)
        self.assertEqual(b0 & 0x0F, 1)
        if b0 & 0x40:  # RSV1: compressed by the server
            payload = decomp.decompress(payload + b"\x00\x00\xff\xff")
        self.assertEqual(payload, text)
        return bool(b0 & 0x40)

    def test_12_compressed_echo_with_context_takeover(self):
        c, ext = self.deflate_ws(b"permessage-deflate")
        self.assertTrue(ext.startswith(b"permessage-deflate"), ext)
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        decomp = zlib.decompressobj(-15)
        compressed = [self.roundtrip_compressed(c, comp, decomp, b"hello " * n + b"world")
                      for n in (10, 100, 1000, 1000, 5)]
        self.assertTrue(any(compressed))  # long messages come back compressed

    def test_13_no_context_takeover_both_ways(self):
        c, ext = self.deflate_ws(b"permessage-deflate; client_no_context_takeover; "
                                 b"server_no_context_takeover")
        self.assertIn(b"server_no_context_takeover", ext)
        for _ in range(3):
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)  # a fresh context each message
            decomp = zlib.decompressobj(-15)
            self.roundtrip_compressed(c, comp, decomp, b"the same text again " * 50)

    def test_13_server_max_window_bits(self):
        for bits in (9, 10, 12, 15):
            c, ext = self.deflate_ws(b"permessage-deflate; server_max_window_bits=%d" % bits)
            # §7.1.2.1: the server answers with a value no greater than the offer; 15 (the
            # default) may be left out.
            if bits < 15:
                self.assertIn(b"server_max_window_bits=%d" % bits, ext)
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            decomp = zlib.decompressobj(-bits)
            self.roundtrip_compressed(c, comp, decomp, b"window " * 2000)

    def test_12_compressed_bomb_is_1009(self):
        c, _ = self.deflate_ws(b"permessage-deflate")
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        bomb = self.compress(comp, b"\x00" * (8 * MAX_MESSAGE))
        self.assertLess(len(bomb), 64 * 1024)
        c.sock.sendall(frame(2, bomb, rsv=4))
        self.assertEqual(c.close_code(), 1009)

    def test_12_corrupt_compressed_data_is_1007(self):
        c, _ = self.deflate_ws(b"permessage-deflate")
        c.sock.sendall(frame(1, b"\xff\xff\xff\xff not deflate", rsv=4))
        self.assertEqual(c.close_code(), 1007)  # data that does not inflate: invalid payload

    # ---- helpers ------------------------------------------------------------------------------

    def recv_message(self, c):
        """Reads one data message (joining fragments); control frames must not come first."""
        op, payload = self.raw_frame(c)
        fin, op = op
        data = payload
        while not fin:
            (fin, cont), more = self.raw_frame(c)
            self.assertEqual(cont, 0)
            data += more
        return op, data

    @staticmethod
    def raw_frame(c):
        b0, b1 = c.read_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", c.read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", c.read_exact(8))[0]
        return (bool(b0 & 0x80), b0 & 0x0F), c.read_exact(n)

    def echo_whole(self, c, op, payload):
        c.sock.sendall(frame(op, payload))
        self.assertEqual(self.recv_message(c), (op, payload), len(payload))


if __name__ == "__main__":
    unittest.main()
