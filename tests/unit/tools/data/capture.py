#!/usr/bin/python3
"""Captures the inputs of tests/unit/tools/*_test.cpp from a live kernel (run as root).

Creates a private network namespace, builds known TCP states in it over loopback (a listener
with a full-ish accept queue, ESTABLISHED, FIN-WAIT-2/CLOSE-WAIT, TIME-WAIT, SYN-SENT/SYN-RECV
through an nftables rule that drops SYN-ACKs, IPv6 too), then saves at the same moment:
  inet_diag_v4.bin / inet_diag_v6.bin   raw NETLINK_SOCK_DIAG dump answers (all datagrams)
  proc_net_tcp.txt / proc_net_tcp6.txt  /proc/net/tcp and /proc/net/tcp6
  proc_net_netstat.txt / proc_net_snmp.txt
Usage: capture.py [OUTDIR]   (default: this directory). Needs ip(8) and nft(8).
"""

import os
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3


def dump(family):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    s.settimeout(5)
    req = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + bytes(48)
    s.sendto(struct.pack("=IHHII", 16 + len(req), SOCK_DIAG_BY_FAMILY,
                         NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + req, (0, 0))
    out = b""
    for _ in range(10000):
        data = s.recv(65536)
        out += data
        off = 0
        while off + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, off)
            if kind in (NLMSG_DONE, NLMSG_ERROR):
                s.close()
                return out
            off += (length + 3) & ~3
    raise RuntimeError("no NLMSG_DONE")


def inside(outdir):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    nft = ("add table inet cap\n"
           "add chain inet cap in { type filter hook input priority 0; }\n"
           "add rule inet cap in tcp sport 7070 tcp flags & (syn|ack) == syn|ack drop\n")
    subprocess.run(["nft", "-f", "-"], input=nft.encode(), check=True)
    keep = []

    def listener(fam, host, port, backlog):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(backlog)
        keep.append(s)
        return s

    def connect(fam, host, port, block=True):
        c = socket.socket(fam, socket.SOCK_STREAM)
        if block:
            c.settimeout(5)
            c.connect((host, port))
        else:
            c.setblocking(False)
            c.connect_ex((host, port))
        keep.append(c)
        return c

    # 8080: backlog 4, never accepts, 3 connections waiting in the accept queue.
    listener(socket.AF_INET, "127.0.0.1", 8080, 4)
    for _ in range(3):
        connect(socket.AF_INET, "127.0.0.1", 8080)
    # 9090: one ESTABLISHED pair, one FIN-WAIT-2/CLOSE-WAIT pair, two TIME-WAIT (server side).
    l9 = listener(socket.AF_INET, "0.0.0.0", 9090, 16)
    connect(socket.AF_INET, "127.0.0.1", 9090)
    keep.append(l9.accept()[0])
    connect(socket.AF_INET, "127.0.0.1", 9090)
    a = l9.accept()[0]
    a.shutdown(socket.SHUT_WR)
    keep.append(a)
    for _ in range(2):
        c = connect(socket.AF_INET, "127.0.0.1", 9090)
        a = l9.accept()[0]
        a.close()
        time.sleep(0.05)
        c.close()
    # 8443 on ::1: one ESTABLISHED pair, one TIME-WAIT on the server side.
    l6 = listener(socket.AF_INET6, "::1", 8443, 8)
    connect(socket.AF_INET6, "::1", 8443)
    keep.append(l6.accept()[0])
    c = connect(socket.AF_INET6, "::1", 8443)
    a = l6.accept()[0]
    a.close()
    time.sleep(0.05)
    c.close()
    # 7070: SYN-ACKs dropped: two SYN-SENT clients, two SYN-RECV on the server.
    listener(socket.AF_INET, "127.0.0.1", 7070, 8)
    for _ in range(2):
        connect(socket.AF_INET, "127.0.0.1", 7070, block=False)
    time.sleep(0.3)

    files = {
        "inet_diag_v4.bin": dump(socket.AF_INET),
        "inet_diag_v6.bin": dump(socket.AF_INET6),
    }
    for name, path in (("proc_net_tcp.txt", "/proc/net/tcp"), ("proc_net_tcp6.txt",
                       "/proc/net/tcp6"), ("proc_net_netstat.txt", "/proc/net/netstat"),
                       ("proc_net_snmp.txt", "/proc/net/snmp")):
        with open(path, "rb") as f:
            files[name] = f.read()
    for name, data in files.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
    print("captured", ", ".join(sorted(files)))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--inside":
        inside(sys.argv[2])
        return
    outdir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else HERE)
    ns = "portico-capture-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
                        "--inside", outdir], check=True, timeout=60)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    main()
