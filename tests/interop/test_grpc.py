"""gRPC over HTTP/2 (docs/grpc.md): python3-grpcio against grpc_interop_server, over h2c and
over TLS (ALPN h2, the interop test certificate), running the gRPC interop cases that requests
dispatched with their whole body support; then hostile and edge cases with python3-h2.

The message classes come from the interop .proto files, compiled with protoc --python_out at
test time (Debian's python3-grpc-tools is too old for python3-protobuf); calls go through
grpcio's generic multi-callables with those classes as (de)serialisers.
Every call has a timeout; every loop is bounded; the server listens on 127.0.0.1 port 0.
"""

import importlib
import os
import queue
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

from harness import scaled

try:
    import grpc
except ImportError:  # python3-grpcio missing: scripts/setup.sh installs it
    grpc = None

import h2.events

from test_http2 import H2Client

SERVER_BIN = os.environ.get("PORTICO_GRPC_INTEROP_SERVER")
if not SERVER_BIN:
    from harness import build_dir
    SERVER_BIN = str(build_dir() / "apps" / "grpc_interop_server" / "grpc_interop_server")
TESTING = os.environ.get("PORTICO_GRPC_TESTING") or "/work/shared/data/grpc-testing"
CREDENTIALS = Path(TESTING) / "credentials"
PROTOC = shutil.which("protoc")
SERVICE = "/grpc.testing.TestService/"

pb = None  # messages_pb2
empty_pb2 = None
_tmp = None


def setUpModule():
    global pb, empty_pb2, _tmp
    if grpc is None:
        raise unittest.SkipTest("python3-grpcio not installed")
    if not os.path.exists(SERVER_BIN):
        raise unittest.SkipTest("grpc_interop_server not built (%s)" % SERVER_BIN)
    if not PROTOC or not (Path(TESTING) / "src/proto/grpc/testing/messages.proto").exists():
        raise unittest.SkipTest("protoc or the grpc-testing protos missing")
    _tmp = tempfile.TemporaryDirectory(prefix="portico-grpc-py-")
    subprocess.run([PROTOC, "-I", TESTING, "--python_out", _tmp.name,
                    "src/proto/grpc/testing/empty.proto", "src/proto/grpc/testing/messages.proto"],
                   check=True, timeout=60)
    sys.path.insert(0, _tmp.name)
    pb = importlib.import_module("src.proto.grpc.testing.messages_pb2")
    empty_pb2 = importlib.import_module("src.proto.grpc.testing.empty_pb2")


def tearDownModule():
    if _tmp is not None:
        sys.path.remove(_tmp.name)
        _tmp.cleanup()


class InteropServer:
    """grpc_interop_server on 127.0.0.1, an ephemeral port."""

    _LINE = re.compile(r"serving grpc\.testing\.TestService on ([0-9.]+):(\d+)")

    def __init__(self, tls=False, args=()):
        self.tls = tls
        self.args = list(args)
        self.proc = None
        self.port = None
        self._err = None

    def start(self):
        self._err = tempfile.NamedTemporaryFile(prefix="grpc-interop-stderr-", delete=False)
        self.proc = subprocess.Popen(
            [SERVER_BIN, "--port=0", "--use_tls=%s" % ("true" if self.tls else "false")]
            + self.args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._err)
        deadline = time.monotonic() + scaled(15)
        while time.monotonic() < deadline:
            m = self._LINE.search(self.stderr())
            if m:
                self.port = int(m.group(2))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("grpc_interop_server exited: " + self.stderr())
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("grpc_interop_server did not start: " + self.stderr())

    def stderr(self):
        with open(self._err.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=scaled(15))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._err is not None:
            self._err.close()
            os.unlink(self._err.name)
            self._err = None

    def channel(self):
        target = "127.0.0.1:%d" % self.port
        if not self.tls:
            return grpc.insecure_channel(target)
        creds = grpc.ssl_channel_credentials(root_certificates=(CREDENTIALS / "ca.pem").read_bytes())
        return grpc.secure_channel(target, creds,
                                   options=(("grpc.ssl_target_name_override", "foo.test.google.fr"),))


class Stub:
    """grpc.testing.TestService through generic multi-callables."""

    def __init__(self, channel):
        def ser(m):
            return m.SerializeToString()

        def unary(name, res):
            return channel.unary_unary(SERVICE + name, request_serializer=ser,
                                       response_deserializer=res.FromString)
        self.EmptyCall = unary("EmptyCall", empty_pb2.Empty)
        self.UnaryCall = unary("UnaryCall", pb.SimpleResponse)
        self.UnimplementedCall = unary("UnimplementedCall", empty_pb2.Empty)
        self.StreamingOutputCall = channel.unary_stream(
            SERVICE + "StreamingOutputCall", request_serializer=ser,
            response_deserializer=pb.StreamingOutputCallResponse.FromString)
        self.StreamingInputCall = channel.stream_unary(
            SERVICE + "StreamingInputCall", request_serializer=ser,
            response_deserializer=pb.StreamingInputCallResponse.FromString)
        self.FullDuplexCall = channel.stream_stream(
            SERVICE + "FullDuplexCall", request_serializer=ser,
            response_deserializer=pb.StreamingOutputCallResponse.FromString)
        self.HalfDuplexCall = channel.stream_stream(
            SERVICE + "HalfDuplexCall", request_serializer=ser,
            response_deserializer=pb.StreamingOutputCallResponse.FromString)
        self.UnimplementedService = channel.unary_unary(
            "/grpc.testing.UnimplementedService/UnimplementedCall", request_serializer=ser,
            response_deserializer=empty_pb2.Empty.FromString)


def payload(n):
    return pb.Payload(body=b"\0" * n)


class InteropCases:
    """The interop cases (gRPC doc/interop-test-descriptions.md) the whole-body model runs."""

    tls = False
    T = 20  # seconds per call

    @classmethod
    def setUpClass(cls):
        cls.server = InteropServer(cls.tls).start()
        cls.channel = cls.server.channel()
        cls.stub = Stub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()

    def t(self):
        return scaled(self.T)

    def test_empty_unary(self):
        self.assertEqual(self.stub.EmptyCall(empty_pb2.Empty(), timeout=self.t()), empty_pb2.Empty())

    def test_large_unary(self):
        res = self.stub.UnaryCall(pb.SimpleRequest(response_size=314159, payload=payload(271828)),
                                  timeout=self.t())
        self.assertEqual(res.payload.body, b"\0" * 314159)

    def test_client_compressed_unary(self):
        # The probe: expect_compressed on an uncompressed message → INVALID_ARGUMENT.
        with self.assertRaises(grpc.RpcError) as e:
            self.stub.UnaryCall(pb.SimpleRequest(expect_compressed=pb.BoolValue(value=True),
                                                 response_size=314159, payload=payload(271828)),
                                timeout=self.t())
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        for compressed in (True, False):
            res = self.stub.UnaryCall(
                pb.SimpleRequest(expect_compressed=pb.BoolValue(value=compressed),
                                 response_size=314159, payload=payload(271828)),
                timeout=self.t(),
                compression=grpc.Compression.Gzip if compressed else grpc.Compression.NoCompression)
            self.assertEqual(len(res.payload.body), 314159)

    def test_server_compressed_unary(self):
        for compressed in (True, False):
            res = self.stub.UnaryCall(
                pb.SimpleRequest(response_compressed=pb.BoolValue(value=compressed),
                                 response_size=314159, payload=payload(271828)),
                timeout=self.t())
            self.assertEqual(res.payload.body, b"\0" * 314159)

    def test_server_streaming(self):
        sizes = [31415, 9, 2653, 58979]
        req = pb.StreamingOutputCallRequest(
            response_parameters=[pb.ResponseParameters(size=s) for s in sizes])
        got = [len(r.payload.body) for r in self.stub.StreamingOutputCall(req, timeout=self.t())]
        self.assertEqual(got, sizes)

    def test_server_compressed_streaming(self):
        req = pb.StreamingOutputCallRequest(response_parameters=[
            pb.ResponseParameters(size=31415, compressed=pb.BoolValue(value=True)),
            pb.ResponseParameters(size=92653, compressed=pb.BoolValue(value=False))])
        got = [len(r.payload.body) for r in self.stub.StreamingOutputCall(req, timeout=self.t())]
        self.assertEqual(got, [31415, 92653])

    def test_client_streaming(self):
        reqs = [pb.StreamingInputCallRequest(payload=payload(n)) for n in (27182, 8, 1828, 45904)]
        res = self.stub.StreamingInputCall(iter(reqs), timeout=self.t())
        self.assertEqual(res.aggregated_payload_size, 74922)

    def test_client_compressed_streaming(self):
        reqs = [pb.StreamingInputCallRequest(payload=payload(27182),
                                             expect_compressed=pb.BoolValue(value=True)),
                pb.StreamingInputCallRequest(payload=payload(45904),
                                             expect_compressed=pb.BoolValue(value=True))]
        res = self.stub.StreamingInputCall(iter(reqs), timeout=self.t(),
                                           compression=grpc.Compression.Gzip)
        self.assertEqual(res.aggregated_payload_size, 73086)

    def test_empty_stream(self):
        self.assertEqual(list(self.stub.FullDuplexCall(iter([]), timeout=self.t())), [])

    def test_full_duplex_whole_request_stream(self):
        # ping_pong's messages, all sent before the first response is read.
        sizes = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)]
        reqs = [pb.StreamingOutputCallRequest(response_parameters=[pb.ResponseParameters(size=r)],
                                              payload=payload(p)) for r, p in sizes]
        for method in (self.stub.FullDuplexCall, self.stub.HalfDuplexCall):
            got = [len(r.payload.body) for r in method(iter(reqs), timeout=self.t())]
            self.assertEqual(got, [r for r, _ in sizes])

    def test_ping_pong(self):
        # interop-test-descriptions.md ping_pong: each response is awaited before the next
        # request is sent, which needs the server to read requests as they arrive.
        sizes = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)]
        outbox = queue.Queue()

        def requests():
            for _ in sizes:
                item = outbox.get(timeout=self.t())
                if item is None:
                    return
                yield item

        call = self.stub.FullDuplexCall(requests(), timeout=self.t())
        try:
            for resp_size, req_size in sizes:
                outbox.put(pb.StreamingOutputCallRequest(
                    response_parameters=[pb.ResponseParameters(size=resp_size)],
                    payload=payload(req_size)))
                reply = next(call)
                self.assertEqual(len(reply.payload.body), resp_size)
        finally:
            outbox.put(None)
        self.assertEqual(list(call), [])
        self.assertEqual(call.code(), grpc.StatusCode.OK)

    def test_cancel_after_first_response(self):
        outbox = queue.Queue()

        def requests():
            while True:
                item = outbox.get(timeout=self.t())
                if item is None:
                    return
                yield item

        call = self.stub.FullDuplexCall(requests(), timeout=self.t())
        try:
            outbox.put(pb.StreamingOutputCallRequest(
                response_parameters=[pb.ResponseParameters(size=31415)], payload=payload(27182)))
            self.assertEqual(len(next(call).payload.body), 31415)
            call.cancel()
            with self.assertRaises(grpc.RpcError) as e:
                next(call)
            self.assertEqual(e.exception.code(), grpc.StatusCode.CANCELLED)
        finally:
            outbox.put(None)
        # The connection goes on.
        self.assertEqual(self.stub.EmptyCall(empty_pb2.Empty(), timeout=self.t()), empty_pb2.Empty())

    def check_status(self, code, message):
        with self.assertRaises(grpc.RpcError) as e:
            self.stub.UnaryCall(pb.SimpleRequest(response_status=pb.EchoStatus(
                code=code, message=message)), timeout=self.t())
        self.assertEqual(e.exception.code().value[0], code)
        self.assertEqual(e.exception.details(), message)
        with self.assertRaises(grpc.RpcError) as e:
            list(self.stub.FullDuplexCall(iter([pb.StreamingOutputCallRequest(
                response_status=pb.EchoStatus(code=code, message=message))]), timeout=self.t()))
        self.assertEqual(e.exception.code().value[0], code)
        self.assertEqual(e.exception.details(), message)

    def test_status_code_and_message(self):
        self.check_status(2, "test status message")

    def test_special_status_message(self):
        self.check_status(2, "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP "
                             "\U0001f608\t\n")

    def test_custom_metadata(self):
        md = (("x-grpc-test-echo-initial", "test_initial_metadata_value"),
              ("x-grpc-test-echo-trailing-bin", b"\x0a\x0b\x0a\x0b\x0a\x0b"))
        req = pb.SimpleRequest(response_size=314159, payload=payload(271828))
        res, call = self.stub.UnaryCall.with_call(req, metadata=md, timeout=self.t())
        self.assertEqual(len(res.payload.body), 314159)
        self.assertIn(md[0], tuple(call.initial_metadata()))
        self.assertIn(md[1], tuple(call.trailing_metadata()))
        call = self.stub.FullDuplexCall(iter([pb.StreamingOutputCallRequest(
            response_parameters=[pb.ResponseParameters(size=314159)], payload=payload(271828))]),
            metadata=md, timeout=self.t())
        self.assertEqual([len(r.payload.body) for r in call], [314159])
        self.assertIn(md[0], tuple(call.initial_metadata()))
        self.assertIn(md[1], tuple(call.trailing_metadata()))

    def test_unimplemented_method(self):
        with self.assertRaises(grpc.RpcError) as e:
            self.stub.UnimplementedCall(empty_pb2.Empty(), timeout=self.t())
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)

    def test_unimplemented_service(self):
        with self.assertRaises(grpc.RpcError) as e:
            self.stub.UnimplementedService(empty_pb2.Empty(), timeout=self.t())
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)

    def test_timeout_on_sleeping_server(self):
        # The client sends one message and never half-closes, with a 1 ms deadline.
        stop = threading.Event()

        def requests():
            yield pb.StreamingOutputCallRequest(payload=payload(27182))
            stop.wait(scaled(30))

        try:
            with self.assertRaises(grpc.RpcError) as e:
                list(self.stub.FullDuplexCall(requests(), timeout=0.001))
            self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        finally:
            stop.set()

    def test_server_deadline_during_streaming(self):
        # The second response comes 5 s later; the 0.5 s deadline ends the call first.
        req = pb.StreamingOutputCallRequest(response_parameters=[
            pb.ResponseParameters(size=10), pb.ResponseParameters(size=10, interval_us=5000000)])
        got = []
        with self.assertRaises(grpc.RpcError) as e:
            for r in self.stub.StreamingOutputCall(req, timeout=0.5):
                got.append(len(r.payload.body))
        self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertEqual(got, [10])

    def test_cancel_after_begin(self):
        stop = threading.Event()

        def requests():
            stop.wait(scaled(30))
            return
            yield  # a generator that sends nothing

        try:
            fut = self.stub.StreamingInputCall.future(requests(), timeout=self.t())
            fut.cancel()
            with self.assertRaises(grpc.FutureCancelledError):
                fut.result(timeout=self.t())
            self.assertTrue(fut.cancelled())
        finally:
            stop.set()
        # The connection goes on.
        self.assertEqual(self.stub.EmptyCall(empty_pb2.Empty(), timeout=self.t()), empty_pb2.Empty())


class InteropH2cTest(InteropCases, unittest.TestCase):
    tls = False


class InteropTlsTest(InteropCases, unittest.TestCase):
    tls = True


class LimitsTest(unittest.TestCase):
    """--max_message_size=65536: bigger messages either way → RESOURCE_EXHAUSTED."""

    @classmethod
    def setUpClass(cls):
        cls.server = InteropServer(args=["--max_message_size=65536"]).start()
        cls.channel = cls.server.channel()
        cls.stub = Stub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()

    def test_oversize_request(self):
        with self.assertRaises(grpc.RpcError) as e:
            self.stub.UnaryCall(pb.SimpleRequest(payload=payload(70000)), timeout=scaled(20))
        self.assertEqual(e.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_oversize_after_decompression(self):
        with self.assertRaises(grpc.RpcError) as e:
            self.stub.UnaryCall(pb.SimpleRequest(payload=payload(200000)), timeout=scaled(20),
                                compression=grpc.Compression.Gzip)
        self.assertEqual(e.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_oversize_response(self):
        with self.assertRaises(grpc.RpcError) as e:
            self.stub.UnaryCall(pb.SimpleRequest(response_size=70000), timeout=scaled(20))
        self.assertEqual(e.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_at_the_limit(self):
        # 65536-byte messages: payload + protobuf overhead must stay at or below the limit.
        res = self.stub.UnaryCall(pb.SimpleRequest(response_size=65000, payload=payload(65000)),
                                  timeout=scaled(20))
        self.assertEqual(len(res.payload.body), 65000)


class TrailersClient(H2Client):
    """H2Client that records trailers and every HEADERS frame's END_STREAM."""

    def __init__(self, sock):
        self.trailers = {}
        super().__init__(sock)

    def on_event(self, ev):
        if isinstance(ev, h2.events.TrailersReceived):
            self.trailers[ev.stream_id] = dict((k.decode(), v.decode()) for k, v in ev.headers)
            return
        super().on_event(ev)


def frame(msg, flag=0):
    return bytes([flag]) + struct.pack(">I", len(msg)) + msg


class WireTest(unittest.TestCase):
    """The bytes on the wire, with python3-h2 (h2c)."""

    @classmethod
    def setUpClass(cls):
        cls.server = InteropServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def client(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=scaled(10))
        self.addCleanup(s.close)
        return TrailersClient(s)

    def call(self, path, body, extra=None, te=True, wait=True):
        c = self.client()
        headers = [("content-type", "application/grpc")]
        if te:
            headers.append(("te", "trailers"))
        headers += list(extra or [])
        sid = c.request(path, method="POST", body=body, extra=headers)
        if wait:
            c.pump(lambda: c.ended(sid) or sid in c.resets)
        return c, sid

    def status_of(self, c, sid):
        """grpc-status and grpc-message from the trailers, or the headers (Trailers-Only)."""
        fields = c.trailers.get(sid) or c.responses[sid]["headers"]
        return int(fields["grpc-status"]), fields.get("grpc-message", "")

    def test_unary_wire_format(self):
        body = frame(pb.SimpleRequest(response_size=3).SerializeToString())
        c, sid = self.call(SERVICE + "UnaryCall", body)
        h = c.responses[sid]["headers"]
        self.assertEqual(h[":status"], "200")
        self.assertEqual(h["content-type"], "application/grpc")
        self.assertNotIn("grpc-status", h)
        data = bytes(c.responses[sid]["data"])
        self.assertEqual(data[0], 0)
        n = struct.unpack(">I", data[1:5])[0]
        self.assertEqual(len(data), 5 + n)
        self.assertEqual(pb.SimpleResponse.FromString(data[5:]).payload.body, b"\0\0\0")
        self.assertEqual(c.trailers[sid]["grpc-status"], "0")

    def test_trailers_only_for_unimplemented(self):
        c, sid = self.call("/grpc.testing.TestService/Nope", frame(b""))
        h = c.responses[sid]["headers"]
        self.assertEqual(h[":status"], "200")
        self.assertEqual(h["content-type"], "application/grpc")
        self.assertEqual(h["grpc-status"], "12")
        self.assertNotIn(sid, c.trailers)  # one HEADERS frame with END_STREAM
        self.assertEqual(bytes(c.responses[sid]["data"]), b"")

    def test_malformed_length_prefix(self):
        for body in (b"\x07\0\0\0\x01x",  # flag 7
                     frame(b"abcdef")[:-2],  # cut short
                     b"\0\0\0"):  # a prefix cut short
            c, sid = self.call(SERVICE + "UnaryCall", body)
            self.assertEqual(self.status_of(c, sid)[0], 13, body)

    def test_compressed_flag_without_grpc_encoding(self):
        c, sid = self.call(SERVICE + "EmptyCall", frame(b"", flag=1))
        self.assertEqual(self.status_of(c, sid)[0], 13)

    def test_unsupported_grpc_encoding(self):
        c, sid = self.call(SERVICE + "EmptyCall", frame(b""), extra=[("grpc-encoding", "snappy")])
        h = c.responses[sid]["headers"]
        self.assertEqual(self.status_of(c, sid)[0], 12)
        self.assertIn("gzip", h["grpc-accept-encoding"])

    def test_missing_te_trailers(self):
        c, sid = self.call(SERVICE + "EmptyCall", frame(b""), te=False)
        self.assertEqual(self.status_of(c, sid), (2, "missing te: trailers"))

    def test_not_grpc_content_type(self):
        c = self.client()
        sid = c.request(SERVICE + "EmptyCall", method="POST", body=frame(b""),
                        extra=[("content-type", "application/json"), ("te", "trailers")])
        c.pump(lambda: c.ended(sid))
        self.assertEqual(c.responses[sid]["headers"][":status"], "415")

    def test_get_is_not_a_call(self):
        c = self.client()
        sid = c.request(SERVICE + "EmptyCall", extra=[("content-type", "application/grpc")])
        c.pump(lambda: c.ended(sid))
        self.assertEqual(c.responses[sid]["headers"][":status"], "405")

    def test_server_deadline(self):
        # grpc-timeout 300m, the second response due after 5 s; python3-h2 has no deadline of
        # its own: DEADLINE_EXCEEDED comes from the server.
        req = pb.StreamingOutputCallRequest(response_parameters=[
            pb.ResponseParameters(size=1), pb.ResponseParameters(size=1, interval_us=5000000)])
        c, sid = self.call(SERVICE + "StreamingOutputCall", frame(req.SerializeToString()),
                           extra=[("grpc-timeout", "300m")])
        self.assertEqual(self.status_of(c, sid)[0], 4)
        one = len(pb.StreamingOutputCallResponse(payload=payload(1)).SerializeToString())
        self.assertEqual(len(c.responses[sid]["data"]), 5 + one)  # the first response only

    def test_malformed_grpc_timeout(self):
        c, sid = self.call(SERVICE + "EmptyCall", frame(b""), extra=[("grpc-timeout", "1.5S")])
        self.assertEqual(self.status_of(c, sid)[0], 13)

    def test_binary_metadata_padded_and_unpadded(self):
        for value in ("CgsKCwoL", "CgsKCwoLCg", "CgsKCwoLCg=="):
            c, sid = self.call(SERVICE + "EmptyCall", frame(b""),
                               extra=[("x-grpc-test-echo-trailing-bin", value)])
            self.assertEqual(self.status_of(c, sid)[0], 0)
            echoed = c.trailers[sid]["x-grpc-test-echo-trailing-bin"]
            self.assertEqual(echoed.rstrip("="), value.rstrip("="))
        c, sid = self.call(SERVICE + "EmptyCall", frame(b""),
                           extra=[("x-grpc-test-echo-trailing-bin", "C!sK")])
        self.assertEqual(self.status_of(c, sid)[0], 13)

    def rss_kib(self):
        with open("/proc/%d/status" % self.server.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def test_slow_reader_bounds_server_buffering(self):
        # 64 responses of 1 MiB to a client that reads nothing: the stream window (64 KiB)
        # fills, write() pushes back, and the server waits for on_ready instead of buffering
        # 64 MiB. The test server's resident memory must stay far below that.
        req = pb.StreamingOutputCallRequest(
            response_parameters=[pb.ResponseParameters(size=1 << 20)] * 64)
        before = self.rss_kib()
        c, sid = self.call(SERVICE + "StreamingOutputCall", frame(req.SerializeToString()),
                           wait=False)
        time.sleep(scaled(1.0))
        self.assertLess(self.rss_kib() - before, 32 * 1024)
        # Now read it all: every message arrives, then OK.
        c.pump(lambda: c.ended(sid), timeout=120)
        one = len(pb.StreamingOutputCallResponse(payload=payload(1 << 20)).SerializeToString())
        self.assertEqual(len(c.responses[sid]["data"]), 64 * (5 + one))
        self.assertEqual(c.trailers[sid]["grpc-status"], "0")


class CoroutineLifetimeTest(unittest.TestCase):
    """The streaming methods are coroutines (portico/grpc_coro.hpp). Calls end while their
    coroutine waits -- on a read, on a drain (write pushed back), on a sleep -- by a client
    cancel, a lost connection and the server's shutdown; the server keeps serving, exits 0,
    and (ASan builds) LeakSanitizer finds no coroutine frame or call state left at exit."""

    def test_calls_ending_while_coroutines_wait(self):
        server = InteropServer().start()
        stopped = False
        try:
            channel = server.channel()
            stub = Stub(channel)
            T = scaled(20)

            # 1. grpcio cancels a FullDuplexCall mid-stream: the coroutine waits on a read.
            outbox = queue.Queue()

            def requests():
                while True:
                    item = outbox.get(timeout=T)
                    if item is None:
                        return
                    yield item

            call = stub.FullDuplexCall(requests(), timeout=T)
            outbox.put(pb.StreamingOutputCallRequest(
                response_parameters=[pb.ResponseParameters(size=10)]))
            self.assertEqual(len(next(call).payload.body), 10)
            call.cancel()
            outbox.put(None)

            # 2. A StreamingOutputCall cancelled while the coroutine sleeps (interval_us 5 s).
            stream = stub.StreamingOutputCall(pb.StreamingOutputCallRequest(response_parameters=[
                pb.ResponseParameters(size=10),
                pb.ResponseParameters(size=10, interval_us=5000000)]), timeout=T)
            self.assertEqual(len(next(stream).payload.body), 10)
            stream.cancel()

            # 3. A client that reads nothing, then drops the connection: the coroutine waits
            #    for on_ready (64 x 1 MiB against a 64 KiB window).
            s = socket.create_connection(("127.0.0.1", server.port), timeout=scaled(10))
            try:
                c = TrailersClient(s)
                req = pb.StreamingOutputCallRequest(
                    response_parameters=[pb.ResponseParameters(size=1 << 20)] * 64)
                sid = c.request(SERVICE + "StreamingOutputCall",
                                method="POST", body=frame(req.SerializeToString()),
                                extra=[("content-type", "application/grpc"), ("te", "trailers")])
                c.pump(lambda: c.responses[sid]["headers"] is not None)
                time.sleep(scaled(0.3))
            finally:
                s.close()

            # The server goes on.
            self.assertEqual(stub.EmptyCall(empty_pb2.Empty(), timeout=T), empty_pb2.Empty())

            # 4. A StreamingInputCall left open (one message, no half-close) when the server
            #    shuts down: the drain cuts it after shutdown_timeout_ms (10 s).
            open_stream = socket.create_connection(("127.0.0.1", server.port),
                                                   timeout=scaled(10))
            try:
                c = TrailersClient(open_stream)
                sid = c.conn.get_next_available_stream_id()
                c.conn.send_headers(sid, [
                    (":method", "POST"), (":path", SERVICE + "StreamingInputCall"),
                    (":scheme", "http"), (":authority", "localhost"),
                    ("content-type", "application/grpc"), ("te", "trailers")], end_stream=False)
                c.conn.send_data(sid, frame(pb.StreamingInputCallRequest(
                    payload=payload(10)).SerializeToString()), end_stream=False)
                c.flush()
                time.sleep(scaled(0.3))
                channel.close()
                server.proc.terminate()
                rc = server.proc.wait(timeout=scaled(40))
                stopped = True
            finally:
                open_stream.close()
            err = server.stderr()
            self.assertEqual(rc, 0, err[-4000:])
            self.assertNotIn("Sanitizer", err, err[-4000:])
        finally:
            if not stopped and server.proc.poll() is None:
                server.proc.kill()
                server.proc.wait(timeout=10)
            server.stop()


if __name__ == "__main__":
    unittest.main()
