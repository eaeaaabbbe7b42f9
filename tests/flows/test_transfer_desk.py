"""The operator's failed-transfer desk: what the operator hears, and the three outcomes the caller hears."""

from __future__ import annotations

import sqlite3

from tests.engine.helpers import CITIZEN, citizen_with_operator, config_copy, flash_and_dial, play, rings_no_more
from tests.flows.voce_helpers import EARS, phrase


def _desk(data):
    data["features"]["transfer_recall_s"] = 10
    tributi = next(o for o in data["offices"] if o["name"] == "tributi")
    tributi["subjects"] = {1: "IMU", 2: {"name": "TARI", "deadline": "40_days"}}


async def _failed_transfer(s):
    """The operator blind-transfers a citizen to Tributi (204), nobody answers, the call comes back."""
    citizen, op = await citizen_with_operator(s)
    await op.flash()
    await s.wait(0.5)
    await op.dial("204")
    await s.wait(0.3)
    op.on_hook()
    await s.until(lambda: s.phone("204").ringing, "Tributi rings")
    await s.until(lambda: op.ringing, "the call comes back to the operator", timeout_s=20)
    answered = s.clock()
    op.off_hook()
    await s.wait(4.0)
    return citizen, op, op.heard(answered)


def test_a_callback_ticket_with_its_subject_from_the_failed_transfer(tmp_path):
    async def story(s):
        citizen, op, in_the_ear = await _failed_transfer(s)
        t0 = s.clock()
        await flash_and_dial(s, op, "*422#")
        await s.until(lambda: len(s.finished) == 1, "the caller is told and the call ends", timeout_s=40)
        return in_the_ear, citizen.heard(t0), op.heard(t0)

    in_the_ear, caller_heard, op_heard = play(tmp_path, story, config=config_copy(tmp_path, _desk))
    assert EARS.sequence(in_the_ear, ["ufficio_tributi", "non_risponde"])
    assert EARS.sequence(caller_heard, phrase("richiamata_conferma", [CITIZEN], "richiamata_registrata",
                                              "arrivederci"))
    assert EARS.heard(op_heard, "grazie")
    with sqlite3.connect(tmp_path / "data" / "centralino.db") as db:  # read back from the file
        assert db.execute("SELECT caller, office, reason, subject, deadline, status FROM tickets").fetchall() == \
            [(CITIZEN, "tributi", "transfer_failed", "2", "40_days", "open")]
        assert db.execute("SELECT by, action FROM ticket_history").fetchall() == [("200", "opened")]
        assert db.execute("SELECT disposition FROM calls WHERE direction = 'inbound'").fetchall() == [("callback",)]


def test_the_caller_to_the_office_segreteria_or_the_transfer_again(tmp_path):
    async def story(s):
        citizen, op, _ = await _failed_transfer(s)
        t0 = s.clock()
        await flash_and_dial(s, op, "*41")
        await s.wait(12.0)
        to_segreteria = citizen.heard(t0)
        citizen.hang_up()
        await s.until(lambda: len(s.finished) == 1, "the first call ends", timeout_s=10)
        op.on_hook()
        await s.wait(1.0)
        second, op, _ = await _failed_transfer(s)
        await flash_and_dial(s, op, "*43")
        await s.wait(0.5)
        op.on_hook()
        target = s.phone("204")
        await s.until(lambda: target.ringing, "Tributi rings again", timeout_s=10)
        target.off_hook()
        await s.wait(2.0)
        talking = s.station_state("204") == "talking"
        bogus_rang = await rings_no_more(s, op, 0.5)
        return to_segreteria, talking, bogus_rang

    to_segreteria, talking, op_quiet = play(tmp_path, story, config=config_copy(tmp_path, _desk))
    assert EARS.heard(to_segreteria, "segreteria")
    assert talking and op_quiet


def test_a_desk_code_without_a_failed_transfer_changes_nothing(tmp_path):
    async def story(s):
        op = s.phone("200")
        op.off_hook()
        await s.wait(0.5)
        await op.dial("*41")
        await s.wait(1.0)
        return [e[2] for e in s.log if e[1] == "refused"], s.tickets.list()

    refused, tickets = play(tmp_path, story, config=config_copy(tmp_path, _desk))
    assert refused and refused[0]["feature"] == "desk_voicemail" and tickets == []
