"""gRPC interop with @grpc/grpc-js (npm), a second client independent of gRPC core (which
python3-grpcio in test_grpc.py is), against grpc_interop_server over h2c and over TLS
(ca.pem, server name foo.test.google.fr).

tests/interop/node/grpc_client.js loads test.proto with @grpc/proto-loader, runs the named
cases (gRPC doc/interop-test-descriptions.md, plus deadlines, limits, large metadata and
concurrency cases of our own) and prints what it saw as JSON: status codes by name, details,
payload sizes and contents, metadata, bytes on the wire (through a counting relay on
127.0.0.1, since grpc-js hides the compressed flag). The assertions are here. One node run per
test class; every subprocess and call has a timeout. The npm packages come from
tests/interop/node/package-lock.json (scripts/setup.sh runs `npm ci` there).
"""

import json
import shutil
import subprocess
import unittest
from pathlib import Path

from harness import scaled
# How the server, the protos and the credentials are found, and how the server is started:
# shared with the python3-grpcio tests.
from test_grpc import CREDENTIALS, SERVER_BIN, TESTING, InteropServer

NODE_DIR = Path(__file__).resolve().parent / "node"
CLIENT = NODE_DIR / "grpc_client.js"
LARGE_REQ, LARGE_RES = 271828, 314159
SPECIAL = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"

# The cases every transport runs (grpc_client.js CASES).
CASES = [
    "empty_unary", "large_unary", "client_compressed_unary", "server_compressed_unary",
    "client_streaming", "client_compressed_streaming", "server_streaming",
    "server_compressed_streaming", "ping_pong", "half_duplex", "empty_stream", "custom_metadata",
    "status_code_and_message", "special_status_message", "unimplemented_method",
    "unimplemented_service", "cancel_after_begin", "cancel_after_first_response",
    "timeout_on_sleeping_server", "deadline_during_streaming", "server_deadline",
    "deadline_long_enough", "client_receive_limit", "concurrent_large_unary",
    "many_concurrent_calls", "bidi_large", "keepalive_pings", "large_metadata",
    "unsupported_compression",
]


def node_bin():
    return shutil.which("node") or "/usr/bin/node"


def missing_dependency():
    """What is missing to run grpc_client.js, or None."""
    if not Path(node_bin()).exists():
        return "node is not installed: run scripts/setup.sh (Debian package nodejs)"
    for pkg in ("@grpc/grpc-js", "@grpc/proto-loader"):
        if not (NODE_DIR / "node_modules" / pkg / "package.json").exists():
            return ("tests/interop/node/node_modules lacks the npm package %s: run "
                    "scripts/setup.sh, or `npm ci` in tests/interop/node" % pkg)
    if not Path(SERVER_BIN).exists():
        return "grpc_interop_server not built (%s)" % SERVER_BIN
    if not (Path(TESTING) / "src/proto/grpc/testing/test.proto").exists():
        return "the grpc-testing protos are missing (%s)" % TESTING
    return None


def run_client(server, cases, extra=()):
    """Runs grpc_client.js against `server` (an InteropServer); returns its JSON output."""
    budget_ms = int(scaled(120) * 1000)
    cmd = [node_bin(), str(CLIENT), "--port=%d" % server.port, "--protos=%s" % TESTING,
           "--cases=%s" % ",".join(cases), "--budget_ms=%d" % budget_ms]
    if server.tls:
        cmd += ["--tls", "--ca=%s" % (CREDENTIALS / "ca.pem"),
                "--server_host_override=foo.test.google.fr"]
    cmd += list(extra)
    p = subprocess.run(cmd, cwd=str(NODE_DIR), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=budget_ms / 1000 + scaled(15))
    if p.returncode != 0:
        raise AssertionError("grpc_client.js exited with %d:\n%s" %
                             (p.returncode, p.stderr.decode("utf-8", "replace")))
    return json.loads(p.stdout.decode())


class NodeClientTest:
    """Starts the server and runs the cases once per class; each test checks one case."""

    tls = False
    server_args = ()
    cases = ()
    client_args = ()

    @classmethod
    def setUpClass(cls):
        cls.missing = missing_dependency()
        cls.out = None
        cls.server = None
        if cls.missing:
            return
        cls.server = InteropServer(cls.tls, cls.server_args).start()
        try:
            cls.out = run_client(cls.server, cls.cases, cls.client_args)
        except BaseException:
            cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            cls.server.stop()

    def setUp(self):
        if self.missing:
            self.fail(self.missing)

    def case(self, name):
        r = self.out["cases"][name]
        self.assertNotIn("error", r, "%s threw in grpc_client.js: %s" % (name, r.get("error")))
        return r

    def assert_large(self, r, size=LARGE_RES, label=""):
        self.assertEqual(r["code"], "OK", "%s %s" % (label, r))
        self.assertEqual(r["size"], size, label)
        self.assertTrue(r["all_zero"], label)


class InteropCases(NodeClientTest):
    cases = CASES
    client_args = ("--short_deadline_ms=%d" % int(scaled(2) * 1000),)

    def test_versions(self):
        self.assertTrue(self.out["grpc_js_version"].startswith("1."), self.out["grpc_js_version"])

    def test_empty_unary(self):
        r = self.case("empty_unary")
        self.assertEqual((r["code"], r["response_fields"]), ("OK", 0))

    def test_large_unary(self):
        self.assert_large(self.case("large_unary"))

    def test_client_compressed_unary(self):
        r = self.case("client_compressed_unary")
        # The probe: expect_compressed on an uncompressed request → INVALID_ARGUMENT.
        self.assertEqual(r["probe"]["code"], "INVALID_ARGUMENT")
        self.assert_large(r["compressed"], label="compressed")
        self.assert_large(r["uncompressed"], label="uncompressed")
        # 271828 zeros gzip to a few hundred bytes: grpc-js did compress, the server inflated.
        self.assertLess(r["compressed"]["wire_up"], LARGE_REQ // 10, r["compressed"])
        self.assertGreater(r["uncompressed"]["wire_up"], LARGE_REQ, r["uncompressed"])

    def test_server_compressed_unary(self):
        r = self.case("server_compressed_unary")
        self.assert_large(r["compressed"], label="compressed")
        self.assert_large(r["uncompressed"], label="uncompressed")
        self.assertLess(r["compressed"]["wire_down"], LARGE_RES // 10, r["compressed"])
        self.assertGreater(r["uncompressed"]["wire_down"], LARGE_RES, r["uncompressed"])

    def test_client_streaming(self):
        r = self.case("client_streaming")
        self.assertEqual((r["code"], r["aggregated_payload_size"]), ("OK", 74922), r)

    def test_client_compressed_streaming(self):
        r = self.case("client_compressed_streaming")
        self.assertEqual(r["probe"]["code"], "INVALID_ARGUMENT", r["probe"])
        call = r["call"]
        self.assertEqual((call["code"], call["aggregated_payload_size"]), ("OK", 73086), call)
        # The first message (27182 zeros) compressed, the second (45904) sent as it is.
        self.assertGreater(call["wire_up"], 45904, call)
        self.assertLess(call["wire_up"], 45904 + 27182 // 4, call)

    def test_server_streaming(self):
        r = self.case("server_streaming")
        self.assertEqual(r["code"], "OK", r)
        self.assertEqual(r["sizes"], [31415, 9, 2653, 58979])
        self.assertTrue(r["all_zero"])

    def test_server_compressed_streaming(self):
        r = self.case("server_compressed_streaming")
        self.assertEqual(r["code"], "OK", r)
        self.assertEqual(r["sizes"], [31415, 92653])
        self.assertTrue(r["all_zero"])
        # 31415 compressed (a few hundred bytes), 92653 not: per-message compression.
        self.assertGreater(r["wire_down"], 92653, r)
        self.assertLess(r["wire_down"], 92653 + 31415 // 4, r)

    def test_ping_pong(self):
        r = self.case("ping_pong")
        self.assertEqual(r["code"], "OK", r)
        self.assertEqual(r["sizes"], [31415, 9, 2653, 58979])
        # Each request went out only after the previous response came back.
        self.assertEqual(r["log"], ["sent 27182", "received 31415", "sent 8", "received 9",
                                    "sent 1828", "received 2653", "sent 45904",
                                    "received 58979"])

    def test_half_duplex(self):
        r = self.case("half_duplex")
        self.assertEqual((r["code"], r["sizes"]), ("OK", [31415, 9, 2653, 58979]), r)

    def test_empty_stream(self):
        r = self.case("empty_stream")
        self.assertEqual((r["code"], r["sizes"]), ("OK", []), r)

    def test_custom_metadata(self):
        r = self.case("custom_metadata")
        self.assert_large(r["unary"], label="unary")
        self.assertEqual(r["full_duplex"]["code"], "OK", r["full_duplex"])
        self.assertEqual(r["full_duplex"]["sizes"], [LARGE_RES])
        for label in ("unary", "full_duplex"):
            self.assertEqual(r[label]["initial"].get("x-grpc-test-echo-initial"),
                             "test_initial_metadata_value", label)
            self.assertEqual(r[label]["trailing"].get("x-grpc-test-echo-trailing-bin"),
                             "hex:ababab", label)

    def check_status(self, r, message):
        for label in ("unary", "full_duplex"):
            self.assertEqual(r[label]["code"], "UNKNOWN", label)  # code 2
            self.assertEqual(r[label]["details"], message, label)

    def test_status_code_and_message(self):
        self.check_status(self.case("status_code_and_message"), "test status message")

    def test_special_status_message(self):
        r = self.case("special_status_message")
        self.assertEqual(r["sent"], SPECIAL)
        self.check_status(r, SPECIAL)

    def test_unimplemented_method(self):
        self.assertEqual(self.case("unimplemented_method")["code"], "UNIMPLEMENTED")

    def test_unimplemented_service(self):
        self.assertEqual(self.case("unimplemented_service")["code"], "UNIMPLEMENTED")

    def test_cancel_after_begin(self):
        r = self.case("cancel_after_begin")
        self.assertEqual(r["empty_call_before_cancel"], "OK")
        self.assertEqual(r["code"], "CANCELLED", r)
        self.assertEqual(r["empty_call_after"], "OK")  # the connection goes on

    def test_cancel_after_first_response(self):
        r = self.case("cancel_after_first_response")
        self.assertEqual(r["sizes"], [31415])
        self.assertEqual(r["code"], "CANCELLED", r)
        self.assertEqual(r["empty_call_after"], "OK")

    def test_timeout_on_sleeping_server(self):
        r = self.case("timeout_on_sleeping_server")
        self.assertEqual(r["code"], "DEADLINE_EXCEEDED", r)
        self.assertEqual(r["empty_call_after"], "OK")

    def test_deadline_during_streaming(self):
        # The first response comes at once, the second 60 s later: the deadline ends the call
        # in between, whichever side's timer fires first.
        r = self.case("deadline_during_streaming")
        self.assertEqual(r["code"], "DEADLINE_EXCEEDED", r)
        self.assertEqual(r["sizes"], [10])
        self.assertTrue(r["ended_before_second_response"])
        self.assertEqual(r["empty_call_after"], "OK")

    def test_server_deadline(self):
        # grpc-timeout 500m on a call without a grpc-js deadline: the status is the server's.
        r = self.case("server_deadline")
        self.assertEqual((r["code"], r["details"]), ("DEADLINE_EXCEEDED", "deadline exceeded"), r)
        self.assertEqual(r["sizes"], [10])
        self.assertEqual(r["empty_call_after"], "OK")

    def test_deadline_long_enough(self):
        r = self.case("deadline_long_enough")
        self.assert_large(r["unary"], label="unary")
        self.assertEqual(r["streaming"]["code"], "OK", r["streaming"])
        self.assertEqual(r["streaming"]["sizes"], [100, 200, 300])

    def test_client_receive_limit(self):
        # grpc-js's own grpc.max_receive_message_length (1024): RESOURCE_EXHAUSTED; grpc-js
        # resets the stream and the server carries on with the next call.
        r = self.case("client_receive_limit")
        self.assertEqual(r["code"], "RESOURCE_EXHAUSTED", r)
        self.assert_large(r["then"], size=512, label="then")

    def test_concurrent_large_unary(self):
        calls = self.case("concurrent_large_unary")["calls"]
        self.assertEqual(len(calls), 16)
        for i, r in enumerate(calls):
            self.assert_large(r, label="call %d" % i)

    def test_many_concurrent_calls(self):
        # 300 calls at once, above SETTINGS_MAX_CONCURRENT_STREAMS (128): all succeed.
        r = self.case("many_concurrent_calls")
        self.assertEqual(r["codes"], {"OK": 300}, r)

    def test_bidi_large(self):
        r = self.case("bidi_large")
        self.assertEqual(r["code"], "OK", r)
        self.assertEqual(r["sizes"], [512 * 1024] * 8)
        self.assertTrue(r["all_zero"])

    def test_keepalive_pings(self):
        r = self.case("keepalive_pings")
        self.assertEqual((r["code"], r["sizes"], r["after"]), ("OK", [10, 10], "OK"), r)

    def test_large_metadata(self):
        r = self.case("large_metadata")
        fits = r["fits"]
        # 20000-octet values: inside the announced header list size (64 KiB), so served.
        self.assertEqual(fits["code"], "OK", fits)
        self.assertEqual(fits["initial_length"], 20000)
        self.assertTrue(fits["initial_equal"])
        self.assertTrue(fits["trailing_equal"])
        # Over it: HTTP 431 for that call only (grpc-js maps it to UNKNOWN); the call in
        # progress on the same connection and the next one are not affected.
        self.assertEqual(r["too_large"]["code"], "UNKNOWN", r["too_large"])
        self.assertIn("431", r["too_large"]["details"])
        self.assertEqual(r["concurrent_call"]["code"], "OK", r["concurrent_call"])
        self.assertEqual(r["concurrent_call"]["sizes"], [10, 20])
        self.assertEqual(r["empty_call_after"], "OK")

    def test_unsupported_compression(self):
        # grpc-js with deflate: the server takes identity and gzip only (doc/compression.md).
        r = self.case("unsupported_compression")
        self.assertEqual(r["code"], "UNIMPLEMENTED", r)
        self.assertIn("deflate", r["details"])
        self.assertEqual(r["accept_encoding"], "identity,gzip")


class NodeGrpcH2cTest(InteropCases, unittest.TestCase):
    tls = False
    # Quiet times longer than the server's keep-alive timeout (5 s): h2c only, they take time.
    cases = CASES + ["idle_channel", "quiet_streams"]

    def test_idle_channel(self):
        # Idle past the keep-alive timeout: the server closes the connection (GOAWAY); the next
        # call reconnects.
        r = self.case("idle_channel")
        self.assertEqual((r["before"], r["after"]), ("OK", "OK"))

    def test_quiet_streams(self):
        # No bytes for 6 s on an open call (either direction): the call is not cut.
        r = self.case("quiet_streams")
        self.assertEqual(r["server_streaming"]["code"], "OK", r["server_streaming"])
        self.assertEqual(r["server_streaming"]["sizes"], [10, 20])
        self.assertEqual(r["client_streaming"]["code"], "OK", r["client_streaming"])
        self.assertEqual(r["client_streaming"]["aggregated_payload_size"], 300)


class NodeGrpcTlsTest(InteropCases, unittest.TestCase):
    tls = True


class NodeGrpcLimitsTest(NodeClientTest, unittest.TestCase):
    """--max_message_size=65536: bigger messages either way → RESOURCE_EXHAUSTED."""

    server_args = ("--max_message_size=65536",)
    cases = ("oversize_request", "oversize_response", "oversize_streaming_request",
             "at_the_limit")

    def test_oversize_request(self):
        r = self.case("oversize_request")
        self.assertEqual(r["code"], "RESOURCE_EXHAUSTED", r)
        self.assertEqual(r["empty_call_after"], "OK")

    def test_oversize_response(self):
        r = self.case("oversize_response")
        self.assertEqual(r["code"], "RESOURCE_EXHAUSTED", r)
        self.assertEqual(r["empty_call_after"], "OK")

    def test_oversize_streaming_request(self):
        # The second of two messages is too big: the call ends, nothing is aggregated.
        r = self.case("oversize_streaming_request")
        self.assertEqual(r["code"], "RESOURCE_EXHAUSTED", r)
        self.assertIsNone(r["aggregated_payload_size"])

    def test_at_the_limit(self):
        self.assert_large(self.case("at_the_limit"), size=65000)


if __name__ == "__main__":
    unittest.main()
