"""Media-clock lateness at call set-up and tear-down, in real time.

What a call's set-up or tear-down costs the 20 ms clock that carries every port's audio: the
example comune on the simulated board, in real time; ``CALLS`` internal calls one after another
(201 dials 202, 202 answers, they talk, 201 hangs up), then as many citizens' calls from a PSTN
line to the operator. For each call the ticks within ``WINDOW_S`` after the answer (set-up: the
call record's first rows, ringing, bridging) and after the hang-up (tear-down: the finished record)
are collected; their lateness (how late each tick started, the media loop's own record) is
reported as p50/p99/max in ms, beside the lateness of idle ticks.

The script uses only the world's face (phones, lines) and the media loop's status, so the same file
measures an older tree (``git worktree add /tmp/before COMMIT``, copy this file there, run it with
that tree's venv): that is how the before/after figures of the engine rework were taken.

    .venv/bin/python bench/engine_tick_lateness.py [--calls 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np
from _common import ROOT, report

from centralino.hwsim import clock
from centralino.hwsim.scenario import Scenario
from centralino.media.callerid import CallerId

EXAMPLE = ROOT / "examples" / "comune.yaml"
WINDOW_S = 0.3
TALK_S = 1.0
HISTORY = 3000  # the media loop's lateness ring (one minute of ticks)


def _lateness(media, first_tick: int, last_tick: int) -> list[float]:
    return [float(media._lateness[t % HISTORY]) * 1000 for t in range(first_tick, last_tick)
            if media.ticks - t < HISTORY]


async def _until(s, condition, timeout_s: float = 20.0) -> None:
    deadline = s.clock() + timeout_s
    while not condition():
        if s.clock() > deadline:
            raise TimeoutError("the call did not go as expected")
        await asyncio.sleep(0.02)


async def _window(s, media, out: list[float]) -> None:
    start = media.ticks
    await asyncio.sleep(WINDOW_S)
    out += _lateness(media, start, media.ticks)


async def measure(calls: int) -> dict:
    with tempfile.TemporaryDirectory() as data:
        async with Scenario(EXAMPLE, Path(data)) as s:
            media = s.daemon.media
            idle: list[float] = []
            await asyncio.sleep(1.0)
            await _window(s, media, idle)
            setup: list[float] = []
            teardown: list[float] = []
            caller, callee = s.phone("201"), s.phone("202")
            for _ in range(calls):
                caller.off_hook()
                await asyncio.sleep(0.4)
                await caller.dial("202")
                await _until(s, lambda: callee.ringing)
                callee.off_hook()
                await _window(s, media, setup)
                await asyncio.sleep(TALK_S)
                caller.on_hook()
                await _window(s, media, teardown)
                callee.on_hook()
                await asyncio.sleep(0.5)
            operator = s.phone("200")
            citizen = s.remote("3330012345")
            for _ in range(calls):
                await s.exchange.call_in(citizen, CallerId(number=citizen.number, when=datetime(2026, 11, 24, 9)),
                                         line="fxo1")
                await _until(s, lambda: operator.ringing)
                operator.off_hook()
                await _window(s, media, setup)
                await asyncio.sleep(TALK_S)
                operator.on_hook()
                await _window(s, media, teardown)
                await asyncio.sleep(1.5)  # the line clears
    figures = {}
    for name, values in (("idle", idle), ("setup", setup), ("teardown", teardown)):
        a = np.array(values or [0.0])
        figures[f"{name}_ticks"] = len(values)
        figures[f"{name}_p50_ms"] = round(float(np.percentile(a, 50)), 2)
        figures[f"{name}_p99_ms"] = round(float(np.percentile(a, 99)), 2)
        figures[f"{name}_max_ms"] = round(float(a.max()), 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    figures = clock.run(lambda: measure(args.calls), virtual=False)
    report("engine_tick_lateness", calls=2 * args.calls, window_s=WINDOW_S, **figures)


if __name__ == "__main__":
    main()
