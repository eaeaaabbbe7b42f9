"""Who hangs up when: the callee first, the caller during ringing, a held call left behind, a
caller waiting for a busy operator, a caller giving up during a transfer."""

from __future__ import annotations

from .helpers import (CITIZEN, TONE_LISTEN_S, call_in, connect, finished, hear_each_other, lift_and_dial, listen,
                      operator_answers, play, ring, rings_no_more, tones)


def test_callee_hanging_up_first_gives_the_caller_busy_tone(tmp_path):
    async def story(s):
        a, b = await connect(s, "201", "203")
        await listen(s)
        b.on_hook()
        rows = await finished(s, 1)
        since = s.clock()
        await s.wait(TONE_LISTEN_S)
        return a.heard(since), rows[-1], s.station_state("201")

    heard, row, state = play(tmp_path, story)
    assert "busy" in tones(heard)
    assert state == "tone"
    assert (row.disposition, row.cause) == ("answered", "normal_clearing")


def test_caller_hanging_up_while_it_rings_stops_the_ringing(tmp_path):
    async def story(s):
        a, b = await ring(s, "201", "203")
        await s.wait(2.0)
        a.on_hook()
        rows = await finished(s, 1)
        return rows[-1], await rings_no_more(s, b), s.station_state("203")

    row, stopped, state = play(tmp_path, story)
    assert stopped and state == "idle"
    assert (row.disposition, row.cause, row.answered_at) == ("no_answer", "originator_cancel", None)


def test_line_call_waits_for_a_busy_operator_and_rings_when_free(tmp_path):
    async def story(s):
        op = s.phone(s.settings.dialplan.operator)
        _, other = await connect(s, s.settings.dialplan.operator, "203")
        citizen = await call_in(s)
        await s.wait(6.0)
        rang_while_busy = bool(op.ring_bursts)
        other.on_hook()
        await s.wait(0.5)
        op.on_hook()
        await s.until(lambda: op.ringing, "the operator rings once free", timeout_s=10)
        await s.until(lambda: op.caller_ids, "caller ID reaches the operator", timeout_s=10)
        op.off_hook()
        since = await listen(s)
        return rang_while_busy, op.caller_ids[-1].number, hear_each_other(op, citizen, since)

    rang_while_busy, shown, talked = play(tmp_path, story)
    assert not rang_while_busy
    assert shown == CITIZEN
    assert talked


def test_operator_hanging_up_with_a_call_on_hold_is_rung_back(tmp_path):
    async def story(s):
        citizen = await call_in(s)
        op = await operator_answers(s)
        await op.flash()
        await s.wait(1.0)
        op.on_hook()
        await s.until(lambda: op.ringing, "the operator is rung back for the held call", timeout_s=10)
        op.off_hook()
        since = await listen(s)
        return hear_each_other(op, citizen, since), len(s.finished)

    talked, finished_calls = play(tmp_path, story)
    assert talked
    assert finished_calls == 0


def test_enquiry_to_a_busy_extension_then_back_to_the_held_caller(tmp_path):
    async def story(s):
        await connect(s, "202", "204")
        citizen = await call_in(s)
        op = await operator_answers(s)
        await op.flash()
        await s.wait(0.5)
        await op.dial("204")
        since = s.clock()
        await s.wait(TONE_LISTEN_S)
        enquiry_heard = op.heard(since)
        await op.flash()
        since = await listen(s)
        return enquiry_heard, hear_each_other(op, citizen, since)

    enquiry_heard, talked = play(tmp_path, story)
    assert "busy" in tones(enquiry_heard)
    assert talked


def test_caller_giving_up_during_a_blind_transfer_stops_the_target_ringing(tmp_path):
    async def story(s):
        citizen = await call_in(s)
        op = await operator_answers(s)
        await op.flash()
        await s.wait(0.5)
        await op.dial("204")
        await s.wait(0.3)
        op.on_hook()
        target = s.phone("204")
        await s.until(lambda: target.ringing, "Tributi rings")
        citizen.hang_up()
        rows = await finished(s, 1)
        return rows, await rings_no_more(s, target), s.line("fxo1").off_hook, \
            [st.state for st in s.switchboard.stations.values()]

    rows, stopped, line_held, states = play(tmp_path, story)
    assert stopped
    assert not line_held
    assert set(states) == {"idle"}
    assert len(rows) == 1 and rows[-1].transfer_chain == "200>204"


def test_pickup_with_nothing_ringing_gives_congestion(tmp_path):
    async def story(s):
        phone = await lift_and_dial(s, "205", "*8#")
        since = s.clock()
        await s.wait(TONE_LISTEN_S)
        return phone.heard(since)

    assert "congestion" in tones(play(tmp_path, story))


def test_blind_transfer_to_a_busy_extension_rings_the_operator_back(tmp_path):
    async def story(s):
        await connect(s, "202", "204")
        citizen = await call_in(s)
        op = await operator_answers(s)
        await op.flash()
        await s.wait(0.5)
        await op.dial("204")
        await s.wait(1.0)
        op.on_hook()
        await s.until(lambda: op.ringing, "the operator is rung back", timeout_s=10)
        op.off_hook()
        since = await listen(s)
        return hear_each_other(op, citizen, since)

    assert play(tmp_path, story)


def test_hanging_up_after_an_enquiry_to_an_outside_number_rings_the_operator_back(tmp_path):
    async def story(s):
        op = s.phone(s.settings.dialplan.operator)
        citizen = await call_in(s)
        mobile = s.remote("3479876543", answer_after_s=2.0)
        await s.until(lambda: op.ringing, "the operator rings")
        op.off_hook()
        await listen(s)
        await op.flash()
        await s.wait(0.5)
        await op.dial("03479876543#")
        await s.until(lambda: mobile.call is not None and mobile.call.answered, "the mobile answers", timeout_s=20)
        since = await listen(s, 2.0)
        enquiry_ok = hear_each_other(op, mobile, since)
        op.on_hook()
        await s.until(lambda: op.ringing, "the operator is rung back for the held caller", timeout_s=10)
        op.off_hook()
        since = await listen(s)
        return enquiry_ok, mobile.call.ended, hear_each_other(op, citizen, since), s.records.last(2)

    enquiry_ok, enquiry_ended, talked, rows = play(tmp_path, story)
    assert enquiry_ok and enquiry_ended
    assert talked
    assert [(r.direction, r.disposition) for r in rows] == [("inbound", "in_progress"), ("outbound", "answered")]
