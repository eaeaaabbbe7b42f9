"""Calls during the crisis service in the records and the tables staff read: the ``crisis`` flag
added to an older file without losing a row, counted by ``centralino stats``, marked by
``centralino cdr``; and offices shown by their display names (Empoli's ``pm_sinistri`` is the
"Ufficio sinistri" everywhere a person reads it)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from centralino.cli import main
from centralino.cli.cdr import format_table
from centralino.cli.console import format_result
from centralino.config.names import display_names
from centralino.config.schema import load_settings
from centralino.records.cdr import CdrStore
from centralino.records.database import SCHEMA_VERSION
from centralino.records.tickets import TicketStore
from centralino.records.voicemail import VoicemailStore

EMPOLI = Path(__file__).resolve().parents[2] / "examples" / "empoli.yaml"
T0 = datetime(2026, 11, 24, 21, 0, tzinfo=timezone.utc)  # 22:00 in Empoli
IDENTIFIERS = ("pm_sinistri", "pm_polizia", "pm_uffici", "menu:polizia")


def _call(store, call_id, at, crisis, answered=True, office="pm_sinistri"):
    store.open_call(call_id, started_at=at, direction="inbound", caller="3331234567", called="0571757911",
                    route="line:fxo3" + (">crisis" if crisis else "") + f">menu:polizia>office:{office}", crisis=crisis)
    store.finish_call(call_id, ended_at=at + timedelta(seconds=60), disposition="answered" if answered else "abandoned",
                      cause="", answered_at=at + timedelta(seconds=5) if answered else None, office=office)


def test_an_older_file_gets_the_crisis_column_and_keeps_every_row(tmp_path):
    path = tmp_path / "v4.db"
    with CdrStore(path) as store:
        _call(store, "before-1", T0, crisis=False)
        _call(store, "before-2", T0 + timedelta(minutes=1), crisis=False)
    with sqlite3.connect(path) as db:  # the file as schema 4 left it: no crisis column
        db.execute('ALTER TABLE "calls" DROP COLUMN "crisis"')
        db.execute("UPDATE schema_version SET version = 4")
    with CdrStore(path) as store:
        assert [(r.call_id, r.crisis) for r in store.last(5)] == [("before-1", False), ("before-2", False)]
        _call(store, "during", T0 + timedelta(minutes=2), crisis=True)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT call_id, crisis FROM calls ORDER BY id").fetchall() == \
            [("before-1", 0), ("before-2", 0), ("during", 1)]
        assert db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION == 5


def _empoli_records(path: Path) -> Path:
    with CdrStore(path) as store:
        _call(store, "c1", T0, crisis=True)
        _call(store, "c2", T0 + timedelta(minutes=5), crisis=True, answered=False)
        _call(store, "c3", T0 + timedelta(minutes=9), crisis=True, office="urp")
        _call(store, "c4", T0 - timedelta(hours=2), crisis=False)  # 20:00, before the crisis
    with TicketStore(path) as tickets:
        tickets.open_ticket("c2", "3331234567", "pm_sinistri", T0 + timedelta(minutes=6), reason="no_answer")
    return path


def _cli(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    out, err = capsys.readouterr()
    return out


def test_stats_count_the_calls_during_the_crisis_per_office_by_their_names(tmp_path, capsys):
    database = _empoli_records(tmp_path / "c.db")
    out = _cli(capsys, "stats", "--config", str(EMPOLI), "--database", str(database), "--day", "2026-11-24")
    lines = out.splitlines()
    assert "During the crisis service (Protezione Civile): 3 call(s), 2 answered" in lines
    start = lines.index("During the crisis service (Protezione Civile): 3 call(s), 2 answered")
    assert lines[start + 2].split() == ["Ufficio", "Protocollo-URP", "1", "1"]
    assert lines[start + 3].split() == ["Ufficio", "sinistri", "2", "1"]
    assert "Ufficio sinistri" in out and not any(ident in out for ident in IDENTIFIERS)
    assert max(len(line) for line in lines) <= 80
    quiet = _cli(capsys, "stats", "--config", str(EMPOLI), "--database", str(database), "--day", "2026-11-23")
    assert "During the crisis service (Protezione Civile): 0 call(s), 0 answered" in quiet


def test_cdr_tickets_and_console_tables_show_display_names(tmp_path, capsys):
    database = _empoli_records(tmp_path / "c.db")
    cdr = _cli(capsys, "cdr", "--config", str(EMPOLI), "--database", str(database))
    rows = cdr.splitlines()[1:]
    assert [row.split()[7] for row in rows] == ["-", "PC", "PC", "PC"]  # oldest first: c4 before the crisis
    with CdrStore(database) as store:  # the route's names, on a screen wide enough to show it whole
        wide = format_table(store.last(1), "Europe/Rome", width=200, names=display_names(load_settings(EMPOLI)))
    assert "line:fxo3>crisis>menu:Polizia Municipale>office:Ufficio Protocollo-URP" in wide
    tickets = _cli(capsys, "tickets", "--config", str(EMPOLI), "--database", str(database), "--state", "all")
    assert "Ufficio si" in tickets
    settings = load_settings(EMPOLI)
    with VoicemailStore(database, tmp_path / "voicemail") as store:
        message = store.save("c2", "pm_sinistri", "3331234567", T0, np.zeros(8000, dtype=np.int16))
    console = format_result(["voicemail"], {"timezone": "Europe/Rome", "names": display_names(settings),
                                            "messages": [message.as_dict()]})
    assert "Ufficio sinistr" in console  # cut to its column
    for out in (cdr, wide, tickets, console):
        assert not any(ident in out for ident in IDENTIFIERS), out
