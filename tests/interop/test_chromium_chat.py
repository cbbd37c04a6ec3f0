"""A real browser over WebSocket: headless Chromium opens the demo chat page (demo/chat.html)
over http (ws://) and over https (wss://), and exchanges messages with a python3-websockets
client in the same room; what the page received is read from its DOM. The server is
`portico serve demo/ --ws-chat /ws/chat` (the same-origin policy of the demo). A screenshot
is kept as $PORTICO_ARTIFACTS/chromium-chat-*.png. Only 127.0.0.1; every wait bounded.
"""

import asyncio
import base64
import json
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import websockets

import chromium
from harness import DEMO_DIR, REPO, Server, artifacts_dir, scaled

LOG_JS = "JSON.stringify([document.getElementById('state').textContent, " \
         "Array.from(document.querySelectorAll('#log li')).map((li) => li.textContent)])"


class ChromiumChatTest(unittest.TestCase):
    def test_chat_page_over_ws_and_wss(self):
        chromium.require(self)
        tmp = tempfile.TemporaryDirectory(prefix="portico-ws-browser-")
        self.addCleanup(tmp.cleanup)
        certdir = Path(tmp.name) / "cert"
        subprocess.run([str(REPO / "scripts" / "dev-cert.sh"), str(certdir)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        s = Server(["--threads", "2", "--ws-chat", "/ws/chat", "--tls-cert",
                    str(certdir / "cert.pem"), "--tls-key", str(certdir / "key.pem")],
                   root=DEMO_DIR, kind="portico", listen_tls="127.0.0.1:0").start()
        self.addCleanup(s.cleanup)
        self.addCleanup(s.stop)

        browser = chromium.Browser("about:blank", flags=["--ignore-certificate-errors"])
        self.addCleanup(browser.close)
        browser.start()
        target = browser.page_target("about:blank")

        for scheme, port in (("http", s.port), ("https", s.tls_port)):
            with self.subTest(scheme=scheme):
                page = "%s://127.0.0.1:%d/chat.html" % (scheme, port)
                ws_url = "%s://127.0.0.1:%d/ws/chat" % ("wss" if scheme == "https" else "ws",
                                                       port)
                state, lines, from_page, problems, shot = asyncio.run(asyncio.wait_for(
                    self._drive(target, page, ws_url, certdir / "cert.pem", scheme),
                    scaled(60)))
                print("\n%s: state %r, page log %r, python got %r, screenshot %s"
                      % (scheme, state, lines, from_page, shot))
                self.assertEqual(state, "open (%s)" % ("wss" if scheme == "https" else "ws"))
                # The page's own message came back through the room, and the python client's
                # message reached the page; the python client saw the page's message.
                self.assertIn("hello from chromium over " + scheme, lines)
                self.assertIn("hello from python over " + scheme, lines)
                self.assertEqual(from_page, "hello from chromium over " + scheme)
                self.assertEqual(problems, [])

        m = s.metrics()
        self.assertGreaterEqual(m.get("portico_websocket_upgrades_total", 0), 4)

    async def _drive(self, target, page, ws_url, cert, scheme):
        import ssl
        ctx = None
        if ws_url.startswith("wss"):
            ctx = ssl.create_default_context(cafile=str(cert))
            ctx.check_hostname = False
        async with chromium.connect(target) as dt_ws:
            dt = chromium.DevTools(dt_ws)
            await dt.call("Runtime.enable")
            await dt.call("Log.enable")
            await dt.call("Page.enable")
            await dt.call("Page.navigate", {"url": page})
            await dt.wait_event("Page.loadEventFired")
            deadline = time.monotonic() + scaled(20)

            async def page_state():
                return json.loads(await dt.evaluate(LOG_JS))

            while (await page_state())[0] != "open (%s)" % ("wss" if ctx else "ws"):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            # A second participant in the room, outside the browser (the room spans workers).
            async with websockets.connect(ws_url, ssl=ctx, origin=None) as peer:
                await dt.evaluate(
                    "document.getElementById('text').value = 'hello from chromium over %s';"
                    "document.getElementById('send').click(); true" % scheme)
                from_page = await asyncio.wait_for(peer.recv(), scaled(10))
                await peer.send("hello from python over " + scheme)
                while len((await page_state())[1]) < 2 and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
            state, lines = await page_state()
            shot = await dt.call("Page.captureScreenshot", {"format": "png"})
            out = artifacts_dir() / ("chromium-chat-%s.png" % scheme)
            out.write_bytes(base64.b64decode(shot["data"]))
            return state, lines, from_page, dt.problems(), str(out)


if __name__ == "__main__":
    unittest.main()
