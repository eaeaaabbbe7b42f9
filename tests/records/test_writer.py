"""The records writer on real files: order, one transaction per job, and every way the file can fail.

Each fault is a real one: a tmpfs remounted read-only or filled up, a damaged SQLite file, another
program's database, a process killed with SIGKILL. What is checked is read back from the file
with a connection of the test's own, never from the writer's objects.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import Future
from datetime import datetime, timedelta, timezone

import pytest

from centralino.records.cdr import CdrStore
from centralino.records.database import RecordsError
from centralino.records.writer import RecordsKept, RecordsLost, RecordsUnavailable, RecordWriter

from .volumes import small_volume

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
SAFETY_S = 20.0  # only so that a broken writer fails instead of hanging
FAST = {"retry_first_s": 0.01, "retry_max_s": 0.05}


class Heard:
    """The writer's reports (records.degraded, .restored, .moved_aside), waited for by kind."""

    def __init__(self, writer: RecordWriter):
        self.events: list[tuple[str, dict]] = []
        self._cond = threading.Condition()
        writer.add_listener(self)

    def __call__(self, kind: str, details: dict) -> None:
        with self._cond:
            self.events.append((kind, details))
            self._cond.notify_all()

    def wait(self, kind: str, count: int = 1) -> dict:
        with self._cond:
            ok = self._cond.wait_for(lambda: self.kinds().count(kind) >= count, timeout=SAFETY_S)
        assert ok, f"no {kind} within {SAFETY_S} s; heard {self.kinds()}"
        return [d for k, d in self.events if k == kind][count - 1]

    def kinds(self) -> list[str]:
        return [k for k, _ in self.events]


def submit_call(writer: RecordWriter, call_id: str, seconds: float = 60.0) -> Future:
    """A whole call (start and finish jobs); returns the finish's Future."""
    writer.submit(lambda st: st.cdr.open_call(call_id, started_at=T0, direction="inbound", caller="3331234567",
                                              called="0558450150"))
    return writer.submit(lambda st: st.cdr.finish_call(call_id, ended_at=T0 + timedelta(seconds=seconds),
                                                       disposition="answered", cause="normal_clearing",
                                                       answered_at=T0 + timedelta(seconds=5)))


def calls_in(path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT call_id, disposition FROM calls ORDER BY id").fetchall()


@pytest.fixture
def writers():
    made: list[RecordWriter] = []

    def make(path, **options):
        writer = RecordWriter(path, **{**FAST, **options})
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer.close()


# ---------------------------------------------------------------------------------------- good days
def test_jobs_are_written_in_order_each_in_one_transaction(tmp_path, writers):
    writer = writers(tmp_path / "c.db")
    for n in range(10):
        submit_call(writer, f"c{n}")

    def half_then_fail(st):
        st.cdr.open_call("half", started_at=T0, direction="internal", caller="201", called="202")
        raise RuntimeError("the job's own bug")

    broken = writer.submit(half_then_fail)
    last = submit_call(writer, "after")
    assert writer.flush(SAFETY_S)
    assert last.result(0) is not None and isinstance(broken.exception(0), RuntimeError)
    assert calls_in(tmp_path / "c.db") == [(f"c{n}", "answered") for n in range(10)] + [("after", "answered")]
    status = writer.status()
    assert (status["state"], status["written"], status["refused"], status["pending"]) == ("ok", 22, 1, 0)


def test_a_record_refused_on_its_own_merits_leaves_the_file_usable(tmp_path, writers):
    writer = writers(tmp_path / "c.db")
    heard = Heard(writer)
    refused = writer.submit(lambda st: st.cdr.update_call("nobody", caller="1"))
    bad = writer.submit(lambda st: st.cdr.finish_call("nobody", ended_at=T0, disposition="maybe", cause=""))
    submit_call(writer, "next").result(SAFETY_S)
    with pytest.raises(RecordsError, match="no call nobody to update"):
        refused.result(0)
    with pytest.raises(ValueError, match="unknown disposition 'maybe'"):
        bad.result(0)
    assert writer.status()["state"] == "ok" and heard.events == []
    assert calls_in(tmp_path / "c.db") == [("next", "answered")]


def test_submit_does_not_wait_for_a_slow_disk(tmp_path, writers):
    """While the writer is stuck in a commit, the caller's submit returns at once, not done yet."""
    writer = writers(tmp_path / "c.db")
    stuck, release = threading.Event(), threading.Event()

    def slow(st):
        stuck.set()
        assert release.wait(SAFETY_S)

    writer.submit(slow)
    assert stuck.wait(SAFETY_S)
    queued = submit_call(writer, "behind")
    assert not queued.done() and writer.status()["pending"] == 3
    assert writer.flush(0.01) is False  # flush says it is not all on disk yet
    release.set()
    queued.result(SAFETY_S)
    assert calls_in(tmp_path / "c.db") == [("behind", "answered")]


def test_the_models_are_bound_per_thread(tmp_path, writers):
    """The writer's thread and the loop's thread use the same models on two files at once."""
    writer = writers(tmp_path / "writer.db")
    futures = [submit_call(writer, f"w{n}") for n in range(150)]
    with CdrStore(tmp_path / "loop.db") as store:
        for n in range(150):
            store.open_call(f"l{n}", started_at=T0, direction="internal", caller="201", called="202")
            store.last(3)
    for future in futures:
        future.result(SAFETY_S)
    assert {c for c, _ in calls_in(tmp_path / "writer.db")} == {f"w{n}" for n in range(150)}
    assert {c for c, _ in calls_in(tmp_path / "loop.db")} == {f"l{n}" for n in range(150)}


# ---------------------------------------------------------------------------------------- bad days
@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "existing-file"])
def test_a_read_only_file_system_keeps_records_in_memory_until_it_is_writable(tmp_path, writers, existing):
    with small_volume(tmp_path / "vol") as volume:
        path = volume.path / "c.db"
        if existing:
            with CdrStore(path) as store:
                store.open_call("before", started_at=T0, direction="internal", caller="201", called="202")
        volume.read_only()
        writer = writers(path)
        heard = Heard(writer)
        degraded = heard.wait("records.degraded")
        assert str(path) in degraded["reason"]
        futures = [submit_call(writer, f"c{n}") for n in range(3)]
        assert all(f.done() and isinstance(f.exception(), RecordsKept) for f in futures)  # at once
        assert writer.flush(SAFETY_S)
        status = writer.status()
        assert (status["state"], status["kept"], status["pending"]) == ("degraded", 6, 6)
        with pytest.raises(RecordsUnavailable):  # a read is not kept for later
            writer.submit(lambda st: st.cdr.last(5), keep=False).result(0)
        volume.writable()
        restored = heard.wait("records.restored")
        assert restored == {"written": 6}
        for future in futures:
            assert future.exception().written.result(SAFETY_S).disposition == "answered"
        expected = [("before", "in_progress")] if existing else []
        assert calls_in(path) == expected + [(f"c{n}", "answered") for n in range(3)]
        assert writer.status()["state"] == "ok"
        writer.close()


def test_a_full_disk_keeps_records_in_memory_and_writes_them_in_order_later(tmp_path, writers):
    with small_volume(tmp_path / "vol", size_kb=1024) as volume:
        path = volume.path / "c.db"
        writer = writers(path)
        heard = Heard(writer)
        submit_call(writer, "first").result(SAFETY_S)
        volume.fill()
        submitted = ["first"]
        for n in range(3000):  # the WAL may still have room for a few: go on until the disk says no
            submit_call(writer, f"c{n}")
            submitted.append(f"c{n}")
            if writer.status()["state"] == "degraded":
                break
            writer.flush(SAFETY_S)
        reason = heard.wait("records.degraded")["reason"]
        assert "full" in reason and str(path) in reason
        for n in range(5):  # calls go on while the disk is full
            submit_call(writer, f"late{n}")
            submitted.append(f"late{n}")
        volume.free()
        writer.retry_now()
        heard.wait("records.restored")
        assert writer.flush(SAFETY_S)
        assert calls_in(path) == [(c, "answered") for c in submitted]
        writer.close()


def _damage(path, start: int, end: int) -> None:
    data = bytearray(path.read_bytes())
    data[start:end] = b"\xa5" * (end - start)
    path.write_bytes(bytes(data))


def test_a_damaged_file_is_moved_aside_with_its_wal_never_overwritten(tmp_path, writers):
    path = tmp_path / "c.db"
    with CdrStore(path) as store:
        store.open_call("old", started_at=T0, direction="internal", caller="201", called="202")
    _damage(path, 100, 4096)  # the header intact, the first page garbage
    (tmp_path / "c.db-wal").write_bytes(b"wal left by a power cut")
    (tmp_path / "c.db-shm").write_bytes(b"shm")
    before = path.read_bytes()
    writer = writers(path, wall_clock=lambda: T0)
    heard = Heard(writer)
    submit_call(writer, "new").result(SAFETY_S)
    moved = tmp_path / "c.db.corrupt-20261124T080000Z"
    assert writer.status()["moved_aside"] == [str(moved)] and writer.status()["state"] == "ok"
    assert moved.read_bytes() == before
    assert (tmp_path / "c.db.corrupt-20261124T080000Z-wal").read_bytes() == b"wal left by a power cut"
    assert (tmp_path / "c.db.corrupt-20261124T080000Z-shm").exists()  # SQLite's index of the WAL, moved too
    assert calls_in(path) == [("new", "answered")]
    assert heard.kinds() == ["records.moved_aside"]


def test_damage_deep_in_the_file_is_found_by_the_page_scan_at_start(tmp_path, writers):
    path = tmp_path / "c.db"
    with CdrStore(path) as store:
        for n in range(300):  # several pages of calls
            store.open_call(f"old{n}", started_at=T0, direction="internal", caller="201", called="202",
                            route="ext:201>ext:202" * 10)
    pages = path.stat().st_size // 4096
    assert pages > 6
    _damage(path, 4096 * (pages - 2), 4096 * (pages - 1))
    sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall()  # the schema still reads
    writer = writers(path, wall_clock=lambda: T0)
    submit_call(writer, "new").result(SAFETY_S)
    [moved] = writer.status()["moved_aside"]
    assert "damaged" in writer.status()["last_error"]
    assert calls_in(path) == [("new", "answered")] and os.path.getsize(moved) == pages * 4096


@pytest.mark.parametrize("kind", ["another-database", "not-sqlite"])
def test_another_programs_file_is_left_untouched_and_records_wait_in_memory(tmp_path, writers, kind):
    path = tmp_path / "c.db"
    if kind == "another-database":
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE calls (id INTEGER PRIMARY KEY, who TEXT)")
            db.execute("INSERT INTO calls (who) VALUES ('the mayor')")
        expected = "not a centralino database"
    else:
        path.write_text("the operator's shopping list\n")
        expected = "not an SQLite database"
    before = path.read_bytes()
    writer = writers(path)
    heard = Heard(writer)
    assert expected in heard.wait("records.degraded")["reason"]
    kept = submit_call(writer, "waiting")
    assert isinstance(kept.exception(0), RecordsKept)
    for _ in range(3):  # several retries later the file is still exactly as it was
        writer.retry_now()
        assert writer.flush(SAFETY_S)
    assert path.read_bytes() == before and writer.status()["moved_aside"] == []
    path.rename(tmp_path / "theirs.db")  # the technician moves it away
    writer.retry_now()
    heard.wait("records.restored")
    assert kept.exception().written.result(SAFETY_S).call_id == "waiting"
    assert calls_in(path) == [("waiting", "answered")]
    assert (tmp_path / "theirs.db").read_bytes() == before


def test_memory_is_bounded_and_the_oldest_records_go_first(tmp_path, writers):
    path = tmp_path / "c.db"
    path.write_text("not ours")
    writer = writers(path, max_kept_jobs=5)
    heard = Heard(writer)
    heard.wait("records.degraded")
    kept = [writer.submit(lambda st, n=n: st.cdr.open_call(f"c{n}", started_at=T0, direction="internal"))
            for n in range(8)]
    status = writer.status()
    assert (status["kept"], status["dropped"]) == (5, 3)
    for future in kept[:3]:
        with pytest.raises(RecordsLost, match="dropped from memory"):
            future.exception().written.result(0)
    path.unlink()
    writer.retry_now()
    heard.wait("records.restored")
    assert calls_in(path) == [(f"c{n}", "in_progress") for n in range(3, 8)]


def test_a_stop_while_the_file_is_unusable_says_what_is_lost(tmp_path, caplog):
    path = tmp_path / "c.db"
    path.write_text("not ours")
    writer = RecordWriter(path, **FAST)
    Heard(writer).wait("records.degraded")
    kept = submit_call(writer, "unlucky")
    writer.close()
    assert writer.status()["state"] == "closed" and writer.status()["lost_at_close"] == 2
    with pytest.raises(RecordsLost, match="not written before the stop"):
        kept.exception().written.result(0)
    late = writer.submit(lambda st: None)  # after the stop: still no exception in the caller
    assert isinstance(late.exception(0), RecordsLost)
    assert "2 record(s) could not be written before the stop" in caplog.text
    assert path.read_text() == "not ours"


def test_a_power_cut_loses_no_committed_record(tmp_path):
    """A writer process killed with SIGKILL: every record it reported committed is in the file."""
    path = tmp_path / "c.db"
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(f"""
        import sys, threading
        from datetime import datetime, timedelta, timezone
        from centralino.records.writer import RecordWriter
        t0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
        writer = RecordWriter({str(path)!r})
        for n in range(100000):
            writer.submit(lambda st, n=n: st.cdr.open_call(f"c{{n}}", started_at=t0, direction="inbound",
                                                           caller="3331234567"))
            done = writer.submit(lambda st, n=n: st.cdr.finish_call(f"c{{n}}", ended_at=t0 + timedelta(seconds=65),
                                                                    disposition="answered", cause="normal",
                                                                    answered_at=t0 + timedelta(seconds=5)))
            done.add_done_callback(lambda f, n=n: print(f"COMMITTED c{{n}}", flush=True))
            if n % 20 == 19:
                writer.flush(30)
        threading.Event().wait()
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    reported = []
    try:
        while len(reported) < 60:
            line = proc.stdout.readline()
            assert line, "the writer process ended by itself"
            reported.append(line.split()[1])
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    reported += [line.split()[1] for line in rest.splitlines()]
    with sqlite3.connect(path) as db:
        rows = dict(db.execute("SELECT call_id, disposition || ' ' || billable_s FROM calls").fetchall())
    assert [c for c in reported if rows.get(c) != "answered 60.0"] == []
    with CdrStore(path) as store:  # the file opens cleanly after the cut
        store.recover_interrupted(T0 + timedelta(hours=1))
        assert all(r.disposition in ("answered", "interrupted") for r in store.last(1000))


def test_a_callers_mistake_or_a_broken_listener_costs_nothing_else(tmp_path, writers, caplog):
    path = tmp_path / "c.db"
    path.write_text("not ours")
    writer = writers(path)

    def broken(kind, details):
        raise RuntimeError("an LED driver that fails")

    writer.add_listener(broken)
    heard = Heard(writer)  # after the broken one: still told
    heard.wait("records.degraded")
    bad = writer.submit(lambda st: None, size_bytes="a lot")
    assert isinstance(bad.exception(0), ValueError)  # in its Future, not raised at the caller
    assert "a listener failed on records.degraded" in caplog.text
    path.unlink()
    writer.retry_now()
    heard.wait("records.restored")
    submit_call(writer, "fine").result(SAFETY_S)
    assert calls_in(path) == [("fine", "answered")]
