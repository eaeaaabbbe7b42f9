"""Calls out on the public lines: seizure and dialling, the far end answering, busy, hanging up
in each of the three ways Italian exchanges signal it, no line free, and emergency numbers."""

from __future__ import annotations

import pytest

from .helpers import (TONE_LISTEN_S, config_copy, finished, hear_each_other, lift_and_dial,
                      listen, play, tones)

MOBILE = "3479876543"


async def call_out(s, extension: str, number: str, **party_options):
    """``extension`` dials 0 + ``number`` + #; returns (phone, remote party)."""
    party = s.remote(number, **party_options)
    phone = await lift_and_dial(s, extension, "0" + number + "#")
    return phone, party


async def talking_out(s, extension: str, number: str):
    phone, party = await call_out(s, extension, number, answer_after_s=3.0)
    await s.until(lambda: party.call is not None and party.call.answered, f"{number} answers", timeout_s=30)
    await s.until(lambda: s.switchboard.calls and s.switchboard.calls[-1].answered_at is not None,
                  "the switchboard hears the answer", timeout_s=10)
    return phone, party


def test_outside_call_seizes_a_line_dials_and_connects(tmp_path):
    async def story(s):
        phone, party = await call_out(s, "206", MOBILE, answer_after_s=14.0)
        await s.until(lambda: party.call is not None, "the exchange routes the call", timeout_s=15)
        since = s.clock()
        await s.until(lambda: party.call.answered, "the mobile answers", timeout_s=30)
        ringback = phone.heard(since)
        since = await listen(s, 2.0)
        talked = hear_each_other(phone, party, since)
        await s.wait(2.0)
        phone.on_hook()
        rows = await finished(s, 1)
        return ringback, talked, rows[-1], s.line("fxo1").dialled_numbers, s.line("fxo1").off_hook

    ringback, talked, row, dialled, line_held = play(tmp_path, story)
    assert dialled == [MOBILE]
    assert "ringback" in tones(ringback)
    assert talked
    assert not line_held
    assert (row.direction, row.caller, row.called, row.disposition) == ("outbound", "206", MOBILE, "answered")
    assert row.route == "ext:206>line:fxo1"
    assert set(row.ports.split(",")) == {"fxs7", "fxo1"}
    assert row.billable_s >= 4.0 and row.duration_s > row.billable_s


def test_busy_outside_number_gives_busy_tone_and_a_busy_record(tmp_path):
    async def story(s):
        phone, party = await call_out(s, "206", MOBILE, busy=True)
        await s.until(lambda: s.line("fxo1").dialled_numbers, "the exchange gets the number", timeout_s=15)
        since = s.clock()
        await s.wait(TONE_LISTEN_S)
        heard = phone.heard(since)
        phone.on_hook()
        rows = await finished(s, 1)
        return heard, rows[-1]

    heard, row = play(tmp_path, story)
    assert "busy" in tones(heard)
    assert (row.direction, row.disposition, row.cause, row.billable_s) == ("outbound", "busy", "user_busy", 0.0)


@pytest.mark.parametrize("signal", ["loop_drop", "polarity", "busy_tone"])
def test_far_end_hang_up_ends_the_call(tmp_path, signal):
    async def story(s):
        s.line("fxo1").hangup_signal = signal
        phone, party = await talking_out(s, "206", MOBILE)
        await listen(s)
        party.hang_up()
        rows = await finished(s, 1, f"the far end's {signal} ends the call", timeout_s=10)
        since = s.clock()
        await s.wait(TONE_LISTEN_S)
        return rows[-1], phone.heard(since), s.line("fxo1").off_hook, s.events("far-end-hangup")

    row, heard, line_held, hangups = play(tmp_path, story)
    assert [e[2]["how"] for e in hangups] == [signal]
    assert (row.disposition, row.cause) == ("answered", "normal_clearing")
    assert row.billable_s > 1.0
    assert not line_held
    assert "busy" in tones(heard)


def test_line_that_does_not_watch_loop_drop_keeps_the_call_on_a_loop_drop(tmp_path):
    def fxo4_without_loop_drop(data):
        next(line for line in data["lines"] if line["port"] == "fxo4")["hangup_detect"] = ["polarity", "busy_tone"]

    async def story(s):
        s.line("fxo4").hangup_signal = "loop_drop"
        for port in ("fxo1", "fxo2", "fxo3"):
            s.daemon.channels[port].mark_faulty("taken out by the test")
        phone, party = await talking_out(s, "207", MOBILE)
        party.hang_up()
        await s.wait(3.0)
        ended_by_loop_drop = len(s.finished)
        phone.on_hook()
        rows = await finished(s, 1)
        return ended_by_loop_drop, rows[-1], s.line("fxo4").off_hook

    ended_by_loop_drop, row, line_held = play(tmp_path, story, config=config_copy(tmp_path, fxo4_without_loop_drop))
    assert ended_by_loop_drop == 0
    assert "line:fxo4" in row.route and row.disposition == "answered"
    assert not line_held


def test_no_free_line_gives_congestion_and_a_failed_record(tmp_path):
    async def story(s):
        s.daemon.channels["fxo4"].mark_faulty("taken out by the test")
        first = [await talking_out(s, ext, number)
                 for ext, number in (("201", "3330000001"), ("202", "3330000002"), ("203", "3330000003"))]
        phone, party = await call_out(s, "206", MOBILE)
        since = s.clock()
        await s.wait(TONE_LISTEN_S)
        rows = s.records.last(1)
        still_talking = [hear_each_other(p, remote, since) for p, remote in first]
        return phone.heard(since), rows[-1], party.call, still_talking

    heard, row, party_call, still_talking = play(tmp_path, story)
    assert "congestion" in tones(heard)
    assert party_call is None
    assert (row.caller, row.called, row.disposition, row.cause) == ("206", MOBILE, "failed", "no_circuit_available")
    assert "no-free-line" in row.route
    assert still_talking == [True, True, True]


def test_emergency_number_goes_out_at_once_without_the_prefix(tmp_path):
    async def story(s):
        carabinieri = s.remote("112", answer_after_s=2.0)
        phone = await lift_and_dial(s, "202", "112")
        dialled_at = s.clock()
        await s.until(lambda: carabinieri.call is not None and carabinieri.call.answered, "112 answers",
                      timeout_s=15)
        since = await listen(s, 2.0)
        talked = hear_each_other(phone, carabinieri, since)
        alert = [c["called"] for c in s.switchboard.status()["emergency_calls"]]
        phone.on_hook()
        rows = await finished(s, 1)
        after = s.switchboard.status()["emergency_calls"]
        return dialled_at, s.events("outside-call"), talked, s.exchange.dialled_numbers, rows[-1], alert, after

    dialled_at, placed, talked, dialled, row, alert, after = play(tmp_path, story)
    assert alert == ["112"] and after == []  # the console and LEDs see it while it lasts
    assert [e[2]["emergency"] for e in placed] == [True]
    assert placed[0][0] <= dialled_at  # no waiting for the inter-digit timeout
    assert dialled == ["112"]
    assert talked
    assert (row.called, row.emergency, row.disposition) == ("112", True, "answered")


def test_emergency_call_takes_a_line_from_an_ordinary_call_when_all_are_busy(tmp_path):
    async def story(s):
        carabinieri = s.remote("112", answer_after_s=2.0)
        ordinary = [await talking_out(s, ext, f"33300000{i}") for i, ext in enumerate(("201", "202", "203", "204"))]
        phone = await lift_and_dial(s, "207", "112")
        await s.until(lambda: carabinieri.call is not None and carabinieri.call.answered, "112 answers",
                      timeout_s=15)
        since = await listen(s, 2.0)
        talked = hear_each_other(phone, carabinieri, since)
        cut = [p for p, remote in ordinary if remote.call.ended]
        rows = {row.called: row for row in s.records.last(10)}
        return talked, s.exchange.dialled_numbers, len(cut), rows

    talked, dialled, cut, rows = play(tmp_path, story)
    assert dialled[-1] == "112"
    assert talked
    assert cut == 1
    assert rows["112"].emergency and rows["112"].disposition == "in_progress"
    assert sorted(r.cause for r in rows.values() if r.called != "112") == ["", "", "", "no_circuit_available"]


def test_emergency_number_dialled_after_the_outside_prefix_is_still_an_emergency_call(tmp_path):
    async def story(s):
        carabinieri = s.remote("112", answer_after_s=2.0)
        ordinary = [await talking_out(s, ext, f"33300000{i}") for i, ext in enumerate(("201", "202", "203", "204"))]
        phone = await lift_and_dial(s, "207", "0112")
        dialled_at = s.clock()
        await s.until(lambda: carabinieri.call is not None and carabinieri.call.answered, "112 answers",
                      timeout_s=15)
        since = await listen(s, 2.0)
        placed = s.events("outside-call")[-1]
        return placed, dialled_at, hear_each_other(phone, carabinieri, since), \
            sum(remote.call.ended for _, remote in ordinary), s.records.last(1)[-1]

    placed, dialled_at, talked, cut, row = play(tmp_path, story)
    assert placed[2]["emergency"] and placed[0] <= dialled_at
    assert talked
    assert cut == 1
    assert (row.called, row.emergency) == ("112", True)


def test_emergency_call_gets_a_line_when_every_line_rings_with_incoming_calls(tmp_path):
    async def story(s):
        carabinieri = s.remote("112", answer_after_s=1.0)
        for i, port in enumerate(("fxo1", "fxo2", "fxo3", "fxo4")):
            caller = s.remote(f"33300000{i}")
            await s.exchange.call_in(caller, line=port)
        await s.wait(1.0)
        phone = await lift_and_dial(s, "207", "112")
        await s.until(lambda: carabinieri.call is not None and carabinieri.call.answered, "112 answers",
                      timeout_s=15)
        since = await listen(s, 2.0)
        return hear_each_other(phone, carabinieri, since)

    assert play(tmp_path, story)
