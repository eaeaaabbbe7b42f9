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
absolute error, and the median signed error: positive means announced too long).

Callers may ask to be called back from the queue (every office offers it): a share
``CALLBACK_SHARE`` of those who hear the offer press 1, confirm their number and hang up; called
back, they answer after 3 s and talk as long as they would have. Reported: the callbacks booked,
completed, turned into tickets, and the time from booking to the citizen answering.

``--compare`` runs three days one after the other and reports each (the Protezione Civile's peak,
then twice the calls, then twice the calls with a second room), so the second room's effect is
visible; the doubled days run on a bench-only board of 13 extensions and 8 PSTN lines (more than
the reference HAT carries: a contact center's switchboard has more lines), the second room's five
phones logging in (``*61``) at 10:00 and out (``*62``) at 12:00.

Usage: flows_working_day.py [--from HOUR] [--hours N] [--compare | --configuration NAME] (default: the
whole day from 08:00, the first configuration).
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
SECOND_ROOM = ("208", "209", "210", "211", "212")  # the doubled days' extra board
SECOND_ROOM_HOURS = (10, 12)  # logged in from 10:00 to 12:00: the peak
EXTRA_LINES = 4  # the doubled days' board has 8 PSTN lines
RING_PAUSE_S = 4.0  # between ring bursts (1 s on, 4 s off)
CALLBACK_SHARE = 0.3  # of the callers who hear the offer in the queue, those who take it
CONFIGURATIONS = {  # name -> (calls at the peak hour, second room, extra lines)
    "peak_100_one_room": (100, False, False),
    "peak_200_one_room": (200, False, True),
    "peak_200_second_room": (200, True, True),
}


def comune_config(folder: Path, second_room: bool = False, extra_lines: bool = False) -> Path:
    data = yaml.safe_load((ROOT / "examples" / "comune.yaml").read_text())
    if second_room or extra_lines:
        _bigger_board(data, second_room)
    for line in data["lines"]:
        line["incoming"] = "menu:principale"
        line["hangup_detect"] = ["loop_drop", "polarity", "busy_tone"]
    for office in data["offices"]:  # every office answers all day: the figures are the staff's
        office["hours"] = {"martedi": ["08:00-18:00"]}
        office.setdefault("queue", {})["callback"] = True
    groups = {g["name"]: g for g in data["groups"]}
    groups["anagrafe"]["members"] = ["202", "203"]
    groups["sportello_cittadini"]["members"] = ["201", "202", "203"]
    groups["tributi"]["members"] = ["204"]
    groups["tecnico"]["members"] = ["205"]
    groups["servizi_sociali"]["members"] = ["204", "205"]
    groups["polizia_locale"]["members"] = ["205"]
    if second_room:  # the second room answers for the busiest groups
        for name, members in (("anagrafe", SECOND_ROOM[:2]), ("sportello_cittadini", SECOND_ROOM[2:4]),
                              ("tributi", SECOND_ROOM[4:]), ("servizi_sociali", SECOND_ROOM[4:])):
            groups[name]["members"] = groups[name]["members"] + list(members)
    for group in data["groups"]:
        group["wrap_up_s"] = WRAP_UP_S
    path = folder / "comune.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _bigger_board(data: dict, second_room: bool) -> None:
    """The bench-only board: the reference HAT's ports plus five SLICs and four DAAs (no header)."""
    definition = yaml.safe_load((ROOT / "firmware" / "centralino" / "boards" / "centralino-8fxs-4fxo.yaml").read_text())
    ports = list(definition["ports"])
    slot = len(ports)
    for i in range(len(SECOND_ROOM)):
        ports.append({"name": f"fxs{9 + i}", "kind": "fxs", "spi": f"/dev/spidev12.{i}", "irq_gpio": 30 + i // 2,
                      "reset_gpio": 4, "timeslot": slot, "part": "Si3215"})
        slot += 1
    for i in range(EXTRA_LINES):
        ports.append({"name": f"fxo{5 + i}", "kind": "fxo", "spi": f"/dev/spidev13.{i}", "irq_gpio": 35,
                      "reset_gpio": 27, "timeslot": slot})
        slot += 1
    data["board"] = {"kind": "sim", "definition": "centralino-8fxs-4fxo", "header": "none", "ports": ports}
    if second_room:
        data["extensions"] += [{"number": number, "port": f"fxs{9 + i}", "name": f"Sala 2 posto {i + 1}"}
                               for i, number in enumerate(SECOND_ROOM)]
    data["lines"] += [{"port": f"fxo{5 + i}", "number": "0558450150", "incoming": "menu:principale"}
                      for i in range(EXTRA_LINES)]


def arrivals(rng: np.random.Generator, hours: float, peak_per_hour: float = PEAK_PER_HOUR,
             from_hour: float = 8.0) -> list[float]:
    """Arrival times (s after ``from_hour``) of a non-homogeneous Poisson process, by thinning."""
    times, t, end = [], 0.0, hours * 3600
    while True:
        t += rng.exponential(3600 / peak_per_hour)
        if t >= end:
            return times
        if rng.random() < PROFILE.get(int(from_hour + t / 3600), 0.0):
            times.append(t)


class _BookedCallback(Exception):
    """The caller booked a callback from the queue and the switchboard hung up."""


class Day:
    def __init__(self, s: Scenario, rng: np.random.Generator):
        self.s, self.rng = s, rng
        self.blocked = 0
        self.placed = 0
        self.errors: list[str] = []
        self.booked_at: dict[str, float] = {}  # number -> when a callback from the queue was booked
        self.answered_back: dict[str, float] = {}  # number -> booking to the citizen answering, s
        self.ticketed: set[str] = set()  # numbers whose callback became a ticket

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
            takes_callback = rng.random() < CALLBACK_SHARE
            await s.until(lambda: party.call.ended or self._answered_by_staff(number)
                          or s.clock() - began > patience or (takes_callback and self._offered(number, began)),
                          "answered or out of patience", timeout_s=3600)
            if not party.call.ended and not self._answered_by_staff(number) and s.clock() - began <= patience:
                await self._book_callback(party)
            if party.call.ended:
                return
            if self._answered_by_staff(number):
                await s.wait(talk)
            party.hang_up()
        except _BookedCallback:
            await self._called_back(party, talk)
        except Exception as err:  # counted and reported: a figure from a broken day is no figure
            self.errors.append(f"{number}: {err!r}")
            if party.in_call:
                party.hang_up()

    def _offered(self, number: str, began: float) -> bool:
        """The caller is queued and the offer has been said (the first announcement is ~12 s)."""
        return self.s.clock() - began > 14.0 and any(
            c.caller == number and c.answered_at is None and "queue_entered_s" in c.facts
            for c in self.s.switchboard.calls)

    async def _book_callback(self, party) -> None:
        s = self.s
        party.press("1")
        await s.wait(9.0)  # the number read back
        party.press("1")
        await s.until(lambda: party.call.ended, "the switchboard hangs up", timeout_s=60)
        self.booked_at[party.number] = s.clock()
        raise _BookedCallback

    async def _called_back(self, party, talk: float) -> None:
        """Answer the callback (the exchange's party answers after 3 s), talk, hang up."""
        s = self.s
        first = party.call
        while True:
            await s.until(lambda: party.call is not first and party.call is not None and party.call.answered
                          or party.number in self.ticketed, "called back", timeout_s=10 ** 6)
            if party.number in self.ticketed:
                return
            self.answered_back[party.number] = s.clock() - self.booked_at[party.number]
            await s.wait(talk)
            if party.in_call:
                party.hang_up()
            return

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
            # a callback from the queue: the member hears whom, then the phone calls the citizen
            await s.until(lambda: station.state not in ("talking", "feature"), "the call ends", timeout_s=10 ** 6)
            phone.on_hook()

    async def second_room(self, extension: str) -> None:
        """A phone of the second room: logged out, then in for the peak hours, then out again."""
        s = self.s
        start, end = ((h - self.from_hour) * 3600 for h in SECOND_ROOM_HOURS)
        await self._feature(extension, "*62")
        await asyncio.sleep(max(0.0, start - (s.clock() - self.t0)))
        await self._feature(extension, "*61")
        answering = asyncio.create_task(self.staff(extension))
        await asyncio.sleep(max(0.0, end - (s.clock() - self.t0)))
        station = s.switchboard.stations[extension]
        await s.until(lambda: station.state == "idle", "the last call of the peak ends", timeout_s=10 ** 6)
        answering.cancel()
        await self._feature(extension, "*62")

    async def _feature(self, extension: str, code: str) -> None:
        phone = self.s.phone(extension)
        phone.off_hook()
        await self.s.wait(0.6)
        await phone.dial(code)
        await self.s.wait(3.0)
        phone.on_hook()
        await self.s.wait(1.5)  # longer than a hook flash (up to 600 ms): the phone is on hook


async def working_day(folder: Path, hours: float, peak_per_hour: float = PEAK_PER_HOUR, second_room: bool = False,
                      extra_lines: bool = False, from_hour: float = 8.0) -> dict:
    config = comune_config(folder, second_room, extra_lines)
    rng = np.random.default_rng(SEED)
    times = arrivals(rng, hours, peak_per_hour, from_hour)
    start_at = START + timedelta(hours=from_hour - 8.0)
    async with Scenario(config, folder / "data", seed=SEED, start_at=start_at) as s:
        announced: dict[str, float] = {}  # call id prefix -> the first estimate its caller heard
        s.daemon.bus.subscribe("engine.queue-position", lambda e: e.get("ewt_s") is not None and announced.setdefault(
            e.get("call"), e.get("ewt_s")))
        d = Day(s, rng)
        d.from_hour = from_hour
        s.daemon.bus.subscribe("callback.ticket", lambda e: d.ticketed.add(e.get("number")))
        d.t0 = s.clock()
        staff = [asyncio.create_task(d.staff(e)) for e in STAFF]
        if second_room:
            staff += [asyncio.create_task(d.second_room(e)) for e in SECOND_ROOM]
        citizens = [asyncio.create_task(d.citizen(i, t)) for i, t in enumerate(times)]
        await asyncio.gather(*citizens)
        await s.wait(120.0)
        for task in staff:
            task.cancel()
        await asyncio.gather(*staff, return_exceptions=True)
        virtual_s = s.clock() - d.t0
        callbacks = dict(s.daemon.status()["switchboard"]["queue_callbacks"])
        database = s.database
        settings = s.settings
    waits = sorted(d.answered_back.values())
    callbacks.update(booked=len(d.booked_at), citizen_answered=len(waits),
                     booking_to_answer_median_s=round(float(np.median(waits)), 1) if waits else None,
                     booking_to_answer_max_s=round(waits[-1], 1) if waits else None)
    return {"arrivals": len(times), "placed": d.placed, "blocked": d.blocked, "virtual_s": virtual_s,
            "database": database, "settings": settings, "errors": d.errors, "announced": announced,
            "callbacks": callbacks}


def answered_by(database: Path, extensions) -> int:
    """Calls from outside a phone of ``extensions`` answered (the second room's share)."""
    import sqlite3

    with sqlite3.connect(database) as db:
        routes = [r for (r,) in db.execute("SELECT route FROM calls WHERE direction = 'inbound' AND route IS NOT NULL")]
    return sum(1 for route in routes if any(f"answered:{e}" in route.split(">") for e in extensions))


def mean_wait_s(database: Path) -> float | None:
    """The mean time queued of the callers a person answered."""
    import sqlite3

    with sqlite3.connect(database) as db:
        (mean,) = db.execute("SELECT AVG(COALESCE(queued_s, 0)) FROM calls WHERE direction = 'inbound' "
                             "AND answered_at IS NOT NULL AND disposition = 'answered'").fetchone()
    return round(mean, 1) if mean is not None else None


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


def one_day(name: str, hours: float, from_hour: float = 8.0) -> dict:
    peak, second_room, extra_lines = CONFIGURATIONS[name]
    with tempfile.TemporaryDirectory() as tmp:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = clock.run(lambda: working_day(Path(tmp), hours, peak, second_room, extra_lines, from_hour))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        settings = result["settings"]
        stats = office_stats(result["database"], day("2026-11-24", "Europe/Rome"), targets_from_settings(settings))
        total = stats.total
        longest = max((o.total.longest_wait_s for o in stats.offices), default=0.0)
        ewt = ewt_error(result["database"], result["announced"])
        mean = mean_wait_s(result["database"])
        by_second_room = answered_by(result["database"], SECOND_ROOM) if second_room else None
        offices = {o.office: {"offered": o.total.offered, "answered": o.total.answered,
                              "in_target": o.total.answered_in_target, "abandoned": o.total.abandoned,
                              "overflowed": o.total.overflowed, "voicemails": o.total.voicemails,
                              "callbacks": o.total.callbacks_opened} for o in stats.offices}
    return dict(configuration=name, from_hour=from_hour, hours=hours, peak_calls_per_hour=peak,
                staff=len(STAFF) + (len(SECOND_ROOM) if second_room else 0),
                second_room=f"{len(SECOND_ROOM)} phones {SECOND_ROOM_HOURS[0]}:00-{SECOND_ROOM_HOURS[1]}:00"
                if second_room else None, answered_by_second_room=by_second_room,
                lines=4 + (EXTRA_LINES if extra_lines else 0),
                arrivals=result["arrivals"], blocked_all_lines_busy=result["blocked"], offered=total.offered,
                answered=total.answered, answered_in_target=total.answered_in_target,
                service_level=round(total.service_level, 3) if total.service_level is not None else None,
                abandoned=total.abandoned, overflowed=total.overflowed, voicemails=total.voicemails,
                callbacks_opened=total.callbacks_opened, callbacks_from_queue=result["callbacks"],
                longest_wait_s=round(longest, 1), mean_wait_answered_s=mean,
                virtual_s=round(result["virtual_s"]), wall_s=round(wall, 1),
                faster_than_real_time=round(result["virtual_s"] / wall, 1),
                cpu_ms_per_call=round(1000 * cpu / max(1, result["placed"]), 1), offices=offices,
                ewt=ewt, citizen_errors=result["errors"][:5], citizen_error_count=len(result["errors"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=10.0)
    parser.add_argument("--from", dest="from_hour", type=float, default=8.0, help="the hour the day starts at")
    parser.add_argument("--compare", action="store_true", help="the three configurations, one after the other")
    parser.add_argument("--configuration", choices=list(CONFIGURATIONS), help="one of them")
    args = parser.parse_args()
    names = list(CONFIGURATIONS) if args.compare else [args.configuration or next(iter(CONFIGURATIONS))]
    days = [one_day(name, args.hours, args.from_hour) for name in names]
    if len(days) == 1:
        report("flows_working_day", **days[0])
    else:
        report("flows_working_day", days=days)


if __name__ == "__main__":
    main()
