"""The world's control face on the real daemon: how long a ``centralino sim`` command takes.

Starts ``centralino run --board sim`` with the example configuration and measures, in real time:
- socket_ms: one request/response on the world's socket from an open connection (``world
  status``, ``phone 201 status``, ``phone 201 hears``: the last analyses the 8 s hearing window
  of an off-hook phone), median and worst of ``ROUNDS``;
- cli_ms: the whole ``centralino sim phone 201 status`` process (interpreter, imports, one
  request), median of ``CLI_ROUNDS``;
- media_late_p99_ms: the media clock's tick lateness (``console status``) after the commands, so
  a face that stalled the daemon's loop shows here.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, report

ROUNDS = 50
CLI_ROUNDS = 10
CENTRALINO = Path(sys.executable).parent / "centralino"
READY_TIMEOUT_S = 30.0


def request(stream, cmd: str, *args: str) -> dict:
    stream.write(json.dumps({"cmd": cmd, "args": list(args)}).encode() + b"\n")
    stream.flush()
    return json.loads(stream.readline())


def timed(stream, *words: str) -> list[float]:
    out = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        assert request(stream, *words)["ok"]
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-sim-"))
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(base / "notify.sock"))
    notify.settimeout(READY_TIMEOUT_S)
    env = dict(os.environ, NOTIFY_SOCKET=str(base / "notify.sock"))
    proc = subprocess.Popen([str(CENTRALINO), "run", "--config", str(ROOT / "examples" / "comune.yaml"),
                             "--board", "sim", "--database", str(base / "c.db"), "--control", str(base / "control.sock")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not notify.recv(4096).startswith(b"READY=1"):
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(base / "sim.sock"))
        stream = sock.makefile("rwb")
        figures = {}
        figures["world_status"] = timed(stream, "world", "status")
        figures["phone_status"] = timed(stream, "phone", "201", "status")
        request(stream, "phone", "201", "offhook")
        time.sleep(8.5)  # let the phone's hearing window fill (dial tone, then congestion)
        figures["phone_hears"] = timed(stream, "phone", "201", "hears")
        request(stream, "phone", "201", "onhook")
        cli = []
        for _ in range(CLI_ROUNDS):
            t0 = time.perf_counter()
            subprocess.run([str(CENTRALINO), "sim", "--socket", str(base / "sim.sock"), "phone", "201", "status"],
                           check=True, capture_output=True)
            cli.append((time.perf_counter() - t0) * 1000)
        status = subprocess.run([str(CENTRALINO), "console", "--socket", str(base / "control.sock"), "status"],
                                capture_output=True, text=True, check=True).stdout
        late = next(line for line in status.splitlines() if line.startswith("media"))
        report("sim_face",
               socket_ms={name: {"median": round(statistics.median(v), 2), "max": round(max(v), 2)}
                          for name, v in figures.items()},
               cli_ms={"median": round(statistics.median(cli), 1), "max": round(max(cli), 1)},
               media_late_p99_ms=float(late.split("late p99")[1].split()[0]))
        stream.close()
        sock.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        notify.close()


if __name__ == "__main__":
    main()
