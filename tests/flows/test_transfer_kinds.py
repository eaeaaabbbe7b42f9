"""Every transfer target, as the caller hears it: an extension, a group's number and an office (its
group's number), each by blind and attended transfer; an office's queue (*44, at the caller's
place by their first call) and its segreteria (*45); and the codes that must change nothing."""

from __future__ import annotations

import sqlite3

import pytest

from centralino.flows import sentences
from centralino.hwsim.voices import hears
from centralino.media.frames import SAMPLE_RATE_HZ

from tests.engine.helpers import (CITIZEN, call_in, citizen_with_operator, config_copy, finished, flash_and_dial,
                                  hear_each_other, hears_tone_only, listen, play, tones)
from tests.flows.voce_helpers import EARS, EXAMPLE, VOCE_GUIDA_LINE, press

LATER_CALLER = "3330000002"


def _targets(data):
    """A group that is no office's (620, both phones ring) and an Anagrafe that hunts on after 5 s."""
    data["groups"].append({"name": "squadra", "number": "620", "members": ["205", "206"], "strategy": "ring_all"})
    anagrafe = next(g for g in data["groups"] if g["name"] == "anagrafe")
    anagrafe["member_timeout_s"] = 5


def _one_desk_anagrafe(data):
    anagrafe = next(g for g in data["groups"] if g["name"] == "anagrafe")
    anagrafe["members"] = ["202"]


# number, the phone that answers; the office's blind transfer is answered by its second member,
# after the first rang its 5 s: the hunt goes on after the operator hung up
TARGETS = {"extension": ("204", {"blind": "204", "attended": "204"}),
           "group": ("620", {"blind": "206", "attended": "205"}),
           "office": ("610", {"blind": "203", "attended": "202"})}


@pytest.mark.parametrize("how", ["blind", "attended"])
@pytest.mark.parametrize("kind", list(TARGETS))
def test_each_target_by_blind_and_attended_transfer(tmp_path, kind, how):
    number, answerers = TARGETS[kind]
    answerer = answerers[how]

    async def story(s):
        citizen, op = await citizen_with_operator(s)
        await flash_and_dial(s, op, number)
        target = s.phone(answerer)
        announced = True
        if how == "blind":
            await s.wait(0.3)
            op.on_hook()
            await s.until(lambda: s.station_state("200") == "idle", "the operator has hung up")
            await s.until(lambda: target.ringing, f"{answerer} rings", timeout_s=15)
            target.off_hook()
        else:
            await s.until(lambda: target.ringing, f"{answerer} rings", timeout_s=15)
            target.off_hook()
            announced = hear_each_other(op, target, await listen(s, 1.0))
            op.on_hook()
        talked = hear_each_other(citizen, target, await listen(s, 1.0))
        others_ringing = [p for p in ("202", "203", "204", "205", "206") if s.phone(p).ringing]
        target.on_hook()
        rows = await finished(s, 1)
        return announced, talked, others_ringing, s.station_state("200"), rows[-1]

    announced, talked, others_ringing, operator, row = play(tmp_path, story, config=config_copy(tmp_path, _targets))
    assert announced and talked
    assert others_ringing == [] and operator == "idle"
    assert (row.disposition, row.caller) == ("transferred", CITIZEN)
    last = row.route.split(">")[-1]  # attended: transfer:<who answered the enquiry>; blind: answered:<who>
    assert row.transfer_chain.startswith("200>")
    assert last == f"{'answered' if how == 'blind' else 'transfer'}:{answerer}"


def test_queue_transfer_keeps_the_place_of_the_first_call(tmp_path):
    """The citizen called first; while the operator talks to them, a later caller waits in the
    Anagrafe queue. Put in that queue, the citizen is ahead of them and gets the desk first."""

    async def story(s):
        citizen, op = await citizen_with_operator(s)
        desk = s.phone("202")
        desk.off_hook()  # the only Anagrafe desk is busy
        later = await call_in(s, LATER_CALLER, line=VOCE_GUIDA_LINE)
        await s.until(lambda: later.call is not None and later.call.answered, "the voce guida answers")
        await s.wait(1.0)
        await press(s, later, "1")
        await s.until(lambda: s.events("queue-position"), "the later caller waits in the queue", timeout_s=20)
        t0 = s.clock()
        await flash_and_dial(s, op, "*44610#")
        await s.until(lambda: len(s.events("queue-position")) == 2, "the citizen's place", timeout_s=10)
        await s.wait(10.0)  # the announcement
        in_queue, op_heard = citizen.heard(t0), op.heard(t0)
        since = await listen(s, 5.5)  # then the hold music, and no operator
        on_hold = citizen.heard(since)
        op.on_hook()
        desk.on_hook()  # the desk is free: the first in the queue rings it
        await s.until(lambda: desk.ringing, "the desk rings", timeout_s=10)
        desk.off_hook()
        queued = s.clock() - t0
        since = await listen(s)
        citizen_talks = hear_each_other(citizen, desk, since)
        later_talks = hears(later.heard(since), desk.voice.frequency_hz)
        positions = [e[2]["ahead"] for e in s.events("queue-position")]  # the later caller's, then the citizen's
        desk.on_hook()
        await finished(s, 1)
        row = next(r for r in s.records.last(2) if r.caller == CITIZEN)
        return in_queue, op_heard, on_hold, citizen_talks, later_talks, positions, row, queued

    in_queue, op_heard, on_hold, citizen_talks, later_talks, positions, row, queued = \
        play(tmp_path, story, config=config_copy(tmp_path, _one_desk_anagrafe))
    assert EARS.sequence(in_queue, sentences.queue_announcement(0, first=True))  # first: ahead of the later caller
    assert hears_tone_only(on_hold) and EARS.heard(op_heard, "grazie")
    assert positions == [0, 0]  # the later caller was first until the citizen was put before them
    assert citizen_talks and not later_talks
    # the record: the office, and the wait in its queue up to the desk's answer
    assert row.office == "anagrafe" and row.route.endswith("desk:office:anagrafe>office:anagrafe>answered:202")
    assert queued - 3.0 <= row.queued_s <= queued


def test_segreteria_transfer_takes_a_message_without_ringing(tmp_path):
    async def story(s):
        citizen, op = await citizen_with_operator(s)
        t0 = s.clock()
        await flash_and_dial(s, op, "*45204")  # Tributi's extension: the number ends by itself
        await s.wait(9.0)  # the greeting, the beep, then the citizen talks
        citizen.press("#")
        await s.until(lambda: len(s.finished) == 1, "the message is kept and the call ends", timeout_s=20)
        return citizen.heard(t0), s.phone("204").ring_bursts

    heard, rang = play(tmp_path, story)
    assert EARS.sequence(heard, ["segreteria", "messaggio_registrato", "arrivederci"])
    assert not rang
    with sqlite3.connect(tmp_path / "data" / "centralino.db") as db:  # read back from the file
        assert db.execute("SELECT office, caller FROM voicemails").fetchall() == [("tributi", CITIZEN)]
        assert db.execute("SELECT duration_s FROM voicemails").fetchone()[0] >= 2.0
        assert db.execute("SELECT disposition FROM calls WHERE direction = 'inbound'").fetchall() == [("voicemail",)]


@pytest.mark.parametrize("code", ["*44999#", "*45200#"], ids=["unknown-number", "number-of-no-office"])
def test_a_number_of_no_office_changes_nothing(tmp_path, code):
    async def story(s):
        citizen, op = await citizen_with_operator(s)
        t0 = s.clock()
        await flash_and_dial(s, op, code)
        await s.wait(4.5)
        op_heard, citizen_heard = op.heard(t0), citizen.heard(t0)
        await op.flash()  # back to the citizen, who was on hold all along
        talked = hear_each_other(op, citizen, await listen(s, 1.0))
        return op_heard, citizen_heard, talked, [e[2]["feature"] for e in s.events("refused")], s.events("desk")

    op_heard, citizen_heard, talked, refused, handed = play(tmp_path, story)
    assert "congestion" in tones(op_heard) and hears_tone_only(citizen_heard[-SAMPLE_RATE_HZ:])
    assert refused == ["transfer_queue" if code.startswith("*44") else "transfer_voicemail"]
    assert talked and handed == []


def test_a_transfer_code_without_a_caller_on_hold_gets_congestion(tmp_path):
    async def story(s):
        op = s.phone("200")
        op.off_hook()
        await s.wait(0.5)
        t0 = s.clock()
        await op.dial("*44610#")
        await s.wait(4.5)
        return op.heard(t0), [e[2]["why"] for e in s.events("refused")]

    heard, why = play(tmp_path, story)
    assert "congestion" in tones(heard) and why == ["no caller on hold"]


def test_a_caller_handed_to_the_segreteria_during_a_crisis_does_not_hear_the_crisis_announcement_again(tmp_path):
    async def story(s):
        s.daemon.flows.set_service_mode("crisis", by="test")
        citizen, op = await citizen_with_operator(s)  # a line routed to the operator: no voce guida
        t0 = s.clock()
        await flash_and_dial(s, op, "*45204")
        await s.wait(9.0)
        citizen.press("#")
        await s.until(lambda: len(s.finished) == 1, "the message is kept and the call ends", timeout_s=20)
        return citizen.heard(t0), s.records.last(1)[0]

    heard, record = play(tmp_path, story)
    assert EARS.heard(heard, "segreteria")
    assert not EARS.heard(heard, sentences.crisis_announcement(EXAMPLE))
    assert "crisis" in record.route  # still marked as a call of the crisis
