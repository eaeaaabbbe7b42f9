"""A working day of the comune through the voce guida: service level, waits, abandoned calls.

The example comune on the virtual clock, Tuesday 24 November 2026 from 08:00 to 18:00, with all
four PSTN lines answered by the voce guida and five staff phones (201-205) in the office groups.
Citizens arrive at Poisson times with an hourly profile peaking at ``PEAK_PER_HOUR`` (10-11),
listen to the menu, press an office's key (weighted: the anagrafe and the sportello most), and
wait. Each has a patience (exponential, mean ``PATIENCE_MEAN_S``): not answered by then, they hang
up (abandoned). Answered, they talk for an exponential time (mean ``TALK_MEAN_S``). Staff answer
after 2-5 s of ringing; each group gives its members ``WRAP_UP_S`` of wrap-up after a call
(``groups[].wrap_up_s``). Outside an office's hours the
caller would hear them, but here every office answers 08:00-18:00, so that the figures measure
the five operators rather than the example's opening hours. A citizen
who finds all four lines busy gets the exchange's busy tone (``blocked``): four lines are what the
HAT has.

Figures come from the switchboard's own statistics (``centralino.records.stats``) over the call
records the day left: offered, answered, answered within each office's target, abandoned,
overflowed, voicemails, callbacks; plus the longest wait, how much faster than real time the day
ran and the CPU per call, and the estimated wait's error: the first estimate each queued caller
heard against the wait they then had, for the callers who were answered (median and p90 of the
absolute error, and the median signed error: positive means announced too long). Usage: flows_working_day.py [--hours N] (default: the whole day).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import yaml

import _common  # noqa: F401  (import path)
from _common import report

from centralino.config.schema import load_settings
from centralino.hwsim import clock
from centralino.hwsim.scenario import Scenario
from centralino.hwsim.voices import Voice
from centralino.media.callerid import CallerId
from centralino.records.stats import day, office_stats, targets_from_settings

ROOT = Path(__file__).resolve().parents[1]
ROME = ZoneInfo("Europe/Rome")
START = datetime(2026, 11, 24, 8, 0, tzinfo=ROME)
SEED = 2026
PEAK_PER_HOUR = 100
PROFILE = {8: 0.25, 9: 0.8, 10: 1.0, 11: 0.9, 12: 0.5, 13: 0.1, 14: 0.15, 15: 0.4, 16: 0.4, 17: 0.15}
KEYS = {"1": 0.35, "2": 0.15, "3": 0.1, "4": 0.1, "5": 0.05, "9": 0.25}  # weights of the menu's keys
PATIENCE_MEAN_S = 240.0
TALK_MEAN_S = 150.0
WRAP_UP_S = 10.0
STAFF = ("201", "202", "203", "204", "205")
RING_PAUSE_S = 4.0  # between ring bursts (1 s on, 4 s off)


def comune_config(folder: Path) -> Path:
    data = yaml.safe_load((ROOT / "examples" / "comune.yaml").read_text())
    for line in data["lines"]:
        line["incoming"] = "menu:principale"
        line["hangup_detect"] = ["loop_drop", "polarity", "busy_tone"]
    for office in data["offices"]:  # every office answers all day: the figures are the staff's
        office["hours"] = {"martedi": ["08:00-18:00"]}
    groups = {g["name"]: g for g in data["groups"]}
    groups["anagrafe"]["members"] = ["202", "203"]
    groups["sportello_cittadini"]["members"] = ["201", "202", "203"]
    groups["tributi"]["members"] = ["204"]
    groups["tecnico"]["members"] = ["205"]
    groups["servizi_sociali"]["members"] = ["204", "205"]
    groups["polizia_locale"]["members"] = ["205"]
    for group in data["groups"]:
        group["wrap_up_s"] = WRAP_UP_S
    path = folder / "comune.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def arrivals(rng: np.random.Generator, hours: float) -> list[float]:
    """Arrival times (s after 08:00) of a non-homogeneous Poisson process, by thinning."""
    times, t, end = [], 0.0, hours * 3600
    while True:
        t += rng.exponential(3600 / PEAK_PER_HOUR)
        if t >= end:
            return times
        if rng.random() < PROFILE.get(8 + int(t // 3600), 0.0):
            times.append(t)


class Day:
    def __init__(self, s: Scenario, rng: np.random.Generator):
        self.s, self.rng = s, rng
        self.blocked = 0
        self.placed = 0
        self.errors: list[str] = []

    async def citizen(self, index: int, at_s: float) -> None:
        s, rng = self.s, self.rng
        key = rng.choice(list(KEYS), p=np.array(list(KEYS.values())) / sum(KEYS.values()))
        patience, talk = rng.exponential(PATIENCE_MEAN_S), rng.exponential(TALK_MEAN_S)
        await asyncio.sleep(max(0.0, at_s - (s.clock() - self.t0)))
        number = f"33{index:08d}"
        party = s.exchange.add_party(number, Voice(600.0 + (index % 20) * 90))  # more callers than named voices
        try:
            await s.exchange.call_in(party, CallerId(number=number, when=s.wall_clock()))
        except RuntimeError:  # all four lines busy: the exchange gives busy tone
            self.blocked += 1
            return
        self.placed += 1
        try:
            await s.until(lambda: party.call.answered or party.call.ended, "voce guida", timeout_s=30)
            if party.call.ended:
                return
            await s.wait(1.0 + rng.uniform(0, 4.0))
            party.press(str(key))
            began = s.clock()
            await s.until(lambda: party.call.ended or self._answered_by_staff(number)
                          or s.clock() - began > patience, "answered or out of patience", timeout_s=3600)
            if party.call.ended:
                return
            if self._answered_by_staff(number):
                await s.wait(talk)
            party.hang_up()
        except Exception as err:  # counted and reported: a figure from a broken day is no figure
            self.errors.append(f"{number}: {err!r}")
            if party.in_call:
                party.hang_up()

    def _answered_by_staff(self, number: str) -> bool:
        return any(c.caller == number and c.answered_at is not None and c.state == "answered"
                   for c in self.s.switchboard.calls)

    async def staff(self, extension: str) -> None:
        s, rng = self.s, self.rng
        phone, station = s.phone(extension), s.switchboard.stations[extension]

        def being_rung() -> bool:  # ringing now, or in the 4 s pause of the Italian cadence
            return phone.ringing or any(s.clock() - burst.end_s < RING_PAUSE_S for burst in phone.ring_bursts[-1:])

        while True:
            await s.until(lambda: phone.ringing, "rings", timeout_s=10 ** 6)
            await s.wait(rng.uniform(2.0, 5.0))
            if not being_rung():
                continue
            phone.off_hook()
            await s.wait(0.5)
            await s.until(lambda: station.state != "talking", "the call ends", timeout_s=10 ** 6)
            phone.on_hook()


async def working_day(folder: Path, hours: float) -> dict:
    config = comune_config(folder)
    rng = np.random.default_rng(SEED)
    times = arrivals(rng, hours)
    async with Scenario(config, folder / "data", seed=SEED, start_at=START) as s:
        announced: dict[str, float] = {}  # call id prefix -> the first estimate its caller heard
        s.daemon.bus.subscribe("engine.queue-position", lambda e: e.get("ewt_s") is not None and announced.setdefault(
            e.get("call"), e.get("ewt_s")))
        d = Day(s, rng)
        d.t0 = s.clock()
        staff = [asyncio.create_task(d.staff(e)) for e in STAFF]
        citizens = [asyncio.create_task(d.citizen(i, t)) for i, t in enumerate(times)]
        await asyncio.gather(*citizens)
        await s.wait(120.0)
        for task in staff:
            task.cancel()
        await asyncio.gather(*staff, return_exceptions=True)
        virtual_s = s.clock() - d.t0
        database = s.database
        settings = s.settings
    return {"arrivals": len(times), "placed": d.placed, "blocked": d.blocked, "virtual_s": virtual_s,
            "database": database, "settings": settings, "errors": d.errors, "announced": announced}


def ewt_error(database: Path, announced: dict[str, float]) -> dict:
    """The first announced estimate against the actual wait, for callers who were then answered."""
    import sqlite3

    with sqlite3.connect(database) as db:
        waits = {call_id[:8]: queued for call_id, queued in db.execute(
            "SELECT call_id, queued_s FROM calls WHERE answered_at IS NOT NULL AND queued_s > 0")}
    errors = np.array([announced[k] - waits[k] for k in announced if k in waits])
    if not len(errors):
        return {"announced": len(announced), "compared": 0}
    return {"announced": len(announced), "compared": len(errors),
            "abs_error_median_s": round(float(np.median(np.abs(errors))), 1),
            "abs_error_p90_s": round(float(np.percentile(np.abs(errors), 90)), 1),
            "signed_error_median_s": round(float(np.median(errors)), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=10.0)
    hours = parser.parse_args().hours
    with tempfile.TemporaryDirectory() as tmp:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = clock.run(lambda: working_day(Path(tmp), hours))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        settings = result["settings"]
        stats = office_stats(result["database"], day("2026-11-24", "Europe/Rome"), targets_from_settings(settings))
        total = stats.total
        longest = max((o.total.longest_wait_s for o in stats.offices), default=0.0)
        ewt = ewt_error(result["database"], result["announced"])
        offices = {o.office: {"offered": o.total.offered, "answered": o.total.answered,
                              "in_target": o.total.answered_in_target, "abandoned": o.total.abandoned,
                              "overflowed": o.total.overflowed, "voicemails": o.total.voicemails,
                              "callbacks": o.total.callbacks_opened} for o in stats.offices}
    report("flows_working_day", hours=hours, peak_calls_per_hour=PEAK_PER_HOUR, staff=len(STAFF), lines=4,
           arrivals=result["arrivals"], blocked_all_lines_busy=result["blocked"], offered=total.offered,
           answered=total.answered, answered_in_target=total.answered_in_target,
           service_level=round(total.service_level, 3) if total.service_level is not None else None,
           abandoned=total.abandoned, overflowed=total.overflowed, voicemails=total.voicemails,
           callbacks=total.callbacks_opened, longest_wait_s=round(longest, 1),
           virtual_s=round(result["virtual_s"]), wall_s=round(wall, 1),
           faster_than_real_time=round(result["virtual_s"] / wall, 1),
           cpu_ms_per_call=round(1000 * cpu / max(1, result["placed"]), 1), offices=offices,
           ewt=ewt, citizen_errors=result["errors"][:5], citizen_error_count=len(result["errors"]))


if __name__ == "__main__":
    main()
