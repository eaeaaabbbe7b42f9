"""Wrap-up per group: after a call a member is not offered the group's next call for ``wrap_up_s``."""

from __future__ import annotations

from tests.engine.helpers import call_in, config_copy, play
from tests.flows.voce_helpers import EARS, press

WRAP_UP_S = 30


def _one_desk_with_wrap_up(wrap_up_s):
    def change(data):
        for line in data["lines"]:
            line["incoming"] = "menu:principale"
        data["groups"][0]["members"] = ["202"]  # anagrafe: one desk
        if wrap_up_s:
            data["groups"][0]["wrap_up_s"] = wrap_up_s
        data["offices"][0]["queue"] = {"max_wait_s": 120, "announce_every_s": 60}
    return change


async def _to_anagrafe(s, line, number):
    citizen = await call_in(s, number, line=line)
    await s.until(lambda: citizen.call is not None and citizen.call.answered, "the voce guida answers")
    await s.wait(1.0)
    citizen.pressed_at = s.clock()
    await press(s, citizen, "1")
    return citizen


async def _story(s):
    desk = s.phone("202")
    first = await _to_anagrafe(s, "fxo1", "3330000001")
    await s.until(lambda: desk.ringing, "the desk rings for the first caller", timeout_s=30)
    desk.off_hook()
    await s.wait(3.0)
    first.hang_up()
    await s.until(lambda: len(s.finished) == 1, "the first call ends")
    ended = s.clock()
    await s.wait(0.5)
    desk.on_hook()
    second = await _to_anagrafe(s, "fxo2", "3330000002")
    await s.until(lambda: desk.ringing, "the desk rings for the second caller", timeout_s=60)
    rang_after = s.clock() - ended
    return rang_after, second.heard(second.pressed_at), [e for e in s.log if e[1] == "wrap-up"]


def test_a_member_in_wrap_up_is_not_offered_the_next_caller_who_waits_for_it(tmp_path):
    rang_after, heard, wrap_ups = play(tmp_path, _story, config=config_copy(tmp_path, _one_desk_with_wrap_up(WRAP_UP_S)))
    assert WRAP_UP_S <= rang_after <= WRAP_UP_S + 1.0  # not before the wrap-up ends, and at once after it
    assert EARS.heard(heard, "tutti_occupati")  # the second caller waited in the queue meanwhile
    assert wrap_ups and wrap_ups[0][2]["ext"] == "202"


def test_without_wrap_up_the_member_rings_at_once(tmp_path):
    rang_after, heard, wrap_ups = play(tmp_path, _story, config=config_copy(tmp_path, _one_desk_with_wrap_up(0)))
    assert rang_after < 10  # the voce guida's few seconds, no wrap-up
    assert not wrap_ups
