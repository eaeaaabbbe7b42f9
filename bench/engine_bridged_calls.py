"""Bridged calls per core: N internal calls talking at once, in real time, on one CPU core.

For each N: a board of 2N FXS extensions; extension 2k dials 2k+1, which answers; both speak
their own test tone. After the calls are set up, ``STEADY_S`` seconds of steady state are measured:
- media-tick lateness p50/p99/max (the media loop's own record of how late each tick started)
  and overruns (ticks skipped because the loop fell more than 0.2 s behind);
- CPU seconds per second of audio (``time.process_time``) and per call (ms per second of call);
- interference: involuntary context switches and hypervisor steal time on the pinned core;
- where the CPU time of a tick goes: ``engine`` is the media tick without the PCM transfer (DTMF bank,
  G.711, channels, drivers polling their chips, switchboard), ``sim`` is the PCM transfer, which on
  the simulated board runs the chip models and the phones (hardware on the appliance);
- SPI transfers per tick (on the Pi each is one ioctl; the simulator answers them for free).
Then every pair is checked by ear (each hears the other's tone in the last second), so the figures
are for working calls. ``max_on_time_calls``: the largest N with p99 lateness < 5 ms and no
overrun, i.e. every 20 ms frame on time. Goal from the issue: >= 60 bridged calls per core.

Boards with more than 53 ports exceed the Pi's interrupt lines (GPIO 0..53 besides the shared
reset): they are bench-only settings built in code (see _engine), and each size says so
(``config``). 64 calls (128 ports) is the most one PCM bus carries, so 80 calls cannot be run
on one media loop; ``extrapolated_80`` fits CPU and tick time linearly over the measured sizes.
Figures are for this machine's core and include the simulator's share; see
``engine_ms_per_tick`` for the engine alone.

    .venv/bin/python bench/engine_bridged_calls.py [--sizes 10,20,40] [--steady-s 20] [--profile 60]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

import _engine as support
from _common import report

import numpy as np

from centralino.hwsim import clock
from centralino.hwsim.scenario import Scenario
from centralino.hwsim.voices import hears

SIZES = (10, 20, 40, 60, 64)  # 64 calls = 128 ports: all one PCM bus can carry
EXTRAPOLATE_TO = 80
STEADY_S = 16.0  # ~20 s asked; 16 keeps five sizes under two minutes
SETTLE_S = 1.0  # after the last answer, before measuring
LISTEN_S = 1.0  # the audio each pair is checked on
SETUP_TIMEOUT_S = 60.0
ON_TIME_P99_MS = 5.0
GOAL_CALLS = 60
OFF_HOOK_TO_DIAL_S = 0.4


class TickTimer:
    """Wraps the media loop's tick and the PCM transfer to time them in CPU time of this thread
    (so that time the process spent descheduled is not counted as the engine's)."""

    def __init__(self, media):
        self.tick_s = 0.0
        self.pcm_s = 0.0
        self.ticks = 0
        self._tick, self._transfer = media.tick, media.pcm.transfer
        media.tick = self._timed_tick
        media.pcm.transfer = self._timed_transfer

    def _timed_tick(self) -> None:
        t0 = time.thread_time()
        try:
            self._tick()
        finally:
            self.tick_s += time.thread_time() - t0
            self.ticks += 1

    def _timed_transfer(self, data: bytes) -> bytes:
        t0 = time.thread_time()
        try:
            return self._transfer(data)
        finally:
            self.pcm_s += time.thread_time() - t0

    def snapshot(self) -> tuple[float, float, int]:
        return self.tick_s, self.pcm_s, self.ticks


async def place_call(s: Scenario, caller, callee, number: str) -> None:
    caller.off_hook()
    await s.wait(OFF_HOOK_TO_DIAL_S)
    await caller.dial(number)
    await s.until(lambda: callee.ringing, f"{number} rings", timeout_s=SETUP_TIMEOUT_S)
    callee.off_hook()
    stations = s.switchboard.stations
    await s.until(lambda: stations[number].state == "talking", f"{number} talks", timeout_s=SETUP_TIMEOUT_S)


async def measure(n: int, steady_s: float, folder: Path, profile: bool, core: int) -> dict:
    settings, how = support.fxs_board(2 * n, folder / f"n{n}")
    support.widen_simulator(2 * n)
    async with Scenario(settings, folder / f"n{n}" / "data") as s:
        loop = asyncio.get_running_loop()
        media = s.daemon.media
        timer = TickTimer(media)
        phones = [s.phone(f"fxs{i + 1}") for i in range(2 * n)]
        trim = loop.create_task(support.keep_recent_audio(phones, keep_s=LISTEN_S + 2.0))
        pairs = [(phones[2 * k], phones[2 * k + 1], str(support.FIRST_NUMBER + 2 * k + 1)) for k in range(n)]
        began = loop.time()
        await asyncio.gather(*(place_call(s, a, b, number) for a, b, number in pairs))
        setup_s = loop.time() - began
        await s.wait(SETTLE_S)

        spi = [port.spi for port in s.daemon.board.ports.values()]
        ticks0, overruns0 = media.ticks, media.overruns
        spi0 = sum(bus.transfers for bus in spi)
        tick0, pcm0, _ = timer.snapshot()
        wall0, cpu0 = loop.time(), time.process_time()
        switches0, steal0 = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw, support.steal_s(core)
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        await s.wait(steady_s)
        if profiler:
            profiler.disable()
        wall = loop.time() - wall0
        cpu = time.process_time() - cpu0
        switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw - switches0
        steal = support.steal_s(core) - steal0
        tick1, pcm1, _ = timer.snapshot()
        ticks = media.ticks - ticks0
        lateness = media._lateness[np.arange(ticks0, media.ticks) % len(media._lateness)]  # the loop's record
        spi_per_tick = (sum(bus.transfers for bus in spi) - spi0) / max(ticks, 1)

        talking = sum(st.state == "talking" for st in s.switchboard.stations.values())
        t = s.clock()
        await s.wait(LISTEN_S)
        working = sum(hears(a.heard(t), b.voice.frequency_hz) and hears(b.heard(t), a.voice.frequency_hz)
                      for a, b, _ in pairs)
        trim.cancel()
        for a, b, _ in pairs:
            a.on_hook()
            b.on_hook()
        await s.wait(0.3)
    late = support.percentiles_ms(lateness)
    figures = {"calls": n, "ports": 2 * n, "config": how, "setup_s": round(setup_s, 2),
               "ticks": ticks, "ticks_expected": round(wall / 0.02),
               "lateness_p50_ms": late["p50_ms"], "lateness_p99_ms": late["p99_ms"],
               "lateness_max_ms": late["max_ms"], "overruns": media.overruns - overruns0,
               "cpu_s_per_s": round(cpu / wall, 3), "cpu_ms_per_call_s": round(cpu / wall * 1000 / n, 2),
               "tick_ms": round((tick1 - tick0) / max(ticks, 1) * 1000, 3),
               "engine_ms_per_tick": round((tick1 - tick0 - (pcm1 - pcm0)) / max(ticks, 1) * 1000, 3),
               "sim_ms_per_tick": round((pcm1 - pcm0) / max(ticks, 1) * 1000, 3),
               "spi_transfers_per_tick": round(spi_per_tick, 1),
               "involuntary_switches": switches, "steal_s": round(steal, 2),
               "parties_talking": talking, "pairs_hearing_each_other": working}
    figures["on_time"] = (figures["lateness_p99_ms"] < ON_TIME_P99_MS and figures["overruns"] == 0
                          and working == n and talking == 2 * n)
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(f"--- cProfile, {n} calls, {steady_s:g} s steady state ({ticks} ticks), by own time ---\n"
              + out.getvalue(), file=sys.stderr)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="numbers of calls, comma separated")
    parser.add_argument("--steady-s", type=float, default=STEADY_S)
    parser.add_argument("--profile", type=int, help="profile the steady state at this many calls (stderr)")
    args = parser.parse_args()
    sizes = [args.profile] if args.profile else [int(x) for x in args.sizes.split(",")]
    core = support.pin_to_one_core()
    runs = []
    with tempfile.TemporaryDirectory(prefix="centralino-bench-") as tmp:
        for n in sizes:
            runs.append(clock.run(lambda: measure(n, args.steady_s, Path(tmp), bool(args.profile), core),
                                  virtual=False))
    on_time = [r["calls"] for r in runs if r["on_time"]]
    report("engine_bridged_calls", **support.machine(), pinned_core=core, steady_s=args.steady_s,
           runs=runs, max_on_time_calls=max(on_time) if on_time else 0,
           criterion=f"p99 lateness < {ON_TIME_P99_MS:g} ms, 0 overruns, every pair hears the other",
           extrapolated_80=extrapolate(runs, EXTRAPOLATE_TO), goal_calls_per_core=GOAL_CALLS)


def extrapolate(runs: list[dict], calls: int) -> dict | None:
    """Least-squares lines through the measured sizes, evaluated at ``calls`` (an estimate)."""
    if len(runs) < 2:
        return None
    n = np.array([r["calls"] for r in runs], dtype=float)
    estimate = {"calls": calls, "method": f"linear fit over {len(runs)} measured sizes"}
    for key in ("cpu_s_per_s", "tick_ms", "engine_ms_per_tick", "sim_ms_per_tick"):
        slope, intercept = np.polyfit(n, [r[key] for r in runs], 1)
        estimate[key] = round(float(slope * calls + intercept), 3)
        if key == "cpu_s_per_s":
            estimate["calls_at_one_full_core"] = round(float((1.0 - intercept) / slope)) if slope > 0 else None
        if key == "engine_ms_per_tick":
            estimate["engine_ms_per_call_tick"] = round(float(slope), 4)
    return estimate


if __name__ == "__main__":
    main()
