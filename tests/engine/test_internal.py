"""Extension to extension: dial tone, ringing with caller ID, speech both ways, busy tone after."""

from __future__ import annotations

import pytest

from .helpers import (TONE_LISTEN_S, config_copy, connect, finished, hear_each_other,
                      lift_and_dial, listen, play, ring, rings_no_more, tones)


def test_off_hook_gives_italian_dial_tone(tmp_path):
    async def story(s):
        phone = s.phone("201")
        phone.off_hook()
        await s.wait(TONE_LISTEN_S)
        return phone.heard()

    assert tones(play(tmp_path, story))[:1] == ["dial"]


def test_internal_call_rings_talks_and_is_recorded(tmp_path):
    async def story(s):
        a, b = await ring(s, "201", "203")
        await s.wait(11.0)  # three ring bursts, caller ID after the first
        ringback = a.heard()
        bursts = b.ring_bursts
        b.off_hook()
        since = await listen(s)
        talked = hear_each_other(a, b, since)
        await s.wait(2.0)
        a.on_hook()
        rows = await finished(s, 1)
        hung_up_at = s.clock()
        await s.wait(TONE_LISTEN_S)
        return ringback, bursts, b.caller_ids, b.display, talked, b.heard(hung_up_at), rows[-1]

    ringback, bursts, caller_ids, display, talked, after, row = play(tmp_path, story)
    assert "ringback" in tones(ringback)
    assert len(bursts) >= 2
    for burst in bursts:
        assert burst.end_s - burst.start_s == pytest.approx(1.0, abs=0.1)
    for first, second in zip(bursts, bursts[1:]):
        assert second.start_s - first.end_s == pytest.approx(4.0, abs=0.1)
    assert caller_ids and caller_ids[-1].number == "201"
    assert display.startswith("201")
    assert talked
    assert "busy" in tones(after)
    assert (row.direction, row.caller, row.called, row.disposition) == ("internal", "201", "203", "answered")
    assert row.cause == "normal_clearing"
    assert row.billable_s > 3.0 and row.duration_s > row.billable_s
    assert row.answered_at is not None
    assert set(row.ports.split(",")) == {"fxs2", "fxs4"}


def test_call_to_a_busy_extension_gives_busy_tone(tmp_path):
    async def story(s):
        await connect(s, "202", "203")
        caller = await lift_and_dial(s, "201", "203")
        since = s.clock()
        await s.wait(TONE_LISTEN_S)
        return caller.heard(since), s.records.last(1)[-1], s.phone("203").ringing

    heard, row, callee_rings = play(tmp_path, story)
    assert "busy" in tones(heard)
    assert not callee_rings
    assert (row.caller, row.called, row.disposition, row.cause) == ("201", "203", "busy", "user_busy")


def test_unknown_number_gives_congestion(tmp_path):
    async def story(s):
        caller = await lift_and_dial(s, "201", "299")
        since = s.clock()
        await s.wait(TONE_LISTEN_S)
        return caller.heard(since), s.station_state("201"), s.events("ringing")

    heard, state, ringing = play(tmp_path, story)
    assert "congestion" in tones(heard)
    assert state == "tone"
    assert ringing == []


def test_internal_call_not_answered_ends_at_the_ring_timeout(tmp_path):
    def short_ring(data):
        data["features"]["ring_timeout_s"] = 8

    async def story(s):
        a, b = await ring(s, "201", "203")
        rang_at = s.clock()
        rows = await finished(s, 1, "the ring timeout ends the call")
        ended_after = s.clock() - rang_at
        since = s.clock()
        stopped = await rings_no_more(s, b)
        return rows[-1], ended_after, stopped, a.heard(since)

    row, ended_after, stopped, heard = play(tmp_path, story, config=config_copy(tmp_path, short_ring))
    assert 7.0 <= ended_after <= 9.0
    assert stopped
    assert (row.disposition, row.cause, row.billable_s) == ("no_answer", "no_answer", 0.0)
    assert "congestion" in tones(heard)


def test_pulse_dialling_reaches_the_extension(tmp_path):
    async def story(s):
        a = await lift_and_dial(s, "204", "201", mode="pulse")  # 0 is ten pulses, 1 a single one
        b = s.phone("201")
        await s.until(lambda: b.ringing, "201 rings after pulse dialling")
        b.off_hook()
        since = await listen(s)
        return hear_each_other(a, b, since), s.events("dialled")

    talked, dialled = play(tmp_path, story)
    assert talked
    assert dialled[-1][2]["digits"] == "201"


def test_dialling_a_group_rings_its_members(tmp_path):
    async def story(s):
        a = await lift_and_dial(s, "201", "610")
        members = [s.phone("202"), s.phone("203")]
        await s.until(lambda: all(p.ringing for p in members), "both Anagrafe phones ring")
        outsider_rang = s.phone("204").ringing or bool(s.phone("204").ring_bursts)
        members[1].off_hook()
        other_stopped = await rings_no_more(s, members[0])
        since = await listen(s)
        return hear_each_other(a, members[1], since), other_stopped, outsider_rang

    def ring_all(data):  # the example's anagrafe group hunts (tests/engine/test_group_strategies.py)
        for group in data["groups"]:
            if group["name"] == "anagrafe":
                group["strategy"] = "ring_all"

    talked, other_stopped, outsider_rang = play(tmp_path, story, config=config_copy(tmp_path, ring_all))
    assert talked
    assert other_stopped
    assert not outsider_rang
