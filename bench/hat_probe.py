"""How long ``centralino hat probe`` takes on the simulated reference HAT, and how fast the
lifeline relay drops once the heartbeats stop.

- virtual: the probe on the virtual clock; ``probe_s`` is the time the checks wait for the chips
  (resets, battery ramps, the leak test, calibration, the relay's monostable) and ``cpu_s`` the
  CPU it costs here;
- real_time: ``python -m centralino hat probe --board sim`` as a process, wall time from spawn to
  exit (interpreter and imports included), which is what an installer waits on the simulator;
- relay_drop_s: measured by the probe, from the last heartbeat to line 1 leaving fxo1's DAA
  (the model's monostable is 0.5 s; the probe polls every 20 ms).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time

from _common import ROOT, report

from centralino.board import open_board
from centralino.config.schema import load_settings
from centralino.hwsim.board import SimBoard
from centralino.hwsim.clock import run
from centralino.ops.hat_probe import failed, probe

EXAMPLE = ROOT / "examples" / "comune.yaml"
RUNS = 3


def on_virtual_clock(settings) -> tuple[float, float, list]:
    async def main():
        loop = asyncio.get_running_loop()
        sim = SimBoard(settings, clock=loop.time)
        board = open_board(settings, "sim", clock=loop.time, sim=sim)
        started = loop.time()
        checks = await probe(settings, board, loop.time)
        elapsed = loop.time() - started
        await board.stop()
        await sim.close()
        return elapsed, checks

    cpu = time.process_time()
    elapsed, checks = run(main)
    return elapsed, time.process_time() - cpu, checks


def main() -> None:
    settings = load_settings(EXAMPLE)
    virtual, cpu, checks = on_virtual_clock(settings)
    assert not failed(checks), [c.line() for c in checks if c.failed]
    drop = float(re.search(r"drops by itself ([\d.]+) s", next(c for c in checks if c.name == "relay").detail).group(1))
    walls = []
    for _ in range(RUNS):
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "centralino", "hat", "probe", "--config", str(EXAMPLE),
                               "--board", "sim"], capture_output=True, text=True)
        walls.append(round(time.monotonic() - started, 2))
        assert done.returncode == 0, done.stdout[-500:] + done.stderr[-500:]
    report("hat_probe", config="examples/comune.yaml", checks=len(checks),
           virtual={"probe_s": round(virtual, 2), "cpu_s": round(cpu, 2)},
           real_time={"process_s": walls, "median_s": sorted(walls)[len(walls) // 2]},
           relay_drop_s=drop)


if __name__ == "__main__":
    main()
