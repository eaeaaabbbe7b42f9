"""Who rings next in a response group (gruppo di risposta): the order each strategy gives.

A member rings only when it can answer: logged in, its port in service and its phone idle. The
strategies decide the order of the members that can:

- ``ring_all``: every one at once;
- ``hunt``: one at a time in the order of the configuration;
- ``round_robin``: one at a time, starting after the member that rang last in this group;
- ``longest_idle``: one at a time, the one whose last call ended longest ago first.
"""

from __future__ import annotations


def available(station) -> bool:
    return station.free and station.logged_in


class ResponseGroup:
    def __init__(self, group, stations: dict):
        self.name = group.name
        self.strategy = group.strategy
        self.member_timeout_s = group.member_timeout_s
        self.members = [stations[number] for number in group.members if number in stations]
        self._last_rung: int = -1  # index of the member a round robin rang last

    def attended(self) -> bool:
        """Somebody could answer, now or once a call ends: logged in and in service."""
        return any(m.logged_in and m.channel.in_service for m in self.members)

    def free_members(self) -> list:
        return [m for m in self.members if available(m)]

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
