"""Calls arriving on the town hall's lines: the operator, a ring-all group, a caller who gives up."""

from __future__ import annotations

from datetime import datetime

from centralino.media.callerid import CallerId

from .helpers import CITIZEN, call_in, config_copy, finished, hear_each_other, listen, play, rings_no_more


def test_line_call_rings_the_operator_with_the_callers_number(tmp_path):
    async def story(s):
        citizen = await call_in(s)
        op = s.phone("200")
        await s.until(lambda: op.ringing, "the operator rings")
        await s.until(lambda: op.caller_ids, "caller ID reaches the operator's phone", timeout_s=15)
        op.off_hook()
        since = await listen(s)
        talked = hear_each_other(op, citizen, since)
        await s.wait(2.0)
        op.on_hook()
        rows = await finished(s, 1)
        return op.caller_ids[-1], op.display, talked, rows[-1], s.line("fxo1").off_hook

    cid, display, talked, row, line_held = play(tmp_path, story)
    assert cid.number == CITIZEN and cid.name == "ROSSI MARIO"
    assert CITIZEN in display
    assert talked
    assert (row.direction, row.caller, row.called, row.disposition) == ("inbound", CITIZEN, "0558450100", "answered")
    assert row.route.startswith("line:fxo1>ext:200")
    assert row.billable_s > 2.0
    assert not line_held


def test_group_line_rings_every_member_and_the_first_to_answer_gets_it(tmp_path):
    async def story(s):
        citizen = await call_in(s, line="fxo3")
        members = [s.phone(n) for n in ("201", "202", "203")]
        await s.until(lambda: all(p.ringing for p in members), "every member of the desk rings")
        others_rang = [s.phone(n).ringing or bool(s.phone(n).ring_bursts) for n in ("200", "204")]
        await s.wait(6.0)  # past the caller ID
        members[1].off_hook()
        others_stopped = [await rings_no_more(s, members[0]), await rings_no_more(s, members[2])]
        since = await listen(s)
        talked = hear_each_other(members[1], citizen, since)
        others_heard = [len(members[0].heard()), len(members[2].heard())]
        citizen.hang_up()
        rows = await finished(s, 1)
        return others_rang, [p.caller_ids[-1].number if p.caller_ids else None for p in members], \
            others_stopped, talked, others_heard, rows[-1]

    def desk_line(data):  # the third line straight to the citizens' desk, without the voce guida
        data["lines"][2]["incoming"] = "sportello_cittadini"
        for group in data["groups"]:
            if group["name"] == "sportello_cittadini":
                group["strategy"] = "ring_all"

    others_rang, shown, others_stopped, talked, others_heard, row = play(
        tmp_path, story, config=config_copy(tmp_path, desk_line))
    assert others_rang == [False, False]
    assert others_stopped == [True, True]
    assert shown == [CITIZEN] * 3
    assert talked
    assert others_heard == [0, 0]
    assert row.route.startswith("line:fxo3>group:sportello_cittadini")
    assert "answered:202" in row.route
    assert (row.called, row.disposition) == ("0558450150", "answered")


def test_caller_who_gives_up_while_ringing_is_no_answer(tmp_path):
    async def story(s):
        await call_in(s, give_up_after_s=8.0)
        op = s.phone("200")
        await s.until(lambda: op.ringing, "the operator rings")
        rows = await finished(s, 1, "the caller gives up")
        return rows[-1], await rings_no_more(s, op), s.station_state("200")

    row, stopped, state = play(tmp_path, story)
    assert stopped and state == "idle"
    assert (row.caller, row.disposition, row.cause) == (CITIZEN, "no_answer", "originator_cancel")
    assert row.billable_s == 0.0 and row.answered_at is None


def test_a_withheld_number_shows_as_private(tmp_path):
    async def story(s):
        party = s.remote("0550000000")
        await s.exchange.call_in(party, CallerId(number_absent="P", when=datetime(2026, 11, 24, 9, 0)), line="fxo1")
        op = s.phone("200")
        await s.until(lambda: op.caller_ids, "caller ID reaches the operator's phone", timeout_s=15)
        return op.caller_ids[-1], op.display

    cid, display = play(tmp_path, story)
    assert cid.number is None and cid.number_absent == "P"
    assert display.startswith("PRIVATO")
