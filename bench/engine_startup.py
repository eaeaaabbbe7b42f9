"""Daemon start-up time to ready, with the example configuration on the simulated board.

- in_process: ``Scenario.start()`` in real time (the wall time of the call: simulated board,
  call records, every port's driver start-up, media loop) and the daemon's own
  ``ready_after_s``; ``virtual_ready_after_s`` is the same on the virtual clock, i.e. the time the
  drivers wait for the chips (reset pulses, battery ramp, calibration), without any CPU time;
- cold_process: ``python -m centralino run --config examples/comune.yaml --board sim`` from
  spawning the process to its "centralino ready" line (interpreter, imports, configuration and
  start-up), then SIGTERM, which must end it with exit status 0 within ``STOP_TIMEOUT_S``.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _engine as support
from _common import ROOT, report

from centralino.config.schema import load_settings
from centralino.hwsim import clock
from centralino.hwsim.scenario import Scenario

RUNS = 3
READY_LINE = "centralino ready"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


async def start_once(settings, data_dir: Path) -> tuple[float, float]:
    scenario = Scenario(settings, data_dir)
    t0 = time.perf_counter()
    await scenario.start()
    wall = time.perf_counter() - t0
    ready_after = scenario.daemon.ready_after_s
    await scenario.stop()
    return wall, ready_after


def cold_start(database: Path) -> dict:
    """Spawn the daemon, wait for its ready line, stop it with SIGTERM; seconds and exit status."""
    command = [sys.executable, "-m", "centralino", "run", "--config", str(support.EXAMPLE_CONFIG),
               "--board", "sim", "--database", str(database), "--log-level", "WARNING"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "firmware"), os.environ.get("PYTHONPATH", "")]))
    t0 = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready_s = None
        deadline = t0 + READY_TIMEOUT_S
        while time.perf_counter() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith(READY_LINE):
                ready_s = time.perf_counter() - t0
                break
        if ready_s is None:
            raise RuntimeError(f"no {READY_LINE!r} line; stderr: {process.stderr.read()[-2000:]}")
        process.send_signal(signal.SIGTERM)
        t1 = time.perf_counter()
        status = process.wait(STOP_TIMEOUT_S)
        return {"ready_s": ready_s, "stop_s": time.perf_counter() - t1, "exit_status": status}
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def main() -> None:
    settings = load_settings(support.EXAMPLE_CONFIG)
    with tempfile.TemporaryDirectory(prefix="centralino-bench-") as tmp:
        tmp = Path(tmp)
        real = [clock.run(lambda: start_once(settings, tmp / f"real{i}"), virtual=False) for i in range(RUNS)]
        _, virtual_ready = clock.run(lambda: start_once(settings, tmp / "virtual"), virtual=True)
        cold = [cold_start(tmp / f"cold{i}" / "centralino.db") for i in range(RUNS)]
    report("engine_startup", **support.machine(), config="examples/comune.yaml", runs=RUNS,
           in_process={"scenario_start_wall_s": [round(w, 3) for w, _ in real],
                       "ready_after_s": [round(r, 3) for _, r in real],
                       "virtual_ready_after_s": round(virtual_ready, 3)},
           cold_process={"ready_s": [round(c["ready_s"], 3) for c in cold],
                         "ready_median_s": round(statistics.median(c["ready_s"] for c in cold), 3),
                         "stop_s": [round(c["stop_s"], 3) for c in cold],
                         "exit_status": [c["exit_status"] for c in cold],
                         "clean_stop": all(c["exit_status"] == 0 for c in cold)})


if __name__ == "__main__":
    main()
