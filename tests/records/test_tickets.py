"""Callback tickets: their life cycle, refusals, masking after retention, and the CDR's own masking."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from centralino.records.cdr import CdrStore
from centralino.records.database import RecordNotFound
from centralino.records.retention import mask_number
from centralino.records.tickets import TicketError, TicketStore

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    with TicketStore(tmp_path / "c.db") as s:
        yield s


def test_open_take_close_life_cycle(tmp_path, store):
    t = store.open_ticket("call-1", "3331234567", "anagrafe", T0, "1>2", "no_answer")
    assert (t.id, t.status, t.menu_path, t.reason, t.opened_at) == \
        (1, "open", "1>2", "no_answer", "2026-11-24T08:00:00.000+00:00")
    taken = store.take(t.id, "202", T0 + timedelta(minutes=30))
    assert (taken.status, taken.taken_by, taken.taken_at) == ("in_progress", "202", "2026-11-24T08:30:00.000+00:00")
    closed = store.close(t.id, "202", T0 + timedelta(minutes=35), note="richiamato, pratica spiegata")
    assert (closed.status, closed.closed_by, closed.note) == ("closed", "202", "richiamato, pratica spiegata")
    with sqlite3.connect(tmp_path / "c.db") as db:  # committed, visible to another connection
        assert db.execute("SELECT status, taken_by, closed_at FROM tickets").fetchall() == \
            [("closed", "202", "2026-11-24T08:35:00.000+00:00")]


def test_next_pending_is_the_oldest_open_one_of_the_office(store):
    store.open_ticket("a", "3331111111", "anagrafe", T0 + timedelta(minutes=10), "1", "busy")
    store.open_ticket("b", "3332222222", "tributi", T0, "2", "closed")
    store.open_ticket("c", "3333333333", "anagrafe", T0 + timedelta(minutes=5), "1", "requested")
    assert store.next_pending("anagrafe").call_id == "c"
    assert store.next_pending(None).call_id == "b"  # any office
    store.take(3, "202", T0 + timedelta(hours=1))
    assert store.next_pending("anagrafe").call_id == "a"  # in progress is no longer pending
    taken = store.take_next("anagrafe", "203", T0 + timedelta(hours=1))
    assert (taken.call_id, taken.status, taken.taken_by) == ("a", "in_progress", "203")
    assert store.next_pending("anagrafe") is None and store.take_next("anagrafe", "203", T0) is None
    assert [t.call_id for t in store.list(status="in_progress")] == ["c", "a"]
    assert [t.call_id for t in store.list(office="tributi")] == ["b"]
    assert [t.call_id for t in store.list()] == ["b", "c", "a"]


def test_a_ticket_can_be_closed_without_being_taken(store):
    store.open_ticket("a", "3331111111", "anagrafe", T0, "", "requested")
    assert store.close(1, "console", T0).status == "closed"


def test_refusals_name_the_ticket_and_its_state(store):
    store.open_ticket("a", "3331111111", "anagrafe", T0, "1", "busy")
    store.close(1, "202", T0 + timedelta(minutes=1))
    with pytest.raises(TicketError, match=r"ticket 1 is already closed \(by 202 at 2026-11-24T08:01"):
        store.close(1, "203", T0 + timedelta(minutes=2))
    with pytest.raises(TicketError, match="ticket 1 is closed .*only an open ticket can be taken"):
        store.take(1, "203", T0)
    store.open_ticket("b", "3332222222", "anagrafe", T0, "1", "busy")
    store.take(2, "202", T0)
    with pytest.raises(TicketError, match=r"ticket 2 is in progress \(taken by 202"):
        store.take(2, "203", T0)
    with pytest.raises(RecordNotFound, match="no ticket 99"):
        store.close(99, "202", T0)
    with pytest.raises(ValueError, match="ticket number is a whole number"):
        store.get("uno")
    with pytest.raises(ValueError, match="unknown ticket reason 'lazy'"):
        store.open_ticket("c", "3331111111", "anagrafe", T0, "", "lazy")
    with pytest.raises(ValueError, match="unknown ticket status 'done'"):
        store.list(status="done")
    with pytest.raises(ValueError, match="needs the number to call back"):
        store.open_ticket("c", "", "anagrafe", T0, "", "busy")
    assert store.get(1).closed_by == "202" and len(store.list()) == 2


def test_mask_number_rule():
    assert mask_number("3331234567") == "333xxxxxxx"
    assert mask_number("+393331234567") == "+393xxxxxxxxx"
    assert mask_number("333xxxxxxx") == "333xxxxxxx"  # masking twice changes nothing
    assert mask_number("") == "" and mask_number("201") == "201"


def test_ticket_callers_are_masked_once_closed_before_the_cutoff(store):
    store.open_ticket("old", "3331234567", "anagrafe", T0, "1", "busy")
    store.close(1, "202", T0 + timedelta(hours=1))
    store.open_ticket("open", "3337777777", "anagrafe", T0, "1", "busy")  # the promise: kept
    store.open_ticket("late", "0551234567", "anagrafe", T0, "1", "busy")
    store.close(3, "202", T0 + timedelta(days=2))  # closed after the cutoff: kept for now
    assert store.mask_callers_before(T0 + timedelta(days=1)) == 1
    assert [t.caller for t in store.list()] == ["333xxxxxxx", "3337777777", "0551234567"]
    assert store.mask_callers_before(T0 + timedelta(days=1)) == 0


def test_cdr_outside_numbers_are_masked_after_the_cutoff(tmp_path):
    with CdrStore(tmp_path / "c.db") as cdr:
        cdr.open_call("in", started_at=T0, direction="inbound", caller="3331234567", called="0558450100",
                      caller_name="MARIO ROSSI")
        cdr.open_call("out", started_at=T0, direction="outbound", caller="202", called="0551234567")
        cdr.open_call("int", started_at=T0, direction="internal", caller="2021", called="2031")
        cdr.open_call("later", started_at=T0 + timedelta(days=2), direction="inbound", caller="3339999999")
        for call_id in ("in", "out", "int", "later"):
            cdr.finish_call(call_id, ended_at=T0 + timedelta(days=3), disposition="answered", cause="")
        cdr.open_call("live", started_at=T0, direction="inbound", caller="3335555555")  # still in progress
        assert cdr.mask_callers_before(T0 + timedelta(days=1)) == 2
        rows = {r.call_id: r for r in cdr.last(10)}
        assert (rows["in"].caller, rows["in"].caller_name, rows["in"].called) == ("333xxxxxxx", "", "0558450100")
        assert (rows["out"].caller, rows["out"].called) == ("202", "055xxxxxxx")
        assert (rows["int"].caller, rows["int"].called) == ("2021", "2031")
        assert rows["later"].caller == "3339999999" and rows["live"].caller == "3335555555"
        assert cdr.mask_callers_before(T0 + timedelta(days=1)) == 0

