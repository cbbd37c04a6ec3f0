"""Shared helpers for the interop tests: start/stop a server, raw HTTP/1.1 over sockets, curl.

Only the Python standard library; every socket has a timeout and every loop is bounded.
Binaries: $PORTICO_BIN and $PORTICO_TEST_SERVER (set by ctest), else under $PORTICO_BUILD_DIR,
else under build/release of this repository.
"""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO / "demo"
CURL = "/usr/bin/curl"

# Scales every timeout in the tests (e.g. PORTICO_TIMEOUT_SCALE=3 for slow sanitizer builds).
TIMEOUT_SCALE = float(os.environ.get("PORTICO_TIMEOUT_SCALE", "1"))


def scaled(seconds):
    return seconds * TIMEOUT_SCALE


def build_dir():
    return Path(os.environ.get("PORTICO_BUILD_DIR", str(REPO / "build" / "release")))


def portico_bin():
    return os.environ.get("PORTICO_BIN") or str(build_dir() / "apps" / "portico" / "portico")


def test_server_bin():
    return os.environ.get("PORTICO_TEST_SERVER") or str(
        build_dir() / "tests" / "interop" / "portico_test_server")


_LISTEN_RE = re.compile(r"listening on http://(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)")
_LISTEN_TLS_RE = re.compile(r"listening on https://(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)")


class Server:
    """One server process on an ephemeral port.

    kind="test" runs portico_test_server (extra routes /echo, /slow/:ms, ...),
    kind="portico" runs `portico serve`. Use as a context manager or call start()/stop().
    listen_tls="127.0.0.1:0" (with --tls-cert/--tls-key in args) adds an HTTPS listener; its
    port is tls_port, found in the "listening on https://..." log line.
    """

    def __init__(self, args=(), root=None, kind="test", listen="127.0.0.1:0", metrics=True,
                 startup_timeout=15.0, listen_tls=None):
        self.args = list(args)
        self.root = str(root) if root is not None else None
        self.kind = kind
        self.listen = listen
        self.listen_tls = listen_tls
        self.metrics_enabled = metrics
        self.startup_timeout = scaled(startup_timeout)
        self.proc = None
        self.host = None
        self.port = None
        self.tls_host = None
        self.tls_port = None
        self.returncode = None
        self._stderr_file = None

    # -- lifecycle ---------------------------------------------------------------------------

    def command(self):
        if self.kind == "portico":
            cmd = [portico_bin(), "serve"]
        else:
            cmd = [test_server_bin()]
        cmd += ["--listen", self.listen]
        if self.listen_tls is not None:
            cmd += ["--listen-tls", self.listen_tls]
        if self.metrics_enabled:
            cmd += ["--metrics", "/metrics"]
        cmd += self.args
        if self.root is not None:
            cmd.append(self.root)
        return cmd

    def start(self):
        self._stderr_file = tempfile.NamedTemporaryFile(prefix="portico-stderr-", delete=False)
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._stderr_file)
        deadline = time.monotonic() + self.startup_timeout
        want_tls = self.listen_tls is not None or "--tls-cert" in self.args
        while time.monotonic() < deadline:
            text = self.stderr_text()
            m = _LISTEN_RE.search(text)
            t = _LISTEN_TLS_RE.search(text) if want_tls else None
            if m and (t or not want_tls):
                self.host = m.group(1).strip("[]")
                self.port = int(m.group(2))
                if t:
                    self.tls_host = t.group(1).strip("[]")
                    self.tls_port = int(t.group(2))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s before listening:\n%s"
                                   % (self.proc.returncode, self.stderr_text()))
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("server did not log its listening line within %.1fs:\n%s"
                           % (self.startup_timeout, self.stderr_text()))

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Signals the server and waits; kills it after timeout. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=scaled(timeout))
            except subprocess.TimeoutExpired:
                self.kill()
        self.returncode = self.proc.wait(timeout=scaled(timeout))
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        """Waits for the process to exit by itself; returns the exit status (raises on timeout)."""
        self.returncode = self.proc.wait(timeout=timeout)
        return self.returncode

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """stop() (SIGTERM, then a kill after the timeout), then the log file is removed."""
        try:
            self.stop()
        finally:
            self.kill()
            self.cleanup()

    def cleanup(self):
        if self._stderr_file is not None:
            self._stderr_file.close()
            try:
                os.unlink(self._stderr_file.name)
            except OSError:
                pass

    def stderr_text(self):
        if self._stderr_file is None:
            return ""
        with open(self._stderr_file.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    # -- addressing --------------------------------------------------------------------------

    @property
    def family(self):
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    @property
    def base_url(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "http://%s:%d" % (host, self.port)

    def url(self, path):
        return self.base_url + path

    def connect(self, timeout=10.0):
        s = socket.socket(self.family, socket.SOCK_STREAM)
        s.settimeout(scaled(timeout))
        try:
            s.connect((self.host, self.port))
        except BaseException:
            s.close()
            raise
        return s

    def conn(self, timeout=10.0):
        return Conn(self.connect(timeout))

    # -- metrics -----------------------------------------------------------------------------

    def metrics(self, timeout=10.0):
        """GET /metrics on a new connection (which the server counts as accepted)."""
        c = self.conn(timeout)
        try:
            c.send(request("GET", "/metrics", headers={"Connection": "close"}))
            r = c.read_response()
        finally:
            c.close()
        if r.status != 200:
            raise AssertionError("GET /metrics: %d" % r.status)
        return parse_metrics(r.body.decode())


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out


# -- raw HTTP/1.1 ------------------------------------------------------------------------------

def request(method, path, headers=None, body=None, version="HTTP/1.1", host="localhost"):
    """Builds the bytes of one request. headers: dict or list of pairs; Host added unless given."""
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    if host is not None and not any(k.lower() == "host" for k, _ in pairs):
        pairs.insert(0, ("Host", host))
    if body is not None and not any(k.lower() in ("content-length", "transfer-encoding")
                                    for k, _ in pairs):
        pairs.append(("Content-Length", str(len(body))))
    head = "%s %s %s\r\n" % (method, path, version)
    head += "".join("%s: %s\r\n" % (k, v) for k, v in pairs) + "\r\n"
    return head.encode("latin-1") + (body or b"")


def chunked(body, chunk_size=1000):
    out = bytearray()
    for i in range(0, len(body), chunk_size):
        part = body[i:i + chunk_size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    out += b"0\r\n\r\n"
    return bytes(out)


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) in order
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def connection_tokens(self):
        return {t.strip().lower() for v in self.header_all("Connection") for t in v.split(",")}

    def __repr__(self):
        return "<Response %d %r headers=%r body[%d]=%r>" % (
            self.status, self.reason, self.headers, len(self.body), self.body[:80])


class ConnectionClosed(Exception):
    pass


class Conn:
    """A client connection that reads HTTP/1.1 responses one after another."""

    MAX_HEAD = 1 << 20

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _fill(self, deadline):
        """Reads more bytes into buf; raises ConnectionClosed on EOF, socket.timeout on time."""
        if self.eof:
            raise ConnectionClosed("EOF")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("deadline passed")
        old = self.sock.gettimeout()
        self.sock.settimeout(min(remaining, old) if old else remaining)
        try:
            data = self.sock.recv(1 << 16)
        finally:
            self.sock.settimeout(old)
        if not data:
            self.eof = True
            raise ConnectionClosed("EOF")
        self.buf += data

    def _read_until(self, marker, deadline, limit):
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out = bytes(self.buf[:i + len(marker)])
                del self.buf[:i + len(marker)]
                return out
            if len(self.buf) > limit:
                raise AssertionError("no %r within %d bytes" % (marker, limit))
            self._fill(deadline)

    def _read_exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_head(self, timeout=10.0):
        """Reads one response head (including 1xx); returns a Response with an empty body."""
        deadline = time.monotonic() + scaled(timeout)
        raw = self._read_until(b"\r\n\r\n", deadline, self.MAX_HEAD)
        lines = raw[:-4].decode("latin-1").split("\r\n")
        m = re.match(r"^(HTTP/\d\.\d) (\d{3}) ?(.*)$", lines[0])
        if not m:
            raise AssertionError("bad status line %r" % lines[0])
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise AssertionError("bad header line %r" % line)
            headers.append((name, value.strip()))
        return Response(m.group(1), int(m.group(2)), m.group(3), headers, b"", raw)

    def read_response(self, method="GET", timeout=10.0, skip_1xx=True):
        """Reads one full response. Body by Content-Length, chunked, or until EOF."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            r = self.read_head(max(0.001, deadline - time.monotonic()) / TIMEOUT_SCALE)
            if 100 <= r.status < 200 and skip_1xx:
                continue
            break
        if method == "HEAD" or 100 <= r.status < 200 or r.status in (204, 304):
            return r
        te = r.header("Transfer-Encoding")
        cl = r.header("Content-Length")
        if te is not None and "chunked" in te.lower():
            body = bytearray()
            for _ in range(1 << 20):
                size_line = self._read_until(b"\r\n", deadline, 4096)
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    # trailers until the empty line
                    for _ in range(1000):
                        if self._read_until(b"\r\n", deadline, 65536) == b"\r\n":
                            break
                    break
                body += self._read_exact(size, deadline)
                if self._read_exact(2, deadline) != b"\r\n":
                    raise AssertionError("chunk not followed by CRLF")
            r.body = bytes(body)
        elif cl is not None:
            r.body = self._read_exact(int(cl), deadline)
        else:
            for _ in range(1 << 20):
                try:
                    self._fill(deadline)
                except ConnectionClosed:
                    break
            r.body = bytes(self.buf)
            self.buf.clear()
        return r

    def read_until_close(self, timeout=10.0, max_bytes=64 << 20):
        """Reads until the peer closes. Returns (bytes, "eof" | "reset"); raises on timeout."""
        deadline = time.monotonic() + scaled(timeout)
        while len(self.buf) <= max_bytes:
            try:
                self._fill(deadline)
            except ConnectionClosed:
                return bytes(self.buf), "eof"
            except ConnectionResetError:
                return bytes(self.buf), "reset"
        raise AssertionError("more than %d bytes before close" % max_bytes)


def raw_exchange(server, data, timeout=10.0):
    """Opens a connection, sends data, reads one response; returns (response, connection)."""
    c = server.conn(timeout)
    c.send(data)
    return c.read_response(timeout=timeout), c


# -- curl ----------------------------------------------------------------------------------------

def curl(*args, timeout=60.0, input=None):
    """Runs curl; returns CompletedProcess with stdout as bytes and stderr as text."""
    p = subprocess.run([CURL, "--silent", "--show-error", "--max-time", str(scaled(timeout) / 2)]
                       + [str(a) for a in args],
                       input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=scaled(timeout))
    p.stderr = p.stderr.decode("utf-8", "replace")
    return p


def wait_for(predicate, timeout, interval=0.05):
    """Polls predicate until true or timeout; returns its last value."""
    deadline = time.monotonic() + scaled(timeout)
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def parse_response_bytes(buf):
    """Parses one complete response with a Content-Length body from the start of buf.

    Returns (Response, bytes consumed), or None if buf does not yet hold a whole response.
    For non-blocking readers (selectors) that cannot use Conn.
    """
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    m = re.match(r"^(HTTP/\d\.\d) (\d{3}) ?(.*)$", lines[0])
    if not m:
        raise AssertionError("bad status line %r" % lines[0])
    headers = [(k, v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    r = Response(m.group(1), int(m.group(2)), m.group(3), headers, b"", bytes(buf[:end + 4]))
    n = int(r.header("Content-Length", "0"))
    if len(buf) < end + 4 + n:
        return None
    r.body = bytes(buf[end + 4:end + 4 + n])
    return r, end + 4 + n


# -- the server's side of a connection ---------------------------------------------------------

def _hex_port(addr):
    return int(addr.rsplit(":", 1)[1], 16)


def server_socket_inode(server_port, client_port):
    """The inode of the server-side TCP socket of the connection server_port <-> client_port."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if (len(cols) > 9 and _hex_port(cols[1]) == server_port
                    and _hex_port(cols[2]) == client_port and cols[9] != "0"):
                return int(cols[9])
    return None


def server_socket_queues(server_port, client_port):
    """(tx_queue, rx_queue) of the server-side socket of server_port <-> client_port, from
    /proc/net/tcp{,6}; None when the server has no such socket (it closed it)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if (len(cols) > 9 and _hex_port(cols[1]) == server_port
                    and _hex_port(cols[2]) == client_port and cols[9] != "0"):
                tx, _, rx = cols[4].partition(":")
                return int(tx, 16), int(rx, 16)
    return None


def artifacts_dir():
    """Where tests keep files for people to look at ($PORTICO_ARTIFACTS, set by ctest to
    <build>/artifacts; else <build dir>/artifacts). Created on demand."""
    d = Path(os.environ.get("PORTICO_ARTIFACTS") or str(build_dir() / "artifacts"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def fd_of_inode(pid, inode):
    """The fd number in process pid whose link is socket:[inode], or None."""
    target = "socket:[%d]" % inode
    base = "/proc/%d/fd" % pid
    for name in os.listdir(base):
        try:
            if os.readlink(os.path.join(base, name)) == target:
                return int(name)
        except OSError:
            continue
    return None


def pidfd_getfd(pid, fd):
    """Duplicates fd of process pid into this process (pidfd_open + pidfd_getfd, Linux >= 5.6).

    Raises PermissionError / OSError on failure.
    """
    import ctypes
    import platform
    if platform.machine() not in ("x86_64", "aarch64"):
        raise OSError("pidfd_getfd syscall number unknown on " + platform.machine())
    nr = 438  # the same on x86_64 and the generic (aarch64) table
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    pidfd = os.pidfd_open(pid)
    try:
        dup = libc.syscall(ctypes.c_long(nr), ctypes.c_int(pidfd), ctypes.c_int(fd),
                           ctypes.c_uint(0))
        if dup < 0:
            err = ctypes.get_errno()
            raise OSError(err, "pidfd_getfd: " + os.strerror(err))
        return dup
    finally:
        os.close(pidfd)
