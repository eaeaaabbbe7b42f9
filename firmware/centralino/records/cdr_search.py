"""Searching the call records: by local date, office, number, outcome and direction, a page at a time.

The web's Chiamate page and its CSV export ask through the control socket; the daemon runs the
query on its own database (the web service has no access to the file). Dates are local days of the
comune's zone, turned into the stored UTC text bounds, so the index on ``started_at`` serves the
query. A number matches anywhere in the caller or the called number as stored: once the privacy
rules have masked it (``333xxxxxxx``), only its kept digits can still be found, which is the point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .cdr import DIRECTIONS, DISPOSITIONS, CallRecord
from .database import to_text

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


def _query(flt: CdrFilter, zone: str):
    tz = ZoneInfo(zone)
    query = CallRecord.select()
    if flt.first is not None:
        start = datetime(flt.first.year, flt.first.month, flt.first.day, tzinfo=tz)
        query = query.where(CallRecord.started_at >= to_text(start))
    if flt.last is not None:
        following = flt.last + timedelta(days=1)
        end = datetime(following.year, following.month, following.day, tzinfo=tz)
        query = query.where(CallRecord.started_at < to_text(end))
    if flt.office is not None:
        query = query.where(CallRecord.office == flt.office)
    if flt.number is not None:
        query = query.where(CallRecord.caller.contains(flt.number) | CallRecord.called.contains(flt.number))
    if flt.outcome is not None:
        query = query.where(CallRecord.disposition == flt.outcome)
    if flt.direction is not None:
        query = query.where(CallRecord.direction == flt.direction)
    return query.order_by(CallRecord.started_at.desc(), CallRecord.id.desc())


def search(store, flt: CdrFilter, zone: str, limit: int = 50, offset: int = 0) -> tuple[int, list[CallRecord]]:
    """(how many match, one page of them, newest first) from the CdrStore ``store``."""
    if not 1 <= limit <= PAGE_MAX:
        raise ValueError(f"limit must be 1..{PAGE_MAX}, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be 0 or more, got {offset}")
    with store.db.bind_ctx([CallRecord]):
        query = _query(flt, zone)
        return query.count(), list(query.limit(limit).offset(offset))


def export(store, flt: CdrFilter, zone: str, most: int = EXPORT_MAX) -> list[tuple]:
    """Every matching record (newest first, at most ``most``) as tuples in ``cdr.FIELDS`` order."""
    from .cdr import FIELDS

    with store.db.bind_ctx([CallRecord]):
        columns = [getattr(CallRecord, name) for name in FIELDS]
        return list(_query(flt, zone).select(*columns).limit(most).tuples())
