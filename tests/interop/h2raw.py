"""A raw HTTP/2 client for hostile and conformance tests: frames built byte by byte (so they can
break any rule), the server's frames parsed with python3-hyperframe and its field blocks decoded
with python3-hpack. Every socket has a timeout and every loop is bounded.
"""

import socket
import struct
import time

import hpack
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame,
                              PingFrame, RstStreamFrame, SettingsFrame, WindowUpdateFrame)

from harness import scaled

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (RFC 9113 §6).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
# Flags.
END_STREAM = ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20
# Error codes (RFC 9113 §7).
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
INTERNAL_ERROR = 0x2
FLOW_CONTROL_ERROR = 0x3
SETTINGS_TIMEOUT = 0x4
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
ENHANCE_YOUR_CALM = 0xb
ERROR_NAMES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
               4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR",
               7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR", 0xa: "CONNECT_ERROR",
               0xb: "ENHANCE_YOUR_CALM", 0xc: "INADEQUATE_SECURITY", 0xd: "HTTP_1_1_REQUIRED"}
# SETTINGS identifiers (RFC 9113 §6.5.2).
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, \
    MAX_HEADER_LIST_SIZE = range(1, 7)


def name(code):
    return ERROR_NAMES.get(code, hex(code))


# ---- building frames -------------------------------------------------------------------------

def frame(ftype, flags, sid, payload=b""):
    """One frame, any content (RFC 9113 §4.1); the stream id may carry the reserved bit."""
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid & 0xffffffff) + payload


def settings(*pairs, ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack(">HI", k, v)
                                                         for k, v in pairs))


def ping(opaque=b"12345678", ack=False):
    return frame(PING, ACK if ack else 0, 0, opaque)


def window_update(sid, inc):
    return frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", inc))


def rst_stream(sid, code=CANCEL):
    return frame(RST_STREAM, 0, sid, struct.pack(">I", code))


def priority(sid, dep, weight=15, exclusive=False):
    return frame(PRIORITY, 0, sid, struct.pack(">IB", dep | (0x80000000 if exclusive else 0),
                                               weight))


def goaway(last, code=NO_ERROR, debug=b""):
    return frame(GOAWAY, 0, 0, struct.pack(">II", last, code) + debug)


def data(sid, payload, end_stream=False):
    return frame(DATA, END_STREAM if end_stream else 0, sid, payload)


def hpack_int(value, prefix_bits, first=0):
    """RFC 7541 §5.1 integer with `first` holding the bits above the prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7f) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_str(s):
    """A plain (not Huffman) string literal (RFC 7541 §5.2)."""
    if isinstance(s, str):
        s = s.encode("latin-1")
    return hpack_int(len(s), 7) + s


def literal(name, value, indexing=False, never=False):
    """A literal field with a new name (RFC 7541 §6.2): without indexing (0x00), never indexed
    (0x10) or with incremental indexing (0x40). No dynamic table state needed to send it."""
    first = b"\x40" if indexing else (b"\x10" if never else b"\x00")
    return first + hpack_str(name) + hpack_str(value)


def request_fields(path="/hello.txt", method="GET", scheme="http", authority="localhost"):
    return [(":method", method), (":scheme", scheme), (":path", path), (":authority", authority)]


def block(fields):
    """A field block of plain literals without indexing, in the given order, as given."""
    return b"".join(literal(n, v) for n, v in fields)


def headers(sid, fields_or_block, end_stream=True, end_headers=True, extra_flags=0):
    blk = fields_or_block if isinstance(fields_or_block, (bytes, bytearray)) else \
        block(fields_or_block)
    flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0) | extra_flags
    return frame(HEADERS, flags, sid, bytes(blk))


def get(sid, path="/hello.txt", extra=(), end_stream=True, method="GET"):
    return headers(sid, request_fields(path, method) + list(extra), end_stream=end_stream)


# ---- the connection --------------------------------------------------------------------------

class Closed(Exception):
    pass


class H2Raw:
    """One client connection. Frames from the server land in `frames` (all of them, in order)
    and in per-kind records; the server's SETTINGS are ACKed and (with auto_window) DATA is
    given back its window automatically."""

    def __init__(self, server, timeout=10.0, rcvbuf=None, auto_window=True):
        self.sock = socket.socket(server.family, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(scaled(timeout))
        self.sock.connect((server.host, server.port))
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False
        self.auto_window = auto_window
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 20
        self.frames = []
        self.goaway_frame = None
        self.resets = {}  # stream -> error code
        self.responses = {}  # stream -> {"headers": dict, "data": bytearray, "ended": bool}
        self.server_settings = None
        self.settings_acks = 0
        self.ping_acks = []
        self.window_updates = []

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, *chunks):
        self.sock.sendall(b"".join(chunks))

    def preface(self, *pairs):
        self.send(PREFACE, settings(*pairs))

    def handshake(self, *pairs):
        """Preface and our SETTINGS; waits for the server's SETTINGS (which is ACKed)."""
        self.preface(*pairs)
        self.wait(lambda: self.server_settings is not None)
        return self

    # -- reading -----------------------------------------------------------------------------

    def _fill(self, deadline):
        if self.eof:
            raise Closed("EOF")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(1 << 18)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.eof = True
            raise Closed("EOF")
        self.buf += chunk

    def read_frame(self, deadline):
        """The next frame (hyperframe object), or raises Closed / socket.timeout."""
        while len(self.buf) < 9:
            self._fill(deadline)
        f, length = Frame.parse_frame_header(memoryview(bytes(self.buf[:9])))
        while len(self.buf) < 9 + length:
            self._fill(deadline)
        body = bytes(self.buf[9:9 + length])
        del self.buf[:9 + length]
        f.parse_body(memoryview(body))
        self._on_frame(f)
        return f

    def _on_frame(self, f):
        self.frames.append(f)
        if isinstance(f, SettingsFrame):
            if "ACK" in f.flags:
                self.settings_acks += 1
            else:
                self.server_settings = dict(f.settings)
                self.send(settings(ack=True))
        elif isinstance(f, GoAwayFrame):
            self.goaway_frame = f
        elif isinstance(f, RstStreamFrame):
            self.resets[f.stream_id] = f.error_code
        elif isinstance(f, PingFrame):
            if "ACK" in f.flags:
                self.ping_acks.append(f.opaque_data)
        elif isinstance(f, WindowUpdateFrame):
            self.window_updates.append((f.stream_id, f.window_increment))
        elif isinstance(f, (HeadersFrame, ContinuationFrame)):
            if isinstance(f, HeadersFrame):
                self._block = bytearray(f.data)
                self._block_sid = f.stream_id
                self._block_end = "END_STREAM" in f.flags
            else:
                self._block += f.data
            if "END_HEADERS" in f.flags:
                fields = self.decoder.decode(bytes(self._block), raw=False)
                r = self.responses.setdefault(self._block_sid, {"headers": None,
                                                                "data": bytearray(),
                                                                "ended": False})
                if r["headers"] is None:
                    r["headers"] = dict(fields)
                else:
                    r["trailers"] = dict(fields)
                if self._block_end:
                    r["ended"] = True
        elif isinstance(f, DataFrame):
            r = self.responses.setdefault(f.stream_id, {"headers": None, "data": bytearray(),
                                                        "ended": False})
            r["data"] += f.data
            if "END_STREAM" in f.flags:
                r["ended"] = True
            if self.auto_window and f.flow_controlled_length:
                self.send(window_update(0, f.flow_controlled_length))
                if not r["ended"]:
                    self.send(window_update(f.stream_id, f.flow_controlled_length))

    def wait(self, pred, timeout=None):
        """Reads frames until pred() is true. Raises AssertionError on timeout or EOF first."""
        deadline = time.monotonic() + scaled(timeout or self.timeout)
        for _ in range(10_000_000):
            if pred():
                return
            try:
                self.read_frame(deadline)
            except Closed:
                if pred():
                    return
                raise AssertionError("connection closed first; frames: %s" % self.summary())
            except socket.timeout:
                raise AssertionError("timed out; frames: %s" % self.summary())

    def drain(self, timeout=None):
        """Reads frames until the server closes the connection; returns True when it did."""
        deadline = time.monotonic() + scaled(timeout or self.timeout)
        for _ in range(10_000_000):
            try:
                self.read_frame(deadline)
            except Closed:
                return True
            except socket.timeout:
                return False
        return False

    def summary(self, last=12):
        out = []
        for f in self.frames[-last:]:
            s = "%s(sid=%d" % (type(f).__name__, f.stream_id)
            if isinstance(f, (GoAwayFrame, RstStreamFrame)):
                s += ", %s" % name(f.error_code)
            if isinstance(f, GoAwayFrame):
                s += ", last=%d, %r" % (f.last_stream_id, f.additional_data)
            out.append(s + ")")
        return "[%s]" % ", ".join(out)

    # -- expectations --------------------------------------------------------------------------

    def expect_goaway(self, code, timeout=None):
        """Waits for GOAWAY(code) and then for the server to close. Returns the frame."""
        try:
            self.wait(lambda: self.goaway_frame is not None, timeout)
        except AssertionError as e:
            raise AssertionError("expected GOAWAY %s: %s" % (name(code), e))
        g = self.goaway_frame
        if g.error_code != code:
            raise AssertionError("expected GOAWAY %s, got GOAWAY %s %r" % (
                name(code), name(g.error_code), g.additional_data))
        if not self.drain(timeout):
            raise AssertionError("the server did not close after GOAWAY")
        return g

    def expect_reset(self, sid, code, timeout=None):
        """Waits for RST_STREAM(code) on sid (a GOAWAY first fails)."""
        try:
            self.wait(lambda: sid in self.resets or self.goaway_frame is not None, timeout)
        except AssertionError as e:
            raise AssertionError("expected RST_STREAM %s on %d: %s" % (name(code), sid, e))
        if sid not in self.resets:
            raise AssertionError("expected RST_STREAM %s on %d, got %s" % (
                name(code), sid, self.summary()))
        if self.resets[sid] != code:
            raise AssertionError("expected RST_STREAM %s on %d, got %s" % (
                name(code), sid, name(self.resets[sid])))

    def expect_response(self, sid, timeout=None):
        """Waits for the whole response on sid; returns (status, headers, body)."""
        self.wait(lambda: self.responses.get(sid, {}).get("ended") or sid in self.resets
                  or self.goaway_frame is not None, timeout)
        if sid in self.resets or not self.responses.get(sid, {}).get("ended"):
            raise AssertionError("no response on %d: %s" % (sid, self.summary()))
        r = self.responses[sid]
        return int(r["headers"][":status"]), r["headers"], bytes(r["data"])

    def ping_roundtrip(self, opaque=b"pingpong", timeout=None):
        """Sends a PING and waits for its ACK: proves the connection is alive and in sync."""
        self.send(ping(opaque))
        self.wait(lambda: opaque in self.ping_acks, timeout)

    # -- floods --------------------------------------------------------------------------------

    def flood(self, chunk, count, stall=2.0):
        """Sends `chunk` up to `count` times, in writes of about 64 KiB. Stops early when the
        server stops reading for `stall` seconds (back-pressure) or closes. Returns how many
        chunks went out."""
        per = max(1, (64 * 1024) // max(1, len(chunk)))
        sent = 0
        self.sock.settimeout(scaled(stall))
        try:
            while sent < count:
                n = min(per, count - sent)
                self.sock.sendall(chunk * n)
                sent += n
        except (socket.timeout, ConnectionResetError, BrokenPipeError):
            pass
        finally:
            self.sock.settimeout(scaled(self.timeout))
        return sent

    def skim(self, timeout=None, max_bytes=256 << 20):
        """Reads until the server closes, counting frames by type without parsing payloads
        (fast enough for megabytes of PING ACKs); GOAWAY and RST_STREAM are recorded. Returns
        {type: count}; True in "closed" when the server closed within the timeout."""
        deadline = time.monotonic() + scaled(timeout or self.timeout)
        counts = {"closed": False}
        total = 0
        while total < max_bytes:
            while len(self.buf) >= 9:
                length = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) < 9 + length:
                    break
                ftype, sid = self.buf[3], int.from_bytes(self.buf[5:9], "big") & 0x7fffffff
                payload = bytes(self.buf[9:9 + length]) if ftype in (GOAWAY, RST_STREAM) else b""
                del self.buf[:9 + length]
                counts[ftype] = counts.get(ftype, 0) + 1
                if ftype == GOAWAY:
                    f = GoAwayFrame(0)
                    f.parse_body(memoryview(payload))
                    self.goaway_frame = f
                elif ftype == RST_STREAM:
                    self.resets[sid] = int.from_bytes(payload, "big")
            try:
                before = len(self.buf)
                self._fill(deadline)
                total += len(self.buf) - before
            except Closed:
                counts["closed"] = True
                return counts
            except socket.timeout:
                return counts
        return counts

    # -- uploads -------------------------------------------------------------------------------

    def upload(self, sizes, end_stream=True, timeout=60.0, fill=b"u"):
        """Sends sizes[sid] body octets on each stream, round-robin in frames of at most 16 KiB,
        within the flow-control windows the server grants (initial 65535 each; our sent octets
        are tracked against its WINDOW_UPDATEs). Stops sending on a stream the server reset or
        when the server sends GOAWAY. Returns {sid: octets sent}."""
        initial = (self.server_settings or {}).get(INITIAL_WINDOW_SIZE, 65535)
        if not hasattr(self, "_send_conn"):
            self._send_conn, self._send_win, self._seen_updates = 65535, {}, 0
        sent = dict.fromkeys(sizes, 0)
        for sid in sizes:
            self._send_win.setdefault(sid, initial)
        deadline = time.monotonic() + scaled(timeout)
        for _ in range(10_000_000):
            for sid, inc in self.window_updates[self._seen_updates:]:
                if sid == 0:
                    self._send_conn += inc
                else:
                    self._send_win[sid] = self._send_win.get(sid, initial) + inc
            self._seen_updates = len(self.window_updates)
            live = [i for i in sizes if sent[i] < sizes[i] and i not in self.resets]
            if not live or self.goaway_frame is not None or time.monotonic() > deadline:
                break
            chunks = []
            for i in live:
                n = min(16384, sizes[i] - sent[i], self._send_win[i], self._send_conn)
                if n > 0:
                    last = end_stream and sent[i] + n == sizes[i]
                    chunks.append(data(i, fill * n, end_stream=last))
                    self._send_win[i] -= n
                    self._send_conn -= n
                    sent[i] += n
            if chunks:
                self.send(*chunks)
            else:
                try:
                    self.read_frame(deadline)
                except Closed:
                    break
        return sent
