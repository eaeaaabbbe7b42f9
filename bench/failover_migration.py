"""A migration morning: 30 minutes of calls at 100 an hour while every call goes to the mobile.

The example comune with a SIM7600 and a scheduled migration window (09:00-10:00), on the virtual
clock. Citizens call at Poisson times (``CALLS_PER_HOUR``, seeded) for ``WINDOW_S``, on fxo1..fxo4
in turn (when that line is still busy the exchange hunts to the next idle one, as a hunt group
would; with all four busy the citizen gets the exchange's busy tone: ``exchange_busy``). Each
call has caller ID. The failover mobile answers every call it is offered (2 s after it rings);
a citizen who reaches it talks for an exponential time (mean ``TALK_MEAN_S``) and hangs up. The
modem carries one call at a time, so a citizen calling while the mobile is taken must hear the
mobile's number instead.

Counted per citizen, from the switchboard's notes on that citizen's line:
- ``reached_mobile``: bridged to the mobile (``forwarded``), and the citizen heard the mobile's
  voice and the mobile heard the citizen's (``heard_each_other``);
- ``heard_number``: told the number (``announce-number``), split into ``modem_busy`` (the modem
  was in another call, so it was not dialled) and ``dial_failed`` (the mobile was dialled and the
  call did not connect; with a mobile that always answers this should not happen), and whether
  the message was heard (``number_audible``: at least ``NUMBER_SPEECH_S`` of speech);
- ``neither``: the call ended with neither: must be 0.
The call records must be one per citizen, all with the ``failover`` disposition. ``wall_s`` is the
real time the 30 virtual minutes took (the modem simulator paces its pseudo-terminals).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

import _engine as support
import failover_support as fs
from _common import report

from centralino.hwsim import clock
from centralino.hwsim.scenario import Scenario
from centralino.hwsim.voices import Voice, hears
from centralino.media.callerid import CallerId
from centralino.media.levels import power_dbm0

SEED = 2026
CALLS_PER_HOUR = 100
WINDOW_S = 30 * 60
TALK_MEAN_S = 90.0
LINES = ("fxo1", "fxo2", "fxo3", "fxo4")
CITIZEN_VOICES_HZ = (500, 575, 1550, 1750, 2250, 2450, 2650, 2850)  # none near the mobile's 1050 Hz
LISTEN_S = 1.0
NUMBER_SPEECH_S = 5.0  # the test's bar: the announcement and the number, digit by digit
SPEECH_DBM0 = -35.0
OUTCOME_WAIT_S = 60.0
END_WAIT_S = 120.0


def plan(rng: np.random.Generator) -> list[tuple[float, float]]:
    """(arrival after the start, talk time) of each citizen in the window."""
    calls, at = [], 0.0
    while True:
        at += rng.exponential(3600.0 / CALLS_PER_HOUR)
        if at >= WINDOW_S:
            return calls
        calls.append((at, float(rng.exponential(TALK_MEAN_S))))


async def morning(settings, data_dir: Path) -> dict:
    rng = np.random.default_rng(SEED)
    calls = plan(rng)
    async with Scenario(settings, data_dir) as s:
        await fs.modem_ready(s)
        mobile = s.mobile_network.add_failover_mobile(fs.MOBILE)
        await s.until(lambda: s.failover.active, "the migration window opens", 10.0)
        moments = fs.Moments(s)
        start = s.clock()
        trim = asyncio.get_running_loop().create_task(_forget_old_audio(mobile))
        results = await asyncio.gather(*(_citizen(s, moments, mobile, index, start + at, talk)
                                         for index, (at, talk) in enumerate(calls)))
        trim.cancel()
        await s.until(lambda: not s.switchboard.calls, "every call ended", END_WAIT_S)
        placed = sum(r["outcome"] != "exchange_busy" for r in results)
        rows = s.records.last(10 * placed + 10)  # all of them: no other calls in this run
        return {"results": results, "rows": rows, "reason": s.failover.reason,
                "virtual_s": s.clock() - start}


async def _citizen(s, moments, mobile, index: int, at_s: float, talk_s: float) -> dict:
    await asyncio.sleep(at_s - s.clock())
    wanted = index % len(LINES)
    port = next((LINES[(wanted + k) % len(LINES)] for k in range(len(LINES))
                 if s.line(LINES[(wanted + k) % len(LINES)]).state == "idle"
                 and not s.line(LINES[(wanted + k) % len(LINES)]).off_hook), None)
    if port is None:
        return {"outcome": "exchange_busy", "hunted": False}
    number = f"0577{index:06d}"
    citizen = s.exchange.add_party(number, Voice(CITIZEN_VOICES_HZ[index % len(CITIZEN_VOICES_HZ)]))
    t_ring = s.clock()
    call = await s.exchange.call_in(citizen, CallerId(number=number, when=datetime(2026, 11, 24, 9, 0)), line=port)

    def outcome():
        return (moments.first("forwarded", t_ring, line=port) or moments.first("announce-number", t_ring, line=port)
                or call.ended)

    await s.until(outcome, f"citizen {index}: an outcome on {port}", OUTCOME_WAIT_S)
    bridged = moments.first("forwarded", t_ring, line=port)
    told = moments.first("announce-number", t_ring, line=port)
    dialled = moments.first("forwarding", t_ring, line=port)
    result = {"port": port, "hunted": port != LINES[wanted], "talk_s": talk_s}
    if bridged is not None:
        since = s.clock()
        await s.wait(LISTEN_S)
        heard = (hears(citizen.heard(since + 0.2), mobile.voice.frequency_hz)
                 and hears(mobile.heard(int((LISTEN_S - 0.2) / 0.02)), citizen.voice.frequency_hz))
        await s.wait(max(0.0, talk_s - LISTEN_S))
        citizen.hang_up()
        result.update(outcome="reached_mobile", heard_each_other=heard, to_bridge_s=bridged - t_ring)
    elif told is not None:
        result.update(outcome="heard_number", why="dial_failed" if dialled is not None else "modem_busy",
                      to_number_s=told - t_ring)
    else:
        result.update(outcome="neither")
    await s.until(lambda: call.ended and s.line(port).state == "idle", f"citizen {index}: call over", END_WAIT_S)
    if told is not None:
        result["speech_s"] = _speech_seconds(citizen.heard(told))
    citizen._heard.clear()  # the simulator's recording; bench bookkeeping only
    return result


def _speech_seconds(samples) -> float:
    frames = np.asarray(samples)[: len(samples) // 160 * 160].reshape(-1, 160)
    return round(sum(power_dbm0(f) > SPEECH_DBM0 for f in frames) * 0.02, 2)


async def _forget_old_audio(mobile, keep_frames: int = 500, every_s: float = 10.0) -> None:
    """The mobile records all it hears; keep only its last seconds (bench bookkeeping)."""
    while True:
        await asyncio.sleep(every_s)
        del mobile._heard[:-keep_frames]


def summarise(run: dict) -> dict:
    results, rows = run["results"], run["rows"]
    by = {kind: [r for r in results if r["outcome"] == kind]
          for kind in ("reached_mobile", "heard_number", "neither", "exchange_busy")}
    reached, told = by["reached_mobile"], by["heard_number"]
    to_bridge = [r["to_bridge_s"] for r in reached]
    placed = len(results) - len(by["exchange_busy"])
    return {
        "citizens": len(results), "placed": placed, "hunted": sum(r["hunted"] for r in results),
        "exchange_busy": len(by["exchange_busy"]),
        "reached_mobile": len(reached), "heard_each_other": sum(r["heard_each_other"] for r in reached),
        "heard_number": len(told),
        "heard_number_modem_busy": sum(r["why"] == "modem_busy" for r in told),
        "heard_number_dial_failed": sum(r["why"] == "dial_failed" for r in told),
        "number_audible": sum(r["speech_s"] >= NUMBER_SPEECH_S for r in told),
        "number_speech_median_s": statistics.median([r["speech_s"] for r in told]) if told else None,
        "neither": len(by["neither"]),
        "ring_to_bridge_median_ms": round(statistics.median(to_bridge) * 1000, 1) if to_bridge else None,
        "ring_to_bridge_max_ms": round(max(to_bridge) * 1000, 1) if to_bridge else None,
        "talk_mean_s_offered": round(statistics.mean(r["talk_s"] for r in results if "talk_s" in r), 1),
        "cdr_rows": len(rows), "cdr_failover": sum(r.disposition == "failover" for r in rows),
        "cdr_via_mobile": sum(f"gsm:{fs.MOBILE}" in r.route for r in rows),
        "cdr_announced_number": sum("announced-number" in r.route for r in rows),
        "reason": run["reason"], "virtual_s": round(run["virtual_s"], 1),
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="centralino-bench-") as tmp:
        settings = fs.failover_config(Path(tmp), window=("2026-11-24 09:00", "2026-11-24 10:00"))
        wall0, cpu0 = time.perf_counter(), time.process_time()
        run = clock.run(lambda: morning(settings, Path(tmp) / "data"))
        wall_s, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
    report("failover_migration", **support.machine(), clock="virtual", seed=SEED, calls_per_hour=CALLS_PER_HOUR,
           window_min=WINDOW_S // 60, talk_mean_s=TALK_MEAN_S, **summarise(run),
           wall_s=round(wall_s, 1), cpu_s=round(cpu_s, 1))


if __name__ == "__main__":
    main()
