"""Response groups reached without the voce guida (a line routed to a group, a group's number
dialled inside): each group's strategy decides who rings, one member after another.

The example's ``anagrafe`` group (610) hunts 202 then 203, 15 s each; the Sportello Cittadini
(600) rings the longest idle of 201, 202, 203 first.
"""

from __future__ import annotations

from .helpers import call_in, config_copy, finished, hear_each_other, lift_and_dial, listen, play, tones

MEMBER_TIMEOUT_S = 15.0  # the example's anagrafe group


def rang_after(phone, since_s: float) -> bool:
    """A ring burst of ``phone`` started at or after ``since_s``."""
    return any(burst.start_s >= since_s for burst in phone.ring_bursts)


def test_a_hunt_group_line_rings_one_member_after_another(tmp_path):
    async def story(s):
        citizen = await call_in(s, line="fxo3")
        first, second = s.phone("202"), s.phone("203")
        await s.until(lambda: first.ringing, "the first anagrafe desk rings")
        first_at = s.clock()
        first_alone = not second.ringing and not second.ring_bursts
        await s.until(lambda: second.ringing, "the second desk rings", timeout_s=MEMBER_TIMEOUT_S + 6)
        second_at = s.clock()
        await s.wait(8.0)
        first_stopped = not first.ringing and not rang_after(first, second_at)
        second.off_hook()
        since = await listen(s)
        talked = hear_each_other(second, citizen, since)
        citizen.hang_up()
        row = (await finished(s, 1))[-1]
        return second_at - first_at, first_alone, first_stopped, talked, row

    def anagrafe_line(data):
        data["lines"][2]["incoming"] = "anagrafe"

    gap_s, first_alone, first_stopped, talked, row = play(tmp_path, story, config=config_copy(tmp_path, anagrafe_line))
    assert MEMBER_TIMEOUT_S - 0.5 <= gap_s <= MEMBER_TIMEOUT_S + 1.5  # 203 only after 202's 15 s
    assert first_alone and first_stopped
    assert talked
    assert row.route.startswith("line:fxo3>group:anagrafe") and "answered:203" in row.route


def test_a_hunt_group_skips_a_logged_out_member_and_ends_after_the_last(tmp_path):
    async def story(s):
        away = await lift_and_dial(s, "202", "*62")
        await s.wait(4.0)
        away.on_hook()
        await s.wait(0.5)
        caller = await lift_and_dial(s, "201", "610")
        desk = s.phone("203")
        await s.until(lambda: desk.ringing, "the desk still logged in rings")
        rang_at = s.clock()
        await s.until(lambda: s.finished, "the call ends unanswered", timeout_s=MEMBER_TIMEOUT_S + 6)
        ended_after_s = s.clock() - rang_at
        heard_since = s.clock()
        await s.wait(4.5)
        heard = tones(caller.heard(heard_since))
        caller.on_hook()
        row = s.records.last(1)[-1]
        return bool(s.phone("202").ring_bursts), ended_after_s, heard, row

    logged_out_rang, ended_after_s, heard, row = play(tmp_path, story)
    assert not logged_out_rang
    assert ended_after_s <= MEMBER_TIMEOUT_S + 1.5  # no second round for an internal call
    assert "congestion" in heard
    assert row.disposition == "no_answer" and "group:anagrafe" in row.route


def test_a_round_robin_group_starts_after_the_member_that_rang_last(tmp_path):
    async def story(s):
        rung = []
        for _ in range(3):
            caller = await lift_and_dial(s, "204", "600")
            await s.until(lambda: any(s.phone(n).ringing for n in ("201", "202", "203")), "a desk rings")
            rung.append(next(n for n in ("201", "202", "203") if s.phone(n).ringing))
            caller.on_hook()
            await s.until(lambda: not any(s.phone(n).ringing for n in ("201", "202", "203")), "ringing stops")
            await s.wait(1.0)
        return rung

    def round_robin(data):
        for group in data["groups"]:
            if group["name"] == "sportello_cittadini":
                group["strategy"] = "round_robin"

    assert play(tmp_path, story, config=config_copy(tmp_path, round_robin)) == ["201", "202", "203"]
