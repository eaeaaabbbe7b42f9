"""The estimated wait announced with the queue position: "il tempo di attesa previsto è di circa 3 minuti".

Estimated from the office's recent handling times (answer to hang-up of its last calls, plus the
group's wrap-up) and the members logged in: the caller with ``ahead`` callers before them waits
about ``(ahead + 1) * handling / members`` for a member to free up. Nothing is said without a
basis: fewer than ``MIN_SAMPLES`` calls handled in the last ``RECENT_S``, or nobody logged in.
Rounded as people say it: under a minute, about one minute, about N minutes up to ten, then to
five minutes, beyond half an hour only "more than half an hour".

The sentence is made in one small function, ``wait_time_words``, from words of the prompt
catalogue, so the phrase can be changed in one place.
"""

from __future__ import annotations

import math
from collections import deque

MIN_SAMPLES = 3  # answered calls of the office needed before anything is said
RECENT_S = 2 * 3600.0  # older handling times say nothing about now
KEPT = 20  # the most recent handling times kept per office
LONG_S = 30 * 60.0


def wait_time_words(seconds: float | None) -> list[str] | None:
    """The words of the estimate, rounded as people say it; None (nothing said) without an estimate."""
    if seconds is None:
        return None
    words = ["Il tempo di attesa previsto è di"]
    if seconds < 45:
        return words + ["meno di un minuto"]
    if seconds < 90:
        return words + ["circa", "un minuto"]
    if seconds <= 10.5 * 60:
        return words + ["circa", str(_half_up(seconds / 60)), "minuti"]
    if seconds < LONG_S:
        return words + ["circa", str(5 * _half_up(seconds / 300)), "minuti"]
    return words + ["più di mezz'ora"]


def _half_up(value: float) -> int:
    """2.5 minutes are "3 minuti" (Python's round would say 2)."""
    return math.floor(value + 0.5)


def estimate_wait_s(ahead: int, handling_s: list[float], members: int, wrap_up_s: float = 0.0) -> float | None:
    """The expected wait of a caller with ``ahead`` callers before them, or None without a basis."""
    if members < 1 or len(handling_s) < MIN_SAMPLES:
        return None
    per_call = sum(handling_s) / len(handling_s) + wrap_up_s
    return (ahead + 1) * per_call / members


def load_config(settings, host):
    return WaitEstimates(settings, host)


class WaitEstimates:
    """The offices' recent handling times, from the records of their answered calls."""

    def __init__(self, settings, host):
        self.host = host
        self.groups = {o.name: o.group for o in settings.offices}
        self.handled: dict[str, deque] = {}  # office -> (clock time, seconds), newest last
        self._unsubscribe = None

    def start(self, engine) -> None:
        self._unsubscribe = self.host.bus.subscribe("call.ended", self._ended)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def _ended(self, event) -> None:
        office, answered, ended = event.get("office"), event.get("answered_at"), event.get("ended_at")
        if not office or answered is None or ended is None:
            return
        try:
            seconds = (ended - answered).total_seconds()
        except TypeError:
            return
        self.handled.setdefault(office, deque(maxlen=KEPT)).append((self.host.clock(), max(0.0, seconds)))

    def recent(self, office: str) -> list[float]:
        now = self.host.clock()
        return [s for at, s in self.handled.get(office, ()) if now - at <= RECENT_S]

    def estimate(self, office: str, ahead: int) -> float | None:
        """Seconds a caller with ``ahead`` before them should wait for ``office``, or None."""
        engine = self.host.engine
        group = engine.groups.get(self.groups.get(office, "")) if engine is not None else None
        if group is None:
            return None
        members = sum(1 for m in group.members if m.logged_in and m.channel.in_service)
        return estimate_wait_s(ahead, self.recent(office), members, group.wrap_up_s)
