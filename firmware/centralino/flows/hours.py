"""An office's phone hours (fasce orarie): several windows per weekday, in the comune's time zone.

Times are compared as local wall-clock times in Europe/Rome, so "09:00-12:30" means the same on
either side of a daylight-saving change; a window never spans midnight (offices do not answer
the phone at night), which keeps the rule simple for whoever edits the configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from .calendar import Calendar

WEEKDAYS = ("lunedi", "martedi", "mercoledi", "giovedi", "venerdi", "sabato", "domenica")
_WINDOW = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})\s*$")


@dataclass(frozen=True, order=True)
class Window:
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        return self.start <= moment < self.end


def parse_window(text: str) -> Window:
    """ "09:00-12:30" -> Window; ValueError says what is wrong and what is expected."""
    match = _WINDOW.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a time window (expected HH:MM-HH:MM, e.g. 09:00-12:30)")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (0 <= h1 <= 23 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60) or (h2 == 24 and m2):
        raise ValueError(f"'{text}' has an impossible time")
    start, end = time(h1, m1), (time(h2, m2) if h2 < 24 else time(23, 59, 59, 999999))
    if end <= start:
        raise ValueError(f"'{text}' ends before it starts (a window cannot span midnight)")
    return Window(start, end)


class OfficeHours:
    def __init__(self, windows: dict[int, list[Window]], timezone: str = "Europe/Rome"):
        self.zone = ZoneInfo(timezone)
        self.windows = {day: sorted(ws) for day, ws in windows.items() if ws}
        for day, ws in self.windows.items():
            for before, after in zip(ws, ws[1:]):
                if after.start < before.end:
                    raise ValueError(f"{WEEKDAYS[day]}: windows {_fmt(before)} and {_fmt(after)} overlap")

    def __eq__(self, other) -> bool:
        return isinstance(other, OfficeHours) and (self.windows, self.zone) == (other.windows, other.zone)

    __hash__ = None

    @classmethod
    def from_spec(cls, spec: dict[str, list[str]], timezone: str = "Europe/Rome") -> "OfficeHours":
        windows: dict[int, list[Window]] = {}
        for name, texts in spec.items():
            key = name.lower().replace("ì", "i")
            if key not in WEEKDAYS:
                raise ValueError(f"'{name}' is not a weekday (expected one of {', '.join(WEEKDAYS)})")
            windows[WEEKDAYS.index(key)] = [parse_window(t) for t in texts]
        return cls(windows, timezone)

    def local(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("office hours need an aware datetime (with its time zone)")
        return when.astimezone(self.zone)

    def is_open(self, when: datetime, calendar: Calendar | None = None) -> bool:
        if calendar is not None and calendar.override is not None:
            return calendar.override == "day"
        local = self.local(when)
        if calendar is not None and calendar.holiday(local.date()):
            return False
        return any(w.contains(local.time()) for w in self.windows.get(local.weekday(), []))

    def next_opening(self, when: datetime, calendar: Calendar | None = None,
                     horizon_days: int = 31) -> datetime | None:
        """The next local moment the office opens (None if not within ``horizon_days``)."""
        local = self.local(when)
        for offset in range(horizon_days + 1):
            day = (local + timedelta(days=offset)).date()
            if calendar is not None and calendar.holiday(day):
                continue
            for window in self.windows.get(day.weekday(), []):
                start = datetime.combine(day, window.start, tzinfo=self.zone)
                if start > local:
                    return start
        return None


def _fmt(window: Window) -> str:
    return f"{window.start:%H:%M}-{window.end:%H:%M}"
