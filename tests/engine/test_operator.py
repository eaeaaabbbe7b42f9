"""The operator's keys: blind and attended transfer, recall of an unanswered transfer, hold, pickup."""

from __future__ import annotations

from centralino.hwsim.voices import hears

from .helpers import (CITIZEN, TONE_HZ, citizen_with_operator, config_copy, finished, flash_and_dial,
                      hear_each_other, hears_tone_only, listen, play, ring, rings_no_more, tones)


def test_blind_transfer_rings_the_target_and_connects_the_caller(tmp_path):
    async def story(s):
        citizen, op = await citizen_with_operator(s)
        await flash_and_dial(s, op, "204")
        await s.wait(0.3)
        op.on_hook()
        target = s.phone("204")
        await s.until(lambda: target.ringing, "Tributi rings")
        since = s.clock()
        await s.wait(12.0)  # two periods of ringback
        waiting = citizen.heard(since)
        operator_state = s.station_state("200")
        target.off_hook()
        since = await listen(s)
        talked = hear_each_other(target, citizen, since)
        citizen.hang_up()
        rows = await finished(s, 1)
        return waiting, operator_state, talked, rows

    waiting, operator_state, talked, rows = play(tmp_path, story)
    assert "ringback" in tones(waiting)
    assert operator_state == "idle"
    assert talked
    assert len(rows) == 1  # the operator's enquiry call is part of the transferred call
    row = rows[-1]
    assert (row.direction, row.caller, row.disposition) == ("inbound", CITIZEN, "transferred")
    assert row.transfer_chain == "200>204"
    assert "transfer:204" in row.route and row.route.endswith("answered:204")
    assert {"fxo1", "fxs1", "fxs5"} <= set(row.ports.split(","))


def test_attended_transfer_connects_after_the_operator_announced_the_call(tmp_path):
    async def story(s):
        citizen, op = await citizen_with_operator(s)
        await flash_and_dial(s, op, "204")
        target = s.phone("204")
        await s.until(lambda: target.ringing, "Tributi rings")
        target.off_hook()
        since = await listen(s)
        announced = hear_each_other(op, target, since)
        citizen_overheard = hears(citizen.heard(since), target.voice.frequency_hz)
        op.on_hook()
        since = await listen(s)
        talked = hear_each_other(target, citizen, since)
        target.on_hook()
        rows = await finished(s, 1)
        return announced, citizen_overheard, talked, rows

    announced, citizen_overheard, talked, rows = play(tmp_path, story)
    assert announced
    assert not citizen_overheard
    assert talked
    assert len(rows) == 1
    assert (rows[-1].disposition, rows[-1].transfer_chain) == ("transferred", "200>204")


def test_unanswered_blind_transfer_rings_the_operator_again(tmp_path):
    def quick_recall(data):
        data["features"]["transfer_recall_s"] = 10

    async def story(s):
        citizen, op = await citizen_with_operator(s)
        await flash_and_dial(s, op, "204")
        await s.wait(0.3)
        op.on_hook()
        target = s.phone("204")
        await s.until(lambda: target.ringing, "Tributi rings")
        transferred_at = s.clock()
        await s.until(lambda: op.ringing, "the operator is rung again", timeout_s=20)
        recalled_after = s.clock() - transferred_at
        target_stopped = await rings_no_more(s, target, 1.0)
        op.off_hook()
        await s.wait(2.5)  # "l'Ufficio Tributi non risponde" in the operator's ear first (the desk)
        since = await listen(s)
        return recalled_after, target_stopped, hear_each_other(op, citizen, since), s.events("recall")

    recalled_after, target_stopped, talked, recalls = play(tmp_path, story, config=config_copy(tmp_path, quick_recall))
    assert 9.0 <= recalled_after <= 11.5
    assert target_stopped
    assert talked
    assert [e[2]["to"] for e in recalls] == ["200"]


def test_hold_plays_the_hold_tone_and_a_second_flash_retrieves_the_call(tmp_path):
    async def story(s):
        citizen, op = await citizen_with_operator(s)
        await op.flash()
        since = s.clock()
        await s.wait(5.5)
        on_hold = citizen.heard(since)
        await op.flash()
        since = await listen(s)
        return on_hold, hear_each_other(op, citizen, since), s.events("retrieve")

    on_hold, talked, retrieves = play(tmp_path, story)
    assert hears_tone_only(on_hold)
    assert hears(on_hold, TONE_HZ)
    assert talked
    assert retrieves


def test_pickup_answers_a_ringing_extension_from_another(tmp_path):
    async def story(s):
        a, b = await ring(s, "201", "203")
        c = s.phone("205")
        c.off_hook()
        await s.wait(0.5)
        await c.dial("*8")
        await s.until(lambda: s.station_state("205") == "talking", "205 picks the call up")
        stopped = await rings_no_more(s, b)
        since = await listen(s)
        talked = stopped and hear_each_other(a, c, since)
        a.on_hook()
        rows = await finished(s, 1)
        return talked, rows[-1]

    talked, row = play(tmp_path, story)
    assert talked
    assert row.disposition == "answered"
    assert "pickup:205" in row.route and "fxs6" in row.ports.split(",")


def test_directed_pickup_takes_the_named_extensions_call(tmp_path):
    async def story(s):
        a, b = await ring(s, "201", "203")
        c, d = await ring(s, "202", "204")
        e = s.phone("205")
        e.off_hook()
        await s.wait(0.5)
        await e.dial("*8204")
        await s.until(lambda: s.station_state("205") == "talking", "205 picks the call up")
        stopped = await rings_no_more(s, d)
        since = await listen(s)
        return stopped and hear_each_other(c, e, since), s.station_state("203") == "ringing", \
            hears(a.heard(since), e.voice.frequency_hz)

    picked_right_call, other_still_rings, wrong_caller_heard = play(tmp_path, story)
    assert picked_right_call
    assert other_still_rings
    assert not wrong_caller_heard
