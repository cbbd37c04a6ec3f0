"""Static files, part 2: Range (RFC 9110 §14), validators and conditional requests (§13),
precompressed siblings, listings, the symlink flag, big sparse files, resumed downloads.

curl is the client; multipart/byteranges bodies are parsed by Python's email package, an
independent MIME parser.
"""

import email.parser
import email.policy
import gzip
import hashlib
import os
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from harness import CURL, Server, curl, scaled

from test_static import fetch, header


def all_headers(headers, name):
    out = []
    for line in headers.split("\r\n"):
        k, sep, v = line.partition(":")
        if sep and k.strip().lower() == name.lower():
            out.append(v.strip())
    return out


def parse_multipart(content_type, body):
    """Parts of a multipart body as [(headers dict, payload bytes)], by the email package."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        raise AssertionError("not a multipart body: " + content_type)
    parts = []
    for part in msg.iter_parts():
        parts.append(({k.lower(): v for k, v in part.items()}, part.get_payload(decode=True)))
    return parts


class RangeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = Path(cls.tmp.name)
        # 100 KiB: above the in-memory small-file size, so it goes out with sendfile(2).
        cls.data = os.urandom(100 * 1024)
        (root / "data.bin").write_bytes(cls.data)
        # 1000 bytes: served from the cached copy in memory.
        cls.small = bytes(range(256)) * 3 + b"x" * 232
        (root / "small.txt").write_bytes(cls.small)
        cls.server = Server(["--threads", "1"], root=root, kind="portico").start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()
        cls.tmp.cleanup()

    def test_accept_ranges_on_files(self):
        for name in ["/data.bin", "/small.txt"]:
            status, headers, _ = fetch(self.server, name)
            self.assertEqual(status, 200)
            self.assertEqual(header(headers, "Accept-Ranges"), "bytes")

    def test_single_ranges_byte_for_byte(self):
        for name, content in [("/data.bin", self.data), ("/small.txt", self.small)]:
            n = len(content)
            cases = [("0-99", 0, 99), ("-100", n - 100, n - 1), ("100-", 100, n - 1),
                     ("5-5", 5, 5), ("%d-%d" % (n - 10, n + 1000), n - 10, n - 1),  # clipped
                     ("-%d" % (n * 2), 0, n - 1)]
            for spec, first, last in cases:
                with self.subTest(name=name, range=spec):
                    status, headers, body = fetch(self.server, name, "-r", spec)
                    self.assertEqual(status, 206)
                    self.assertEqual(header(headers, "Content-Range"),
                                     "bytes %d-%d/%d" % (first, last, n))
                    self.assertEqual(header(headers, "Content-Length"), str(last - first + 1))
                    self.assertEqual(body, content[first:last + 1])

    def test_two_small_ranges_are_a_multipart_body(self):
        # curl -r 0-1,5-6: two parts (separate, not adjacent ranges are not merged).
        for name, content, ctype in [("/data.bin", self.data, "application/octet-stream"),
                                     ("/small.txt", self.small, "text/plain; charset=utf-8")]:
            with self.subTest(name):
                status, headers, body = fetch(self.server, name, "-r", "0-1,5-6")
                self.assertEqual(status, 206)
                self.assertIsNone(header(headers, "Content-Range"))
                ct = header(headers, "Content-Type")
                self.assertRegex(ct, r"^multipart/byteranges; boundary=\S+$")
                self.assertEqual(header(headers, "Content-Length"), str(len(body)))
                parts = parse_multipart(ct, body)
                self.assertEqual(len(parts), 2)
                for (h, payload), (a, b) in zip(parts, [(0, 1), (5, 6)]):
                    # (the email package re-quotes parameters: charset="utf-8")
                    self.assertEqual(h["content-type"].replace('"', ""), ctype)
                    self.assertEqual(h["content-range"], "bytes %d-%d/%d" % (a, b, len(content)))
                    self.assertEqual(payload, content[a:b + 1])

    def test_multipart_parts_in_ascending_order_with_exact_length(self):
        n = len(self.data)
        spec = "50000-50099,-10,0-9,70000-"
        status, headers, body = fetch(self.server, "/data.bin", "-r", spec)
        self.assertEqual(status, 206)
        ct = header(headers, "Content-Type")
        self.assertEqual(int(header(headers, "Content-Length")), len(body))
        boundary = ct.split("boundary=", 1)[1]
        # The boundary does not occur in any part (it could not be predicted by the file).
        self.assertEqual(body.count(b"--" + boundary.encode()), 4)  # 3 delimiters + close
        parts = parse_multipart(ct, body)
        expect = [(0, 9), (50000, 50099), (70000, n - 1)]  # -10 lies inside 70000-: merged
        self.assertEqual([h["content-range"] for h, _ in parts],
                         ["bytes %d-%d/%d" % (a, b, n) for a, b in expect])
        for (_, payload), (a, b) in zip(parts, expect):
            self.assertEqual(payload, self.data[a:b + 1])
        # Each response draws a new boundary.
        _, headers2, _ = fetch(self.server, "/data.bin", "-r", spec)
        self.assertNotEqual(header(headers2, "Content-Type"), ct)

    def test_overlapping_and_adjacent_ranges_merge(self):
        status, headers, body = fetch(self.server, "/data.bin", "-r", "0-99,50-149,150-199")
        self.assertEqual(status, 206)
        self.assertEqual(header(headers, "Content-Range"), "bytes 0-199/%d" % len(self.data))
        self.assertEqual(body, self.data[:200])

    def test_range_abuse_gets_the_whole_file(self):
        n = len(self.data)
        # Overlapping ranges asking for more than the file (the amplification attack): 200.
        for spec in ["0-,0-", ",".join(["0-%d" % (n - 1)] * 2), ",".join(["-60000"] * 3)]:
            with self.subTest(spec[:30]):
                status, headers, body = fetch(self.server, "/data.bin", "-H", "Range: bytes=" + spec)
                self.assertEqual(status, 200)
                self.assertEqual(body, self.data)
        # More than 16 parts after merging: 200 with the whole file.
        many = ",".join("%d-%d" % (i * 100, i * 100) for i in range(17))
        status, _, body = fetch(self.server, "/data.bin", "-H", "Range: bytes=" + many)
        self.assertEqual(status, 200)
        self.assertEqual(body, self.data)
        sixteen = ",".join("%d-%d" % (i * 100, i * 100) for i in range(16))
        status, headers, body = fetch(self.server, "/data.bin", "-H", "Range: bytes=" + sixteen)
        self.assertEqual(status, 206)
        self.assertEqual(len(parse_multipart(header(headers, "Content-Type"), body)), 16)
        # More than 64 range-specs, even if they would merge: 200.
        specs = ",".join("%d-%d" % (i, i) for i in range(65))
        status, _, body = fetch(self.server, "/data.bin", "-H", "Range: bytes=" + specs)
        self.assertEqual(status, 200)
        self.assertEqual(body, self.data)

    def test_unsatisfiable_is_416_with_length(self):
        n = len(self.data)
        for spec in ["%d-" % n, "%d-%d" % (n + 5, n + 10), "-0", "%d-,%d-" % (n, n + 1)]:
            with self.subTest(spec):
                status, headers, body = fetch(self.server, "/data.bin", "-H", "Range: bytes=" + spec)
                self.assertEqual(status, 416)
                self.assertEqual(header(headers, "Content-Range"), "bytes */%d" % n)
                self.assertNotIn(self.data[:100], body)

    def test_invalid_range_header_is_ignored(self):
        for value in ["bytes=5-2", "bytes=abc", "bytes=0-1;x", "bytes", "bytes=--1", "bytes="]:
            with self.subTest(value):
                status, headers, body = fetch(self.server, "/small.txt", "-H", "Range: " + value)
                self.assertEqual(status, 200)
                self.assertIsNone(header(headers, "Content-Range"))
                self.assertEqual(body, self.small)
        # Another range unit is ignored too (RFC 9110 §14.2).
        status, _, body = fetch(self.server, "/small.txt", "-H", "Range: items=0-1")
        self.assertEqual(status, 200)
        self.assertEqual(body, self.small)

    def test_range_applies_to_get_only_and_head_shows_get_headers(self):
        _, get_headers, _ = fetch(self.server, "/data.bin")
        status, head_headers, _ = fetch(self.server, "/data.bin", "-I", "-r", "0-9")
        self.assertEqual(status, 200)
        for name in ["Content-Length", "Content-Type", "ETag", "Last-Modified", "Accept-Ranges"]:
            self.assertEqual(header(head_headers, name), header(get_headers, name), name)
        self.assertEqual(header(head_headers, "Content-Length"), str(len(self.data)))

    def test_other_methods_are_405_with_allow(self):
        for method in ["POST", "PUT", "DELETE", "PATCH"]:
            with self.subTest(method):
                status, headers, _ = fetch(self.server, "/data.bin", "-X", method, "-r", "0-1")
                self.assertEqual(status, 405)
                allow = {m.strip() for m in header(headers, "Allow").split(",")}
                self.assertTrue({"GET", "HEAD"} <= allow, allow)
                self.assertNotIn("POST", allow)

    def test_if_range_with_etag(self):
        _, headers, _ = fetch(self.server, "/data.bin")
        etag = header(headers, "ETag")
        self.assertRegex(etag, r'^"[^"]+"$')  # strong
        status, h, body = fetch(self.server, "/data.bin", "-r", "10-19", "-H", "If-Range: " + etag)
        self.assertEqual(status, 206)
        self.assertEqual(body, self.data[10:20])
        # Another tag, or the weak form of the right one: the whole file.
        for other in ['"nope"', "W/" + etag]:
            with self.subTest(other):
                status, _, body = fetch(self.server, "/data.bin", "-r", "10-19",
                                        "-H", "If-Range: " + other)
                self.assertEqual(status, 200)
                self.assertEqual(body, self.data)

    def test_if_range_with_date(self):
        _, headers, _ = fetch(self.server, "/data.bin")
        lm = header(headers, "Last-Modified")
        # The file was written more than a second ago only after a short wait.
        time.sleep(1.1)
        status, _, body = fetch(self.server, "/data.bin", "-r", "0-4", "-H", "If-Range: " + lm)
        self.assertEqual(status, 206)
        self.assertEqual(body, self.data[:5])
        status, _, body = fetch(self.server, "/data.bin", "-r", "0-4",
                                "-H", "If-Range: Sat, 01 Jan 2000 00:00:00 GMT")
        self.assertEqual(status, 200)
        self.assertEqual(body, self.data)

    def test_304_flows(self):
        _, headers, _ = fetch(self.server, "/small.txt")
        etag, lm = header(headers, "ETag"), header(headers, "Last-Modified")
        for hdrs in [["If-None-Match: " + etag], ["If-None-Match: \"a\", " + etag],
                     ["If-None-Match: W/" + etag], ["If-None-Match: *"],
                     ["If-Modified-Since: " + lm],
                     ["If-None-Match: \"a\"", "If-None-Match: " + etag]]:
            with self.subTest(hdrs):
                args = []
                for h in hdrs:
                    args += ["-H", h]
                status, h304, body = fetch(self.server, "/small.txt", *args)
                self.assertEqual(status, 304)
                self.assertEqual(body, b"")
                self.assertEqual(header(h304, "ETag"), etag)
                self.assertEqual(header(h304, "Last-Modified"), lm)
        # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2): a non-matching tag with
        # a matching date is a 200.
        status, _, body = fetch(self.server, "/small.txt", "-H", "If-None-Match: \"other\"",
                                "-H", "If-Modified-Since: " + lm)
        self.assertEqual(status, 200)
        self.assertEqual(body, self.small)
        status, _, _ = fetch(self.server, "/small.txt",
                             "-H", "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT")
        self.assertEqual(status, 200)
        # curl's own conditional GET (-z DATE) sends If-Modified-Since.
        status, _, body = fetch(self.server, "/small.txt", "-z", lm)
        self.assertEqual(status, 304)

    def test_412_flows(self):
        _, headers, _ = fetch(self.server, "/small.txt")
        etag, lm = header(headers, "ETag"), header(headers, "Last-Modified")
        for hdrs in [["If-Match: \"other\""], ["If-Match: W/" + etag],
                     ["If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT"],
                     # If-Match is evaluated first, and then If-Unmodified-Since is ignored.
                     ["If-Match: \"other\"", "If-Unmodified-Since: " + lm]]:
            with self.subTest(hdrs):
                args = []
                for h in hdrs:
                    args += ["-H", h]
                status, _, body = fetch(self.server, "/small.txt", *args)
                self.assertEqual(status, 412)
                self.assertNotIn(self.small, body)
        for hdrs in [["If-Match: " + etag], ["If-Match: *"], ["If-Unmodified-Since: " + lm],
                     ["If-Match: " + etag, "If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT"]]:
            with self.subTest(hdrs):
                args = []
                for h in hdrs:
                    args += ["-H", h]
                status, _, body = fetch(self.server, "/small.txt", *args)
                self.assertEqual(status, 200)
                self.assertEqual(body, self.small)
        # Preconditions come before Range: If-Match failing with a Range is 412, not 206.
        status, _, _ = fetch(self.server, "/small.txt", "-r", "0-1", "-H", "If-Match: \"x\"")
        self.assertEqual(status, 412)


class FileChangeTest(unittest.TestCase):
    """The open-file cache notices changed, replaced and deleted files within its 1 s validity."""

    def test_changes_are_noticed(self):
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            f = root / "f.txt"
            f.write_bytes(b"version one\n")
            with Server(["--threads", "1"], root=root, kind="portico") as server:
                status, h1, body = fetch(server, "/f.txt")
                self.assertEqual(body, b"version one\n")
                f.write_bytes(b"version two, longer\n")
                time.sleep(1.2)
                status, h2, body = fetch(server, "/f.txt")
                self.assertEqual(body, b"version two, longer\n")
                self.assertNotEqual(header(h1, "ETag"), header(h2, "ETag"))
                # Replaced by rename with the same size and the old modification time.
                tmp = root / "f.tmp"
                tmp.write_bytes(b"version 3, longer!!\n")
                st = f.stat()
                os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
                os.rename(tmp, f)
                time.sleep(1.2)
                status, _, body = fetch(server, "/f.txt")
                self.assertEqual(body, b"version 3, longer!!\n")
                f.unlink()
                time.sleep(1.2)
                status, _, _ = fetch(server, "/f.txt")
                self.assertEqual(status, 404)


class PrecompressedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = Path(cls.tmp.name)
        cls.js = b"function hello() { return 'hello, world'; }\n" * 200
        (root / "app.js").write_bytes(cls.js)
        (root / "app.js.gz").write_bytes(gzip.compress(cls.js))
        # Not real brotli (no brotli encoder in the standard library): the server does not
        # look inside; the test only checks which file is chosen.
        cls.fake_br = b"BROTLI-PLACEHOLDER" * 10
        (root / "app.js.br").write_bytes(cls.fake_br)
        (root / "plain.css").write_bytes(b"body { color: red }\n")
        cls.root = root
        cls.server = Server(["--threads", "1"], root=root, kind="portico").start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()
        cls.tmp.cleanup()

    def test_gzip_sibling_when_accepted(self):
        p = curl("--compressed", "-H", "Accept-Encoding: gzip", self.server.url("/app.js"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, self.js)  # curl decoded the gzip body
        status, headers, body = fetch(self.server, "/app.js", "-H", "Accept-Encoding: gzip")
        self.assertEqual(status, 200)
        self.assertEqual(header(headers, "Content-Encoding"), "gzip")
        self.assertEqual(header(headers, "Content-Type"), "text/javascript; charset=utf-8")
        self.assertEqual(header(headers, "Vary"), "Accept-Encoding")
        self.assertEqual(gzip.decompress(body), self.js)

    def test_brotli_preferred_and_each_variant_has_its_own_etag(self):
        tags = set()
        for ae, enc, expect in [("br, gzip", "br", self.fake_br),
                                ("gzip", "gzip", None), ("identity", None, self.js),
                                ("gzip;q=0, br;q=0", None, self.js), ("", None, self.js)]:
            with self.subTest(ae):
                status, headers, body = fetch(self.server, "/app.js",
                                              "-H", "Accept-Encoding: " + ae)
                self.assertEqual(status, 200)
                self.assertEqual(header(headers, "Content-Encoding"), enc)
                self.assertEqual(header(headers, "Vary"), "Accept-Encoding")
                if expect is not None:
                    self.assertEqual(body, expect)
                tags.add(header(headers, "ETag"))
        self.assertEqual(len(tags), 3)  # identity, gzip, br

    def test_range_on_a_compressed_variant_is_a_range_of_its_bytes(self):
        gz = (self.root / "app.js.gz").read_bytes()
        status, headers, body = fetch(self.server, "/app.js", "-H", "Accept-Encoding: gzip",
                                      "-r", "0-9")
        self.assertEqual(status, 206)
        self.assertEqual(header(headers, "Content-Range"), "bytes 0-9/%d" % len(gz))
        self.assertEqual(body, gz[:10])

    def test_no_vary_without_siblings(self):
        status, headers, _ = fetch(self.server, "/plain.css", "-H", "Accept-Encoding: gzip")
        self.assertEqual(status, 200)
        self.assertIsNone(header(headers, "Vary"))
        self.assertIsNone(header(headers, "Content-Encoding"))

    def test_flag_turns_siblings_off(self):
        with Server(["--threads", "1", "--no-precompressed"], root=self.root,
                    kind="portico") as server:
            status, headers, body = fetch(server, "/app.js", "-H", "Accept-Encoding: gzip, br")
            self.assertEqual(status, 200)
            self.assertIsNone(header(headers, "Content-Encoding"))
            self.assertEqual(body, self.js)


class ListingAndSymlinkFlagsTest(unittest.TestCase):
    def test_listing_only_with_the_flag_and_names_escaped(self):
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            (root / "dir").mkdir()
            (root / "dir" / "a<b>&'\".txt").write_bytes(b"x")
            (root / "dir" / "sub").mkdir()
            (root / "dir" / ".hidden").write_bytes(b"x")
            with Server(["--threads", "1"], root=root, kind="portico") as server:
                status, _, _ = fetch(server, "/dir/")
                self.assertEqual(status, 404)
            with Server(["--threads", "1", "--list-dirs"], root=root, kind="portico") as server:
                status, headers, body = fetch(server, "/dir/")
                self.assertEqual(status, 200)
                self.assertEqual(header(headers, "Content-Type"), "text/html; charset=utf-8")
                text = body.decode()
                self.assertIn("a&lt;b&gt;&amp;&#39;&quot;.txt", text)
                self.assertNotIn("a<b>", text)
                self.assertIn('href="a%3Cb%3E%26%27%22.txt"', text)
                self.assertIn('href="sub/"', text)
                self.assertNotIn(".hidden", text)
                # The link works.
                status, _, body = fetch(server, "/dir/a%3Cb%3E%26%27%22.txt")
                self.assertEqual((status, body), (200, b"x"))

    def test_follow_symlinks_flag(self):
        with tempfile.TemporaryDirectory() as d:
            base = Path(d)
            (base / "outside.txt").write_bytes(b"outside\n")
            root = base / "root"
            root.mkdir()
            (root / "link.txt").symlink_to(base / "outside.txt")
            (root / "inside.txt").write_bytes(b"inside\n")
            (root / "inner-link.txt").symlink_to("inside.txt")
            with Server(["--threads", "1"], root=root, kind="portico") as server:
                self.assertEqual(fetch(server, "/link.txt")[0], 404)
                self.assertEqual(fetch(server, "/inner-link.txt")[2], b"inside\n")
            with Server(["--threads", "1", "--follow-symlinks"], root=root,
                        kind="portico") as server:
                self.assertEqual(fetch(server, "/link.txt")[2], b"outside\n")


class BigFileTest(unittest.TestCase):
    """A sparse 5 GiB file: offsets and lengths past 4 GiB, and a resumed download."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = Path(cls.tmp.name)
        cls.size = 5 * 1024 ** 3
        cls.tail = os.urandom(1024 * 1024)
        cls.mid = os.urandom(4096)
        cls.mid_at = 4 * 1024 ** 3 - 2048  # straddles the 4 GiB boundary
        with open(root / "sparse.bin", "wb") as f:
            f.truncate(cls.size)
            f.seek(cls.mid_at)
            f.write(cls.mid)
            f.seek(cls.size - len(cls.tail))
            f.write(cls.tail)
        cls.resume = os.urandom(24 * 1024 * 1024)
        (root / "resume.bin").write_bytes(cls.resume)
        cls.root = root
        cls.server = Server(["--threads", "1"], root=root, kind="portico").start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()
        cls.tmp.cleanup()

    def test_length_and_last_range(self):
        status, headers, _ = fetch(self.server, "/sparse.bin", "-I")
        self.assertEqual(status, 200)
        self.assertEqual(header(headers, "Content-Length"), str(self.size))
        status, headers, body = fetch(self.server, "/sparse.bin", "-r", "-%d" % len(self.tail))
        self.assertEqual(status, 206)
        self.assertEqual(header(headers, "Content-Range"), "bytes %d-%d/%d"
                         % (self.size - len(self.tail), self.size - 1, self.size))
        self.assertEqual(body, self.tail)
        a = self.mid_at
        status, headers, body = fetch(self.server, "/sparse.bin", "-r", "%d-%d" % (a - 10, a + 4095))
        self.assertEqual(status, 206)
        self.assertEqual(body, b"\0" * 10 + self.mid)

    def test_multipart_past_4_gib(self):
        last = self.size - 1
        status, headers, body = fetch(self.server, "/sparse.bin", "-r",
                                      "0-3,%d-%d,%d-%d" % (self.mid_at, self.mid_at + 99,
                                                           last - 99, last))
        self.assertEqual(status, 206)
        parts = parse_multipart(header(headers, "Content-Type"), body)
        self.assertEqual([p for _, p in parts], [b"\0" * 4, self.mid[:100], self.tail[-100:]])
        self.assertEqual(parts[2][0]["content-range"],
                         "bytes %d-%d/%d" % (last - 99, last, self.size))

    def test_interrupted_download_resumed_with_curl_c(self):
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "resume.bin"
            # Interrupted: a slow transfer cut by curl's own time limit.
            p = subprocess.run([CURL, "--silent", "--limit-rate", "2M", "--max-time", "1",
                                "-o", str(out), self.server.url("/resume.bin")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=scaled(30))
            self.assertEqual(p.returncode, 28, p.stderr)  # operation timed out
            got = out.stat().st_size
            self.assertGreater(got, 0)
            self.assertLess(got, len(self.resume))
            # Resumed: curl asks for bytes=got- and appends.
            p = subprocess.run([CURL, "--silent", "--show-error", "-C", "-", "-D", "-",
                                "-o", str(out), self.server.url("/resume.bin")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=scaled(60))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(b"HTTP/1.1 206", p.stdout)
            self.assertIn(("Content-Range: bytes %d-%d/%d" % (got, len(self.resume) - 1,
                                                             len(self.resume))).encode(), p.stdout)
            self.assertEqual(hashlib.sha256(out.read_bytes()).hexdigest(),
                             hashlib.sha256(self.resume).hexdigest())


if __name__ == "__main__":
    unittest.main()
