"""Tickets per office and month: opened, closed, closed within their deadline, overdue, time to close.

The Protezione Civile's contact center "always knows how many are open and how many are done".
Read through a read-only connection like the call statistics (``stats.py``). Each figure counts in
the local month (``comune.timezone``) of its own moment:

- opened: tickets opened in the month;
- closed, closed within deadline: tickets closed in the month, and of those the ones closed by
  their due time (``due_at``, already later by any time spent waiting);
- overdue: tickets whose due time fell in the month (up to ``now``) and were not closed by it,
  waiting ones left out (their deadline is suspended);
- mean time to close: of the tickets closed in the month, opening to closing.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from .database import RecordsError, to_text
from .stats import SECONDS_PER_DAY, Period, _columns, _connect, _tables


@dataclass(frozen=True)
class TicketFigures:
    month: str  # YYYY-MM, local
    office: str
    opened: int = 0
    closed: int = 0
    closed_in_time: int = 0
    overdue: int = 0
    close_total_s: float = 0.0

    @property
    def close_mean_s(self) -> float | None:
        return self.close_total_s / self.closed if self.closed else None


def _month_of(text: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(text).astimezone(zone).strftime("%Y-%m")


def ticket_stats(database, period: Period, now: datetime | None = None,
                 office: str | None = None) -> list[TicketFigures]:
    """The figures of ``period`` (a day or a month) per local month and office, sorted."""
    database, zone = Path(database), ZoneInfo(period.zone)
    now = now or datetime.now(timezone.utc)
    start, end = to_text(period.start), to_text(period.end)
    found: dict[tuple[str, str], dict] = {}

    def add(month: str, name: str, **counts) -> None:
        entry = found.setdefault((month, name), {})
        for key, value in counts.items():
            entry[key] = entry.get(key, 0) + value

    try:
        with closing(_connect(database)) as db:
            if "tickets" not in _tables(db):
                return []
            has_due = "due_at" in _columns(db, "tickets")
            where, args = ("", []) if office is None else (" AND office = ?", [office])
            for name, opened_at in db.execute("SELECT office, opened_at FROM tickets WHERE opened_at >= ? "
                                              f"AND opened_at < ?{where}", [start, end] + args):
                add(_month_of(opened_at, zone), name, opened=1)
            due = "due_at" if has_due else "NULL"
            seconds = f"MAX(0.0, (julianday(closed_at) - julianday(opened_at)) * {SECONDS_PER_DAY})"
            for name, closed_at, due_at, spent in db.execute(
                    f"SELECT office, closed_at, {due}, {seconds} FROM tickets WHERE status = 'closed' "
                    f"AND closed_at >= ? AND closed_at < ?{where}", [start, end] + args):
                add(_month_of(closed_at, zone), name, closed=1, close_total_s=spent,
                    closed_in_time=int(due_at is not None and closed_at <= due_at))
            if has_due:
                until = min(end, to_text(now))
                for name, due_at in db.execute(
                        "SELECT office, due_at FROM tickets WHERE due_at >= ? AND due_at < ? AND status != 'waiting' "
                        f"AND (closed_at IS NULL OR closed_at > due_at){where}", [start, until] + args):
                    add(_month_of(due_at, zone), name, overdue=1)
    except sqlite3.Error as err:
        raise RecordsError(f"{database}: cannot read the database ({err})") from None
    return [TicketFigures(month, name, **counts) for (month, name), counts in sorted(found.items())]
