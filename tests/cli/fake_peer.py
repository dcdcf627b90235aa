#!/usr/bin/env python3
# tests/cli/fake_peer.py — a process that is not strata, for
# tests/cli/test_observe.sh: it listens on DIR/CLAIM.sock (CLAIM "self":
# its own pid), prints its pid once it listens, and answers like a strata
# process, with terminal escapes everywhere it can put them: METRICS gets
# Prometheus text full of them, ATTACH gets trace memory (a sealed memfd
# laid out as trace/trace_int.h says) whose event names hold them.  With
# "evil-comm" its command name holds them too.
#
#   fake_peer.py DIR CLAIM [evil-comm]
#   fake_peer.py --expect-metrics FILE   exit 0 when FILE is METRICS cleaned
import ctypes
import fcntl
import os
import socket
import struct
import sys
import time

METRICS = (
    b"# HELP strata_pool_bytes \x1b]0;owned\x07Bytes in pools\n"
    b"# TYPE strata_pool_bytes gauge\n"
    b'strata_pool_bytes{pool="\x1b[31mevil\x1b[0m",id="1",node="0",kind="host",state="reserved"} 4096\n'
    b'strata_pool_bytes{pool="caf\xc3\xa9\xc2\x9b2J\x9b1m\x7f\r",id="2",node="0",kind="host",state="reserved"} 8192\n'
    b"\x1bP+q\x1b\\strata_io_reads_total\t3\n"
    b"strata_trace_events_total \xff\xfe\x1b(B1\n"
)
# What a terminal may be shown of it: escape sequences, controls but
# newline and tab, DEL, C1 (encoded or bare) and bytes that are not UTF-8
# removed; "é" kept.
CLEANED = (
    "# HELP strata_pool_bytes Bytes in pools\n"
    "# TYPE strata_pool_bytes gauge\n"
    'strata_pool_bytes{pool="evil",id="1",node="0",kind="host",state="reserved"} 4096\n'
    'strata_pool_bytes{pool="caf\u00e9",id="2",node="0",kind="host",state="reserved"} 8192\n'
    "strata_io_reads_total\t3\n"
    "strata_trace_events_total 1\n"
).encode()
# Event names: a colour, then an OSC 8 hyperlink introduced by C1 OSC.
NAMES = [b"\x1b[31mevil\x1b[0m.name\x07", b"\xc2\x9d8;;http://x\x07ok.name"]


def attach(conn):
    """Trace memory: one ring of four instants, alternating the names."""
    nrec, names_off, rings_off = 64, 4096, 8192
    ring_bytes = 64 + nrec * 32
    total = (rings_off + ring_bytes + 4095) // 4096 * 4096
    shm = os.memfd_create("fake-trace", os.MFD_ALLOW_SEALING)
    os.ftruncate(shm, total)
    # struct st_trace_header; tsc_ok 0: timestamps are CLOCK_MONOTONIC ns.
    os.pwrite(shm, struct.pack("<8sIIIIIIQQQQQQdIIIIi", b"STRTRACE", 2, 4096, 1, nrec, 32, len(NAMES),
                               names_off, rings_off, ring_bytes, total, 0, 0, 1.0, 0, 0, len(NAMES), 0,
                               os.getpid()), 0)
    for i, name in enumerate(NAMES):
        os.pwrite(shm, name.ljust(64, b"\0"), names_off + 64 * i)
    now = time.monotonic_ns()
    records = b"".join(struct.pack("<QIHHQQ", now + k, 1 + k % 2, 1, 0, k, 0) for k in range(4))
    os.pwrite(shm, struct.pack("<QQII40x", 4, 0, os.getpid(), 1) + records, rings_off)
    cursors = os.memfd_create("fake-cursors", os.MFD_ALLOW_SEALING)
    os.ftruncate(cursors, 8192)  # the cursors: a line per ring, then the refusals (trace_int.h)
    for fd in (shm, cursors):
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
    socket.send_fds(conn, [b"OK 1\n"], [shm, cursors])


def serve(folder, claim, evil_comm):
    if evil_comm:
        ctypes.CDLL(None).prctl(15, b"\x1b[2Jevil\x1b[0m", 0, 0, 0)  # PR_SET_NAME
    path = "%s/%d.sock" % (folder, os.getpid() if claim == "self" else int(claim))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    print(os.getpid(), flush=True)
    attached = []
    while True:
        conn, _ = listener.accept()
        conn.settimeout(2)
        try:
            request = conn.recv(64)
        except OSError:
            request = b""
        if request == b"METRICS\n":
            conn.sendall(METRICS)
        elif request == b"ATTACH\n":
            attach(conn)
            attached.append(conn)  # attached until the reader leaves
            continue
        conn.close()


if __name__ == "__main__":
    if sys.argv[1] == "--expect-metrics":
        sys.exit(0 if open(sys.argv[2], "rb").read() == CLEANED else 1)
    serve(sys.argv[1], sys.argv[2], len(sys.argv) > 3 and sys.argv[3] == "evil-comm")
