"""RTP media capacity: how many bidirectional G.711 sessions one core carries with every packet
sent on time (p99 send lateness < 5 ms).

The measured process runs N RtpSessions on one asyncio loop (one thread: one core), ticked every
20 ms the way the engine ticks: each session pulls a frame from its jitter buffer (decode, maybe
DTMF detection) and sends one (encode, packet, sendto). A separate peer process plays the far
ends: 50 A-law packets per second into every session, and counts what comes back. Lateness is
the time from a tick's ideal instant to each session's sendto.

Two figures, because a shared development machine preempts the process at random: the measured
wall-clock p99 (``sessions_on_time_measured``), and the p99 the same work would have on a core
of its own (``sessions_on_time_unloaded``): p99 of the CPU time spent in the tick before each
sendto, plus the median timer wake-up delay. N grows until the unloaded p99 reaches 5 ms, the
process needs more than 80% of the core, or a packet goes missing.

    .venv/bin/python bench/rtp_media.py [--seconds 3] [--max 2000]
"""

from _common import report  # first: it puts firmware/ on the import path

import argparse
import asyncio
import gc
import os
import socket
import struct
import subprocess
import sys
import time

import numpy as np

from centralino.media import g711, tones
from centralino.media.frames import FRAME_SAMPLES, saturate
from centralino.media.rtp import RtpSession

TICK_S = 0.020
P99_LIMIT_MS = 5.0
CPU_SHARE_LIMIT = 0.8  # leave a fifth of the core for signalling and the rest of the daemon
STEPS = (10, 25, 50, 100, 150, 200, 300, 400, 500, 600, 800, 1000, 1300, 1600, 2000)


def peer_main(ports: list[int], seconds: float) -> None:
    """The far ends: one socket, a packet per port per tick, count what comes back."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setblocking(False)
    payload = g711.alaw_encode(saturate(tones.sine(400, FRAME_SAMPLES / 8000, -12.0))).tobytes()
    header = struct.Struct("!BBHII")
    targets = [("127.0.0.1", p) for p in ports]
    received = 0
    t0 = time.monotonic() + 0.05
    ticks = int(seconds / TICK_S)
    for k in range(ticks):
        delay = t0 + k * TICK_S - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        for i, target in enumerate(targets):
            sock.sendto(header.pack(0x80, 8, k & 0xFFFF, (k * 160) & 0xFFFFFFFF, 1000 + i) + payload, target)
        while True:
            try:
                sock.recv(2048)
                received += 1
            except BlockingIOError:
                break
    print(received, flush=True)


async def measure(n: int, seconds: float) -> dict:
    loop = asyncio.get_running_loop()
    sessions = [RtpSession(clock=loop.time, name=f"s{i}") for i in range(n)]
    for s in sessions:
        await s.start()
    peer = subprocess.Popen([sys.executable, __file__, "--peer", str(seconds + 0.4)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    peer.stdin.write(" ".join(str(s.local_port) for s in sessions) + "\n")
    peer.stdin.close()
    frame = saturate(tones.sine(1000, FRAME_SAMPLES / 8000, -12.0))
    ticks = int(seconds / TICK_S)
    wall = np.zeros((ticks, n))  # ideal tick instant -> this session's sendto, wall clock
    work = np.zeros((ticks, n))  # tick start -> this session's sendto, CPU time of this thread
    done = loop.create_future()
    t0 = loop.time() + 0.2  # the peer starts meanwhile; sessions learn it from its packets
    cpu0 = time.process_time()

    def tick(k: int) -> None:
        ideal = t0 + k * TICK_S
        c0 = time.thread_time()
        for i, s in enumerate(sessions):
            s.receive_frame()
            s.send_frame(frame)
            wall[k, i] = time.monotonic() - ideal
            work[k, i] = time.thread_time() - c0
        if k + 1 < ticks:
            loop.call_at(t0 + (k + 1) * TICK_S, tick, k + 1)
        else:
            done.set_result(None)

    loop.call_at(t0, tick, 0)
    await done
    cpu = time.process_time() - cpu0
    peer_received = int(peer.stdout.read().strip() or 0)
    peer.wait()
    sent = sum(s.stats.sent for s in sessions)
    received = sum(s.stats.received for s in sessions)
    for s in sessions:
        s.close()
    wall, work = wall[5:], work[5:]  # the first ticks include the peer's start-up
    wake = wall[:, 0] - work[:, 0]  # timer wake-up delay of each tick (scheduler, epoll ms rounding)
    fit_ms = (np.percentile(work, 99) + np.percentile(wake, 50)) * 1000
    return {
        "sessions": n,
        "wall_p50_ms": round(float(np.percentile(wall, 50)) * 1000, 2),
        "wall_p99_ms": round(float(np.percentile(wall, 99)) * 1000, 2),
        "work_p99_ms": round(float(np.percentile(work, 99)) * 1000, 2),
        "wake_p50_ms": round(float(np.percentile(wake, 50)) * 1000, 2),
        "unloaded_p99_ms": round(float(fit_ms), 2),
        "cpu_share": round(cpu / (ticks * TICK_S), 2),
        "sent": sent, "peer_received": peer_received, "received": received,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--max", type=int, default=STEPS[-1])
    ap.add_argument("--peer", type=float)
    args = ap.parse_args()
    if args.peer is not None:
        peer_main([int(p) for p in sys.stdin.readline().split()], args.peer)
        return
    gc.collect()
    runs = []
    best_wall = best_unloaded = 0
    for n in (s for s in STEPS if s <= args.max):
        r = asyncio.run(measure(n, args.seconds))
        runs.append(r)
        print(r, file=sys.stderr, flush=True)
        complete = r["peer_received"] >= r["sent"] and r["sent"] > 0
        if r["wall_p99_ms"] < P99_LIMIT_MS and complete:
            best_wall = max(best_wall, n)
        if r["unloaded_p99_ms"] >= P99_LIMIT_MS or r["cpu_share"] >= CPU_SHARE_LIMIT or not complete:
            break
        best_unloaded = n
    report("rtp_media", sessions_on_time_measured=best_wall, sessions_on_time_unloaded=best_unloaded,
           p99_limit_ms=P99_LIMIT_MS, seconds_per_step=args.seconds, load_average=os.getloadavg()[0], runs=runs)


if __name__ == "__main__":
    main()
