"""Static files with `portico serve` and curl: index, redirects, HEAD, 404, traversal, sendfile."""

import hashlib
import os
import tempfile
import unittest
from pathlib import Path

from harness import DEMO_DIR, Server, curl

PASSWD = Path("/etc/passwd").read_bytes() if os.path.exists("/etc/passwd") else b"root:x:0:0:"
SECRET = b"top secret outside the root\n"


def fetch(server, path, *extra):
    """Returns (status, headers text, body) of a GET via curl with the path sent as is."""
    with tempfile.NamedTemporaryFile() as hdr:
        p = curl("--path-as-is", "-D", hdr.name, *extra, server.url(path))
        headers = Path(hdr.name).read_bytes().decode("latin-1")
    if p.returncode != 0:
        raise AssertionError("curl %s failed: %s" % (path, p.stderr))
    status = int(headers.split("\r\n", 1)[0].split()[1])
    return status, headers, p.stdout


def header(headers, name):
    for line in headers.split("\r\n"):
        k, sep, v = line.partition(":")
        if sep and k.strip().lower() == name.lower():
            return v.strip()
    return None


class DemoSiteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(["--threads", "1"], kind="portico").start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()

    def test_root_serves_index_html(self):
        status, headers, body = fetch(self.server, "/")
        self.assertEqual(status, 200)
        self.assertEqual(header(headers, "Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(body, (DEMO_DIR / "index.html").read_bytes())

    def test_directory_without_slash_redirects(self):
        status, headers, _ = fetch(self.server, "/docs")
        self.assertEqual(status, 301)
        self.assertEqual(header(headers, "Location"), "/docs/")
        status, headers, body = fetch(self.server, "/docs/")
        self.assertEqual(status, 200)
        self.assertEqual(body, (DEMO_DIR / "docs" / "index.html").read_bytes())
        # curl -L follows the redirect to the index
        p = curl("-L", self.server.url("/docs"))
        self.assertEqual(p.stdout, (DEMO_DIR / "docs" / "index.html").read_bytes())

    def test_head_has_length_and_no_body(self):
        p = curl("-v", "-I", self.server.url("/hello.txt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout.decode("latin-1"), r"(?i)\r\nContent-Length: 13\r\n")
        self.assertTrue(p.stdout.decode("latin-1").endswith("\r\n\r\n"), "HEAD response had a body")
        # and the connection carries on cleanly after the HEAD (no stray body bytes)
        p = curl("-v", "-I", self.server.url("/hello.txt"), "-:", "-v", self.server.url("/hello.txt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Re-using existing connection", p.stderr)
        self.assertTrue(p.stdout.endswith(b"\r\n\r\nHello, World!"), p.stdout)

    def test_missing_file_is_404(self):
        status, _, body = fetch(self.server, "/no-such-file.txt")
        self.assertEqual(status, 404)
        self.assertNotIn(b"Hello", body)

    def test_traversal_attempts_never_escape(self):
        for path in ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc/passwd",
                     "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/docs/../../../etc/passwd",
                     "/docs/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/..%5c..%5cetc/passwd",
                     "/%00", "/hello.txt%00.html", "//etc/passwd"]:
            with self.subTest(path):
                status, _, body = fetch(self.server, path)
                self.assertIn(status, (400, 404))
                self.assertNotIn(b"root:", body)
                self.assertNotEqual(body, PASSWD)


class TempRootTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        base = Path(cls.tmp.name)
        (base / "secret.txt").write_bytes(SECRET)
        root = base / "root"
        root.mkdir()
        (root / "hello.txt").write_bytes(b"Hello, World!")
        (root / ".env").write_bytes(b"PASSWORD=hunter2\n")
        (root / ".git").mkdir()
        (root / ".git" / "config").write_bytes(b"[core]\n")
        (root / "passwd-link").symlink_to("/etc/passwd")
        (root / "secret-link").symlink_to(base / "secret.txt")
        (root / "outside-dir").symlink_to(base)
        cls.big = os.urandom(5 * 1024 * 1024)
        (root / "big.bin").write_bytes(cls.big)
        cls.server = Server(["--threads", "1"], root=root, kind="portico").start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()
        cls.tmp.cleanup()

    def test_dotfiles_are_404(self):
        for path in ["/.env", "/.git/config", "/.git/", "/%2eenv"]:
            with self.subTest(path):
                status, _, body = fetch(self.server, path)
                self.assertEqual(status, 404)
                self.assertNotIn(b"hunter2", body)
                self.assertNotIn(b"[core]", body)

    def test_symlinks_pointing_outside_the_root_are_404(self):
        for path in ["/passwd-link", "/secret-link", "/outside-dir/secret.txt"]:
            with self.subTest(path):
                status, _, body = fetch(self.server, path)
                self.assertEqual(status, 404)
                self.assertNotIn(b"root:", body)
                self.assertNotIn(SECRET, body)

    def test_parent_of_root_is_unreachable(self):
        for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt",
                     "/x/../../secret.txt"]:
            with self.subTest(path):
                status, _, body = fetch(self.server, path)
                self.assertIn(status, (400, 404))
                self.assertNotIn(SECRET, body)

    def test_large_file_is_byte_identical(self):
        status, headers, body = fetch(self.server, "/big.bin")
        self.assertEqual(status, 200)
        self.assertEqual(header(headers, "Content-Length"), str(len(self.big)))
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(self.big).hexdigest())
        # twice on one connection, so the second transfer starts from a clean state
        p = curl("-v", self.server.url("/big.bin"), self.server.url("/hello.txt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Re-using existing connection", p.stderr)
        self.assertEqual(hashlib.sha256(p.stdout).hexdigest(),
                         hashlib.sha256(self.big + b"Hello, World!").hexdigest())


if __name__ == "__main__":
    unittest.main()
