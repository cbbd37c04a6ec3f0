#!/usr/bin/python3
"""Cross-checks Portico's HPACK encoder and decoder against python3-hpack (an independent
implementation), on the raw-data stories of hpack-test-case:

  1. Portico encodes each story; python-hpack decodes it (one context per story). Fields must
     match, and authorization / proxy-authorization / set-cookie / short cookies must arrive
     never-indexed. Some stories run with peer table size changes between blocks.
  2. python-hpack encodes each story (with table size changes in some); Portico decodes it.

usage: cross_check.py <hpack_tool> <hpack-test-case dir>
Exits 77 (skipped) when /usr/bin/python3 has no hpack module.
"""
import json
import os
import subprocess
import sys

try:
    import hpack
except ImportError:
    print("python3-hpack is not installed: skipped")
    sys.exit(77)

tool, data = sys.argv[1], sys.argv[2]
raw_dir = os.path.join(data, "raw-data")
stories = sorted(f for f in os.listdir(raw_dir) if f.endswith(".json"))
if len(stories) < 30:
    sys.exit(f"expected the raw-data stories in {raw_dir}")

SENSITIVE = {"authorization", "proxy-authorization", "set-cookie"}
SIZES = [4096, 1024, 0, 8192, 256]


def load(name):
    with open(os.path.join(raw_dir, name), encoding="utf-8") as f:
        doc = json.load(f)
    return [[(k.encode(), v.encode()) for h in c["headers"] for k, v in h.items()]
            for c in doc["cases"]]


def run_tool(mode, lines, size=4096):
    p = subprocess.run([tool, mode, str(size)], input="\n".join(lines) + "\n", text=True,
                       capture_output=True, check=True)
    return p.stdout.splitlines()


def size_changes(i, story_index):
    """The peer table size change before block i, or None (only in odd-numbered stories)."""
    if story_index % 2 == 1 and i > 0 and i % 5 == 0:
        return SIZES[(i // 5) % len(SIZES)]
    return None


failures = 0
blocks = 0
for si, name in enumerate(stories):
    cases = load(name)

    # 1. Portico -> python-hpack. python-hpack's decoder accepts any update up to
    # max_allowed_table_size, which is what a SETTINGS change allows.
    lines, expect = [], []
    for i, fields in enumerate(cases):
        change = size_changes(i, si)
        if change is not None:
            lines.append(f"#size {change}")
        lines.append(" ".join(k.hex() + ":" + v.hex() for k, v in fields))
        expect.append((change, fields))
    wires = run_tool("encode", lines)
    dec = hpack.Decoder()
    dec.max_header_list_size = 1 << 20
    for i, ((change, fields), wire) in enumerate(zip(expect, wires)):
        if change is not None:
            dec.max_allowed_table_size = change
        got = dec.decode(bytes.fromhex(wire), raw=True)
        if [(k, v) for k, v in got] != fields:
            print(f"{name} case {i}: python-hpack decoded Portico's block differently")
            failures += 1
            break
        for h in got:
            k, v = h[0].decode(), h[1]
            sensitive = k in SENSITIVE or (k == "cookie" and len(v) < 20)
            if sensitive != isinstance(h, hpack.NeverIndexedHeaderTuple):
                print(f"{name} case {i}: {k} never-indexed={not sensitive}, expected {sensitive}")
                failures += 1
        blocks += 1

    # 2. python-hpack -> Portico.
    enc = hpack.Encoder()
    lines, expect = [], []
    for i, fields in enumerate(cases):
        change = size_changes(i, si)
        if change is not None:
            enc.header_table_size = change
            lines.append(f"#limit {change}")
        lines.append(enc.encode(fields, huffman=(si % 3 != 0)).hex())
        expect.append(" ".join(k.hex() + ":" + v.hex() for k, v in fields))
    got = run_tool("decode", lines)
    for i, (e, g) in enumerate(zip(expect, got)):
        if g != e:
            print(f"{name} case {i}: Portico decoded python-hpack's block as {g[:80]!r}")
            failures += 1
            break
        blocks += 1
    if len(got) != len(expect):
        print(f"{name}: {len(got)} results for {len(expect)} blocks")
        failures += 1

print(f"{len(stories)} stories, {blocks} blocks cross-checked, {failures} failures")
sys.exit(1 if failures else 0)
