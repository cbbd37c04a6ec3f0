"""Headless Chromium driven over the Chrome DevTools Protocol, for the interop tests.

`Browser` starts Debian's `chromium` headless with a fresh profile in a temp dir and finds its
DevTools port; `DevTools` is a minimal protocol client for one page target (python3-websockets).
Both are required, not optional: scripts/setup.sh installs them, so `require()` fails the test
with a message saying so instead of skipping it. Every wait is bounded (scaled by
PORTICO_TIMEOUT_SCALE) and the browser is stopped on cleanup.
"""

import asyncio
import json
import os
import signal
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from harness import scaled, wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# The flags every test uses: headless, no sandbox (tests may run as root), no GPU, nothing
# fetched from the network by the browser itself.
BASE_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-background-networking", "--disable-component-update",
              "--disable-dev-shm-usage"]


def require(test):
    """Fails `test` (a unittest.TestCase) when Chromium or python3-websockets is missing."""
    if CHROMIUM is None:
        test.fail("chromium is not installed: run scripts/setup.sh (Debian package 'chromium')")
    try:
        import websockets  # noqa: F401
    except ImportError:
        test.fail("python3-websockets is not installed: run scripts/setup.sh")


class Browser:
    """One headless Chromium with its own profile, opened on `url`.

    Use start(), then page_target(url_prefix) for the DevTools WebSocket URL of the page, and
    close() (or register it with addCleanup). log() returns the tail of the browser's output.
    """

    def __init__(self, url="about:blank", flags=(), window_size="1280,1000"):
        self.url = url
        self.flags = list(flags)
        self.window_size = window_size
        self.profile = None
        self.proc = None
        self.port = None
        self._log = None

    def start(self):
        self.profile = tempfile.TemporaryDirectory(prefix="portico-chromium-")
        self._log = open(os.path.join(self.profile.name, "chromium.log"), "wb")
        self.proc = subprocess.Popen(
            [CHROMIUM] + BASE_FLAGS + self.flags +
            ["--user-data-dir=" + self.profile.name,
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             "--window-size=" + self.window_size, self.url],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, start_new_session=True)
        port_file = Path(self.profile.name) / "DevToolsActivePort"
        if not wait_for(lambda: port_file.exists() and port_file.read_text().strip(), 60,
                        interval=0.1):
            raise AssertionError("Chromium did not open its DevTools port:\n" + self.log())
        self.port = int(port_file.read_text().split()[0])
        return self

    def close(self):
        if self.proc is not None:
            # The whole process group (start_new_session): the browser's helper processes may
            # outlive the main one and keep writing into the profile being removed.
            if self.proc.poll() is None:
                self._signal_group(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            self._signal_group(signal.SIGKILL)
            if self.proc.poll() is None:
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.profile is not None:
            # A killed helper may still be leaving: retry briefly (bounded).
            for attempt in range(20):
                try:
                    self.profile.cleanup()
                    break
                except OSError:
                    if attempt == 19:
                        raise
                    time.sleep(0.1)
            self.profile = None

    def _signal_group(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def log(self):
        if self._log is None:
            return ""
        self._log.flush()
        with open(self._log.name, "rb") as f:
            return f.read().decode("utf-8", "replace")[-3000:]

    def targets(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % self.port,
                                    timeout=scaled(10)) as f:
            return json.load(f)

    def page_target(self, url_prefix="", timeout=30):
        """The WebSocket URL of the first page target whose URL starts with url_prefix."""
        def find():
            for t in self.targets():
                if t.get("type") == "page" and t.get("url", "").startswith(url_prefix):
                    return t
            return None
        t = wait_for(find, timeout, interval=0.2)
        if not t:
            raise AssertionError("no page target for %r:\n%s" % (url_prefix, self.log()))
        return t["webSocketDebuggerUrl"]


class DevTools:
    """A minimal Chrome DevTools Protocol client for one page target.

    Events that arrive while waiting for an answer are kept in `events`, in order.
    """

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.events = []

    async def _recv(self, deadline, what):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("DevTools: no " + what)
        try:
            return json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
        except asyncio.TimeoutError:
            raise AssertionError("DevTools: no " + what) from None

    async def call(self, method, params=None, timeout=30.0):
        self.next_id += 1
        my_id = self.next_id
        await self.ws.send(json.dumps({"id": my_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + scaled(timeout)
        while True:
            msg = await self._recv(deadline, "answer to " + method)
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise AssertionError("DevTools %s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    async def wait_event(self, method, predicate=lambda params: True, timeout=30.0):
        """The first event `method` (already received or to come) whose params satisfy
        predicate; raises AssertionError after timeout."""
        for e in self.events:
            if e["method"] == method and predicate(e["params"]):
                return e["params"]
        deadline = time.monotonic() + scaled(timeout)
        while True:
            msg = await self._recv(deadline, "event " + method)
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method and predicate(msg["params"]):
                    return msg["params"]

    async def evaluate(self, expression):
        r = await self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in r:
            raise AssertionError("page script failed: %r" % r["exceptionDetails"])
        return r["result"].get("value")

    def problems(self):
        """Script exceptions and console/log errors seen so far."""
        return [e for e in self.events
                if e["method"] == "Runtime.exceptionThrown"
                or (e["method"] == "Log.entryAdded"
                    and e["params"]["entry"].get("level") == "error")]


def connect(ws_url):
    """A WebSocket to a DevTools target: `async with chromium.connect(url) as ws:`."""
    import websockets
    return websockets.connect(ws_url, max_size=None, ping_interval=None,
                              open_timeout=scaled(30))
