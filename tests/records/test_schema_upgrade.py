"""A database written by the first centralino (schema 1) is upgraded in place, nothing lost."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from centralino.records.cdr import CdrStore
from centralino.records.database import SCHEMA_VERSION, RecordsError
from centralino.records.tickets import TicketStore

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)

# The file exactly as schema 1 (centralino before offices) created it, with one finished call.
SCHEMA_1 = """
CREATE TABLE "calls" ("id" INTEGER NOT NULL PRIMARY KEY, "call_id" VARCHAR(255) NOT NULL,
  "started_at" VARCHAR(255) NOT NULL, "answered_at" VARCHAR(255), "ended_at" VARCHAR(255),
  "duration_s" REAL NOT NULL, "billable_s" REAL NOT NULL, "direction" VARCHAR(255) NOT NULL,
  "caller" VARCHAR(255) NOT NULL, "called" VARCHAR(255) NOT NULL, "caller_name" VARCHAR(255) NOT NULL,
  "ports" VARCHAR(255) NOT NULL, "route" TEXT NOT NULL, "disposition" VARCHAR(255) NOT NULL,
  "cause" VARCHAR(255) NOT NULL, "transfer_chain" TEXT NOT NULL, "emergency" INTEGER NOT NULL);
CREATE UNIQUE INDEX "callrecord_call_id" ON "calls" ("call_id");
CREATE INDEX "callrecord_started_at" ON "calls" ("started_at");
CREATE INDEX "callrecord_disposition" ON "calls" ("disposition");
CREATE TABLE "schema_version" ("id" INTEGER NOT NULL PRIMARY KEY, "version" INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
INSERT INTO calls VALUES (1, 'old', '2026-11-23T08:00:00.000+00:00', '2026-11-23T08:00:05.000+00:00',
  '2026-11-23T08:01:05.000+00:00', 65.0, 60.0, 'inbound', '3331234567', '0558450100', 'ROSSI',
  'fxo1,fxs1', 'line:fxo1>ext:200', 'answered', 'normal_clearing', '', 0);
"""


def old_file(path):
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_1)
    return path


def columns(path, table="calls"):
    with sqlite3.connect(path) as db:
        return {row[1]: (row[2], row[3]) for row in db.execute(f'PRAGMA table_info("{table}")')}  # type, not null


def test_calls_table_gets_the_new_columns_and_keeps_its_rows(tmp_path):
    path = old_file(tmp_path / "old.db")
    with CdrStore(path) as store:
        [old] = store.last(5)
        assert (old.call_id, old.caller, old.billable_s, old.route) == ("old", "3331234567", 60.0, "line:fxo1>ext:200")
        assert (old.office, old.queued_s, old.overflowed, old.crisis) == ("", 0.0, False, False)
        store.open_call("new", started_at=T0, direction="inbound", caller="3339999999")
        row = store.finish_call("new", ended_at=T0 + timedelta(seconds=90), disposition="abandoned",
                                cause="caller_hangup", office="anagrafe", queued_s=42.5, overflowed=True)
        assert (row.office, row.queued_s, row.overflowed, row.disposition) == ("anagrafe", 42.5, True, "abandoned")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION == 5
        assert db.execute("SELECT call_id, office, queued_s, overflowed FROM calls ORDER BY id").fetchall() == \
            [("old", "", 0.0, 0), ("new", "anagrafe", 42.5, 1)]
    fresh = tmp_path / "fresh.db"
    CdrStore(fresh).close()
    assert columns(path) == columns(fresh)  # the same columns, types and NOT NULL as a new file
    with CdrStore(path) as again:  # reopening an upgraded file is a no-op
        assert [r.call_id for r in again.last(5)] == ["old", "new"]


def test_any_store_may_open_an_old_file_first(tmp_path):
    """The tickets store upgrading the file must not leave the calls table behind."""
    path = old_file(tmp_path / "old.db")
    TicketStore(path).close_database()
    assert {"office", "queued_s", "overflowed"} <= set(columns(path))
    with CdrStore(path) as store:
        assert store.last(1)[0].office == ""


def test_new_dispositions_are_accepted(tmp_path):
    with CdrStore(tmp_path / "c.db") as store:
        for n, disposition in enumerate(("abandoned", "voicemail", "callback")):
            store.open_call(f"c{n}", started_at=T0, direction="inbound", caller="3331234567")
            assert store.finish_call(f"c{n}", ended_at=T0, disposition=disposition, cause="").disposition == disposition


def test_a_schema_1_file_missing_an_old_column_is_still_refused(tmp_path):
    """The upgrade adds only what schema 2 added: a table lacking older columns is not ours."""
    path = tmp_path / "odd.db"
    with sqlite3.connect(path) as db:
        db.executescript('CREATE TABLE "schema_version" ("id" INTEGER NOT NULL PRIMARY KEY, "version" INTEGER NOT NULL);'
                         "INSERT INTO schema_version (version) VALUES (1);"
                         'CREATE TABLE "calls" ("id" INTEGER NOT NULL PRIMARY KEY, "call_id" VARCHAR(255));')
    before = path.read_bytes()
    with pytest.raises(RecordsError, match="table 'calls' lacks columns .*started_at"):
        CdrStore(path)
    assert path.read_bytes() == before


def test_a_schema_2_outbox_gets_its_message_id_column(tmp_path):
    """Mails queued by the previous centralino keep their text; their Message-ID column is empty."""
    from centralino.records.outbox import OutboxStore

    path = tmp_path / "v2.db"
    with sqlite3.connect(path) as db:
        db.executescript('CREATE TABLE "schema_version" ("id" INTEGER NOT NULL PRIMARY KEY, "version" INTEGER NOT NULL);'
                         "INSERT INTO schema_version (version) VALUES (2);"
                         'CREATE TABLE "outbox" ("id" INTEGER NOT NULL PRIMARY KEY, "message" TEXT NOT NULL, '
                         '"to" VARCHAR(255) NOT NULL, "subject" VARCHAR(255) NOT NULL, "created_at" VARCHAR(255) '
                         'NOT NULL, "attempts" INTEGER NOT NULL, "last_error" TEXT NOT NULL, "next_attempt_at" '
                         'VARCHAR(255), "sent_at" VARCHAR(255));'
                         "INSERT INTO outbox VALUES (1, 'Subject: old', 'a@b.it', 'old', "
                         "'2026-11-23T08:00:00.000+00:00', 0, '', NULL, NULL);")
    with OutboxStore(path) as box:
        [old] = box.pending()
        assert (old.subject, old.message, old.message_id) == ("old", "Subject: old", "")
    assert "message_id" in columns(path, "outbox")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
