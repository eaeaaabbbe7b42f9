"""The order in which each strategy rings a group's members, and who is skipped."""

from __future__ import annotations

from dataclasses import dataclass

from centralino.calls.station import Station
from centralino.config.schema import Group
from centralino.flows.office_queue import OfficeQueue
from centralino.calls.groups import ResponseGroup


@dataclass
class FakeChannel:
    name: str
    in_service: bool = True
    off_hook: bool = False


def _group(strategy: str, **states):
    stations = {n: Station(n, n, FakeChannel(f"fxs{n}")) for n in ("1", "2", "3")}
    for number, state in states.items():
        station = stations[number.lstrip("s")]
        if state == "busy":
            station.state = "talking"
        elif state == "away":
            station.logged_in = False
        elif state == "faulty":
            station.channel.in_service = False
    return ResponseGroup(Group("g", None, ("1", "2", "3"), strategy), stations), stations


def _numbers(batches):
    return [[s.number for s in batch] for batch in batches]


def test_ring_all_rings_every_free_member_at_once():
    group, _ = _group("ring_all", s2="busy")
    assert _numbers(group.batches()) == [["1", "3"]]


def test_hunt_goes_in_order_and_skips_busy_away_and_faulty_members():
    group, _ = _group("hunt", s1="away")
    assert _numbers(group.batches()) == [["2"], ["3"]]
    group, _ = _group("hunt", s1="faulty", s2="busy")
    assert _numbers(group.batches()) == [["3"]]


def test_round_robin_starts_after_the_member_rung_last():
    group, stations = _group("round_robin")
    assert _numbers(group.batches())[0] == ["1"]
    group.rang(stations["1"])
    assert _numbers(group.batches()) == [["2"], ["3"], ["1"]]
    group.rang(stations["3"])
    assert _numbers(group.batches())[0] == ["1"]


def test_longest_idle_rings_first_whoever_finished_a_call_longest_ago():
    group, stations = _group("longest_idle")
    stations["1"].last_call_end_s = 300.0
    stations["2"].last_call_end_s = 100.0
    stations["3"].last_call_end_s = 200.0
    assert _numbers(group.batches()) == [["2"], ["3"], ["1"]]


def test_a_group_is_unattended_only_when_nobody_is_logged_in_and_in_service():
    group, _ = _group("hunt", s1="away", s2="away", s3="busy")
    assert group.attended()  # busy members will be free again
    group, _ = _group("hunt", s1="away", s2="faulty", s3="away")
    assert not group.attended()


def test_the_queue_lets_as_many_callers_try_as_there_are_free_members():
    queue = OfficeQueue("anagrafe")
    a, b, c = object(), object(), object()
    for caller in (a, b, c):
        queue.join(caller)
    assert [queue.ahead_of(x) for x in (a, b, c)] == [0, 1, 2]
    assert queue.may_try(a, 1) and not queue.may_try(b, 1)
    queue.ringing.add(a)  # a is being put through: b may try the next free member
    assert queue.may_try(b, 1) and not queue.may_try(c, 1)
    queue.leave(a)
    assert queue.ahead_of(c) == 1
