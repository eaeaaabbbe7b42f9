"""Concurrent SIP-to-analog calls with media on one core, every packet on time.

The measured process is the daemon on the simulated board, pinned to one core (its SIP thread too):
N calls arrive by the trunk, one per DID, each routed to its own analog extension, which answers.
A peer process (on another core when there is one) plays the trunk's far end: it places the N calls
with plain SIP over UDP, sends 50 A-law packets per second into every call (a 1650 Hz tone) and
records when each of centralino's packets arrives. Per call, a packet's lateness is how much later
than its stream's schedule it came (arrival - sequence x 20 ms, against the stream's earliest);
"on time" means within one packet time (20 ms, what a 40 ms jitter buffer absorbs) and none lost.
The engine's own tick lateness (its sending side) and the share of the core the daemon used
(CPU seconds per second, all its threads) are reported beside it, and every analog phone must have
heard the peer's tone. On a shared machine neighbours' load makes packets late too: read
``core_share`` for the headroom, and ``load_1m``. The simulated board (chip models, phones) runs in
the measured process too, so ``core_share`` overstates what the daemon alone needs. N grows while
every call is on time, up to 53 analog ports (one interrupt line each on the Pi).

    .venv/bin/python bench/sip_media.py [--seconds 5] [--steps 8,16,24,32,48]
"""

from _common import report  # first: it puts firmware/ on the import path

import argparse
import asyncio
import json
import os
import re
import selectors
import socket
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import _engine as support
from centralino.media import g711

HOST = "127.0.0.1"
TICK_S = 0.020
ON_TIME_S = 0.020
TONE_HZ = 1650.0
DID_BASE = "0550"  # the DID of extension 2000 is 05502000
MAX_CALLS = len(support.IRQ_LINES)  # analog ports the bench board can have (the trunk allows 64)
SETUP_TIMEOUT_S = 20.0


# ---- the peer: the trunk's far end (its own process) ---------------------------------------------

class Peer:
    """N calls to centralino with plain SIP text, RTP both ways, arrival times recorded."""

    def __init__(self, sip_port: int, peer_port: int, dids: list[str]):
        self.target = (HOST, sip_port)
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind((HOST, peer_port))
        self.sip.setblocking(False)
        self.dids = dids
        self.rtp = []
        for _ in dids:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((HOST, 0))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.setblocking(False)
            self.rtp.append(s)
        self.remote: list[tuple[str, int] | None] = [None] * len(dids)
        self.dialog: list[dict] = [{} for _ in dids]
        self.arrivals: list[list[tuple[int, float]]] = [[] for _ in dids]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sip, selectors.EVENT_READ, -1)
        for i, s in enumerate(self.rtp):
            self.selector.register(s, selectors.EVENT_READ, i)
        self.recording = False
        # one second of tone (a whole number of cycles), looped
        t = np.arange(160) / 8000.0
        self._tone = [g711.alaw_encode((6000 * np.sin(2 * np.pi * TONE_HZ * (t + k * TICK_S))).astype(np.int16))
                      .tobytes() for k in range(50)]

    # -- SIP
    def _send_sip(self, text: str, to=None) -> None:
        self.sip.sendto(text.replace("\n", "\r\n").encode(), to or self.target)

    def invite(self, i: int) -> None:
        did, port = self.dids[i], self.rtp[i].getsockname()[1]
        body = (f"v=0\no=peer {i} 1 IN IP4 {HOST}\ns=-\nc=IN IP4 {HOST}\nt=0 0\n"
                f"m=audio {port} RTP/AVP 8 101\na=rtpmap:8 PCMA/8000\na=rtpmap:101 telephone-event/8000\n")
        local = self.sip.getsockname()[1]
        self.dialog[i] = {"call_id": f"bench-{i}-{os.getpid()}@{HOST}", "tag": f"peer{i}", "did": did}
        d = self.dialog[i]
        self._send_sip(f"INVITE sip:{did}@{HOST}:{self.target[1]} SIP/2.0\n"
                       f"Via: SIP/2.0/UDP {HOST}:{local};branch=z9hG4bK-inv-{i}-{os.getpid()}\n"
                       f"From: <sip:0551000{i:03d}@{HOST}:{local}>;tag={d['tag']}\n"
                       f"To: <sip:{did}@{HOST}:{self.target[1]}>\nCall-ID: {d['call_id']}\nCSeq: 1 INVITE\n"
                       f"Contact: <sip:peer@{HOST}:{local}>\nMax-Forwards: 70\nContent-Type: application/sdp\n"
                       f"Content-Length: {len(body.replace(chr(10), chr(13) + chr(10)))}\n\n{body}")

    def _in_dialog(self, i: int, method: str, cseq: int, branch: str) -> None:
        d, local = self.dialog[i], self.sip.getsockname()[1]
        self._send_sip(f"{method} {d['contact']} SIP/2.0\n"
                       f"Via: SIP/2.0/UDP {HOST}:{local};branch=z9hG4bK-{branch}-{i}-{os.getpid()}\n"
                       f"From: <sip:0551000{i:03d}@{HOST}:{local}>;tag={d['tag']}\n"
                       f"To: <sip:{d['did']}@{HOST}:{self.target[1]}>;tag={d['to_tag']}\n"
                       f"Call-ID: {d['call_id']}\nCSeq: {cseq} {method}\nMax-Forwards: 70\nContent-Length: 0\n\n")

    def on_sip(self, data: bytes, source) -> None:
        text = data.decode(errors="replace").replace("\r\n", "\n")
        head, _, body = text.partition("\n\n")
        lines = head.split("\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        call_id = headers.get("call-id", headers.get("i", ""))
        i = next((k for k, d in enumerate(self.dialog) if d.get("call_id") == call_id), None)
        if not lines[0].startswith("SIP/2.0"):  # a request from centralino (e.g. a BYE): 200
            vias = "\n".join(l for l in lines[1:] if l.lower().startswith(("via:", "v:")))
            reply = "\n".join(l for l in lines[1:] if l.lower().split(":")[0] in ("from", "to", "call-id", "cseq"))
            self._send_sip(f"SIP/2.0 200 OK\n{vias}\n{reply}\nContent-Length: 0\n\n", source)
            if i is not None:
                self.dialog[i]["ended"] = True
            return
        code = int(lines[0].split()[1])
        if i is None or not headers.get("cseq", "").endswith("INVITE") or code < 200:
            return
        d = self.dialog[i]
        if code >= 300:
            d["failed"] = code
            return
        d["to_tag"] = re.search(r"tag=([^;>\s]+)", headers.get("to", headers.get("t", ""))).group(1)
        d["contact"] = re.search(r"<([^>]+)>", headers.get("contact", headers.get("m", ""))).group(1)
        media = re.search(r"m=audio (\d+)", body)
        self.remote[i] = (HOST, int(media.group(1))) if media else None
        d["answered"] = True
        self._in_dialog(i, "ACK", 1, "ack")  # again for each retransmitted 200

    def pump(self, until: float, send_tick: int | None) -> None:
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return
            for key, _ in self.selector.select(left):
                i = key.data
                sock = key.fileobj
                while True:
                    try:
                        data, source = sock.recvfrom(4096)
                    except BlockingIOError:
                        break
                    if i < 0:
                        self.on_sip(data, source)
                    elif self.recording and len(data) >= 12 and data[1] & 0x7F == 8:
                        self.arrivals[i].append((struct.unpack_from("!H", data, 2)[0], time.monotonic()))

    def send_rtp(self, k: int) -> None:
        payload = self._tone[k % len(self._tone)]
        for i, sock in enumerate(self.rtp):
            if self.remote[i] is not None:
                sock.sendto(struct.pack("!BBHII", 0x80, 8, k & 0xFFFF, (k * 160) & 0xFFFFFFFF, 5000 + i) + payload,
                            self.remote[i])

    def run(self, seconds: float) -> dict:
        for i in range(len(self.dids)):
            self.invite(i)
        deadline, k = time.monotonic() + SETUP_TIMEOUT_S, 0
        t0 = time.monotonic()
        while time.monotonic() < deadline and not all(d.get("answered") or d.get("failed") for d in self.dialog):
            self.send_rtp(k)
            k += 1
            self.pump(t0 + k * TICK_S, None)
        answered = sum(bool(d.get("answered")) for d in self.dialog)
        settle = int(0.5 / TICK_S)
        measured = int(seconds / TICK_S)
        for j in range(settle + measured):
            self.recording = j >= settle
            self.send_rtp(k)
            k += 1
            self.pump(t0 + k * TICK_S, k)
        self.recording = False
        for i, d in enumerate(self.dialog):
            if d.get("answered") and not d.get("ended"):
                self._in_dialog(i, "BYE", 2, "bye")
        self.pump(time.monotonic() + 0.5, None)
        return self.figures(answered, measured)

    def figures(self, answered: int, expected: int) -> dict:
        lateness, lost, late = [], 0, 0
        for arrivals in self.arrivals:
            if not arrivals:
                lost += expected
                continue
            seq = np.array([s for s, _ in arrivals], dtype=np.int64)
            seq = np.unwrap(seq * (2 * np.pi / 65536)) * (65536 / (2 * np.pi))
            t = np.array([a for _, a in arrivals])
            offset = t - (seq - seq[0]) * TICK_S
            stream = offset - offset.min()
            lateness.extend(stream.tolist())
            late += int(np.sum(stream > ON_TIME_S))
            lost += int(round(seq.max() - seq.min())) + 1 - len(np.unique(seq))  # gaps in the sequence
        return {"answered": answered, "packets": len(lateness), "lost": lost, "late_over_20ms": late,
                **support.percentiles_ms(lateness)}


def peer_main(args) -> None:
    if len(os.sched_getaffinity(0)) > 1 and args.core is not None:
        others = os.sched_getaffinity(0) - {args.core}
        os.sched_setaffinity(0, others)
    peer = Peer(args.sip_port, args.peer_port, args.dids.split(","))
    print(json.dumps(peer.run(args.seconds)))


# ---- the measured side: the daemon on one core ---------------------------------------------------

def settings_for(n: int, sip_port: int, peer_port: int, folder: Path):
    """n analog extensions (bench board) and a trunk from the peer whose DIDs route one to each."""
    from centralino.config.schema import load_settings

    folder.mkdir(parents=True, exist_ok=True)
    slots = max(32, n)
    text = support._yaml(n, slots, [support.IRQ_LINES[i] for i in range(n)])
    routes = ", ".join(f'"{DID_BASE}{support.FIRST_NUMBER + i}": "{support.FIRST_NUMBER + i}"' for i in range(n))
    text += (f"sip:\n  listen: {HOST}\n  port: {sip_port}\n"
             f"  trunk: {{proxy: \"{HOST}:{peer_port}\", register: false, keepalive_s: 0, channels: {n}, "
             f"routes: {{{routes}}}}}\n")
    path = folder / f"sip{n}.yaml"
    path.write_text(text)
    return load_settings(path)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


async def measure(n: int, seconds: float, folder: Path, core: int) -> dict:
    from centralino.hwsim.scenario import Scenario
    from centralino.hwsim.voices import hears

    sip_port, peer_port = free_udp_port(), free_udp_port()
    settings = settings_for(n, sip_port, peer_port, folder / f"n{n}")
    support.widen_simulator(n)
    async with Scenario(settings, folder / f"n{n}" / "data") as s:
        loop = asyncio.get_running_loop()
        media = s.daemon.media
        phones = [s.phone(f"fxs{i + 1}") for i in range(n)]
        answering = loop.create_task(_answer(phones))
        trim = loop.create_task(support.keep_recent_audio(phones, keep_s=seconds + 2.0))
        dids = ",".join(f"{DID_BASE}{support.FIRST_NUMBER + i}" for i in range(n))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--peer", "--sip-port", str(sip_port), "--peer-port", str(peer_port),
            "--dids", dids, "--seconds", str(seconds), "--core", str(core), stdout=asyncio.subprocess.PIPE)
        up_at = window = None  # the engine's figures: from a second after every call is up, for the peer's window
        while proc.returncode is None:
            if up_at is None and sum(st.state == "talking" for st in s.switchboard.stations.values()) == n:
                up_at = s.clock()
            if up_at is not None and window is None and s.clock() >= up_at + 1.0:
                window = (media.ticks, media.overruns, time.process_time(), loop.time())
            if window is not None and len(window) == 4 and s.clock() >= up_at + 1.0 + seconds - 0.5:
                window += (media.ticks, media.overruns, time.process_time(), loop.time())
            try:
                await asyncio.wait_for(proc.wait(), 0.1)
            except asyncio.TimeoutError:
                pass
        out, _ = await proc.communicate()
        if window is None or len(window) < 8:  # the calls never all came up: no steady window
            now = (media.ticks, media.overruns, time.process_time(), loop.time())
            window = now + now
        ticks0, overruns0, cpu0, wall0, ticks1, overruns1, cpu1, wall1 = window
        heard = sum(hears(p.heard(up_at + 1.0), TONE_HZ) for p in phones) if up_at is not None else 0
        lateness = media._lateness[np.arange(ticks0, ticks1) % len(media._lateness)]  # the loop's record
        cpu_share = (cpu1 - cpu0) / (wall1 - wall0) if wall1 > wall0 else None
        answering.cancel()
        trim.cancel()
        peer = json.loads(out.decode().strip().splitlines()[-1])
        engine = support.percentiles_ms(lateness)
        return {"calls": n, "answered": peer.pop("answered"), "phones_heard_peer": heard,
                "peer_arrival": peer, "engine_tick_p99_ms": engine["p99_ms"], "engine_ticks": int(ticks1 - ticks0),
                "engine_overruns": int(overruns1 - overruns0),
                "core_share": None if cpu_share is None else round(cpu_share, 3)}


async def _answer(phones) -> None:
    while True:
        for phone in phones:
            if phone.ringing:
                phone.off_hook()
        await asyncio.sleep(0.05)


def on_time(row: dict) -> bool:
    peer = row["peer_arrival"]
    return (row["answered"] == row["calls"] == row["phones_heard_peer"] and peer["lost"] == 0
            and peer["late_over_20ms"] == 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--steps", default="8,16,24,32,48")
    parser.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sip-port", type=int)
    parser.add_argument("--peer-port", type=int)
    parser.add_argument("--dids")
    parser.add_argument("--core", type=int)
    args = parser.parse_args()
    if args.peer:
        peer_main(args)
        return
    from centralino.hwsim.clock import run

    core = support.pin_to_one_core()
    rows, best = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in args.steps.split(",") if x]:
            n = min(n, MAX_CALLS)
            row = run(lambda: measure(n, args.seconds, Path(tmp), core), virtual=False)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
            if not on_time(row):
                break
            best = n
    report("sip_media", concurrent_calls_on_time=best, seconds=args.seconds, core=core,
           steps=rows, **support.machine())


if __name__ == "__main__":
    main()
