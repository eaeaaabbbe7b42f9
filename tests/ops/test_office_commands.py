"""Tickets and voicemail from the console, through the control socket of a running switchboard."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from pathlib import Path

import numpy as np

from centralino.config.mail_schema import Mail
from centralino.config.schema import load_settings
from centralino.hwsim.clock import run
from centralino.hwsim.scenario import Scenario

from .conftest import EXAMPLE
from .test_control import control_session


def tone(freq_hz: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 8000)) / 8000
    return (6000 * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


def test_tickets_list_and_close(tmp_path, caplog):
    async def story(s, client, ctx):
        tickets, now = s.tickets, s.wall_clock()
        tickets.open_ticket("c1", "3331111111", "anagrafe", now, "1", "busy")
        tickets.open_ticket("c2", "3332222222", "tributi", now + timedelta(minutes=1), "2", "no_answer")
        tickets.open_ticket("c3", "3333333333", "anagrafe", now + timedelta(minutes=2), "1", "closed")
        tickets.take(3, "202", now + timedelta(minutes=5))
        tickets.open_ticket("c4", "3334444444", "anagrafe", now, "1", "requested")
        tickets.close(4, "202", now + timedelta(minutes=3))
        answers = {"open": await client.ask("tickets"),
                   "open2": await client.ask("tickets", "open"),
                   "all": await client.ask("tickets", "all"),
                   "anagrafe": await client.ask("tickets", "anagrafe"),
                   "close": await client.ask("ticket", "close", "1", "richiamato,", "tutto", "chiarito"),
                   "again": await client.ask("ticket close", "1"),
                   "missing": await client.ask("ticket close", "99"),
                   "word": await client.ask("ticket close", "uno"),
                   "bare": await client.ask("ticket close"),
                   "office": await client.ask("tickets", "ragioneria"),
                   "after": await client.ask("tickets")}
        return answers, tickets.get(1)

    with caplog.at_level(logging.INFO, logger="centralino.control"):
        answers, closed = control_session(tmp_path, story)
    open_ = answers["open"]["result"]
    assert open_["timezone"] == "Europe/Rome"
    assert [(t["id"], t["status"]) for t in open_["tickets"]] == [(1, "open"), (2, "open"), (3, "in_progress")]
    assert answers["open2"] == answers["open"]
    assert [t["id"] for t in answers["all"]["result"]["tickets"]] == [1, 4, 2, 3]  # by time opened
    assert [t["id"] for t in answers["anagrafe"]["result"]["tickets"]] == [1, 3]
    t = answers["open"]["result"]["tickets"][0]
    assert (t["caller"], t["office"], t["menu_path"], t["reason"]) == ("3331111111", "anagrafe", "1", "busy")
    assert answers["close"]["ok"] and answers["close"]["result"]["status"] == "closed"
    assert (closed.status, closed.closed_by, closed.note) == ("closed", "console", "richiamato, tutto chiarito")
    errors = {k: a["error"] for k, a in answers.items() if not a["ok"]}
    assert set(errors) == {"again", "missing", "word", "bare", "office"}
    assert errors["again"].startswith("ticket close: ticket 1 is already closed (by console at ")
    assert errors["missing"] == "ticket close: no ticket 99"
    assert errors["word"] == "ticket close: N must be a whole number from 1, got 'uno'; " \
                             "usage: ticket close N [NOTE...]"
    assert errors["bare"].startswith("ticket close: which number?")
    assert errors["office"].startswith("tickets: no office 'ragioneria'; offices: anagrafe, tributi")
    assert [t["id"] for t in answers["after"]["result"]["tickets"]] == [2, 3]
    audited = [r.getMessage() for r in caplog.records if "ran by" in r.getMessage()]
    assert any(m.startswith("control: ticket close 1 richiamato, tutto chiarito ran by uid") for m in audited)
    assert not any("control: tickets" in m for m in audited)  # listing is not audited


def test_voicemail_list_heard_delete(tmp_path, caplog):
    async def story(s, client, ctx):
        vm, now = s.voicemail, s.wall_clock()
        a = vm.save("c1", "anagrafe", "3331111111", now, tone(500, 1.0))
        vm.save("c2", "tributi", "3332222222", now + timedelta(minutes=1), tone(600, 2.0))
        vm.save("c3", "anagrafe", "", now + timedelta(minutes=2), tone(700, 0.5))
        answers = {"all": await client.ask("voicemail"),
                   "anagrafe": await client.ask("voicemail", "anagrafe"),
                   "heard": await client.ask("voicemail", "heard", "1"),
                   "after": await client.ask("voicemail", "anagrafe"),
                   "delete": await client.ask("voicemail delete", "3"),
                   "gone": await client.ask("voicemail heard", "3"),
                   "gone2": await client.ask("voicemail delete", "3"),
                   "bad": await client.ask("voicemail heard", "x"),
                   "office": await client.ask("voicemail", "archivio"),
                   "left": await client.ask("voicemail")}
        return answers, Path(a.path), s.data_dir

    with caplog.at_level(logging.INFO, logger="centralino.control"):
        answers, first_path, data_dir = control_session(tmp_path, story)
    assert first_path.parent == data_dir / "voicemail" / "anagrafe"  # beside the database
    every = answers["all"]["result"]
    assert every["unheard"] == 3 and [m["id"] for m in every["messages"]] == [1, 2, 3]
    assert every["messages"][1]["duration_s"] == 2.0 and every["timezone"] == "Europe/Rome"
    assert [m["id"] for m in answers["anagrafe"]["result"]["messages"]] == [1, 3]
    heard = answers["heard"]["result"]
    assert heard["heard_by"] == "console" and heard["heard_at"]
    assert answers["after"]["result"]["unheard"] == 1
    assert answers["delete"]["result"]["deleted"] == 3
    assert not list((data_dir / "voicemail" / "anagrafe").glob("*-3.wav"))
    assert answers["gone"]["error"] == "voicemail heard: no voicemail message 3"
    assert answers["gone2"]["error"] == "voicemail delete: no voicemail message 3"
    assert answers["bad"]["error"].startswith("voicemail heard: N must be a whole number from 1, got 'x'")
    assert answers["office"]["error"].startswith("voicemail: no office 'archivio'; offices: anagrafe")
    assert [m["id"] for m in answers["left"]["result"]["messages"]] == [1, 2]
    audited = [r.getMessage() for r in caplog.records if "ran by" in r.getMessage()]
    assert any(m.startswith("control: voicemail heard 1 ran by") for m in audited)
    assert any(m.startswith("control: voicemail delete 3 ran by") for m in audited)


def test_help_lists_the_office_commands(tmp_path):
    async def story(s, client, ctx):
        return await client.ask("help"), await client.ask("help", "ticket", "close")

    listing, one = control_session(tmp_path, story)
    usages = {c["usage"] for c in listing["result"]["commands"]}
    assert {"tickets [open|all|OFFICE]", "ticket close N [NOTE...]", "voicemail [OFFICE]",
            "voicemail heard N", "voicemail delete N"} <= usages
    assert one["result"]["help"].startswith("usage: ticket close N [NOTE...]")


def test_the_daemon_runs_the_mailer_only_with_a_mail_section(tmp_path):
    base = load_settings(EXAMPLE)
    mail = Mail(smtp_host="127.0.0.1", smtp_port=2525, security="none", username=None, password=None,
                sender="centralino@comune.example.it", timeout_s=5.0)

    async def main():
        async with Scenario(base, tmp_path / "plain") as s:
            plain = (s.daemon.mailer, s.daemon.flows.records is s.daemon.writer, s.daemon.writer is not None)
        s = Scenario(dataclasses.replace(base, mail=mail), tmp_path / "mail")
        await s.start()
        daemon = s.daemon
        task = daemon._mailer_task
        running = task is not None and not task.done() and s.daemon.flows.mailer is daemon.mailer
        await s.stop()
        return plain, running, task.cancelled(), daemon.writer.status()["state"] == "closed"

    plain, running, cancelled, closed = run(main)
    assert plain == (None, True, True)
    assert running and cancelled and closed
