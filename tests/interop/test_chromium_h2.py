"""A real browser over HTTP/2: headless Chromium loads the demo page over https (ALPN h2).

The server is `portico serve demo/` with a TLS listener on an ephemeral port and a self-signed
certificate made for the test in a temp dir (scripts/dev-cert.sh); Chromium is told to accept
it (--ignore-certificate-errors). The test checks that h2 was negotiated three ways: the
DevTools protocol (Network.responseReceived: protocol "h2" for the page and its stylesheet),
the page's own performance entries (nextHopProtocol "h2"), and the server's access log
(request lines with HTTP/2.0). A screenshot is kept as $PORTICO_ARTIFACTS/chromium-h2.png.
Only 127.0.0.1; every wait bounded.
"""

import asyncio
import base64
import json
import subprocess
import tempfile
import unittest
from pathlib import Path

import chromium
from harness import DEMO_DIR, REPO, Server, artifacts_dir, wait_for

ENTRIES_JS = """JSON.stringify(performance.getEntriesByType('navigation')
  .concat(performance.getEntriesByType('resource'))
  .map((e) => ({name: e.name, protocol: e.nextHopProtocol})))"""

STYLE_JS = """getComputedStyle(document.querySelector('main')).maxWidth + ' ' +
  document.styleSheets.length"""


class ChromiumHttp2Test(unittest.TestCase):
    def test_demo_page_over_h2_with_screenshot(self):
        chromium.require(self)
        tmp = tempfile.TemporaryDirectory(prefix="portico-h2-browser-")
        self.addCleanup(tmp.cleanup)
        certdir = Path(tmp.name) / "cert"
        subprocess.run([str(REPO / "scripts" / "dev-cert.sh"), str(certdir)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        access_log = Path(tmp.name) / "access.log"

        s = Server(["--threads", "1", "--tls-cert", str(certdir / "cert.pem"),
                    "--tls-key", str(certdir / "key.pem"), "--access-log", str(access_log)],
                   root=DEMO_DIR, kind="portico", listen_tls="127.0.0.1:0", metrics=False).start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.stop)
        url = "https://127.0.0.1:%d/" % s.tls_port

        browser = chromium.Browser("about:blank", flags=["--ignore-certificate-errors"])
        self.addCleanup(browser.close)
        browser.start()
        ws_url = browser.page_target("about:blank")

        responses, entries, title, style, shot, problems = asyncio.run(self._drive(ws_url, url))
        print("\nresponses: %r\nperformance entries: %r\nscreenshot: %s"
              % (responses, entries, shot))

        # DevTools: the document and the stylesheet came over h2, with status 200.
        self.assertEqual(responses.get(url), ("h2", 200), responses)
        self.assertEqual(responses.get(url + "style.css"), ("h2", 200), responses)
        for u, (protocol, _) in responses.items():
            if u.startswith(url):
                self.assertEqual(protocol, "h2", u)
        # The page's view: navigation and resource entries say h2 as well.
        names = {e["name"]: e["protocol"] for e in entries}
        self.assertEqual(names.get(url), "h2", entries)
        self.assertEqual(names.get(url + "style.css"), "h2", entries)
        # The page is the demo page, and its stylesheet applied.
        self.assertEqual(title, "Portico demo")
        self.assertTrue(style.endswith(" 1"), style)
        self.assertNotIn(style.split()[0], ("none", ""), style)
        self.assertEqual([p for p in problems if "favicon" not in json.dumps(p)], [])

        # The server's side: the access log has both requests as HTTP/2.0.
        def logged():
            text = access_log.read_text("utf-8") if access_log.exists() else ""
            return ('"GET / HTTP/2.0" 200' in text and '"GET /style.css HTTP/2.0" 200' in text
                    and text)
        text = wait_for(logged, 10, interval=0.1)
        self.assertTrue(text, "access log:\n%s" % (access_log.read_text("utf-8")
                                                   if access_log.exists() else "(none)"))
        self.assertNotIn("HTTP/1.1", text)

        self.assertTrue(shot.exists() and shot.stat().st_size > 1000)
        with open(shot, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    async def _drive(self, ws_url, url):
        async with chromium.connect(ws_url) as ws:
            dt = chromium.DevTools(ws)
            await dt.call("Runtime.enable")
            await dt.call("Log.enable")
            await dt.call("Network.enable")
            await dt.call("Page.enable")
            nav = await dt.call("Page.navigate", {"url": url})
            self.assertNotIn("errorText", nav, nav)
            await dt.wait_event("Page.loadEventFired", timeout=30)
            # responseReceived events for everything the page loaded (from the server)
            await dt.wait_event("Network.responseReceived",
                                lambda p: p["response"]["url"] == url + "style.css", timeout=10)
            responses = {}
            for e in dt.events:
                if e["method"] == "Network.responseReceived":
                    r = e["params"]["response"]
                    responses[r["url"]] = (r.get("protocol"), r.get("status"))
            entries = json.loads(await dt.evaluate(ENTRIES_JS))
            title = await dt.evaluate("document.title")
            style = await dt.evaluate(STYLE_JS)
            shot_data = await dt.call("Page.captureScreenshot", {"format": "png"})
            shot = artifacts_dir() / "chromium-h2.png"
            shot.write_bytes(base64.b64decode(shot_data["data"]))
            return responses, entries, title, style, shot, dt.problems()


if __name__ == "__main__":
    unittest.main()
