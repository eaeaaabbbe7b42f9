"""Call records: real SQLite files, WAL mode, durability, crash recovery, the cdr command."""

from __future__ import annotations

import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest

from centralino.records.cdr import CdrStore
from centralino.records.database import RecordsError

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)


def _call(store: CdrStore, call_id: str, answered: bool = True, seconds: float = 65.0):
    store.open_call(call_id, started_at=T0, direction="inbound", caller="3331234567", called="0558450100",
                    ports="fxo1,fxs1", route="line:fxo1>ext:200")
    return store.finish_call(call_id, ended_at=T0 + timedelta(seconds=seconds),
                             disposition="answered" if answered else "no_answer", cause="normal_clearing",
                             answered_at=T0 + timedelta(seconds=5) if answered else None)


def test_finished_call_is_on_disk_with_durations(tmp_path):
    path = tmp_path / "c.db"
    store = CdrStore(path)
    record = _call(store, "a")
    assert (record.duration_s, record.billable_s, record.disposition) == (65.0, 60.0, "answered")
    _call(store, "b", answered=False, seconds=20)
    # another connection (another process would do the same) sees both committed rows
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = db.execute("SELECT call_id, disposition, billable_s FROM calls ORDER BY call_id").fetchall()
    assert rows == [("a", "answered", 60.0), ("b", "no_answer", 0.0)]
    store.close()
    again = CdrStore(path)
    assert [r.call_id for r in again.last(10)] == ["a", "b"]
    again.close()


def test_unknown_disposition_is_refused_and_keeps_the_row(tmp_path):
    store = CdrStore(tmp_path / "c.db")
    store.open_call("x", started_at=T0, direction="internal", caller="201", called="202")
    with pytest.raises(ValueError, match="unknown disposition 'maybe'"):
        store.finish_call("x", ended_at=T0, disposition="maybe", cause="")
    assert store.last(1)[0].disposition == "in_progress"


def test_a_file_that_is_not_sqlite_is_left_alone(tmp_path):
    path = tmp_path / "c.db"
    path.write_bytes(b"this is the operator's shopping list\n")
    with pytest.raises(RecordsError, match=f"{path}: not an SQLite database"):
        CdrStore(path)
    assert path.read_bytes() == b"this is the operator's shopping list\n"


def test_call_cut_by_a_killed_process_is_recovered_as_interrupted(tmp_path):
    path = tmp_path / "c.db"
    script = tmp_path / "crash.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        from datetime import datetime, timezone
        from centralino.records.cdr import CdrStore
        store = CdrStore({str(path)!r})
        store.open_call("cut", started_at=datetime.now(timezone.utc), direction="inbound",
                        caller="3331234567", called="200")
        print("OPEN", flush=True)
        time.sleep(60)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "OPEN"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    store = CdrStore(path)
    assert store.last(1)[0].disposition == "in_progress"
    assert store.recover_interrupted(datetime.now(timezone.utc)) == 1
    row = store.last(1)[0]
    assert (row.disposition, row.cause) == ("interrupted", "daemon stopped during the call")
    assert store.recover_interrupted(datetime.now(timezone.utc)) == 0


def _cdr(*args):
    return subprocess.run([sys.executable, "-m", "centralino", "cdr", *map(str, args)],
                          capture_output=True, text=True)


def test_cdr_command_table_and_csv(tmp_path):
    path = tmp_path / "c.db"
    store = CdrStore(path)
    for n in range(3):
        _call(store, f"call{n}")
    store.close()
    table = _cdr("--database", path, "--last", 2)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert len(lines) == 3 and all(len(line) <= 80 for line in lines)
    assert "24/11 09:00" in lines[1] and "3331234567" in lines[1] and "answered" in lines[1]
    rows = list(csv.DictReader(io.StringIO(_cdr("--database", path, "--csv").stdout)))
    assert [r["call_id"] for r in rows] == ["call0", "call1", "call2"]
    assert rows[0]["billable_s"] == "60.0" and rows[0]["route"] == "line:fxo1>ext:200"


def test_cdr_command_errors(tmp_path):
    missing = _cdr("--database", tmp_path / "none.db")
    assert missing.returncode == 2 and "no call records there" in missing.stderr
    assert _cdr("--database", tmp_path / "none.db", "--last", 0).returncode == 2
    assert "--config FILE or --database FILE" in _cdr().stderr


def test_cdr_command_names_a_database_moved_aside(tmp_path):
    from centralino.records.writer import RecordWriter

    path = tmp_path / "c.db"
    with CdrStore(path) as store:
        store.open_call("old", started_at=T0, direction="internal", caller="201", called="202")
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xa5" * 3996
    path.write_bytes(bytes(data))
    writer = RecordWriter(path, wall_clock=lambda: T0)
    writer.submit(lambda st: st.cdr.open_call("new", started_at=T0, direction="internal")).result(20)
    writer.close()
    shown = _cdr("--database", path)
    assert shown.returncode == 0 and "new" not in shown.stderr
    assert f"older call records may be in {tmp_path / 'c.db.corrupt-20261124T080000Z'}" in shown.stderr
    assert len(shown.stdout.splitlines()) == 2  # the new file's one call
