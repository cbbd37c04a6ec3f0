"""The services Portico ships for gRPC (docs/grpc.md "Health checking", "Reflection"):
grpc.health.v1.Health across a drain and with statuses set by the application, and server
reflection (grpc.reflection.v1 and v1alpha) good enough for a client to call a method from the
reflected descriptors alone. Clients: python3-grpcio, and a raw HTTP/2 client (h2raw) where
grpcio cannot show the wire (a call on a connection that already got the drain's GOAWAY).

The message classes of health.proto and reflection.proto come from Debian's grpc-proto,
compiled with protoc --python_out at test time and loaded under private module names (their
package path, grpc/..., would shadow grpcio's `grpc`). Every call has a deadline, every loop
is bounded, the server listens on 127.0.0.1 port 0.
"""

import http.client
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from harness import Server, scaled

try:
    import grpc
except ImportError:  # python3-grpcio missing: scripts/setup.sh installs it
    grpc = None

import h2raw
import test_grpc
from test_grpc import InteropServer

GRPC_PROTO = Path(os.environ.get("PORTICO_GRPC_PROTO") or "/usr/share/grpc-proto")
HEALTH = "/grpc.health.v1.Health/"
CONTROL = "/grpc.testing.XdsUpdateHealthService/"
TEST_SERVICE = "grpc.testing.TestService"
REFLECTION = ("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
              "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")

health_pb2 = None
reflection_pb2 = None
_tmp = None


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setUpModule():
    global health_pb2, reflection_pb2, _tmp
    if grpc is None:
        raise unittest.SkipTest("python3-grpcio not installed")
    if not os.path.exists(test_grpc.SERVER_BIN):
        raise unittest.SkipTest("grpc_interop_server not built (%s)" % test_grpc.SERVER_BIN)
    protoc = shutil.which("protoc")
    if not protoc or not (GRPC_PROTO / "grpc/health/v1/health.proto").exists():
        raise unittest.SkipTest("protoc or grpc-proto (%s) missing" % GRPC_PROTO)
    test_grpc.setUpModule()  # the grpc.testing message classes
    _tmp = tempfile.TemporaryDirectory(prefix="portico-grpc-health-py-")
    subprocess.run([protoc, "-I", str(GRPC_PROTO), "--python_out", _tmp.name,
                    "grpc/health/v1/health.proto", "grpc/reflection/v1alpha/reflection.proto"],
                   check=True, timeout=60)
    health_pb2 = _load("portico_health_pb2", Path(_tmp.name) / "grpc/health/v1/health_pb2.py")
    reflection_pb2 = _load("portico_reflection_pb2",
                           Path(_tmp.name) / "grpc/reflection/v1alpha/reflection_pb2.py")


def tearDownModule():
    test_grpc.tearDownModule()
    if _tmp is not None:
        _tmp.cleanup()


def ser(m):
    return m.SerializeToString()


class HealthStub:
    def __init__(self, channel):
        Res = health_pb2.HealthCheckResponse
        self.Check = channel.unary_unary(HEALTH + "Check", request_serializer=ser,
                                         response_deserializer=Res.FromString)
        self.Watch = channel.unary_stream(HEALTH + "Watch", request_serializer=ser,
                                          response_deserializer=Res.FromString)
        empty = test_grpc.empty_pb2.Empty
        self.SetServing = channel.unary_unary(CONTROL + "SetServing", request_serializer=ser,
                                              response_deserializer=empty.FromString)
        self.SetNotServing = channel.unary_unary(CONTROL + "SetNotServing",
                                                 request_serializer=ser,
                                                 response_deserializer=empty.FromString)


def req(service):
    return health_pb2.HealthCheckRequest(service=service)


SERVING = 1
NOT_SERVING = 2
SERVICE_UNKNOWN = 3


class HealthTest(unittest.TestCase):
    """Check and Watch on a server of their own (each test may drain it)."""

    T = 20

    def start(self, threads=1):
        # A long shutdown timeout: a drain held open by watchers would show as a server that
        # does not exit within the test's wait (and as the "shutdown timeout" log line).
        server = InteropServer(args=["--threads=%d" % threads, "--shutdown_timeout_ms=60000"])
        server.start()
        self.addCleanup(server.stop)
        return server

    def channel(self, server):
        # A connection of its own: grpcio shares one subchannel between channels to the same
        # target unless told otherwise.
        ch = grpc.insecure_channel("127.0.0.1:%d" % server.port,
                                   options=(("grpc.use_local_subchannel_pool", 1),))
        self.addCleanup(ch.close)
        return ch

    def assert_exits_cleanly(self, server):
        rc = server.proc.wait(timeout=scaled(30))
        self.assertEqual(rc, 0, server.stderr())
        self.assertNotIn("shutdown timeout", server.stderr())

    def test_check(self):
        server = self.start()
        stub = HealthStub(self.channel(server))
        t = scaled(self.T)
        self.assertEqual(stub.Check(req(""), timeout=t).status, SERVING)
        self.assertEqual(stub.Check(req(TEST_SERVICE), timeout=t).status, SERVING)
        with self.assertRaises(grpc.RpcError) as cm:
            stub.Check(req("grpc.testing.NoSuchService"), timeout=t)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(cm.exception.details(), "unknown service")

    def test_check_follows_set_status(self):
        server = self.start()
        stub = HealthStub(self.channel(server))
        t = scaled(self.T)
        stub.SetNotServing(test_grpc.empty_pb2.Empty(), timeout=t)
        self.assertEqual(stub.Check(req(""), timeout=t).status, NOT_SERVING)
        self.assertEqual(stub.Check(req(TEST_SERVICE), timeout=t).status, NOT_SERVING)
        stub.SetServing(test_grpc.empty_pb2.Empty(), timeout=t)
        self.assertEqual(stub.Check(req(TEST_SERVICE), timeout=t).status, SERVING)

    def test_watch_sees_set_status_on_every_worker(self):
        # Two workers and a watcher per connection, spread over them by SO_REUSEPORT's hash:
        # a change made in a call on one worker reaches the watchers on both (all eight on the
        # control call's worker: a 1 in 256 chance that this does not test the fan-out).
        server = self.start(threads=2)
        t = scaled(self.T)
        control = HealthStub(self.channel(server))
        watches = [HealthStub(self.channel(server)).Watch(req(TEST_SERVICE), timeout=t)
                   for _ in range(8)]
        for w in watches:
            self.assertEqual(next(w).status, SERVING)
        control.SetNotServing(test_grpc.empty_pb2.Empty(), timeout=t)
        for w in watches:
            self.assertEqual(next(w).status, NOT_SERVING)
        # An unchanged status is not repeated: the next message is the next change.
        control.SetNotServing(test_grpc.empty_pb2.Empty(), timeout=t)
        control.SetServing(test_grpc.empty_pb2.Empty(), timeout=t)
        for w in watches:
            self.assertEqual(next(w).status, SERVING)
        for w in watches:
            w.cancel()

    def test_watch_across_a_drain(self):
        server = self.start(threads=2)
        t = scaled(self.T)
        watches = [HealthStub(self.channel(server)).Watch(req(name), timeout=t)
                   for name in ("", TEST_SERVICE, "", TEST_SERVICE)]
        unknown = HealthStub(self.channel(server)).Watch(req("no.Such"), timeout=t)
        for w in watches:
            self.assertEqual(next(w).status, SERVING)
        # Unknown: SERVICE_UNKNOWN, and the call stays open (doc/health-checking.md).
        self.assertEqual(next(unknown).status, SERVICE_UNKNOWN)
        server.proc.send_signal(signal.SIGTERM)
        for w in watches:
            self.assertEqual(next(w).status, NOT_SERVING)
            with self.assertRaises(grpc.RpcError) as cm:
                next(w)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertEqual(cm.exception.details(), "server is shutting down")
        # The unknown name stays unknown: no new message, the call ends.
        with self.assertRaises(grpc.RpcError) as cm:
            next(unknown)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
        # The watchers did not hold the drain until the 60 s shutdown timeout.
        self.assert_exits_cleanly(server)

    def test_check_on_a_draining_connection(self):
        # grpcio opens no stream on a connection after its GOAWAY, so this is a raw HTTP/2
        # client: it does not answer the drain's PING, which keeps the server in the first
        # GOAWAY phase (last stream 2^31-1: new streams still served) for the HTTP/2 shutdown
        # timeout. The watch on stream 1 holds the connection open until the drain starts.
        server = self.start()
        server.host, server.family = "127.0.0.1", socket.AF_INET
        fields = [(":method", "POST"), (":scheme", "http"), (":path", HEALTH + "Watch"),
                  (":authority", "localhost"), ("content-type", "application/grpc"),
                  ("te", "trailers")]
        with h2raw.H2Raw(server, timeout=self.T) as c:
            c.handshake()
            c.send(h2raw.headers(1, fields, end_stream=False),
                   h2raw.data(1, grpc_frame(ser(req(""))), end_stream=True))
            c.wait(lambda: len(c.responses.get(1, {}).get("data", b"")) > 0)
            server.proc.send_signal(signal.SIGTERM)
            c.wait(lambda: c.goaway_frame is not None)
            self.assertEqual(c.goaway_frame.last_stream_id, 2**31 - 1)
            check = list(fields)
            check[2] = (":path", HEALTH + "Check")
            c.send(h2raw.headers(3, check, end_stream=False),
                   h2raw.data(3, grpc_frame(ser(req(TEST_SERVICE))), end_stream=True))
            c.wait(lambda: c.responses.get(3, {}).get("ended", False))
            r = c.responses[3]
            self.assertEqual(r["trailers"]["grpc-status"], "0")
            self.assertEqual(health_pb2.HealthCheckResponse.FromString(
                bytes(r["data"][5:])).status, NOT_SERVING)
            # The watch got SERVING, NOT_SERVING, then UNAVAILABLE.
            w = c.responses[1]
            self.assertTrue(w["ended"])
            self.assertEqual(w["trailers"]["grpc-status"], "14")
            self.assertEqual([health_pb2.HealthCheckResponse.FromString(m).status
                              for m in grpc_messages(bytes(w["data"]))],
                             [SERVING, NOT_SERVING])
        self.assert_exits_cleanly(server)

    def test_grpcio_check_after_the_drain_began(self):
        # What a grpcio client sees: once the drain's GOAWAY arrived it opens no new stream
        # there and the listener is closed, so a new Check fails UNAVAILABLE; a Check that
        # reaches the server before its GOAWAY is answered NOT_SERVING. Never SERVING.
        server = self.start()
        stub = HealthStub(self.channel(server))
        t = scaled(self.T)
        w = stub.Watch(req(""), timeout=t)
        self.assertEqual(next(w).status, SERVING)
        server.proc.send_signal(signal.SIGTERM)
        self.assertEqual(next(w).status, NOT_SERVING)
        try:
            self.assertEqual(stub.Check(req(""), timeout=t).status, NOT_SERVING)
        except grpc.RpcError as e:
            self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
        self.assert_exits_cleanly(server)


def grpc_frame(message):
    return b"\0" + len(message).to_bytes(4, "big") + message


def grpc_messages(data):
    out = []
    for _ in range(1000):
        if not data:
            return out
        n = int.from_bytes(data[1:5], "big")
        out.append(data[5:5 + n])
        data = data[5 + n:]
    raise AssertionError("too many messages")


class PorticoServeHealthTest(unittest.TestCase):
    """`portico serve --grpc-health`: the whole server's status, NOT_SERVING on the drain; the
    other routes keep their answers."""

    T = 20

    def serve(self, *args):
        server = Server(kind="portico", args=list(args), metrics=False).start()
        self.addCleanup(server.kill)
        ch = grpc.insecure_channel("127.0.0.1:%d" % server.port)
        self.addCleanup(ch.close)
        return server, HealthStub(ch)

    def test_health_and_drain(self):
        server, stub = self.serve("--grpc-health", "--shutdown-timeout", "60")
        t = scaled(self.T)
        self.assertEqual(stub.Check(req(""), timeout=t).status, SERVING)
        with self.assertRaises(grpc.RpcError) as cm:
            stub.Check(req("pkg.Other"), timeout=t)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        # No UNIMPLEMENTED fallback: a POST elsewhere keeps the static files' 405.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=t)
        conn.request("POST", "/index.html", body=b"x")
        self.assertEqual(conn.getresponse().status, 405)
        conn.close()
        w = stub.Watch(req(""), timeout=t)
        self.assertEqual(next(w).status, SERVING)
        server.signal(signal.SIGTERM)
        self.assertEqual(next(w).status, NOT_SERVING)
        with self.assertRaises(grpc.RpcError) as cm:
            next(w)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(server.wait(scaled(30)), 0)
        self.assertNotIn("shutdown timeout", server.stderr_text())

    def test_off_by_default(self):
        # Without the flag the path is the static files' (GET only): HTTP 405, which has no
        # gRPC mapping (doc/http-grpc-status-mapping.md): UNKNOWN.
        server, stub = self.serve()
        with self.assertRaises(grpc.RpcError) as cm:
            stub.Check(req(""), timeout=scaled(self.T))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNKNOWN)
        self.assertIn("405", cm.exception.details())


class ReflectionTest(unittest.TestCase):
    """grpc.reflection.v1 / v1alpha ServerReflectionInfo on grpc_interop_server."""

    T = 20

    @classmethod
    def setUpClass(cls):
        cls.server = InteropServer().start()
        cls.channel = cls.server.channel()

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()

    def ask(self, *requests, path=REFLECTION[0]):
        call = self.channel.stream_stream(
            path, request_serializer=ser,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
        return list(call(iter(requests), timeout=scaled(self.T)))

    def files(self, response):
        from google.protobuf import descriptor_pb2
        self.assertEqual(response.WhichOneof("message_response"), "file_descriptor_response",
                         response)
        return [descriptor_pb2.FileDescriptorProto.FromString(b)
                for b in response.file_descriptor_response.file_descriptor_proto]

    def test_list_services_on_v1_and_v1alpha(self):
        expected = ["grpc.testing.TestService", "grpc.testing.XdsUpdateHealthService",
                    "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                    "grpc.reflection.v1alpha.ServerReflection"]
        for path in REFLECTION:
            (res,) = self.ask(reflection_pb2.ServerReflectionRequest(list_services=""),
                              path=path)
            self.assertEqual([s.name for s in res.list_services_response.service], expected)
            self.assertEqual(res.original_request.list_services, "")

    def test_file_containing_symbol_then_call_through_it(self):
        from google.protobuf import descriptor_pool, message_factory
        (res,) = self.ask(reflection_pb2.ServerReflectionRequest(
            file_containing_symbol=TEST_SERVICE))
        files = self.files(res)
        self.assertEqual(files[0].name, "src/proto/grpc/testing/test.proto")
        self.assertEqual(sorted(f.name for f in files[1:]),
                         ["src/proto/grpc/testing/empty.proto",
                          "src/proto/grpc/testing/messages.proto"])
        # A client with nothing but these descriptors: a pool, message classes, a call.
        pool = descriptor_pool.DescriptorPool()
        pending = {f.name: f for f in files}
        for _ in range(len(files)):
            for name, f in list(pending.items()):
                if all(d not in pending for d in f.dependency):
                    pool.Add(f)
                    del pending[name]
        self.assertEqual(pending, {})
        method = pool.FindServiceByName(TEST_SERVICE).FindMethodByName("UnaryCall")
        factory = message_factory.MessageFactory(pool)
        Request = factory.GetPrototype(method.input_type)
        Response = factory.GetPrototype(method.output_type)
        request = Request()
        request.response_size = 7
        request.payload.body = b"abc"
        call = self.channel.unary_unary("/%s/%s" % (TEST_SERVICE, method.name),
                                        request_serializer=ser,
                                        response_deserializer=Response.FromString)
        self.assertEqual(call(request, timeout=scaled(self.T)).payload.body, b"\0" * 7)

    def test_symbols_files_and_errors_on_one_stream(self):
        R = reflection_pb2.ServerReflectionRequest
        answers = self.ask(
            R(file_containing_symbol="grpc.testing.TestService.UnaryCall"),
            R(file_containing_symbol="grpc.testing.SimpleRequest"),
            R(file_by_filename="grpc/health/v1/health.proto"),
            R(file_containing_symbol="grpc.reflection.v1.ServerReflection"),
            R(file_containing_symbol="grpc.testing.NoSuchThing"),
            R(file_by_filename="no/such.proto"),
            R(all_extension_numbers_of_type="grpc.testing.SimpleRequest"),
            R(all_extension_numbers_of_type="grpc.testing.Nope"),
            R(host="example"),
            path=REFLECTION[1])
        self.assertEqual(len(answers), 9)
        self.assertEqual(self.files(answers[0])[0].name, "src/proto/grpc/testing/test.proto")
        self.assertEqual(self.files(answers[1])[0].name,
                         "src/proto/grpc/testing/messages.proto")
        health = self.files(answers[2])
        self.assertEqual([f.name for f in health], ["grpc/health/v1/health.proto"])
        self.assertEqual([s.name for s in health[0].service], ["Health"])
        self.assertEqual([m.name for m in health[0].service[0].method], ["Check", "Watch"])
        self.assertEqual(self.files(answers[3])[0].package, "grpc.reflection.v1")
        for i in (4, 5, 7):
            self.assertEqual(answers[i].error_response.error_code, 5, answers[i])  # NOT_FOUND
        ext = answers[6].all_extension_numbers_response
        self.assertEqual(ext.base_type_name, "grpc.testing.SimpleRequest")
        self.assertEqual(list(ext.extension_number), [])
        self.assertEqual(answers[8].error_response.error_code, 12)  # no question: UNIMPLEMENTED
        self.assertEqual(answers[8].valid_host, "example")
        self.assertEqual(answers[4].original_request.file_containing_symbol,
                         "grpc.testing.NoSuchThing")


if __name__ == "__main__":
    unittest.main()
