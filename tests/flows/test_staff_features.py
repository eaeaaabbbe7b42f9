"""What office staff do from their phones: log out and in, day and night service, the segreteria,
and the next callback."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from centralino.hwsim.voices import hears

from tests.engine.helpers import finished, lift_and_dial, listen, play
from centralino.flows import sentences
from tests.flows.voce_helpers import EARS, EXAMPLE, call_voce_guida, phrase, press

ROME = ZoneInfo("Europe/Rome")


async def _feature(s, extension: str, code: str, seconds: float = 6.0):
    """The phone of ``extension`` dials a feature code; returns what it heard."""
    phone = s.phone(extension)
    t0 = s.clock()
    await lift_and_dial(s, extension, code)
    await s.wait(seconds)
    heard = phone.heard(t0)
    phone.on_hook()
    await s.wait(0.5)
    return heard


def test_a_desk_that_logs_out_is_skipped_and_rings_again_after_logging_in(tmp_path):
    async def story(s):
        away = await _feature(s, "202", "*62")
        citizen = await call_voce_guida(s)
        await s.wait(1.0)
        await press(s, citizen, "1")
        other = s.phone("203")
        await s.until(lambda: other.ringing, "the other anagrafe desk rings")
        skipped = not s.phone("202").ringing
        back = await _feature(s, "202", "*61")
        return away, skipped, back, s.station("202")["logged_in"]

    away, skipped, back, logged_in = play(tmp_path, story)
    assert EARS.heard(away, "fuori_servizio") and skipped
    assert EARS.heard(back, "in_servizio") and logged_in


def test_the_operator_switches_to_night_service_and_offices_answer_as_closed(tmp_path):
    async def story(s):
        refused = await _feature(s, "202", "*52")  # not an operator
        mode_after_refusal = s.daemon.status()["switchboard"]["service_mode"]
        confirmed = await _feature(s, "200", "*52")
        citizen = await call_voce_guida(s)
        t0 = s.clock()
        await s.wait(1.0)
        await press(s, citizen, "1")
        await s.wait(6.0)
        heard = citizen.heard(t0)
        await _feature(s, "200", "*50")
        return refused, mode_after_refusal, confirmed, heard, s.daemon.status()["switchboard"]["service_mode"]

    refused, mode_after_refusal, confirmed, heard, mode_at_end = play(tmp_path, story)
    assert mode_after_refusal == "auto" and not EARS.heard(refused, "servizio_notte")
    assert EARS.heard(confirmed, "servizio_notte")
    # 09:00 on a Tuesday, but the night service is on
    assert EARS.heard(heard, sentences.closed_sentences(EXAMPLE, EXAMPLE.office("anagrafe"))[0])
    assert mode_at_end == "auto"


def test_a_message_left_at_night_is_heard_from_an_office_phone_and_marked(tmp_path):
    evening = datetime(2026, 11, 24, 19, 0, tzinfo=ROME)

    async def story(s):
        citizen = await call_voce_guida(s)
        await s.wait(1.0)
        await press(s, citizen, "1")
        await s.until(lambda: any(e[1] == "flow" for e in s.log) and EARS.heard(
            citizen.heard(s.clock() - 3.0), "segreteria"), "the segreteria's greeting", timeout_s=60)
        await s.wait(8.0)
        citizen.hang_up()
        await finished(s, 1)
        await s.wait(0.5)
        heard = await _feature(s, "203", "*98", seconds=20.0)
        return heard, citizen.voice.frequency_hz, s.voicemail.list()

    heard, voice_hz, messages = play(tmp_path, story, start_at=evening)
    assert EARS.sequence(heard, phrase("avete", ["un nuovo messaggio"], "fine_messaggi"))
    assert hears(heard, voice_hz)  # the caller's own voice, played back
    assert len(messages) == 1 and messages[0].heard_by == "203"


def test_the_next_callback_calls_the_citizen_and_closes_the_ticket(tmp_path):
    async def story(s):
        citizen = s.remote("3339876543")
        ticket = s.tickets.open_ticket("c1", "3339876543", "anagrafe", s.wall_clock(), "1", "no_answer")
        desk = s.phone("202")
        await lift_and_dial(s, "202", "*97")
        await s.until(lambda: citizen.in_call and citizen.call.answered, "the citizen answers", timeout_s=30)
        in_progress = s.tickets.get(ticket.id).status
        since = await listen(s)
        talked = hears(citizen.heard(since), desk.voice.frequency_hz)
        desk.on_hook()
        await s.until(lambda: s.tickets.get(ticket.id).status == "closed", "the ticket closes")
        return in_progress, talked, s.tickets.get(ticket.id)

    in_progress, talked, ticket = play(tmp_path, story)
    assert in_progress == "in_progress" and talked
    assert (ticket.status, ticket.closed_by) == ("closed", "202")


def test_no_pending_callback_is_said_so(tmp_path):
    async def story(s):
        return await _feature(s, "202", "*97")

    assert EARS.heard(play(tmp_path, story), "nessuna_richiamata")


def test_a_callback_nobody_answers_goes_back_to_the_pending_ones(tmp_path):
    async def story(s):
        s.remote("3339876543", answer_after_s=600.0)
        ticket = s.tickets.open_ticket("c1", "3339876543", "anagrafe", s.wall_clock(), "1", "busy")
        desk = s.phone("202")
        await lift_and_dial(s, "202", "*97")
        await s.until(lambda: s.tickets.get(ticket.id).status == "in_progress", "the ticket is taken")
        await s.wait(10.0)
        desk.on_hook()
        await s.until(lambda: s.tickets.get(ticket.id).status != "in_progress", "the ticket is released")
        return s.tickets.get(ticket.id), s.tickets.next_pending("anagrafe")

    ticket, pending = play(tmp_path, story)
    assert ticket.status == "open" and pending.id == ticket.id
