"""Who rings next in a response group (gruppo di risposta): the order each strategy gives.

A member rings only when it can answer: logged in, its port in service and its phone idle. The
strategies decide the order of the members that can:

- ``ring_all``: every one at once;
- ``hunt``: one at a time in the order of the configuration;
- ``round_robin``: one at a time, starting after the member that rang last in this group;
- ``longest_idle``: one at a time, the one whose last call ended longest ago first.

A group with ``wrap_up_s`` gives its members that long after each call (to finish the paperwork)
before offering them another: a member in wrap-up is not free for the group, though still
"attended" (a caller waits in the queue for them rather than overflowing). The engine wakes the
waiting calls when a wrap-up ends (``Engine.idle``).
"""

from __future__ import annotations


def available(station) -> bool:
    return station.free and station.logged_in


WRAP_UP_EPSILON_S = 1e-6  # the timer that ends a wrap-up fires at its end, not a hair before


class ResponseGroup:
    def __init__(self, group, stations: dict, clock=None):
        self.name = group.name
        self.strategy = group.strategy
        self.member_timeout_s = group.member_timeout_s
        self.wrap_up_s = float(getattr(group, "wrap_up_s", 0.0) or 0.0)
        self._clock = clock
        self.members = [stations[number] for number in group.members if number in stations]
        self._last_rung: int = -1  # index of the member a round robin rang last

    def attended(self) -> bool:
        """Somebody could answer, now or once a call ends: logged in and in service."""
        return any(m.logged_in and m.channel.in_service for m in self.members)

    def in_wrap_up(self, station) -> bool:
        """``station`` ended a call less than ``wrap_up_s`` ago: not offered this group's calls yet."""
        if not self.wrap_up_s or self._clock is None or not station.ended_a_call:
            return False
        return self._clock() - station.last_call_end_s < self.wrap_up_s - WRAP_UP_EPSILON_S

    def free_members(self) -> list:
        return [m for m in self.members if available(m) and not self.in_wrap_up(m)]

    def batches(self) -> list[list]:
        """The members to ring, as successive batches (one batch rings together)."""
        free = self.free_members()
        if not free:
            return []
        if self.strategy == "ring_all":
            return [free]
        if self.strategy == "round_robin":
            start = self._last_rung + 1
            order = self.members[start:] + self.members[:start]
            return [[m] for m in order if m in free]
        if self.strategy == "longest_idle":
            return [[m] for m in sorted(free, key=lambda m: (m.last_call_end_s, self.members.index(m)))]
        return [[m] for m in free]  # hunt

    def rang(self, station) -> None:
        """Remember who rang last, for the round robin."""
        if station in self.members:
            self._last_rung = self.members.index(station)
