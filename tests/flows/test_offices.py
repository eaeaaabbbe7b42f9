"""Offices, hours, queues and overflow, as the caller hears them and as the records show them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from centralino.hwsim.voices import hears
from centralino.media.frames import SAMPLE_RATE_HZ

from tests.engine.helpers import config_copy, hear_each_other, listen, play
from centralino.flows import sentences
from tests.flows.voce_helpers import EARS, EXAMPLE, call_voce_guida, press

ROME = ZoneInfo("Europe/Rome")


def _all_lines_to_the_voce_guida(data):
    for line in data["lines"]:
        line["incoming"] = "menu:principale"


def _one_desk_anagrafe(data):
    _all_lines_to_the_voce_guida(data)
    data["groups"][0]["members"] = ["202"]
    data["offices"][0]["queue"] = {"max_wait_s": 70, "announce_every_s": 30}


async def _to_office(s, key: str, line: str, number: str):
    from tests.engine.helpers import call_in

    citizen = await call_in(s, number, line=line)
    await s.until(lambda: citizen.call is not None and citizen.call.answered, "the voce guida answers")
    await s.wait(1.0)
    citizen.pressed_at = s.clock()
    await press(s, citizen, key)
    return citizen


def test_callers_wait_in_the_queue_hear_their_position_and_overflow(tmp_path):
    async def story(s):
        desk = s.phone("202")
        desk.off_hook()  # the only anagrafe desk is busy (it is dialling)
        await s.wait(0.5)
        first = await _to_office(s, "1", "fxo1", "3330000001")
        t_first = first.pressed_at
        await s.wait(2.0)
        second = await _to_office(s, "1", "fxo2", "3330000002")
        t_second = second.pressed_at
        await s.wait(45.0)  # long enough for the first update of both positions
        desk.on_hook()  # the desk is free: the first caller is put through
        await s.until(lambda: desk.ringing, "the desk rings for the first caller")
        desk.off_hook()
        since = await listen(s)
        first_talks = hear_each_other(first, desk, since)
        # the second caller waits on, then overflows to the Sportello Cittadini
        sportello = [s.phone(n) for n in ("201", "203")]
        await s.until(lambda: any(p.ringing for p in sportello), "the sportello rings", timeout_s=90)
        return (first.heard(t_first), second.heard(t_second), first_talks,
                s.daemon.status()["switchboard"]["calls"], [e[2] for e in s.log if e[1] == "queue-position"])

    first, second, talks, calls, positions = play(tmp_path, story, config=config_copy(tmp_path, _one_desk_anagrafe))
    assert EARS.sequence(first, sentences.queue_announcement(0, first=True))
    assert EARS.sequence(second, [sentences.all_busy(), sentences.waiting(1), sentences.stay_on_line()])
    assert [p["ahead"] for p in positions][:2] == [0, 1]
    assert {"ahead": 1} in [{"ahead": p["ahead"]} for p in positions[2:]]  # the update 30 s later
    assert talks
    overflowed = [c for c in calls if c["overflowed"]]
    assert overflowed and overflowed[0]["office"] == "anagrafe"


def test_outside_the_hours_the_caller_hears_hours_and_email_then_leaves_a_message(tmp_path):
    evening = datetime(2026, 11, 24, 19, 0, tzinfo=ROME)  # a Tuesday evening

    async def story(s):
        citizen = await call_voce_guida(s)
        t0 = s.clock()
        await s.wait(1.0)
        await press(s, citizen, "1")
        await s.wait(45.0)  # hours, e-mail, the beep, then the caller talks for about 10 s
        citizen.hang_up()
        await s.until(lambda: len(s.finished) == 1, "the call ends")
        await s.wait(0.5)  # the segreteria stores the message as the caller hangs up
        messages = s.voicemail.list(office="anagrafe")
        audio = s.voicemail.samples(messages[0].id) if messages else np.zeros(0)
        return citizen.heard(t0), s.records.last(1)[0], messages, audio, citizen.voice.frequency_hz

    heard, row, messages, audio, voice_hz = play(tmp_path, story, start_at=evening)
    closed = sentences.closed_sentences(EXAMPLE, EXAMPLE.office("anagrafe"))
    assert [c.text for c in closed] == [
        "In questo momento non è possibile parlare con l'Ufficio Anagrafe.",
        "È possibile chiamare il lunedì, il mercoledì e il venerdì dalle 9 alle 12 e 30 e il martedì "
        "e il giovedì dalle 9 alle 12 e 30 e dalle 15 alle 17 e 30.",
        "Può scrivere all'indirizzo anagrafe chiocciola comune punto borgofiorito punto it."]
    assert EARS.sequence(heard, [*closed, "segreteria"])
    assert len(messages) == 1 and messages[0].caller == "3331234567"
    assert len(audio) > 5 * SAMPLE_RATE_HZ and hears(audio, voice_hz)  # the caller's own voice was kept
    assert (row.disposition, row.office) == ("voicemail", "anagrafe")


def test_on_a_holiday_the_offices_are_closed_for_the_holiday(tmp_path):
    immacolata = datetime(2026, 12, 8, 10, 0, tzinfo=ROME)  # a Tuesday, 10:00, but a national holiday

    async def story(s):
        citizen = await call_voce_guida(s)
        t0 = s.clock()
        await s.wait(1.0)
        await press(s, citizen, "1")
        await s.wait(12.0)
        return citizen.heard(t0), s.phone("202").ringing

    heard, rang = play(tmp_path, story, start_at=immacolata)
    assert EARS.heard(heard, sentences.closed_sentences(EXAMPLE, EXAMPLE.office("anagrafe"), holiday=True)[0])
    assert not rang


def test_closed_office_offers_a_callback_which_opens_a_ticket(tmp_path):
    async def story(s):  # Tuesday 09:00: the Tributi answer only on Monday and Thursday
        citizen = await call_voce_guida(s)
        t0 = s.clock()
        await s.wait(1.0)
        await press(s, citizen, "2")
        await s.until(lambda: any(e[1] == "callback" for e in s.log) or EARS.heard(
            citizen.heard(t0), sentences.callback_offer()), "the callback offer", timeout_s=60)
        await press(s, citizen, "1")
        # the caller ID is read back: 2 corrects it, the caller keys another number and confirms it
        await s.until(lambda: EARS.heard(citizen.heard(t0), sentences.callback_confirm_or_correct()),
                      "the number read back", timeout_s=30)
        await press(s, citizen, "2")
        await s.until(lambda: EARS.heard(citizen.heard(t0), sentences.callback_ask_number()),
                      "asked for another number", timeout_s=30)
        await press(s, citizen, "0571234567#", settle_s=1.0)
        await s.until(lambda: EARS.count(citizen.heard(t0), sentences.callback_confirm_or_correct()) == 2,
                      "the new number read back", timeout_s=30)
        await press(s, citizen, "1")
        await s.until(lambda: len(s.finished) == 1, "the voce guida says goodbye", timeout_s=60)
        return citizen.heard(t0), s.tickets.list(), s.records.last(1)[0]

    heard, tickets, row = play(tmp_path, story)
    closed = sentences.closed_sentences(EXAMPLE, EXAMPLE.office("tributi"))
    assert EARS.sequence(heard, [closed[0], sentences.callback_offer(), sentences.callback_number_is(),
                                 sentences.callback_ask_number(), sentences.callback_number_is(),
                                 sentences.callback_booked(), "arrivederci"])
    assert len(tickets) == 1
    ticket = tickets[0]
    assert (ticket.caller, ticket.office, ticket.status, ticket.reason, ticket.menu_path) == \
        ("0571234567", "tributi", "open", "closed", "2")
    assert (row.disposition, row.office) == ("callback", "tributi")
