"""--status PATH: the live status page, its server-sent events and its JSON sample.

The page is opened in headless Chromium (DevTools protocol over python3-websockets) while a
bounded load runs: a figure on the page must change and be above zero, and a screenshot is kept
as a test artefact ($PORTICO_ARTIFACTS/status-page.png). Only 127.0.0.1; every loop bounded.
"""

import asyncio
import base64
import json
import re
import subprocess
import threading
import time
import unittest

import chromium
from harness import (ConnectionClosed, Server, artifacts_dir, request, scaled, wait_for)


class EventReader:
    """Reads a chunked text/event-stream response from a Conn, one event at a time."""

    def __init__(self, conn):
        self.conn = conn
        self.text = ""
        self.ended = False

    def _chunk(self, deadline):
        size_line = self.conn._read_until(b"\r\n", deadline, 4096)
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            self.conn._read_until(b"\r\n", deadline, 4096)  # end of the (empty) trailers
            self.ended = True
            return
        data = self.conn._read_exact(size, deadline)
        if self.conn._read_exact(2, deadline) != b"\r\n":
            raise AssertionError("chunk not followed by CRLF")
        self.text += data.decode("utf-8")

    def next_event(self, timeout=10.0):
        """The next event as a dict of its fields ("data" lines joined); None at the end."""
        deadline = time.monotonic() + scaled(timeout)
        for _ in range(10000):
            if "\n\n" in self.text:
                block, _, self.text = self.text.partition("\n\n")
                fields = {}
                for line in block.split("\n"):
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    fields[name] = fields[name] + "\n" + value if name in fields else value
                return fields
            if self.ended:
                return None
            self._chunk(deadline)
        raise AssertionError("no event")

    def next_sample(self, timeout=10.0):
        for _ in range(10):
            e = self.next_event(timeout)
            if e is None:
                return None
            if "data" in e:
                return int(e["id"]), json.loads(e["data"])
        raise AssertionError("no data event")


def open_events(server, path="/status/events"):
    c = server.conn()
    c.send(request("GET", path))
    r = c.read_head()
    return c, r


class LoadThread(threading.Thread):
    """Keep-alive GETs on one connection until stopped, at most `limit` requests or `seconds`."""

    def __init__(self, server, limit=200000, seconds=60.0):
        super().__init__(daemon=True)
        self.server = server
        self.limit = limit
        self.seconds = scaled(seconds)
        self.stop_event = threading.Event()
        self.done = 0
        self.error = None

    def run(self):
        deadline = time.monotonic() + self.seconds
        c = None
        try:
            while (self.done < self.limit and not self.stop_event.is_set()
                   and time.monotonic() < deadline):
                if c is None:
                    c = self.server.conn()
                c.send(request("GET", "/hello.txt"))
                r = c.read_response()
                if r.status != 200:
                    raise AssertionError("load: unexpected status %d" % r.status)
                self.done += 1
                if "close" in r.connection_tokens():  # max requests per connection reached
                    c.close()
                    c = None
                if self.done % 50 == 0:
                    time.sleep(0.01)  # a steady load, not a flood
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            if c is not None:
                c.close()

    def stop(self):
        self.stop_event.set()
        self.join(timeout=scaled(30))


class StatusEndpointsTest(unittest.TestCase):
    def server(self, *args, kind="test"):
        s = Server(["--status", "/status"] + list(args), kind=kind).start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.stop)
        return s

    def test_page_is_self_contained(self):
        s = self.server("--threads", "1")
        with s.conn() as c:
            c.send(request("GET", "/status"))
            r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        csp = r.header("Content-Security-Policy")
        self.assertIsNotNone(csp)
        self.assertIn("default-src 'none'", csp)
        self.assertIn("connect-src 'self'", csp)
        html = r.body.decode("utf-8")
        self.assertIn("<script>", html)
        # Nothing loaded from elsewhere: no URL with a scheme or protocol-relative, no src=,
        # no stylesheet link, no @import or url().
        self.assertIsNone(re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html))
        self.assertIsNone(re.search(r"(?i)<(script|img|iframe)[^>]*\bsrc\s*=", html))
        self.assertIsNone(re.search(r"(?i)<link[^>]*rel=\"?stylesheet", html))
        self.assertIsNone(re.search(r"(?i)@import|url\(|@font-face", html))

    def test_event_stream_sends_a_json_sample_every_second(self):
        s = self.server("--threads", "1")
        c, r = open_events(s)
        self.addCleanup(c.close)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "text/event-stream; charset=utf-8")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assertEqual(r.header("Transfer-Encoding"), "chunked")
        ev = EventReader(c)
        first = ev.next_event()
        self.assertEqual(first, {"retry": "2000"})
        samples = [ev.next_sample() for _ in range(3)]
        ids = [i for i, _ in samples]
        self.assertEqual(ids, sorted(set(ids)), "ids must increase")
        for _, d in samples:
            self.assertEqual(d["schema"], "portico.status/1")
            self.assertEqual(d["listen"], ["127.0.0.1:%d" % s.port])
            self.assertEqual(d["tcp"]["states"]["LISTEN"], 1)
            self.assertEqual(len(d["latency"]["total"]["counts"]),
                             len(d["latency"]["bounds_us"]) + 1)
            self.assertEqual(len(d["listeners"]), 1)
        for _, d in samples[1:]:  # the first may predate this stream
            self.assertGreaterEqual(d["connections"]["open"], 1)
            self.assertGreaterEqual(d["connections"]["writing"], 1)
        # Samples after the first have rates over their interval.
        self.assertIsNotNone(samples[-1][1]["rates"])
        self.assertGreater(samples[-1][1]["interval"], 0)

    def test_json_sample(self):
        s = self.server("--threads", "2")
        for _ in range(3):
            with s.conn() as c:
                c.send(request("GET", "/hello.txt", headers={"Connection": "close"}))
                self.assertEqual(c.read_response().status, 200)
        ok = wait_for(lambda: self._json(s)["totals"]["requests"] >= 3, 10, interval=0.2)
        d = self._json(s)
        self.assertTrue(ok, d)
        self.assertEqual(d["responses"]["2xx"] >= 3, True)
        self.assertEqual(sorted(l["worker"] for l in d["listeners"]), [0, 1])
        self.assertEqual(d["tcp"]["states"]["LISTEN"], 2)
        self.assertIn(d["tcp"]["source"], ("netlink", "proc"))

    def _json(self, s):
        with s.conn() as c:
            c.send(request("GET", "/status/json", headers={"Connection": "close"}))
            r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/json")
        return json.loads(r.body)

    def test_streams_are_bounded_and_forgotten_when_clients_leave(self):
        s = self.server("--threads", "1")
        conns = []
        try:
            for _ in range(32):
                c, r = open_events(s)
                conns.append(c)
                self.assertEqual(r.status, 200)
            c, r = open_events(s)
            conns.append(c)
            self.assertEqual(r.status, 503)
            self.assertIsNotNone(r.header("Retry-After"))
            for c in conns:
                c.close()
            conns = []

            # Once the server noticed the clients left, new streams are taken again.
            def opens():
                c, r = open_events(s)
                conns.append(c)
                return r.status == 200
            self.assertTrue(wait_for(opens, 10, interval=0.2))
        finally:
            for c in conns:
                c.close()

    def test_event_stream_ends_when_the_server_drains(self):
        s = self.server("--threads", "1", "--shutdown-timeout", "60")
        c, r = open_events(s)
        self.addCleanup(c.close)
        self.assertEqual(r.status, 200)
        ev = EventReader(c)
        self.assertIsNotNone(ev.next_sample())
        started = time.monotonic()
        s.signal(__import__("signal").SIGTERM)
        for _ in range(100):
            if ev.next_event(timeout=30) is None:
                break
        self.assertTrue(ev.ended, "the stream did not end with its last chunk")
        with self.assertRaises(ConnectionClosed):
            c._fill(time.monotonic() + scaled(10))
        self.assertEqual(s.wait(timeout=scaled(30)), 0)
        # The drain did not wait for the 60 s shutdown timeout to cut the stream.
        self.assertLess(time.monotonic() - started, scaled(30))
        self.assertNotIn("shutdown timeout", s.stderr_text())

    def test_head_does_not_start_a_stream(self):
        s = self.server("--threads", "1")
        with s.conn() as c:
            c.send(request("HEAD", "/status/events"))
            r = c.read_response(method="HEAD")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Content-Type"), "text/event-stream; charset=utf-8")
            c.send(request("GET", "/hello.txt"))
            self.assertEqual(c.read_response().status, 200)  # the connection is free again

    def test_help_lists_the_option(self):
        from harness import portico_bin
        p = subprocess.run([portico_bin(), "--help"], stdout=subprocess.PIPE, timeout=30)
        self.assertIn(b"--status PATH", p.stdout)
        p = subprocess.run([portico_bin(), "serve", "--status", "status"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 2)


# ---- headless Chromium ---------------------------------------------------------------------------

FIGURES_JS = """(() => {
  // The page target exists before its document has loaded: missing elements read as null.
  const t = (id) => { const e = document.getElementById(id); return e ? e.textContent : null; };
  const row = Array.from(document.querySelectorAll('#tcp-states tr'))
      .filter((tr) => tr.children[0].textContent === 'ESTABLISHED')[0];
  return JSON.stringify({
    updates: Number(t('updates') || 0),
    requests: t('requests-total'),
    rps: t('rps'),
    open: t('conn-open'),
    live: t('live'),
    established: row ? row.children[2].textContent : null,
  });
})()"""


def number(text):
    return float(text.replace(",", "")) if text and text[0].isdigit() else None


class StatusPageInChromiumTest(unittest.TestCase):
    def test_figures_change_under_load_and_screenshot(self):
        chromium.require(self)
        s = Server(["--status", "/status", "--threads", "2"], kind="portico").start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.stop)
        load = LoadThread(s)
        load.start()
        self.addCleanup(load.stop)

        browser = chromium.Browser(s.url("/status"), window_size="1280,1500")
        self.addCleanup(browser.close)
        browser.start()
        ws_url = browser.page_target(s.url("/status"))

        result = asyncio.run(self._drive(ws_url, load))
        first, second, shot, problems = result
        print("\nstatus page: first %r, later %r\nscreenshot: %s" % (first, second, shot))
        self.assertIsNone(load.error)

        self.assertEqual(second["live"], "live")
        r1, r2 = number(first["requests"]), number(second["requests"])
        self.assertIsNotNone(r1, first)
        self.assertGreater(r1, 0)
        self.assertGreater(r2, r1, "the request count on the page did not change")
        self.assertGreater(second["updates"], first["updates"])
        self.assertGreater(number(second["rps"]) or 0, 0, second)
        self.assertGreaterEqual(number(second["open"]) or 0, 2, second)  # load + event stream
        self.assertGreaterEqual(number(second["established"]) or 0, 2, second)
        # No script error, and nothing blocked by the Content-Security-Policy (which would mean
        # the page tried to load something from elsewhere).
        self.assertEqual(problems, [])
        self.assertTrue(shot.exists() and shot.stat().st_size > 1000)
        with open(shot, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    async def _drive(self, ws_url, load):
        async with chromium.connect(ws_url) as ws:
            dt = chromium.DevTools(ws)
            await dt.call("Runtime.enable")
            await dt.call("Log.enable")
            await dt.call("Page.enable")

            async def figures():
                return json.loads(await dt.evaluate(FIGURES_JS))

            async def until(pred, timeout):
                deadline = time.monotonic() + scaled(timeout)
                f = await figures()
                while not pred(f) and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    f = await figures()
                return f

            first = await until(lambda f: f["updates"] >= 2 and (number(f["requests"]) or 0) > 0,
                                30)
            self.assertGreaterEqual(first["updates"], 2, first)
            # Two more samples while the load runs.
            second = await until(
                lambda f: f["updates"] >= first["updates"] + 2
                and (number(f["requests"]) or 0) > (number(first["requests"]) or 0)
                and (number(f["rps"]) or 0) > 0, 30)
            shot_data = await dt.call("Page.captureScreenshot", {"format": "png"})
            shot = artifacts_dir() / "status-page.png"
            shot.write_bytes(base64.b64decode(shot_data["data"]))
            return first, second, shot, dt.problems()


if __name__ == "__main__":
    unittest.main()
