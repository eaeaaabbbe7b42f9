"""Searching the call records: by local date, office, number, outcome and direction, a page at a time.

The web's Chiamate page and its CSV export ask through the control socket; the daemon runs the
query on its own database (the web service has no access to the file), through a read-only
connection of the query's own, so it may run in a worker thread beside the switchboard. Dates are local days of the
comune's zone, turned into the stored UTC text bounds, so the index on ``started_at`` serves the
query. A number matches anywhere in the caller or the called number as stored: once the privacy
rules have masked it (``333xxxxxxx``), only its kept digits can still be found, which is the point.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from .cdr import DIRECTIONS, DISPOSITIONS, FIELDS
from .database import RecordsError, to_text
from .stats import _connect as connect_read_only

PAGE_MAX = 500
EXPORT_MAX = 100_000
NUMBER_CHARS = set("0123456789+*#x")


@dataclass(frozen=True)
class CdrFilter:
    """What to look for; every field optional. ``first``/``last`` are local days, both included."""

    first: date | None = None
    last: date | None = None
    office: str | None = None
    number: str | None = None
    outcome: str | None = None
    direction: str | None = None

    @classmethod
    def parse(cls, words: list[str]) -> tuple["CdrFilter", dict[str, str]]:
        """``["from=2026-11-24", "office=anagrafe", "limit=50"]`` -> filter and the other keys.

        A bad key or value is a ValueError that says which and what was expected.
        """
        values: dict[str, str] = {}
        for word in words:
            key, sep, value = word.partition("=")
            if not sep or not key:
                raise ValueError(f"{word!r} is not KEY=VALUE")
            if key in values:
                raise ValueError(f"{key} given twice")
            values[key] = value.strip()
        rest = {k: values.pop(k) for k in ("limit", "offset") if k in values}
        unknown = sorted(set(values) - {"from", "to", "office", "number", "outcome", "direction"})
        if unknown:
            raise ValueError(f"unknown filter {', '.join(unknown)} (expected from, to, office, number, "
                             "outcome, direction, limit, offset)")
        found = cls(first=_day(values.get("from"), "from"), last=_day(values.get("to"), "to"),
                    office=values.get("office") or None, number=_number(values.get("number")),
                    outcome=_choice(values.get("outcome"), "outcome", DISPOSITIONS),
                    direction=_choice(values.get("direction"), "direction", DIRECTIONS))
        if found.first and found.last and found.first > found.last:
            raise ValueError(f"from {found.first} is after to {found.last}")
        return found, rest


def _day(text: str | None, key: str) -> date | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"{key}: bad day {text!r} (expected YYYY-MM-DD, e.g. 2026-11-24)") from None


def _number(text: str | None) -> str | None:
    if not text:
        return None
    if not set(text) <= NUMBER_CHARS:
        raise ValueError(f"number: {text!r} is not a telephone number (digits, +, *, #)")
    return text


def _choice(text: str | None, key: str, choices) -> str | None:
    if not text:
        return None
    if text not in choices:
        raise ValueError(f"{key}: unknown {text!r} (expected one of {', '.join(choices)})")
    return text


def _where(flt: CdrFilter, zone: str) -> tuple[str, list]:
    """The WHERE clause and its parameters (bounds on started_at first, so its index is used)."""
    tz = ZoneInfo(zone)
    clauses, params = [], []
    if flt.first is not None:
        clauses.append("started_at >= ?")
        params.append(to_text(datetime(flt.first.year, flt.first.month, flt.first.day, tzinfo=tz)))
    if flt.last is not None:
        following = flt.last + timedelta(days=1)
        clauses.append("started_at < ?")
        params.append(to_text(datetime(following.year, following.month, following.day, tzinfo=tz)))
    for column, value in (("office", flt.office), ("disposition", flt.outcome), ("direction", flt.direction)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if flt.number is not None:
        clauses.append("(instr(caller, ?) > 0 OR instr(called, ?) > 0)")
        params += [flt.number, flt.number]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


ORDER = " ORDER BY started_at DESC, id DESC"


def _rows(database, sql: str, params: list) -> list[tuple]:
    """Run a query on a read-only connection of its own: safe from a worker thread, and a search
    can never change a record."""
    try:
        with closing(connect_read_only(Path(database))) as db:
            return db.execute(sql, params).fetchall()
    except sqlite3.Error as err:
        raise RecordsError(f"{database}: cannot read the call records ({err})") from None


def search(database, flt: CdrFilter, zone: str, limit: int = 50, offset: int = 0) -> tuple[int, list[dict]]:
    """(how many match, one page of them as dicts, newest first) from the database file."""
    if not 1 <= limit <= PAGE_MAX:
        raise ValueError(f"limit must be 1..{PAGE_MAX}, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be 0 or more, got {offset}")
    where, params = _where(flt, zone)
    total = _rows(database, f"SELECT COUNT(*) FROM calls{where}", params)[0][0]
    columns = ", ".join(FIELDS)
    rows = _rows(database, f"SELECT {columns} FROM calls{where}{ORDER} LIMIT ? OFFSET ?", params + [limit, offset])
    return total, [_record(row) for row in rows]


def export(database, flt: CdrFilter, zone: str, most: int = EXPORT_MAX) -> list[tuple]:
    """Every matching record (newest first, at most ``most``) as tuples in ``cdr.FIELDS`` order."""
    where, params = _where(flt, zone)
    return [tuple(_record(row).values()) for row in
            _rows(database, f"SELECT {', '.join(FIELDS)} FROM calls{where}{ORDER} LIMIT ?", params + [most])]


def _record(row: tuple) -> dict:
    record = dict(zip(FIELDS, row))
    for name in ("emergency", "overflowed"):
        record[name] = bool(record[name])
    return record
