"""Tickets with a life cycle: deadlines that waiting suspends, the history, and old files adopted."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from centralino.records.database import SCHEMA_VERSION
from centralino.records.tickets import TicketError, TicketStore, state_name

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)  # 09:00 in Rome

# The tickets table exactly as schema 3 created it, with a ticket in each state of the time.
SCHEMA_3_TICKETS = """
CREATE TABLE "schema_version" ("id" INTEGER NOT NULL PRIMARY KEY, "version" INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (3);
CREATE TABLE "tickets" ("id" INTEGER NOT NULL PRIMARY KEY, "call_id" VARCHAR(255) NOT NULL,
  "caller" VARCHAR(255) NOT NULL, "office" VARCHAR(255) NOT NULL, "opened_at" VARCHAR(255) NOT NULL,
  "menu_path" VARCHAR(255) NOT NULL, "reason" VARCHAR(255) NOT NULL, "status" VARCHAR(255) NOT NULL,
  "taken_at" VARCHAR(255), "taken_by" VARCHAR(255) NOT NULL, "closed_at" VARCHAR(255),
  "closed_by" VARCHAR(255) NOT NULL, "note" TEXT NOT NULL);
CREATE INDEX "ticket_office" ON "tickets" ("office");
CREATE INDEX "ticket_opened_at" ON "tickets" ("opened_at");
CREATE INDEX "ticket_status" ON "tickets" ("status");
INSERT INTO tickets VALUES (1, 'c1', '3331111111', 'anagrafe', '2026-11-20T08:00:00.000+00:00', '1', 'busy',
  'open', NULL, '', NULL, '', '');
INSERT INTO tickets VALUES (2, 'c2', '3332222222', 'tributi', '2026-11-21T08:00:00.000+00:00', '2', 'no_answer',
  'in_progress', '2026-11-21T09:00:00.000+00:00', '202', NULL, '', '');
INSERT INTO tickets VALUES (3, 'c3', '0551234567', 'tributi', '2026-11-22T08:00:00.000+00:00', '', 'requested',
  'closed', '2026-11-22T09:00:00.000+00:00', '202', '2026-11-22T10:00:00.000+00:00', '202', 'fatto');
"""


def rows(path, sql):
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def test_an_old_file_keeps_every_ticket_and_gets_due_times_and_history(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_3_TICKETS)
    TicketStore(path).close_database()
    # read back from the file, not through the store
    assert rows(path, "SELECT id, call_id, caller, office, status, taken_by, closed_at, note, deadline, due_at "
                      "FROM tickets ORDER BY id") == [
        (1, "c1", "3331111111", "anagrafe", "open", "", None, "", "7_days", "2026-11-27T08:00:00.000+00:00"),
        (2, "c2", "3332222222", "tributi", "in_progress", "202", None, "", "7_days", "2026-11-28T08:00:00.000+00:00"),
        (3, "c3", "0551234567", "tributi", "closed", "202", "2026-11-22T10:00:00.000+00:00", "fatto", "7_days",
         "2026-11-29T08:00:00.000+00:00")]
    assert rows(path, "SELECT ticket, action, by, at FROM ticket_history ORDER BY id") == [
        (1, "opened", "", "2026-11-20T08:00:00.000+00:00"),
        (2, "opened", "", "2026-11-21T08:00:00.000+00:00"), (2, "taken", "202", "2026-11-21T09:00:00.000+00:00"),
        (3, "opened", "", "2026-11-22T08:00:00.000+00:00"), (3, "taken", "202", "2026-11-22T09:00:00.000+00:00"),
        (3, "closed", "202", "2026-11-22T10:00:00.000+00:00")]
    assert rows(path, "SELECT MAX(version) FROM schema_version") == [(SCHEMA_VERSION,)]
    with TicketStore(path) as store:  # a second opening adds nothing, and the old tickets go on living
        assert len(store.history(3)) == 3
        assert store.take(1, "203", T0).status == "in_progress"
    fresh = tmp_path / "fresh.db"
    TicketStore(fresh).close_database()
    info = "SELECT name, type, \"notnull\" FROM pragma_table_info('tickets') ORDER BY name"
    assert rows(path, info) == rows(fresh, info)


def test_waiting_suspends_the_deadline_and_every_change_is_in_the_history(tmp_path):
    path = tmp_path / "c.db"
    with TicketStore(path) as store:
        t = store.open_ticket("a", "3331234567", "tributi", T0, "2", "requested", subject="1", deadline="7_days",
                              by="200")
        assert t.due_at == "2026-12-01T08:00:00.000+00:00"
        store.take(t.id, "202", T0 + timedelta(hours=1))
        store.wait(t.id, "202", T0 + timedelta(days=2), "Agenzia delle Entrate")
        assert store.overdue(T0 + timedelta(days=30)) == []  # waiting: never overdue
        with pytest.raises(TicketError, match="waiting for Agenzia delle Entrate"):
            store.take(t.id, "203", T0 + timedelta(days=3))
        resumed = store.resume(t.id, "202", T0 + timedelta(days=5))
        assert (resumed.status, resumed.waited_s) == ("in_progress", 3 * 86400.0)
        assert resumed.due_at == "2026-12-04T08:00:00.000+00:00"  # 3 days later
        assert [r.id for r in store.overdue(T0 + timedelta(days=10, seconds=1))] == [t.id]
        assert store.overdue(T0 + timedelta(days=9, hours=23)) == []
        closed = store.close(t.id, "202", T0 + timedelta(days=6), "pratica chiusa", outcome="resolved")
        assert (closed.status, closed.outcome) == ("closed", "resolved")
        with pytest.raises(ValueError, match="unknown ticket outcome 'fine'"):
            store.close(store.open_ticket("b", "3331", "tributi", T0).id, "x", T0, outcome="fine")
    assert rows(path, "SELECT action, by, state, detail FROM ticket_history WHERE ticket = 1 ORDER BY id") == [
        ("opened", "200", "open", "requested, subject 1"), ("taken", "202", "in_progress", ""),
        ("waiting", "202", "waiting", "Agenzia delle Entrate"), ("resumed", "202", "in_progress", "waited 259200 s"),
        ("closed", "202", "closed", "resolved: pratica chiusa")]
    assert rows(path, "SELECT status, outcome, waited_s, due_at FROM tickets WHERE id = 1") == \
        [("closed", "resolved", 259200.0, "2026-12-04T08:00:00.000+00:00")]


def test_same_day_ends_at_local_midnight_and_states_have_everyday_names(tmp_path):
    with TicketStore(tmp_path / "c.db") as store:
        late = store.open_ticket("a", "3331", "anagrafe", datetime(2026, 11, 24, 23, 30, tzinfo=timezone.utc),
                                 deadline="same_day")
        assert late.due_at == "2026-11-25T23:00:00.000+00:00"  # 00:30 of the 25th in Rome
        with pytest.raises(ValueError, match="unknown deadline class '3_days'"):
            store.open_ticket("b", "3331", "anagrafe", T0, deadline="3_days")
        with pytest.raises(ValueError, match="say whom"):
            store.wait(late.id, "202", T0, "  ")
    assert (state_name("new"), state_name("in_charge"), state_name("waiting")) == ("open", "in_progress", "waiting")
    with pytest.raises(ValueError, match="unknown ticket state 'done'"):
        state_name("done")
