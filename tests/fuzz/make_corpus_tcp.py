#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpus of fuzz_tcp (tests/fuzz/corpus_tcp/).

Each seed is a small conversation in fuzz_tcp's record format (see the top
of fuzz_tcp.c; the encoders below follow it field by field): handshakes,
data both ways, orderly close, reset, SYN flood into cookies, a cookie ACK,
out-of-order data, the timers, and raw malformed headers. The output is
deterministic: running it again rewrites the same bytes.

Usage: tests/fuzz/make_corpus_tcp.py [OUTDIR]   (default: corpus_tcp beside
this file)
"""
import os
import struct
import sys

# TCP flags
F, S, R, P, A = 0x01, 0x02, 0x04, 0x08, 0x10

# destination port choices (fuzz_tcp.c fz_dports)
ECHO, APP, REFUSE, CLOSED = 0, 1, 2, 3

# first payload byte: the scripted application's command (port 1883)
CMD_CONSUME, CMD_CLOSE, CMD_ABORT, CMD_SEND, CMD_HOLD, CMD_SEND_CLOSE = \
    0, 1, 2, 3, 4, 5

# MSS option table index (fz_mss_opt)
MSS_1460, MSS_536, MSS_1, MSS_64, MSS_9000, MSS_0, MSS_100, MSS_1200 = \
    range(8)


def conf(cookies=True, delack=True, ooo=True, small_rcv=False,
         small_snd=False, mss=0, reply_limit=False):
    """The settings byte that starts every input."""
    return bytes([(0 if cookies else 1) | (0 if delack else 2) |
                  (0 if ooo else 4) | (8 if small_rcv else 0) |
                  (16 if small_snd else 0) | (mss & 3) << 5 |
                  (128 if reply_limit else 0)])


def seg(flags, sp=0, dp=ECHO, seq=0, ack=0, win=65535, opts=None,
        mss=MSS_1460, raw_opts=b"", layout=0, length=0, prefix=b"",
        bad_csum=False, seq_from_ack=False, ack_from_max=False,
        no_advance=False):
    """A segment record from source port 40001 + sp (sp 0..7).

    seq: delta from the peer's next sequence (or, seq_from_ack, from the
    last ACK the stack sent this port); ack: delta from the stack's ISN + 1
    (or, ack_from_max, from the highest sequence it sent). opts: None,
    "mss" (value from the table by index mss), "linux" (the usual SYN
    options) or "raw" (raw_opts, a multiple of 4 bytes, 4..32)."""
    kind = 0
    shape = 0
    if opts == "mss":
        kind |= (mss & 7) << 3
        shape |= 1
    elif opts == "linux":
        shape |= 2
    elif opts == "raw":
        assert len(raw_opts) % 4 == 0 and 4 <= len(raw_opts) <= 32
        kind |= (len(raw_opts) // 4 - 1) << 3
        shape |= 3
    shape |= (layout & 3) << 3
    if length <= 255:
        lbyte = length
    elif length % 8 == 0 and length // 8 <= 255:
        shape |= 4 << 5
        lbyte = length // 8
    else:
        assert length % 16 == 0 and length // 16 <= 255
        shape |= 6 << 5
        lbyte = length // 16
    kind |= 0x40 if sp & 4 else 0
    ports = (sp & 3) | (dp & 3) << 2
    ports |= (0x10 if bad_csum else 0) | (0x20 if seq_from_ack else 0)
    ports |= (0x40 if ack_from_max else 0) | (0x80 if no_advance else 0)
    rec = bytes([kind, flags, ports]) + struct.pack(
        "!hhH", seq, ack, win) + bytes([shape, lbyte])
    if opts == "raw":
        rec += raw_opts
    # to port 1883 the fuzzer takes up to 4 payload bytes from the input
    if dp != APP:
        return rec
    pfx = (prefix + b"hello"[len(prefix):])[:min(length, 4)]
    return rec + pfx


def raw(tcp, fix_csum=False, ports=None, layout=0, pad=False):
    """A raw record: tcp is the TCP part, Ethernet and IPv4 are forged."""
    op = 5 | (0x08 if fix_csum else 0) | (0x10 if ports is not None else 0)
    op |= (layout & 3) << 5 | (0x80 if pad else 0)
    rec = bytes([op]) + struct.pack("!H", len(tcp))
    if ports is not None:
        sp, dp = ports
        rec += bytes([(sp & 3) | (dp & 3) << 2])
    return rec + tcp


def clock(ms):
    """A clock record: ms < 200 exactly, else rounded to 500 ms steps."""
    if ms < 200:
        return bytes([6, ms])
    return bytes([6, min(255, 199 + ms // 500)])


def tcp_hdr(flags, sport=40001, dport=7, seq=1, ack=0, doff=5, win=1024,
            opts=b"", payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4,
                       flags, win, 0, 0) + opts + payload


def handshake(sp=0, dp=ECHO, opts="mss", mss=MSS_1460):
    return seg(S, sp, dp, opts=opts, mss=mss) + seg(A, sp, dp)


def seeds():
    out = {}
    c = conf()

    # handshake, data both ways, peer closes first, echo closes, TIME_WAIT
    # is not ours (LAST_ACK -> closed)
    out["echo_data_close"] = c + handshake() + \
        seg(P | A, length=100) + clock(50) + \
        seg(A, ack_from_max=True) + \
        seg(F | A, ack_from_max=True) + clock(10) + \
        seg(A, ack_from_max=True) + clock(250)

    # we close first (app command), the peer ACKs and FINs: TIME_WAIT,
    # which then expires; a new SYN on the port afterwards
    out["app_close_time_wait"] = c + handshake(dp=APP) + \
        seg(P | A, dp=APP, length=10, prefix=bytes([CMD_CLOSE])) + \
        clock(5) + seg(A, dp=APP, ack_from_max=True) + \
        seg(F | A, dp=APP, ack_from_max=True) + clock(10) + \
        seg(P | A, dp=APP, length=5, ack_from_max=True) + \
        seg(S, dp=APP, seq=1000, opts="mss") + \
        clock(199) + clock(1000) + clock(100)

    # handshake then an exact RST; then an in-window inexact one (challenge)
    out["echo_rst"] = c + handshake(sp=1) + \
        seg(P | A, sp=1, length=20) + \
        seg(R, sp=1, seq=5, seq_from_ack=True, no_advance=True) + \
        seg(R | A, sp=1, seq_from_ack=True, ack_from_max=True)

    # SYNs from every port and again: the backlog (2) fills, cookies answer
    flood = c
    for i in range(4):
        flood += seg(S, sp=i, opts="linux", no_advance=True)
    for i in range(4):
        flood += seg(S, sp=i, seq=7, opts="mss", mss=MSS_536,
                     no_advance=True)
    out["syn_flood"] = flood + clock(255) + clock(255)

    # two half-open SYNs fill the backlog; the third gets a cookie and
    # completes with the cookie ACK, then talks
    out["cookie_ack"] = c + seg(S, sp=0, dp=ECHO) + seg(S, sp=1, dp=ECHO) + \
        seg(S, sp=2, dp=ECHO, opts="mss", mss=MSS_536) + \
        seg(A, sp=2, dp=ECHO) + seg(P | A, sp=2, dp=ECHO, length=304) + \
        clock(60) + seg(A, sp=2, dp=ECHO, ack_from_max=True)

    # same with cookies off: the third SYN is dropped (backlog full)
    out["backlog_full_no_cookies"] = conf(cookies=False) + \
        seg(S, sp=0) + seg(S, sp=1) + seg(S, sp=2) + seg(A, sp=2) + \
        clock(255)

    # out-of-order data: a segment past a hole, a second one, then the hole
    out["ooo_reassembly"] = c + handshake(dp=APP) + \
        seg(P | A, dp=APP, seq=200, length=100, no_advance=True) + \
        seg(P | A, dp=APP, seq=100, length=100, no_advance=True) + \
        seg(P | A, dp=APP, seq=400, length=50, no_advance=True) + \
        seg(P | A, dp=APP, length=100) + \
        seg(P | A, dp=APP, seq=200, length=100) + \
        seg(F | A, dp=APP, seq=50) + seg(F | A, dp=APP, seq=-50) + clock(20)

    # the stack sends and the peer never ACKs: RTO backoff to timeout
    out["rto_timeout"] = c + handshake(dp=APP) + \
        seg(P | A, dp=APP, length=4, prefix=bytes([CMD_SEND, 40])) + \
        b"".join(clock(199) for _ in range(4)) + clock(2000) + \
        clock(4000) + clock(8000)

    # a SYN left unanswered: SYN-ACK retries, then given up
    out["synack_retries"] = c + seg(S, sp=3, dp=APP, opts="mss") + \
        clock(199) + clock(500) + clock(1000) + clock(2000)

    # zero window from the peer while the app sends: persist probes, then
    # the window reopens
    out["zero_window_persist"] = c + handshake(dp=APP) + \
        seg(P | A, dp=APP, win=0, length=4, prefix=bytes([CMD_SEND, 100])) + \
        clock(199) + clock(199) + clock(500) + \
        seg(A, dp=APP, win=65535) + clock(50) + \
        seg(A, dp=APP, ack_from_max=True)

    # our window closes: the app holds data, the peer keeps sending
    out["rcv_window_full"] = conf(small_rcv=True) + handshake(dp=APP) + \
        b"".join(seg(P | A, dp=APP, length=256,
                     prefix=bytes([CMD_HOLD])) for _ in range(6)) + \
        clock(199)

    # delayed ACK off, tiny MSS, peer MSS 64; echo sends several segments
    out["small_mss_echo"] = conf(delack=False, mss=3) + \
        seg(S, opts="mss", mss=MSS_64) + seg(A) + \
        seg(P | A, length=600, layout=1) + \
        seg(A, ack_from_max=True, ack=-64) + \
        seg(A, ack_from_max=True, ack=-64) + \
        seg(A, ack_from_max=True, ack=-64) + \
        seg(A, ack_from_max=True, ack=-64) + clock(100) + \
        seg(A, ack_from_max=True)

    # a big segment in a chained mbuf; an abort from the application
    out["app_abort_chain"] = c + handshake(dp=APP) + \
        seg(P | A, dp=APP, length=1024, layout=3,
            prefix=bytes([CMD_ABORT])) + clock(10)

    # the refusing listener and a closed port
    out["refused_and_closed"] = c + handshake(sp=1, dp=REFUSE) + \
        seg(S, sp=2, dp=CLOSED) + seg(A, sp=3, dp=CLOSED, ack=77) + \
        seg(R, sp=3, dp=CLOSED)

    # junk on an established connection: bad checksum, SYN (challenge),
    # old ACK, ACK of unsent data, no ACK flag, data after FIN
    out["established_junk"] = conf(reply_limit=True) + handshake() + \
        seg(P | A, length=10, bad_csum=True, no_advance=True) + \
        seg(S, no_advance=True) + \
        seg(A, ack=-30000, no_advance=True) + \
        seg(A, ack=3000, no_advance=True) + \
        seg(P, length=5, no_advance=True) + \
        seg(F | A) + seg(P | A, length=5) + seg(S | F, no_advance=True)

    # raw headers: fixed checksum SYN, truncated, doff 4 and 15, options
    # running off the end, padding past the datagram
    out["raw_headers"] = c + \
        raw(tcp_hdr(S, opts=b"\x02\x04\x05\xb4", doff=6), fix_csum=True) + \
        raw(tcp_hdr(S)[:12]) + \
        raw(tcp_hdr(A, doff=4), fix_csum=True) + \
        raw(tcp_hdr(S, doff=15), fix_csum=True) + \
        raw(tcp_hdr(S, doff=7, opts=b"\x01\x02\x04\x05\xb4\x03\x03\x08"),
            fix_csum=True, ports=(1, APP)) + \
        raw(tcp_hdr(S | A, sport=0), fix_csum=True, pad=True) + \
        raw(tcp_hdr(P), fix_csum=True, layout=1)

    # odd options on SYNs: MSS 1, MSS 0, MSS 9000, malformed lengths
    out["syn_options"] = c + \
        seg(S, sp=0, dp=APP, opts="mss", mss=MSS_1) + seg(A, sp=0, dp=APP) + \
        seg(P | A, sp=0, dp=APP, length=4, prefix=bytes([CMD_SEND, 2])) + \
        seg(S, sp=1, dp=APP, opts="mss", mss=MSS_0) + \
        seg(S, sp=2, dp=APP, opts="raw", raw_opts=b"\x02\x00\x01\x01") + \
        seg(S, sp=3, dp=APP, opts="raw",
            raw_opts=b"\x01\x01\x02\x04\x23\x28\x08\x0a\x00\x00\x00\x01"
                     b"\x00\x00\x00\x00\x03\x03\x0e\x00") + clock(199)

    # the pool (8 connections) and TIME_WAIT table (4) fill: eight
    # handshakes, a ninth SYN and a cookie ACK find no room, then closes
    # into TIME_WAIT past its capacity
    full = c
    for i in range(8):
        full += handshake(sp=i, dp=APP if i % 2 else ECHO)
    full += seg(S, sp=0, dp=APP) + seg(S, sp=1, dp=ECHO) + \
        seg(A, sp=1, dp=ECHO, seq=1)
    for i in range(1, 8, 2):
        full += seg(P | A, sp=i, dp=APP, length=4,
                    prefix=bytes([CMD_CLOSE])) + \
            seg(A, sp=i, dp=APP, ack_from_max=True) + \
            seg(F | A, sp=i, dp=APP, ack_from_max=True)
    for i in range(0, 8, 2):
        full += seg(F | A, sp=i, no_advance=True) + clock(10) + \
            seg(A, sp=i, ack_from_max=True)
    out["pool_full_time_wait_full"] = full + clock(255)

    # long stall: a jump past the timer wheel's rotation with timers armed
    out["long_stall"] = c + handshake(sp=0, dp=APP) + handshake(sp=1) + \
        seg(P | A, sp=0, dp=APP, length=4,
            prefix=bytes([CMD_SEND_CLOSE, 3])) + \
        seg(S, sp=2, dp=APP) + clock(10000) + clock(30000)
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(here, "corpus_tcp")
    os.makedirs(outdir, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
    print(f"{len(seeds())} seeds in {outdir}")


if __name__ == "__main__":
    main()
