"""The store's contract beyond the happy path: isolation, refusals, durability across a kill."""

from __future__ import annotations

import argparse
import io
import signal
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import redirect_stdout
from datetime import datetime, timedelta, timezone

import pytest

from centralino.cli import cdr as cdr_cmd
from centralino.cli.errors import CliError
from centralino.records.cdr import CdrStore
from centralino.records.database import SCHEMA_VERSION, RecordsError

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)


def test_pragmas_are_durable(tmp_path):
    with CdrStore(tmp_path / "c.db") as store:
        pragma = lambda name: store.db.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
        assert (pragma("journal_mode"), pragma("synchronous"), pragma("foreign_keys")) == ("wal", 2, 1)
        assert pragma("busy_timeout") == 5000


def test_two_stores_in_one_process_write_their_own_files(tmp_path):
    a, b = CdrStore(tmp_path / "a.db"), CdrStore(tmp_path / "b.db")
    a.open_call("in-a", started_at=T0, direction="inbound", caller="3331234567", called="200")
    b.open_call("in-b", started_at=T0, direction="internal", caller="201", called="202")
    a.finish_call("in-a", ended_at=T0 + timedelta(seconds=3), disposition="no_answer", cause="no_answer")
    assert [r.call_id for r in a.last(5)] == ["in-a"]
    assert [r.call_id for r in b.last(5)] == ["in-b"]
    a.close(), b.close()


def test_fields_times_and_durations(tmp_path):
    with CdrStore(tmp_path / "c.db") as store:
        naive = datetime(2026, 11, 24, 8, 0)  # naive means UTC
        store.open_call("c", started_at=naive, direction="outbound", caller="200", called="0551234567",
                        ports="fxs1", route="ext:200", emergency=False)
        store.update_call("c", answered_at=naive + timedelta(seconds=12.5), caller_name="Centralino")
        row = store.finish_call("c", ended_at=T0 + timedelta(seconds=72.5), disposition="answered",
                                cause="normal_clearing", route="ext:200>line:fxo1", ports="fxs1,fxo1")
        assert row.started_at == "2026-11-24T08:00:00.000+00:00"
        assert (row.duration_s, row.billable_s) == (72.5, 60.0)
        again = store.last(1)[0]
        assert (again.caller_name, again.route, again.ports, again.answered_at) == \
            ("Centralino", "ext:200>line:fxo1", "fxs1,fxo1", "2026-11-24T08:00:12.500+00:00")


def test_mistakes_of_the_caller_are_refused(tmp_path):
    with CdrStore(tmp_path / "c.db") as store:
        with pytest.raises(ValueError, match="unknown direction 'sideways'"):
            store.open_call("x", started_at=T0, direction="sideways")
        store.open_call("x", started_at=T0, direction="inbound")
        with pytest.raises(RecordsError, match="call x is already recorded"):
            store.open_call("x", started_at=T0, direction="inbound")
        with pytest.raises(ValueError, match="cannot update colour"):
            store.update_call("x", colour="blue")
        with pytest.raises(RecordsError, match="no call y to update"):
            store.update_call("y", caller="1")
        with pytest.raises(RecordsError, match="no call y to finish"):
            store.finish_call("y", ended_at=T0, disposition="answered", cause="")
        with pytest.raises(ValueError, match="unknown disposition 'in_progress'"):
            store.finish_call("x", ended_at=T0, disposition="in_progress", cause="")
        assert [(r.call_id, r.disposition) for r in store.last(5)] == [("x", "in_progress")]


def test_a_call_finished_just_before_a_kill_is_on_disk(tmp_path):
    path = tmp_path / "c.db"
    script = tmp_path / "finish.py"
    script.write_text(textwrap.dedent(f"""
        import os
        from datetime import datetime, timedelta, timezone
        from centralino.records.cdr import CdrStore
        store = CdrStore({str(path)!r})
        t0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
        store.open_call("done", started_at=t0, direction="inbound", caller="3331234567", called="200")
        store.finish_call("done", ended_at=t0 + timedelta(seconds=30), disposition="answered",
                          cause="normal_clearing", answered_at=t0 + timedelta(seconds=4))
        os.kill(os.getpid(), {int(signal.SIGKILL)})
    """))
    proc = subprocess.run([sys.executable, str(script)])
    assert proc.returncode == -signal.SIGKILL
    with CdrStore(path) as store:
        assert store.recover_interrupted(T0 + timedelta(hours=1)) == 0
        row = store.last(1)[0]
        assert (row.call_id, row.disposition, row.billable_s) == ("done", "answered", 26.0)


def test_recovered_call_ends_at_the_restart(tmp_path):
    with CdrStore(tmp_path / "c.db") as store:
        store.open_call("cut", started_at=T0, direction="inbound", caller="3331234567", called="200")
        store.update_call("cut", answered_at=T0 + timedelta(seconds=5))
        assert store.recover_interrupted(T0 + timedelta(minutes=10)) == 1
        row = store.last(1)[0]
        assert (row.disposition, row.ended_at, row.duration_s, row.billable_s) == \
            ("interrupted", "2026-11-24T08:10:00.000+00:00", 600.0, 0.0)
        assert row.answered_at == "2026-11-24T08:00:05.000+00:00"


def test_another_programs_database_is_left_alone(tmp_path):
    path = tmp_path / "c.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE calls (id INTEGER PRIMARY KEY, who TEXT)")
    before = path.read_bytes()
    with pytest.raises(RecordsError, match=r"table 'calls' lacks columns .*not a centralino database"):
        CdrStore(path)
    assert path.read_bytes() == before


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "c.db"
    CdrStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(RecordsError, match="written by a newer centralino"):
        CdrStore(path)


def test_a_corrupt_database_names_its_path(tmp_path):
    path = tmp_path / "c.db"
    CdrStore(path).close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # header intact, first page garbage
    path.write_bytes(bytes(data))
    with pytest.raises(RecordsError, match=f"{path}: cannot use the database"):
        CdrStore(path)


def _parse(*argv):
    parser = argparse.ArgumentParser()
    cdr_cmd.register(parser.add_subparsers())
    return parser.parse_args(["cdr", *map(str, argv)])


def test_cdr_table_fits_80_columns_and_marks_emergencies(tmp_path):
    path = tmp_path / "c.db"
    with CdrStore(path) as store:
        store.open_call("sos", started_at=T0, direction="outbound", caller="207", called="112", emergency=True,
                        route="ext:207>emergency:112>line:fxo1>line:fxo2>line:fxo3>line:fxo4")
        store.finish_call("sos", ended_at=T0 + timedelta(seconds=95), disposition="answered", cause="normal")
    out = io.StringIO()
    with redirect_stdout(out):
        assert _parse("--database", path).handler(_parse("--database", path)) == 0
    header, line = out.getvalue().splitlines()
    assert header.split() == ["start", "dir", "caller", "called", "secs", "outcome", "PC", "route"]
    assert len(line) == 80 and line.endswith("…")
    assert line.startswith("24/11 09:00 outbound 207          SOS 112         95 answered    -   ext:207>")


def test_cdr_reads_the_database_named_by_the_configuration(tmp_path):
    from tests.config.test_config import _broken

    config = _broken(tmp_path, "database: /var/lib/centralino/centralino.db", "database: records/c.db")
    with pytest.raises(CliError, match=f"{tmp_path / 'records' / 'c.db'}: no call records there"):
        cdr_cmd.run(_parse("--config", config))
    with CdrStore(tmp_path / "records" / "c.db") as store:
        store.open_call("a", started_at=T0, direction="internal", caller="201", called="202")
    out = io.StringIO()
    with redirect_stdout(out):
        cdr_cmd.run(_parse("--config", config, "--csv"))
    assert out.getvalue().splitlines()[1].startswith("a,")  # call_id first, then the other fields
    garbage = tmp_path / "g.db"
    garbage.write_text("not a database")
    with pytest.raises(CliError, match="not an SQLite database"):
        cdr_cmd.run(_parse("--database", garbage))
