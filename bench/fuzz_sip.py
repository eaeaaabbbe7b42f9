"""SIP fuzzing: seeded, bounded streams of malformed and hostile datagrams against a running daemon
(the simulated board, SIP on 127.0.0.1 with a trunk and a desk phone), from the trunk's own address
and from many others. Every outcome is judged:

- ``crashes``: the daemon stopped, or the SIP thread logged an exception;
- ``hangs``: an OPTIONS probe between batches not answered within 2 s;
- ``dangerous``: anything a datagram must never achieve without credentials: a call placed or
  recorded, an emergency call started, a phone registered, a line appearance left claimed, the
  trunk's address banned;
- memory: RSS before and after, and the size of every per-source and per-dialog table, which must
  stay within its bound.

The trunk's datagrams are INVITEs whose SDP or headers are broken (from a corpus of odd SDP and
random mutations): each must be refused and leave its line free. The others are mutations of
INVITE, REGISTER (with forged credentials), OPTIONS, BYE and CANCEL from 64 source addresses.

    .venv/bin/python bench/fuzz_sip.py [--seed 1] [--datagrams 20000]
"""

from __future__ import annotations

import _common  # noqa: F401 (import path)

import argparse
import asyncio
import ctypes
import gc
import logging
import random
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path

import yaml

from _common import ROOT, report
from centralino.hwsim.clock import run
from centralino.hwsim.scenario import Scenario

HOST = "127.0.0.1"
BATCH = 250
SOURCES = 64

# each trunk offer gets one of these in place of its m= or c= line: none leaves a usable stream
FATAL_MEDIA = ["m=audio 0 RTP/AVP 8", "m=audio 4\u00b2000 RTP/AVP 8", "m=audio 40000 RTP/AVP \u00b28",
               "m=audio 99999 RTP/AVP 8", "m=audio -1 RTP/AVP 8", "m=audio 40000 RTP/AVP 18", "m=video 40000 RTP/AVP 96",
               "m=audio", "m="]
FATAL_CONNECTION = ["c=IN IP4 nowhere.invalid", "c=IN IP6 ::1", "c=IN IP4 300.1.1.1", "c=IN", "c=IN IP4 " + "a" * 300,
                    "c=IN IP4 127.0.0.\u00b2"]
# and maybe some of these besides
NOISE = ["a=rtpmap:\u00b2 PCMA/8000", "a=sendonly", "a=" + "x" * 5000, "\x00\x00", "v=1", "b=AS:\u00b264",
         "a=fmtp:101 0-\u00b215", "k=clear:" + "z" * 200]
METHODS = ["INVITE", "REGISTER", "OPTIONS", "BYE", "CANCEL", "ACK", "INFO", "PRACK", "SUBSCRIBE", "FOO", ""]


class Counter(logging.Handler):
    """Counts the SIP side's error records (an exception in the SIP thread is a crash)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.errors: list[str] = []

    def emit(self, record):
        if record.name.startswith("centralino.sip"):
            self.errors.append(record.getMessage()[:200])


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def config(folder: Path, sip_port: int, trunk_port: int) -> Path:
    data = yaml.safe_load((ROOT / "examples" / "comune.yaml").read_text())
    data["sip"] = {"listen": HOST, "port": sip_port, "realm": "centralino",
                   "trunk": {"proxy": f"{HOST}:{trunk_port}", "register": False, "channels": 4, "keepalive_s": 0},
                   "phones": [{"port": "sip210", "username": "210", "password": "desk-phone-210"}]}
    data["extensions"].append({"number": "210", "port": "sip210", "name": "Operatore SIP"})
    path = folder / "centralino.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def sdp(rng: random.Random) -> str:
    """An offer with no usable audio stream (one fatal line) and some noise."""
    lines = ["v=0", "o=x 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio 40000 RTP/AVP 8 101",
             "a=rtpmap:8 PCMA/8000"]
    if rng.random() < 0.5:
        lines[5] = rng.choice(FATAL_MEDIA)
    else:
        lines[3] = rng.choice(FATAL_CONNECTION)
    for _ in range(rng.randint(0, 2)):
        lines.insert(rng.randrange(1, len(lines) + 1), rng.choice(NOISE))
    return "\r\n".join(lines) + "\r\n"


def request(rng: random.Random, n: int, sip_port: int, host: str, port: int, method: str, body: str = "",
            trunk: bool = False) -> str:
    user = rng.choice(["201", "210", "112", "0555123456", "200", "", "%00", "a" * 80])
    lines = [f"{method} sip:{user}@{HOST}:{sip_port} SIP/2.0",
             f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK-fz-{n}", f"From: <sip:{user or 'x'}@{host}>;tag=f{n}",
             f"To: <sip:{user}@{HOST}>", f"Call-ID: fz-{n}@{host}", f"CSeq: {rng.randint(0, 2**32)} {method}",
             f"Contact: <sip:{user}@{host}:{port}>", "Max-Forwards: 70"]
    if method == "REGISTER" or rng.random() < 0.3:
        lines.append(f'Authorization: Digest username="{rng.choice(["210", "admin", ""])}", realm="centralino", '
                     f'nonce="{rng.getrandbits(128):032x}", uri="sip:{user}@{HOST}", response="{rng.getrandbits(128):032x}"'
                     + (", qop=auth, nc=00000001, cnonce=\"x\"" if rng.random() < 0.5 else ""))
    if body:
        lines.append("Content-Type: application/sdp")
    lines += [f"Content-Length: {len(body.encode())}", "", ""]
    text = "\r\n".join(lines) + body
    return text if trunk and rng.random() < 0.7 else mutate(rng, text)


def mutate(rng: random.Random, text: str) -> str:
    lines = text.split("\r\n")
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        i = rng.randrange(len(lines))
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        elif op == 3:
            lines[i] += rng.choice([";" * 50, "x" * rng.randint(100, 3000), "\u00e8\u00b2", " ;branch=", "<<>>"])
        elif op == 4:
            lines[i] = lines[i].replace(":", rng.choice(["", "::", ": "]), 1)
        elif op == 5:
            lines.insert(i, f"Content-Length: {rng.choice([-1, 0, 10**9, 99])}")
        elif op == 6:
            lines[i] = rng.choice(METHODS) + lines[i][lines[i].find(" "):] if " " in lines[i] else lines[i]
        else:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
    return "\r\n".join(lines)


async def probe(sock: socket.socket, sip_port: int, n: int) -> float | None:
    """Seconds until an OPTIONS is answered; None when it is not within 2 s (a hang)."""
    msg = (f"OPTIONS sip:probe@{HOST}:{sip_port} SIP/2.0\r\nVia: SIP/2.0/UDP {HOST}:{sock.getsockname()[1]};"
           f"branch=z9hG4bK-probe-{n}\r\nFrom: <sip:probe@{HOST}>;tag=p{n}\r\nTo: <sip:probe@{HOST}>\r\n"
           f"Call-ID: probe-{n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    loop = asyncio.get_running_loop()
    sent = time.monotonic()
    deadline = sent + 2.0
    while time.monotonic() < deadline:  # sent again every 0.5 s, as a SIP client does (timer E)
        sock.sendto(msg.encode(), (HOST, sip_port))
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65536), min(0.5, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            continue
        if f"probe-{n}\r".encode() in data:
            return time.monotonic() - sent
    return None


async def fuzz(args, folder: Path) -> dict:
    rng = random.Random(args.seed)
    trunk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    trunk.bind((HOST, 0))
    trunk.setblocking(False)
    sip_port = free_port()
    path = config(folder, sip_port, trunk.getsockname()[1])
    counter = Counter()
    logging.getLogger().addHandler(counter)
    logging.getLogger("centralino").setLevel(logging.WARNING)
    sources = []
    for i in range(SOURCES):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((f"127.0.{1 + i // 250}.{2 + i % 250}", 0))
        s.setblocking(False)
        sources.append(s)
    prober = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    prober.bind((HOST, 0))
    prober.setblocking(False)
    hangs, slowest = 0, 0.0
    async with Scenario(path, folder / "data") as sc:
        await asyncio.sleep(0.5)
        rss_before = rss_mb()
        async def blast(offset: int) -> None:
            nonlocal hangs, slowest
            for n in range(offset, offset + args.datagrams):
                if rng.random() < 0.25:
                    sock, text = trunk, request(rng, n, sip_port, HOST, trunk.getsockname()[1], "INVITE", sdp(rng), trunk=True)
                else:
                    sock = rng.choice(sources)
                    host, port = sock.getsockname()
                    method = rng.choice(METHODS[:6])
                    text = request(rng, n, sip_port, host, port, method, sdp(rng) if method == "INVITE" else "")
                data = text.encode("utf-8", errors="replace")
                if rng.random() < 0.05:
                    data = bytes(b ^ rng.randrange(256) if rng.random() < 0.02 else b for b in data)
                sock.sendto(data[:65000], (HOST, sip_port))
                if n % BATCH == BATCH - 1:
                    for s in [trunk, *sources]:  # drain what came back
                        try:
                            while s.recv(65536):
                                pass
                        except (BlockingIOError, OSError):
                            pass
                    answered = await probe(prober, sip_port, n)
                    if answered is None:
                        hangs += 1
                    else:
                        slowest = max(slowest, answered)
        began = time.monotonic()
        await blast(0)
        elapsed = time.monotonic() - began
        await asyncio.sleep(3.0)  # the last answers and retransmissions
        rss_after = rss_mb()
        status = sc.daemon.sip.status()
        tm = sc.daemon.sip.stack.transactions
        tables = {**status["security"]["tables"], "server_transactions": len(tm.tserver),
                  "client_transactions": len(tm.tclient), "dialog_consumers": len(tm.req_consumers)}
        lines = [c for c in status["channels"] if c["name"].startswith("trunk")]
        dangerous = {
            "calls": len(sc.switchboard.calls), "records": len(sc.records_now()),
            "emergency_started": len(sc.events("emergency.placing")),
            "registered": len(status["registered"]), "lines_claimed": sum(c["state"] != "idle" for c in lines),
            "trunk_banned": int(HOST in status["security"]["banned_sources"]),
        }
        alive = await probe(prober, sip_port, -1) is not None
        await asyncio.sleep(args.idle_s)  # sippy keeps a transaction 32 s: then the tables should be empty
        gc.collect()
        rss_idle = rss_mb()
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # what the allocator keeps but no longer uses
        rss_trimmed = rss_mb()
        await blast(args.datagrams)  # the same again: memory must level off, not keep growing
        await asyncio.sleep(args.idle_s)
        gc.collect()
        rss_second = rss_mb()
        idle_tables = {**sc.daemon.sip.status()["security"]["tables"], "server_transactions": len(tm.tserver),
                       "client_transactions": len(tm.tclient), "dialog_consumers": len(tm.req_consumers)}
        shed = tm.shed
    for s in [trunk, prober, *sources]:
        s.close()
    logging.getLogger().removeHandler(counter)
    return {"seed": args.seed, "datagrams": args.datagrams, "seconds": round(elapsed, 1),
            "crashes": len(counter.errors) + (0 if alive else 1), "hangs": hangs,
            "slowest_probe_ms": round(slowest * 1000, 1),
            "dangerous": sum(dangerous.values()), "dangerous_detail": dangerous,
            "rss_mb_before": round(rss_before, 1), "rss_mb_after": round(rss_after, 1),
            "rss_mb_after_idle": round(rss_idle, 1), "rss_mb_after_trim": round(rss_trimmed, 1),
            "rss_mb_after_second_round_idle": round(rss_second, 1), "tables": tables, "tables_after_idle": idle_tables,
            "shed_with_503": shed,
            "security": {k: v for k, v in status["security"].items() if isinstance(v, int)},
            "overload": status["overload"], "errors": counter.errors[:3]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--datagrams", type=int, default=20000)
    parser.add_argument("--idle-s", type=float, default=40.0, help="quiet time before the last RSS reading")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = run(lambda: fuzz(args, Path(folder)), virtual=False)
    report("fuzz_sip", **result)
    bounded = result["tables"]["sources"] <= 4096 and result["tables"]["nonces"] <= 4096 and \
        result["tables"]["server_transactions"] <= 4096 + 64
    return 0 if result["crashes"] == 0 and result["hangs"] == 0 and result["dangerous"] == 0 and bounded else 1


if __name__ == "__main__":
    sys.exit(main())
