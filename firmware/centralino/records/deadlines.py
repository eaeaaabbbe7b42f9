"""When a ticket is due: its deadline class, the due time, and the time spent waiting on others.

The Protezione Civile's contact center answers within the day, within 7 days or within 40 days,
depending on the request; the class is chosen per office and per subject in the configuration.
"Within the day" ends at the comune's local midnight after the opening; the others count whole
days from the opening. While a ticket waits for another office or administration its deadline is
suspended: the stored ``due_at`` is pushed later by the time spent waiting when the wait ends, and
a ticket waiting now is never overdue.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

DEADLINES = ("same_day", "7_days", "40_days")
DEADLINE_DAYS = {"7_days": 7, "40_days": 40}
DEFAULT_DEADLINE = "7_days"
DEADLINE_LABELS = {"same_day": "in giornata", "7_days": "7 giorni", "40_days": "40 giorni"}


def check_deadline(value: str) -> str:
    if value not in DEADLINES:
        raise ValueError(f"unknown deadline class {value!r}: expected one of {', '.join(DEADLINES)}")
    return value


def due_time(opened_at: datetime, deadline: str, zone: str | tzinfo = "Europe/Rome") -> datetime:
    """The due time (UTC) of a ticket of class ``deadline`` opened at ``opened_at``."""
    check_deadline(deadline)
    zone = zone if isinstance(zone, tzinfo) else ZoneInfo(zone)
    if opened_at.tzinfo is None:
        opened_at = opened_at.replace(tzinfo=timezone.utc)
    if deadline == "same_day":
        local = opened_at.astimezone(zone)
        following = local.date() + timedelta(days=1)
        midnight = datetime(following.year, following.month, following.day, tzinfo=zone)
        return midnight.astimezone(timezone.utc)
    return (opened_at + timedelta(days=DEADLINE_DAYS[deadline])).astimezone(timezone.utc)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def effective_due(row, now: datetime | None = None) -> datetime | None:
    """The due time of ``row`` (a Ticket) now: None while it waits on someone else (suspended)."""
    if row.status == "waiting":
        return None
    return _time(row.due_at)


def is_overdue(row, now: datetime) -> bool:
    """Not closed, not waiting, and past its due time."""
    due = effective_due(row, now)
    return row.status not in ("closed", "waiting") and due is not None and now > due


def closed_in_time(row) -> bool | None:
    """Whether a closed ticket was closed by its due time (None when not closed or no due time)."""
    if row.status != "closed" or not row.due_at or not row.closed_at:
        return None
    return _time(row.closed_at) <= _time(row.due_at)


def select_tickets(rows: list, which: str, now: datetime) -> list:
    """The tickets a listing asks for: ``open`` (not closed), ``overdue``, ``all`` or one state."""
    if which == "open":
        return [r for r in rows if r.status != "closed"]
    if which == "overdue":
        return [r for r in rows if is_overdue(r, now)]
    if which == "all":
        return list(rows)
    return [r for r in rows if r.status == which]
