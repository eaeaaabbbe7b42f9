"""Statistics per office and per hour, on real SQLite files built with the records' own stores."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from centralino.records import stats
from centralino.records.cdr import CdrStore
from centralino.records.database import RecordsError
from centralino.records.tickets import TicketStore

ROME = "Europe/Rome"
TARGETS = {"anagrafe": 20.0, "tributi": 30.0}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def add_call(store: CdrStore, call_id: str, start: str, disposition: str = "answered", office: str = "",
             queued_s: float = 0.0, overflowed: bool = False, direction: str = "inbound", finish: bool = True):
    started = utc(start)
    store.open_call(call_id, started_at=started, direction=direction, caller="3331234567", called="0558450150")
    if not finish:
        return
    answered = started + timedelta(seconds=5 + queued_s) if disposition in ("answered", "transferred") else None
    store.finish_call(call_id, ended_at=started + timedelta(seconds=200), disposition=disposition,
                      cause="normal_clearing", answered_at=answered, office=office, queued_s=queued_s,
                      overflowed=overflowed)


def build_day_database(path):
    """One Tuesday in November (Rome is UTC+1) with known figures; see the comments per row."""
    with CdrStore(path) as cdr:
        add_call(cdr, "c1", "2026-11-24T08:05:00", office="anagrafe", queued_s=10)  # 09 local, in target
        add_call(cdr, "c2", "2026-11-24T08:20:00", office="anagrafe", queued_s=35)  # 09, late
        add_call(cdr, "c3", "2026-11-24T08:40:00", "abandoned", office="anagrafe", queued_s=50)  # 09
        add_call(cdr, "c4", "2026-11-24T09:10:00", "voicemail", office="anagrafe", queued_s=120,
                 overflowed=True)  # 10
        add_call(cdr, "c5", "2026-11-24T09:30:00", office="tributi", queued_s=25)  # 10, within tributi's 30 s
        add_call(cdr, "c6", "2026-11-24T13:00:00", "callback", office="tributi")  # 14
        add_call(cdr, "c7", "2026-11-24T08:02:00", "abandoned")  # 09, hung up in the voce guida
        add_call(cdr, "c8", "2026-11-24T08:30:00", direction="outbound", office="anagrafe")  # not offered
        add_call(cdr, "c9", "2026-11-24T08:45:00", office="anagrafe", finish=False)  # in progress
        add_call(cdr, "c10", "2026-11-23T23:00:00", office="anagrafe")  # 00:00 local on the 24th
        add_call(cdr, "c11", "2026-11-23T22:59:00", office="anagrafe")  # 23:59 on the 23rd: not this day
        add_call(cdr, "c12", "2026-11-24T23:00:00", office="anagrafe")  # 00:00 on the 25th: not this day
    with TicketStore(path) as tickets:
        t1 = tickets.open_ticket("old", "3331111111", "anagrafe", utc("2026-11-20T10:00:00"), reason="busy")
        tickets.close(t1.id, "202", utc("2026-11-24T10:00:00"))  # closed at 11 local after 4 days
        t2 = tickets.open_ticket("c6", "3332222222", "tributi", utc("2026-11-24T13:01:00"), reason="closed")
        tickets.take(t2.id, "204", utc("2026-11-24T14:00:00"))
        tickets.close(t2.id, "204", utc("2026-11-24T15:01:00"))  # 16 local, after 2 hours
        tickets.open_ticket("x", "3333333333", "anagrafe", utc("2026-11-24T09:15:00"), reason="no_answer")  # 10
        t4 = tickets.open_ticket("y", "3334444444", "tributi", utc("2026-11-23T09:00:00"), reason="busy")
        tickets.close(t4.id, "204", utc("2026-11-25T09:00:00"))  # closed after the day: not counted
    return path


@pytest.fixture()
def day_db(tmp_path):
    return build_day_database(tmp_path / "c.db")


def test_day_totals_per_office(day_db):
    report = stats.office_stats(day_db, stats.day("2026-11-24", ROME), TARGETS)
    assert [o.office for o in report.offices] == ["anagrafe", "tributi", stats.NO_OFFICE]
    a = report.office("anagrafe").total
    assert (a.offered, a.answered, a.answered_in_target, a.abandoned, a.overflowed, a.voicemails) == (5, 3, 2, 1, 1, 1)
    assert (a.callbacks_opened, a.callbacks_closed, a.close_max_s) == (1, 1, 4 * 86400.0)
    assert a.close_mean_s == pytest.approx(4 * 86400.0)
    assert a.longest_wait_s == 120.0
    assert a.service_level == pytest.approx(2 / 5)
    t = report.office("tributi").total
    assert (t.offered, t.answered, t.answered_in_target, t.abandoned, t.voicemails) == (2, 1, 1, 0, 0)
    assert (t.callbacks_opened, t.callbacks_closed, t.close_mean_s, t.close_max_s) == (1, 1, 7200.0, 7200.0)
    none = report.office(stats.NO_OFFICE).total
    assert (none.offered, none.abandoned, none.answered) == (1, 1, 0)
    assert report.total.offered == 8 and report.total.abandoned == 2 and report.total.callbacks_closed == 2


def test_day_per_local_hour(day_db):
    report = stats.office_stats(day_db, stats.day("2026-11-24", ROME), TARGETS)
    hours = report.office("anagrafe").hours
    assert len(hours) == 24
    assert (hours[0].offered, hours[0].answered, hours[0].answered_in_target) == (1, 1, 1)
    assert (hours[9].offered, hours[9].answered, hours[9].answered_in_target, hours[9].abandoned) == (3, 2, 1, 1)
    assert (hours[10].offered, hours[10].overflowed, hours[10].voicemails, hours[10].callbacks_opened) == (1, 1, 1, 1)
    assert hours[11] == stats.Figures(callbacks_closed=1, close_total_s=4 * 86400.0, close_max_s=4 * 86400.0)
    assert [h for h in range(24) if not hours[h].empty] == [0, 9, 10, 11]
    tributi = report.office("tributi").hours
    assert [h for h in range(24) if not tributi[h].empty] == [10, 14, 16]
    assert report.hours[9].offered == 4  # three for anagrafe, one lost in the voce guida


def test_target_is_per_office_with_a_default(day_db):
    report = stats.office_stats(day_db, stats.day("2026-11-24", ROME), {"anagrafe": 40.0})
    assert report.office("anagrafe").total.answered_in_target == 3  # 35 s is within 40
    assert report.office("tributi").target_s == stats.DEFAULT_TARGET_S
    assert report.office("tributi").total.answered_in_target == 0  # 25 s is over the default 20


def test_one_office_only(day_db):
    report = stats.office_stats(day_db, stats.day("2026-11-24", ROME), TARGETS, office="tributi")
    assert [o.office for o in report.offices] == ["tributi"]
    assert report.total.offered == 2 and report.total.callbacks_opened == 1


def test_configured_office_without_calls_is_listed_with_zeros(day_db):
    report = stats.office_stats(day_db, stats.day("2026-11-24", ROME), {**TARGETS, "tecnico": 20.0})
    assert report.office("tecnico").total.empty
    assert [o.office for o in report.offices] == ["anagrafe", "tributi", "tecnico", stats.NO_OFFICE]


def test_office_only_in_the_records_is_listed_after_the_configured(day_db):
    report = stats.office_stats(day_db, stats.day("2026-11-24", ROME), {"tributi": 30.0})
    assert [o.office for o in report.offices] == ["tributi", "anagrafe", stats.NO_OFFICE]
    assert stats.known_offices(day_db) == {"anagrafe", "tributi"}


def test_month_sums_the_hours_of_the_day(tmp_path):
    path = tmp_path / "m.db"
    with CdrStore(path) as cdr:
        add_call(cdr, "a", "2026-09-30T22:30:00", office="anagrafe")  # 1 Oct 00:30 CEST: in
        add_call(cdr, "b", "2026-10-05T07:10:00", office="anagrafe")  # 09:10 CEST
        add_call(cdr, "c", "2026-10-30T08:10:00", office="anagrafe")  # 09:10 CET (after the change)
        add_call(cdr, "d", "2026-10-31T22:30:00", office="anagrafe")  # 31 Oct 23:30 CET: in
        add_call(cdr, "e", "2026-10-31T23:30:00", office="anagrafe")  # 1 Nov 00:30: out
        add_call(cdr, "f", "2026-09-30T21:30:00", office="anagrafe")  # 30 Sep 23:30: out
    period = stats.month("2026-10", ROME)
    assert period.hours == 31 * 24 + 1
    hours = stats.office_stats(path, period, TARGETS).office("anagrafe").hours
    assert (hours[0].offered, hours[9].offered, hours[23].offered) == (1, 2, 1)
    assert sum(h.offered for h in hours) == 4


def test_autumn_clock_change_day_has_25_hours(tmp_path):
    path = tmp_path / "dst.db"
    with CdrStore(path) as cdr:
        add_call(cdr, "a", "2026-10-24T22:10:00", office="anagrafe")  # 00:10 CEST on the 25th
        add_call(cdr, "b", "2026-10-25T00:30:00", office="anagrafe")  # 02:30 CEST
        add_call(cdr, "c", "2026-10-25T01:30:00", office="anagrafe")  # 02:30 CET, the hour again
        add_call(cdr, "d", "2026-10-25T22:59:00", office="anagrafe")  # 23:59 CET
        add_call(cdr, "e", "2026-10-25T23:10:00", office="anagrafe")  # 00:10 on the 26th: out
    period = stats.day("2026-10-25", ROME)
    assert period.hours == 25
    hours = stats.office_stats(path, period, TARGETS).office("anagrafe").hours
    assert (hours[0].offered, hours[2].offered, hours[3].offered, hours[23].offered) == (1, 2, 0, 1)
    assert sum(h.offered for h in hours) == 4


def test_spring_clock_change_day_has_23_hours(tmp_path):
    path = tmp_path / "dst.db"
    with CdrStore(path) as cdr:
        add_call(cdr, "a", "2026-03-28T23:00:00", office="anagrafe")  # 00:00 CET on the 29th
        add_call(cdr, "b", "2026-03-29T01:30:00", office="anagrafe")  # 03:30 CEST (02:xx does not exist)
        add_call(cdr, "c", "2026-03-29T21:59:00", office="anagrafe")  # 23:59 CEST
        add_call(cdr, "d", "2026-03-29T22:00:00", office="anagrafe")  # 00:00 on the 30th: out
    period = stats.day("2026-03-29", ROME)
    assert period.hours == 23
    hours = stats.office_stats(path, period, TARGETS).office("anagrafe").hours
    assert (hours[0].offered, hours[2].offered, hours[3].offered, hours[23].offered) == (1, 0, 1, 1)


def test_half_hour_zone_groups_by_minute(tmp_path):
    path = tmp_path / "ist.db"
    with CdrStore(path) as cdr:
        add_call(cdr, "a", "2026-11-24T03:15:00", office="anagrafe")  # 08:45 in Kolkata (+05:30)
        add_call(cdr, "b", "2026-11-24T03:45:00", office="anagrafe")  # 09:15
    hours = stats.office_stats(path, stats.day("2026-11-24", "Asia/Kolkata"), TARGETS).office("anagrafe").hours
    assert (hours[8].offered, hours[9].offered) == (1, 1)


def test_reading_never_changes_the_file(day_db):
    before = hashlib.sha256(day_db.read_bytes()).hexdigest()
    stats.office_stats(day_db, stats.day("2026-11-24", ROME), TARGETS)
    assert hashlib.sha256(day_db.read_bytes()).hexdigest() == before


def test_older_file_without_office_columns(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE calls (id INTEGER PRIMARY KEY, started_at TEXT, answered_at TEXT, "
                   "direction TEXT, disposition TEXT)")
        db.execute("INSERT INTO calls (started_at, answered_at, direction, disposition) VALUES "
                   "('2026-11-24T08:00:00.000+00:00', '2026-11-24T08:00:05.000+00:00', 'inbound', 'answered')")
    report = stats.office_stats(path, stats.day("2026-11-24", ROME), TARGETS)
    none = report.office(stats.NO_OFFICE).total
    assert (none.offered, none.answered, none.answered_in_target) == (1, 1, 1)
    assert report.office("anagrafe").total.empty


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "no database there"),
    (lambda p: p.write_text("not a database at all"), "not an SQLite database"),
    (lambda p: sqlite3.connect(p).execute("CREATE TABLE other (x)").connection.commit(), "not a centralino database"),
])
def test_unusable_database_is_a_clear_error(tmp_path, make, message):
    path = tmp_path / "bad.db"
    make(path)
    with pytest.raises(RecordsError) as err:
        stats.office_stats(path, stats.day("2026-11-24", ROME), TARGETS)
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize("parse, text, expected", [
    (stats.day, "2026-02-30", "bad day '2026-02-30' (expected YYYY-MM-DD"),
    (stats.day, "24/11/2026", "bad day"),
    (stats.month, "2026-13", "bad month '2026-13' (expected YYYY-MM"),
    (stats.month, "2026-11-24", "bad month"),
])
def test_bad_period_text(parse, text, expected):
    with pytest.raises(ValueError, match=expected.replace("(", r"\(")):
        parse(text, ROME)


def test_figures_add_sums_counts_and_keeps_maxima():
    a = stats.Figures(offered=2, callbacks_closed=1, close_total_s=10.0, close_max_s=10.0, longest_wait_s=5.0)
    b = stats.Figures(offered=1, callbacks_closed=1, close_total_s=30.0, close_max_s=30.0, longest_wait_s=3.0)
    total = a + b
    assert (total.offered, total.close_total_s, total.close_max_s, total.longest_wait_s) == (3, 40.0, 30.0, 5.0)
    assert total.close_mean_s == 20.0
    assert stats.Figures().close_mean_s is None and stats.Figures().service_level is None
