"""When the town hall is closed for the day: Italian holidays, the patron saint, extra closures,
and the operator's manual day/night switch.

National holidays are those of Law 260/1949 as amended, computed for any year: Easter Monday
from the Gregorian computus, and 4 October (San Francesco d'Assisi) from 2026, when Parliament
restored it as a national holiday (approved 1 October 2025). The comune adds its patron saint's
day and any extra closure from the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

SAN_FRANCESCO_FROM_YEAR = 2026

FIXED_HOLIDAYS = (
    (1, 1, "Capodanno"),
    (1, 6, "Epifania"),
    (4, 25, "Festa della Liberazione"),
    (5, 1, "Festa del Lavoro"),
    (6, 2, "Festa della Repubblica"),
    (8, 15, "Ferragosto"),
    (11, 1, "Ognissanti"),
    (12, 8, "Immacolata Concezione"),
    (12, 25, "Natale"),
    (12, 26, "Santo Stefano"),
)


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous algorithm, valid for every year from 1583)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 (the algorithm's own name)
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def national_holidays(year: int) -> dict[date, str]:
    days = {date(year, month, day): name for month, day, name in FIXED_HOLIDAYS}
    easter = easter_sunday(year)
    days[easter] = "Pasqua"
    days[easter + timedelta(days=1)] = "Lunedì dell'Angelo"
    if year >= SAN_FRANCESCO_FROM_YEAR:
        days[date(year, 10, 4)] = "San Francesco d'Assisi"
    return days


@dataclass(frozen=True)
class Closure:
    """A closure from the configuration: one day, or a range of days (both ends included)."""
    first: date
    last: date
    reason: str

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass
class Calendar:
    patron_day: tuple[int, int] | None = None  # (month, day)
    patron_name: str = "Santo Patrono"
    closures: list[Closure] = field(default_factory=list)
    override: str | None = None  # "day" forces open, "night" forces closed, None follows the rules
    _cache: dict[int, dict[date, str]] = field(default_factory=dict, repr=False)

    def holiday(self, day: date) -> str | None:
        """The name of the holiday or closure on ``day``, or None on a working day."""
        year = self._cache.get(day.year)
        if year is None:
            year = self._cache[day.year] = national_holidays(day.year)
            if self.patron_day:
                year.setdefault(date(day.year, *self.patron_day), self.patron_name)
        if day in year:
            return year[day]
        for closure in self.closures:
            if closure.covers(day):
                return closure.reason
        return None

    def set_override(self, mode: str | None) -> None:
        """The operator's switch: "day", "night", or None to follow hours and holidays again."""
        if mode not in ("day", "night", None):
            raise ValueError(f"override must be 'day', 'night' or none, got {mode!r}")
        self.override = mode
