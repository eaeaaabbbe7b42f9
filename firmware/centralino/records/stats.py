"""Switchboard statistics per office and per hour of the day, for a day or a month.

Figures come from two tables: ``calls`` (one CDR per call: offered, answered, answered within the
office's target, abandoned, overflowed, ended in voicemail) and ``tickets`` (callbacks opened and
closed, time to close). Voicemails are counted from the CDR disposition, not from the
``voicemails`` table, because messages are deleted after ``records.voicemail_keep_days`` while the
call records stay: last month's report must not shrink when its recordings are purged.

Which calls count: inbound calls that have finished (``in_progress`` ones have no outcome yet).
Each is counted under the office it first reached (``calls.office``); inbound calls that never
reached an office (left in the voce guida, or answered directly by an extension) are counted under
``NO_OFFICE`` so that the totals are every inbound call. A call is answered when someone answered
it (``answered_at``), within the target when its ``queued_s`` is at most the office's target.

Hours are local hours (``comune.timezone``) of the call's start, of a ticket's opening or closing.
The period's bounds are local midnights, so a day is 23 or 25 hours long on the days the clocks
change, and on the autumn change both 02:00-03:00 hours count under hour 2. The database is read
through a read-only connection and grouped by UTC hour in SQL; each UTC hour is one local hour
wherever the zone's offset is whole hours (Europe/Rome), and the grouping falls back to UTC minutes
where it is not.
"""

from __future__ import annotations

import calendar
import sqlite3
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from .database import SQLITE_MAGIC, RecordsError, to_text

DEFAULT_TARGET_S = 20.0  # an office without its own target_answer_s
NO_OFFICE = ""  # calls that never reached an office
NO_OFFICE_LABEL = "(no office)"
HOURS_PER_DAY = 24
SECONDS_PER_DAY = 86400.0
UTC_HOUR_KEY = 13  # len("2026-11-24T08"): the stored UTC text cut to its hour
UTC_MINUTE_KEY = 16  # len("2026-11-24T08:30")
# Columns a file from an older schema may lack, and the value every one of its rows had.
CALL_COLUMN_DEFAULTS = {"office": "''", "queued_s": "0.0", "overflowed": "0", "crisis": "0"}


@dataclass(frozen=True)
class Period:
    """A local calendar day or month in ``zone``: [start, end) between local midnights."""
    kind: str  # "day" or "month"
    first: date
    zone: str

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=ZoneInfo(self.zone))

    @property
    def end(self) -> datetime:
        if self.kind == "day":
            following = self.first + timedelta(days=1)
        else:
            days = calendar.monthrange(self.first.year, self.first.month)[1]
            following = self.first + timedelta(days=days)
        return datetime(following.year, following.month, following.day, tzinfo=ZoneInfo(self.zone))

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m-%d}" if self.kind == "day" else f"{self.first:%Y-%m}"

    @property
    def hours(self) -> float:
        """Its length in hours (23 or 25 on the days the clocks change)."""
        # in UTC: Python subtracts two datetimes of one zone as wall-clock times, ignoring the change
        return (self.end.astimezone(timezone.utc) - self.start.astimezone(timezone.utc)).total_seconds() / 3600.0


def day(text: str, zone: str) -> Period:
    """``"2026-11-24"`` as a Period; a bad date is a ValueError saying what was expected."""
    try:
        first = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"bad day '{text}' (expected YYYY-MM-DD, e.g. 2026-11-24)") from None
    return Period("day", first, zone)


def month(text: str, zone: str) -> Period:
    """``"2026-11"`` as a Period; a bad month is a ValueError saying what was expected."""
    try:
        first = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise ValueError(f"bad month '{text}' (expected YYYY-MM, e.g. 2026-11)") from None
    return Period("month", first, zone)


@dataclass(frozen=True)
class Figures:
    """The counts of one office over one hour, or summed over several (``+``)."""
    offered: int = 0
    answered: int = 0
    answered_in_target: int = 0
    abandoned: int = 0
    overflowed: int = 0
    voicemails: int = 0
    callbacks_opened: int = 0
    callbacks_closed: int = 0
    close_total_s: float = 0.0  # sum of the closed callbacks' time to close (for the mean)
    close_max_s: float = 0.0
    longest_wait_s: float = 0.0  # the longest queued_s of a call
    crisis_offered: int = 0  # calls made during the crisis service (Protezione Civile) ...
    crisis_answered: int = 0  # ... and of those, answered

    MAXIMA = ("close_max_s", "longest_wait_s")

    def __add__(self, other: "Figures") -> "Figures":
        return Figures(**{f.name: (max if f.name in self.MAXIMA else _sum)(getattr(self, f.name),
                                                                           getattr(other, f.name))
                          for f in fields(self)})

    @property
    def close_mean_s(self) -> float | None:
        """Mean time from a callback's opening to its closing; None when none was closed."""
        return self.close_total_s / self.callbacks_closed if self.callbacks_closed else None

    @property
    def service_level(self) -> float | None:
        """Share of the offered calls answered within the target (0..1); None with no calls."""
        return self.answered_in_target / self.offered if self.offered else None

    @property
    def empty(self) -> bool:
        return self == Figures()


def _sum(a, b):
    return a + b


def _total(items: Iterable[Figures]) -> Figures:
    total = Figures()
    for item in items:
        total = total + item
    return total


@dataclass(frozen=True)
class OfficeStats:
    office: str  # NO_OFFICE for calls that never reached one
    target_s: float
    hours: tuple[Figures, ...]  # 24 entries, index = local hour of the day

    @property
    def total(self) -> Figures:
        return _total(self.hours)

    @property
    def label(self) -> str:
        return self.office or NO_OFFICE_LABEL


@dataclass(frozen=True)
class Report:
    period: Period
    offices: tuple[OfficeStats, ...]

    @property
    def total(self) -> Figures:
        return _total(o.total for o in self.offices)

    @property
    def hours(self) -> tuple[Figures, ...]:
        """Every office summed, per local hour."""
        return tuple(_total(o.hours[h] for o in self.offices) for h in range(HOURS_PER_DAY))

    def office(self, name: str) -> OfficeStats | None:
        return next((o for o in self.offices if o.office == name), None)


# ---------------------------------------------------------------------------------------- reading
def _connect(database: Path) -> sqlite3.Connection:
    """A read-only connection: statistics never change the records."""
    try:
        with open(database, "rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise RecordsError(f"{database}: no database there (has centralino run yet?)") from None
    except OSError as err:
        raise RecordsError(f"{database}: cannot read the database ({err.strerror or err})") from None
    if header != SQLITE_MAGIC:
        raise RecordsError(f"{database}: not an SQLite database")
    try:
        return sqlite3.connect(Path(database).absolute().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error as err:
        raise RecordsError(f"{database}: cannot open the database ({err})") from None


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f'PRAGMA table_info("{table}")')}


def _key_length(period: Period) -> int:
    """Group by UTC hour when every UTC hour of the period is one local hour, else by minute."""
    zone = ZoneInfo(period.zone)
    moment, end = period.start.astimezone(timezone.utc), period.end.astimezone(timezone.utc)
    while moment < end:
        if moment.astimezone(zone).utcoffset().total_seconds() % 3600:
            return UTC_MINUTE_KEY
        moment += timedelta(hours=1)
    return UTC_HOUR_KEY


def _local_hour(key: str, zone: ZoneInfo) -> int:
    """The local hour of a UTC hour or minute key such as ``2026-11-24T08``."""
    text = key + (":00:00" if len(key) == UTC_HOUR_KEY else ":00")
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).astimezone(zone).hour


def _call_figures(db, period: Period, key: int, targets: Mapping[str, float], default_target_s: float,
                  only: str | None) -> list[tuple[str, str, Figures]]:
    present = _columns(db, "calls")
    if not {"started_at", "answered_at", "disposition", "direction"} <= present:
        raise ValueError("table 'calls' lacks the call record columns: not a centralino database")
    office, queued, overflowed, crisis = (name if name in present else CALL_COLUMN_DEFAULTS[name]
                                          for name in ("office", "queued_s", "overflowed", "crisis"))
    target_case = "CASE " + office + "".join(" WHEN ? THEN ?" for _ in targets) + " ELSE ? END"
    target_args = [value for item in targets.items() for value in item] + [default_target_s]
    where = "started_at >= ? AND started_at < ? AND direction = 'inbound' AND disposition != 'in_progress'"
    args = [to_text(period.start), to_text(period.end)]
    if only is not None:
        where += f" AND {office} = ?"
        args.append(only)
    sql = (f"SELECT {office}, substr(started_at, 1, {key}), COUNT(*), "
           f"SUM(answered_at IS NOT NULL), "
           f"SUM(answered_at IS NOT NULL AND {queued} <= {target_case}), "
           f"SUM(disposition = 'abandoned'), SUM({overflowed} != 0), SUM(disposition = 'voicemail'), "
           f"MAX({queued}), SUM({crisis} != 0), SUM({crisis} != 0 AND answered_at IS NOT NULL) "
           f"FROM calls WHERE {where} GROUP BY 1, 2")
    return [(row[0], row[1], Figures(offered=row[2], answered=row[3], answered_in_target=row[4],
                                     abandoned=row[5], overflowed=row[6], voicemails=row[7],
                                     longest_wait_s=round(max(row[8] or 0.0, 0.0), 3),
                                     crisis_offered=row[9], crisis_answered=row[10]))
            for row in db.execute(sql, target_args + args)]


def _ticket_figures(db, period: Period, key: int, only: str | None) -> list[tuple[str, str, Figures]]:
    if not {"office", "opened_at", "closed_at", "status"} <= _columns(db, "tickets"):
        return []  # no callback tickets in this file (yet)
    bounds = [to_text(period.start), to_text(period.end)]
    office_filter, office_args = (" AND office = ?", [only]) if only is not None else ("", [])
    opened = db.execute(f"SELECT office, substr(opened_at, 1, {key}), COUNT(*) FROM tickets "
                        f"WHERE opened_at >= ? AND opened_at < ?{office_filter} GROUP BY 1, 2",
                        bounds + office_args)
    result = [(row[0], row[1], Figures(callbacks_opened=row[2])) for row in opened]
    seconds = f"MAX(0.0, (julianday(closed_at) - julianday(opened_at)) * {SECONDS_PER_DAY})"
    closed = db.execute(f"SELECT office, substr(closed_at, 1, {key}), COUNT(*), SUM({seconds}), MAX({seconds}) "
                        f"FROM tickets WHERE status = 'closed' AND closed_at >= ? AND closed_at < ?"
                        f"{office_filter} GROUP BY 1, 2", bounds + office_args)
    result += [(row[0], row[1], Figures(callbacks_closed=row[2], close_total_s=round(row[3], 3),
                                        close_max_s=round(row[4], 3))) for row in closed]
    return result


def _tables(db) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def office_stats(database, period: Period, targets: Mapping[str, float] | None = None,
                 default_target_s: float = DEFAULT_TARGET_S, office: str | None = None) -> Report:
    """The figures of ``period`` from the database at ``database``.

    ``targets`` maps office names to their answer target in seconds, in the order to list them:
    those offices are listed even with no calls (the configured offices); others found in the
    records follow by name, then ``NO_OFFICE``. ``office`` restricts the report to one office.
    Raises RecordsError naming the file when it is missing or not a centralino database.
    """
    database = Path(database)
    targets = dict(targets or {})
    zone = ZoneInfo(period.zone)
    key = _key_length(period)
    try:
        with closing(_connect(database)) as db:
            if "calls" not in _tables(db):
                raise ValueError("no 'calls' table: not a centralino database")
            rows = _call_figures(db, period, key, targets, default_target_s, office)
            rows += _ticket_figures(db, period, key, office)
    except sqlite3.Error as err:
        raise RecordsError(f"{database}: cannot read the database ({err})") from None
    except ValueError as err:
        raise RecordsError(f"{database}: {err}") from None
    grid: dict[str, list[Figures]] = {}
    for name in ([office] if office is not None else targets):
        grid[name] = [Figures()] * HOURS_PER_DAY
    for name, slot, figures in rows:
        hours = grid.setdefault(name or NO_OFFICE, [Figures()] * HOURS_PER_DAY)
        hour = _local_hour(slot, zone)
        hours[hour] = hours[hour] + figures
    order = list(targets) + sorted(n for n in grid if n not in targets and n != NO_OFFICE)
    if NO_OFFICE in grid:
        order.append(NO_OFFICE)
    offices = tuple(OfficeStats(name, targets.get(name, default_target_s), tuple(grid[name]))
                    for name in order if name in grid)
    return Report(period, offices)


def known_offices(database) -> set[str]:
    """Office names found in the records (calls and tickets), for checking a name asked for."""
    database = Path(database)
    try:
        with closing(_connect(database)) as db:
            tables = _tables(db)
            names: set[str] = set()
            if "calls" in tables and "office" in _columns(db, "calls"):
                names |= {row[0] for row in db.execute("SELECT DISTINCT office FROM calls")}
            if "tickets" in tables and "office" in _columns(db, "tickets"):
                names |= {row[0] for row in db.execute("SELECT DISTINCT office FROM tickets")}
    except sqlite3.Error as err:
        raise RecordsError(f"{database}: cannot read the database ({err})") from None
    return names - {NO_OFFICE}


def targets_from_settings(settings) -> dict[str, float]:
    """Each configured office's answer target (``offices[].target_answer_s``), in config order."""
    return {o.name: float(getattr(o, "target_answer_s", DEFAULT_TARGET_S)) for o in settings.offices}
