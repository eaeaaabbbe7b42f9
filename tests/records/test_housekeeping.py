"""Privacy retention on real SQLite files: masking callers, deleting old voicemail, never too much."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import numpy as np
import pytest

from centralino.config.loader import ConfigError
from centralino.config.schema import Records, load_settings
from centralino.hwsim.clock import run
from centralino.records import housekeeping
from centralino.records.cdr import CdrStore
from centralino.records.housekeeping import RetentionResult, run_retention
from centralino.records.outbox import OutboxStore
from centralino.records.tickets import TicketStore
from centralino.records.voicemail import VoicemailStore
from centralino.records.writer import RecordWriter
from tests.cli.test_stats_cli import write_config

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
CITIZEN = "3331234567"
MASKED = "333xxxxxxx"


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def settings_for(database, mask_after_days=90, voicemail_keep_days=30, keep_days=365):
    return SimpleNamespace(records=Records(database=str(database), keep_days=keep_days,
                                           mask_after_days=mask_after_days, voicemail_keep_days=voicemail_keep_days))


def add_call(cdr: CdrStore, call_id: str, started: datetime, direction: str = "inbound", finish: bool = True,
             caller: str = CITIZEN, called: str = "0558450150"):
    cdr.open_call(call_id, started_at=started, direction=direction, caller=caller, called=called,
                  caller_name="ROSSI MARIO" if direction == "inbound" else "")
    if finish:
        cdr.finish_call(call_id, ended_at=started + timedelta(minutes=3), disposition="answered",
                        cause="normal_clearing", answered_at=started + timedelta(seconds=10))


def calls(path) -> dict[str, tuple[str, str, str]]:
    with sqlite3.connect(path) as db:
        return {r[0]: r[1:] for r in db.execute("SELECT call_id, caller, caller_name, called FROM calls")}


def tickets(path) -> dict[str, str]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT call_id, caller FROM tickets"))


@pytest.fixture()
def database(tmp_path):
    path = tmp_path / "centralino.db"
    with CdrStore(path) as cdr:
        add_call(cdr, "old-in", ago(100))
        add_call(cdr, "old-out", ago(100), direction="outbound", caller="200", called="0551234567")
        add_call(cdr, "old-internal", ago(100), direction="internal", caller="200", called="202")
        add_call(cdr, "old-in-progress", ago(100), finish=False)  # still the engine's row
        add_call(cdr, "recent-in", ago(89))
    with TicketStore(path) as store:
        closed = store.open_ticket("t-closed", CITIZEN, "anagrafe", ago(200), reason="busy")
        store.close(closed.id, "202", ago(100))
        store.open_ticket("t-open", CITIZEN, "anagrafe", ago(200), reason="busy")
        taken = store.open_ticket("t-taken", CITIZEN, "tributi", ago(200), reason="no_answer")
        store.take(taken.id, "204", ago(150))
        late = store.open_ticket("t-closed-lately", CITIZEN, "tributi", ago(200), reason="closed")
        store.close(late.id, "204", ago(10))  # kept for the office for 90 days after closing
    return path


@pytest.fixture()
def voicemail(database):
    folder = database.parent / housekeeping.VOICEMAIL_FOLDER
    with VoicemailStore(database, folder) as store:
        old = store.save("v-old", "anagrafe", CITIZEN, ago(31), np.zeros(8000, dtype=np.int16))
        recent = store.save("v-recent", "anagrafe", CITIZEN, ago(29), np.zeros(8000, dtype=np.int16))
    stray_old = folder / "anagrafe" / "20261001T080000Z-99.wav"
    stray_recent = folder / "tributi" / "20261123T080000Z-98.wav.part"
    notes = folder / "README.txt"
    for path, days in ((stray_old, 40), (stray_recent, 1), (notes, 400)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"RIFF")
        os.utime(path, (ago(days).timestamp(),) * 2)
    return SimpleNamespace(folder=folder, old=old.path, recent=recent.path, stray_old=stray_old,
                           stray_recent=stray_recent, notes=notes)


def test_masks_old_calls_but_never_in_progress_internal_or_recent(database):
    result = run_retention(settings_for(database), NOW)
    rows = calls(database)
    assert rows["old-in"] == (MASKED, "", "0558450150")  # caller masked, caller-ID name gone
    assert rows["old-out"] == ("200", "", "055xxxxxxx")  # the citizen is the called party
    assert rows["old-internal"] == ("200", "", "202")
    assert rows["old-in-progress"] == (CITIZEN, "ROSSI MARIO", "0558450150")
    assert rows["recent-in"] == (CITIZEN, "ROSSI MARIO", "0558450150")
    assert result.calls_masked == 2


def test_masks_only_tickets_closed_before_the_period(database):
    result = run_retention(settings_for(database), NOW)
    assert tickets(database) == {"t-closed": MASKED, "t-open": CITIZEN, "t-taken": CITIZEN,
                                 "t-closed-lately": CITIZEN}
    assert result.tickets_masked == 1
    later = run_retention(settings_for(database), NOW + timedelta(days=81))  # 91 days after closing
    assert later.tickets_masked == 1 and tickets(database)["t-closed-lately"] == MASKED
    assert tickets(database)["t-open"] == CITIZEN  # an open callback always keeps its number


def test_deletes_old_voicemail_rows_and_files(database, voicemail):
    result = run_retention(settings_for(database), NOW)
    assert (result.voicemails_deleted, result.orphan_files_deleted) == (1, 1)
    with VoicemailStore(database, voicemail.folder) as store:
        assert [m.call_id for m in store.list()] == ["v-recent"]
    assert not os.path.exists(voicemail.old) and os.path.exists(voicemail.recent)
    assert not voicemail.stray_old.exists()  # a recording without a row, as old: a voice kept by accident
    assert voicemail.stray_recent.exists() and voicemail.notes.exists()


def test_second_run_changes_nothing(database, voicemail):
    first = run_retention(settings_for(database), NOW)
    assert first == RetentionResult(calls_masked=2, tickets_masked=1, voicemails_deleted=1, orphan_files_deleted=1)
    before = (calls(database), tickets(database))
    assert run_retention(settings_for(database), NOW) == RetentionResult()
    assert (calls(database), tickets(database)) == before


def test_the_periods_come_from_the_settings(database, voicemail):
    result = run_retention(settings_for(database, mask_after_days=150, voicemail_keep_days=60), NOW)
    assert result == RetentionResult()  # nothing is that old
    result = run_retention(settings_for(database, mask_after_days=50, voicemail_keep_days=20), NOW)
    assert (result.calls_masked, result.voicemails_deleted) == (3, 2)  # the 89-day call too
    assert calls(database)["old-in-progress"][0] == CITIZEN


def test_logs_what_it_did(database, caplog):
    with caplog.at_level(logging.INFO, logger="centralino.records"):
        run_retention(settings_for(database), NOW)
    assert "masked callers of 2 call(s) and 1 closed ticket(s) older than 90 days" in caplog.text


def test_database_argument_overrides_the_setting(database, tmp_path):
    result = run_retention(settings_for(tmp_path / "other" / "unused.db"), NOW, database=database)
    assert result.calls_masked == 2


def test_daily_task_on_the_virtual_clock(database, monkeypatch, caplog):
    with CdrStore(database) as cdr:
        add_call(cdr, "almost", ago(89.5))  # masked by the run one day later, not by the first
    failures = iter([True, False, False, False])
    real = housekeeping.run_retention

    def flaky(settings, now, database=None):
        if next(failures):
            raise OSError("disk full")
        return real(settings, now, database)

    async def main():
        loop = asyncio.get_running_loop()
        start = loop.time()

        def wall_clock():
            return NOW + timedelta(seconds=loop.time() - start)

        monkeypatch.setattr(housekeeping, "run_retention", flaky)
        task = housekeeping.start_daily(settings_for(database), wall_clock, database)
        await asyncio.sleep(1)
        first = calls(database)["old-in"][0]  # the first run failed: nothing masked, task alive
        await asyncio.sleep(housekeeping.DAILY_S)
        second = calls(database)["old-in"][0], calls(database)["almost"][0]
        await housekeeping.stop_daily(task)
        return first, second, task.done()

    with caplog.at_level(logging.ERROR, logger="centralino.records"):
        first, second, done = run(main)
    assert first == CITIZEN and "retention failed" in caplog.text
    assert second == (MASKED, MASKED) and done


def test_configuration_keys_and_their_defaults(tmp_path):
    config = write_config(tmp_path)
    records = load_settings(config).records
    assert (records.mask_after_days, records.voicemail_keep_days) == (90, 30)
    config.write_text(config.read_text() + "  mask_after_days: 60\n  voicemail_keep_days: 14\n")
    records = load_settings(config).records
    assert (records.mask_after_days, records.voicemail_keep_days) == (60, 14)
    config.write_text(config.read_text().replace("voicemail_keep_days: 14", "voicemail_keep_days: 0"))
    with pytest.raises(ConfigError, match="records.voicemail_keep_days"):
        load_settings(config)


def outbox_rows(path) -> dict[str, str | None]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT subject, sent_at FROM outbox"))


def test_call_records_older_than_keep_days_are_deleted_but_never_a_live_one(database):
    with OutboxStore(database) as box:
        sent_long_ago = box.add(["a@comune.example.it"], "old, sent", "x", ago(200))
        box.mark_sent(sent_long_ago.id, ago(200))
        box.add(["a@comune.example.it"], "old, never sent", "x", ago(200))  # still to deliver: kept
        recent = box.add(["a@comune.example.it"], "recent, sent", "x", ago(10))
        box.mark_sent(recent.id, ago(10))
    result = run_retention(settings_for(database, keep_days=95), NOW)
    assert set(calls(database)) == {"old-in-progress", "recent-in"}
    assert (result.calls_deleted, result.mails_deleted) == (3, 1)
    assert set(outbox_rows(database)) == {"old, never sent", "recent, sent"}
    assert result.calls_masked == 0  # deleted first, not masked in vain
    again = run_retention(settings_for(database, keep_days=95), NOW)
    assert (again.calls_deleted, again.mails_deleted) == (0, 0)


def test_keep_days_comes_from_the_configuration(tmp_path):
    config = write_config(tmp_path)
    assert load_settings(config).records.keep_days == 365
    config.write_text(config.read_text() + "  keep_days: 30\n")
    assert load_settings(config).records.keep_days == 30


def test_the_daily_run_goes_through_the_records_writer(database, caplog):
    """On the writer's thread, one transaction; with the file unusable it is skipped, not fatal."""
    writer = RecordWriter(database, retry_first_s=0.01, retry_max_s=0.05)
    threads = []
    real = housekeeping.apply_retention

    def spy(stores, records, now):
        threads.append(threading.current_thread().name)
        return real(stores, records, now)

    async def until(condition):  # real time: the writer is a real thread
        for _ in range(2000):
            if condition():
                return True
            await asyncio.sleep(0.01)
        return False

    async def main():
        task = housekeeping.start_daily(settings_for(database, keep_days=95), lambda: NOW, writer=writer)
        ran = await until(lambda: "masked callers" in caplog.text)
        await housekeeping.stop_daily(task)
        return ran

    housekeeping.apply_retention, saved = spy, housekeeping.apply_retention
    try:
        with caplog.at_level(logging.INFO, logger="centralino.records"):
            assert asyncio.run(main())
    finally:
        housekeeping.apply_retention = saved
    writer.close()
    assert threads == ["records-writer"]
    assert set(calls(database)) == {"old-in-progress", "recent-in"}
    assert calls(database)["recent-in"][0] == CITIZEN  # 89 days: not masked yet

    database.unlink()
    database.write_text("not ours any more")
    writer = RecordWriter(database, retry_first_s=0.01, retry_max_s=0.05)

    async def degraded():
        task = housekeeping.start_daily(settings_for(database), lambda: NOW, writer=writer)
        skipped = await until(lambda: "retention skipped" in caplog.text)
        alive = not task.done()
        await housekeeping.stop_daily(task)
        return skipped and alive

    with caplog.at_level(logging.WARNING, logger="centralino.records"):
        assert asyncio.run(degraded())
    writer.close()
    assert "retention skipped" in caplog.text and database.read_text() == "not ours any more"
