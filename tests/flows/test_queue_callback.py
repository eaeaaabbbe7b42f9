"""Callback from the queue, as the caller and the office's member hear it: the caller keeps the
turn without the line, the member is rung first and hears whom to call back, the citizen is
called; unanswered calls become a ticket for the office."""

from __future__ import annotations

from centralino.cli.console import _format_status
from centralino.flows import sentences

from tests.engine.helpers import call_in, config_copy, hear_each_other, listen, play
from tests.flows.voce_helpers import EARS, EXAMPLE, press

A, B = "3330000009", "3330000010"
ANAGRAFE = EXAMPLE.office("anagrafe")


def _one_desk_with_callback(data):
    for line in data["lines"]:
        line["incoming"] = "menu:principale"
    data["groups"][0]["members"] = ["202"]
    data["offices"][0]["queue"] = {"max_wait_s": 900, "announce_every_s": 300, "callback": True,
                                   "callback_attempts": 2, "callback_retry_s": 60}


async def _books_callback(s, number: str, line: str = "fxo1", **party):
    """A citizen reaches the anagrafe's queue, presses 1 to be called back and confirms the
    caller ID; returns (party, what it heard) once the switchboard has hung up."""
    citizen = await call_in(s, number, line=line)
    if party:
        for key, value in party.items():
            setattr(citizen, key, value)
    await s.until(lambda: citizen.call is not None and citizen.call.answered, "the voce guida answers")
    t0 = s.clock()
    await s.wait(1.0)
    await press(s, citizen, "1")
    await s.until(lambda: any(e[1] == "queue-position" for e in s.log), "the caller is in the queue", timeout_s=30)
    await s.wait(14.0)  # the announcement with the offer
    await press(s, citizen, "1")
    await s.wait(9.0)  # the number read back
    await press(s, citizen, "1")
    await s.until(lambda: not citizen.in_call, "the switchboard hangs up", timeout_s=30)
    return citizen, citizen.heard(t0)


async def _booked_while_the_desk_is_busy(s):
    """The anagrafe's only member is on the phone; citizen A books a callback from the queue.
    Returns (the member's phone, still off hook; A)."""
    desk = s.phone("202")
    desk.off_hook()
    await s.wait(0.5)
    a, _ = await _books_callback(s, A)
    return desk, a


async def _member_calls_back(s, desk, a, timeout_s: float = 30.0):
    """The member's phone rings for the callback, is answered, A answers; done once it hangs up."""
    await s.until(lambda: desk.ringing, "the member rings for the callback", timeout_s=timeout_s)
    desk.off_hook()
    await s.until(lambda: a.in_call and a.call.answered, "citizen A answers", timeout_s=40)
    desk.on_hook()
    await s.until(lambda: s.daemon.status()["switchboard"]["queue_callbacks"]["completed"] == 1,
                  "the callback is done")


def test_a_caller_keeps_the_turn_and_is_called_back_by_the_member(tmp_path):
    async def story(s):
        desk = s.phone("202")
        desk.off_hook()  # busy: callers queue
        await s.wait(0.5)
        a, heard_a = await _books_callback(s, A)
        booked = dict(s.daemon.status()["switchboard"]["queue_callbacks"])
        console = _format_status(s.daemon.status())  # what the technician's `status` shows
        b = await call_in(s, B, line="fxo2")  # stays on the line, behind A's virtual place
        await s.until(lambda: b.call is not None and b.call.answered, "the voce guida answers")
        t_b = s.clock()
        await s.wait(1.0)
        await press(s, b, "1")
        await s.wait(14.0)
        heard_b = b.heard(t_b)
        desk.on_hook()  # free: A's turn comes first
        await s.until(lambda: desk.ringing, "the member rings for the callback", timeout_s=30)
        await s.until(lambda: desk.caller_ids, "caller ID on the member's phone", timeout_s=15)
        shown = desk.caller_ids[-1].number
        b_rung_first = any(e[1] == "ringing" and e[2].get("caller") == B for e in s.log)
        t_desk = s.clock()
        desk.off_hook()
        await s.until(lambda: a.in_call and a.call.answered, "citizen A answers the callback", timeout_s=40)
        briefing = desk.heard(t_desk)
        since = await listen(s)
        talked = hear_each_other(desk, a, since)
        desk.on_hook()
        await s.until(lambda: s.daemon.status()["switchboard"]["queue_callbacks"]["completed"] == 1,
                      "the callback is done")
        await s.until(lambda: desk.ringing, "then the member rings for B", timeout_s=30)
        desk.off_hook()
        since = await listen(s)
        b_talked = hear_each_other(desk, b, since)
        desk.on_hook()
        await s.wait(1.0)
        return (heard_a, booked, console, heard_b, shown, b_rung_first, briefing, talked, b_talked,
                s.records.last(10), s.tickets.list())

    (heard_a, booked, console, heard_b, shown, b_rung_first, briefing, talked, b_talked, records,
     tickets) = play(tmp_path, story, config=config_copy(tmp_path, _one_desk_with_callback))
    assert EARS.sequence(heard_a, [sentences.waiting(0), sentences.queue_callback_offer()])
    assert EARS.sequence(heard_a, [sentences.callback_number_is(), sentences.callback_confirm_or_correct(),
                                   sentences.queue_callback_booked()])
    assert booked["waiting"] == 1
    assert "queues    Ufficio Anagrafe: 1 waiting (1 to call back)" in console
    assert any(line.startswith("callbacks 1 booked in a queue waiting") for line in console)
    assert EARS.heard(heard_b, sentences.waiting(1))  # A's place still counts ahead of B
    assert shown == A and not b_rung_first
    assert EARS.heard(briefing, sentences.queue_callback_for_operator(EXAMPLE, ANAGRAFE))
    assert talked and b_talked
    by_caller = {r.caller: r for r in records if r.direction == "inbound"}
    assert by_caller[A].disposition == "callback" and "queue-callback" in by_caller[A].route
    out = [r for r in records if r.direction == "outbound" and r.called == A]
    assert len(out) == 1 and out[0].answered_at and "ext:202" in out[0].route
    assert by_caller[B].disposition == "answered"
    assert tickets == []  # served without a ticket


def test_a_citizen_who_never_answers_becomes_a_ticket_for_the_office(tmp_path):
    async def story(s):
        desk, a = await _booked_while_the_desk_is_busy(s)
        a.answer_after_s = 3600.0  # from now on A does not answer
        desk.on_hook()
        rings = 0
        for _ in range(2):  # the member takes each try and hangs up after ringing the citizen a while
            await s.until(lambda: desk.ringing, "the member rings for the callback", timeout_s=120)
            rings += 1
            desk.off_hook()
            await s.until(lambda: a.in_call, "the citizen is rung", timeout_s=30)
            await s.wait(20.0)
            desk.on_hook()
            await s.wait(1.0)
        await s.until(lambda: s.daemon.status()["switchboard"]["queue_callbacks"]["tickets"] == 1,
                      "the request becomes a ticket")
        await s.wait(1.0)
        rang_again = await _rings_within(s, desk, 90.0)
        return rings, s.tickets.list(), rang_again

    rings, tickets, rang_again = play(tmp_path, story, config=config_copy(tmp_path, _one_desk_with_callback))
    assert rings == 2 and not rang_again
    assert len(tickets) == 1
    assert (tickets[0].caller, tickets[0].office, tickets[0].status) == (A, "anagrafe", "open")
    assert tickets[0].reason == "queue_callback"


def test_a_place_still_waiting_when_the_switchboard_stops_becomes_a_ticket(tmp_path):
    async def story(s):
        await _booked_while_the_desk_is_busy(s)
        await s.stop()  # the daemon stops with A's place waiting
        return s.tickets.list()  # read straight from the file

    tickets = play(tmp_path, story, config=config_copy(tmp_path, _one_desk_with_callback))
    assert [(t.caller, t.office, t.reason) for t in tickets] == [(A, "anagrafe", "stopped")]


async def _rings_within(s, phone, seconds: float) -> bool:
    deadline = s.clock() + seconds
    while s.clock() < deadline:
        if phone.ringing:
            return True
        await s.wait(1.0)
    return False


def test_a_booked_callback_outlives_a_config_reload(tmp_path):
    from centralino.config.schema import load_settings

    config = config_copy(tmp_path, _one_desk_with_callback)

    async def story(s):
        desk, a = await _booked_while_the_desk_is_busy(s)
        changed = config.read_text().replace("ring_timeout_s: 60", "ring_timeout_s: 50")
        reloaded = tmp_path / "reloaded.yaml"
        reloaded.write_text(changed if changed != config.read_text() else config.read_text() + "\n# reloaded\n")
        result = await s.daemon.reconfigure(load_settings(reloaded))
        desk.on_hook()
        await _member_calls_back(s, desk, a)  # counted by the new configuration's host
        return result

    result = play(tmp_path, story, config=config)
    assert result["applied"] is True and result["changed"], result


def test_the_members_phone_failing_while_it_rings_costs_the_place_nothing(tmp_path):
    async def story(s):
        desk, a = await _booked_while_the_desk_is_busy(s)
        desk.on_hook()
        await s.until(lambda: desk.ringing, "the member rings for the callback", timeout_s=30)
        await s.face.run("bus fxs3 fail")  # the member's SLIC stops answering on SPI
        await s.until(lambda: not s.station("202")["in_service"], "the port goes out of service", timeout_s=30)
        waiting = dict(s.daemon.status()["switchboard"]["queue_callbacks"])
        await s.face.run("bus fxs3 recover")
        await s.until(lambda: s.station("202")["in_service"], "the port is back", timeout_s=120)
        await _member_calls_back(s, desk, a, timeout_s=120)
        return waiting, s.tickets.list()

    waiting, tickets = play(tmp_path, story, config=config_copy(tmp_path, _one_desk_with_callback))
    assert waiting["waiting"] == 1 and waiting["tickets"] == 0  # still waiting, not lost, no ticket
    assert tickets == []


def test_a_place_nobody_is_left_to_call_back_becomes_a_ticket(tmp_path):
    def short_wait(data):
        _one_desk_with_callback(data)
        data["offices"][0]["queue"]["max_wait_s"] = 60

    async def story(s):
        await _booked_while_the_desk_is_busy(s)
        await s.face.run("bus fxs3 fail")  # the only member's phone is gone
        await s.until(lambda: s.daemon.status()["switchboard"]["queue_callbacks"]["tickets"] == 1,
                      "the request becomes a ticket", timeout_s=200)
        return s.tickets.list()

    tickets = play(tmp_path, story, config=config_copy(tmp_path, short_wait))
    assert [(t.caller, t.office, t.reason) for t in tickets] == [(A, "anagrafe", "no_answer")]
