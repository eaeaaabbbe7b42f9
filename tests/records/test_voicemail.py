"""The segreteria's store: real WAV files and a real SQLite index, durable and tidy."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import wave
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from centralino.media.frames import SAMPLE_RATE_HZ
from centralino.records.cdr import CdrStore
from centralino.records.database import RecordNotFound, RecordsError
from centralino.records.voicemail import VoicemailStore

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)


def tone(freq_hz: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    return (8000 * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


@pytest.fixture
def store(tmp_path):
    with VoicemailStore(tmp_path / "c.db", tmp_path / "voicemail") as s:
        yield s


def test_saved_message_is_a_standard_wav_and_a_committed_row(tmp_path, store):
    audio = tone(440, 2.5)
    row = store.save("call-1", "anagrafe", "3331234567", T0, audio)
    assert row.id == 1 and row.duration_s == 2.5 and row.received_at == "2026-11-24T08:00:00.000+00:00"
    path = tmp_path / "voicemail" / "anagrafe" / "20261124T080000Z-1.wav"
    assert row.path == str(path)
    with wave.open(str(path)) as wav:  # any player opens it: mono, 16-bit, 8 kHz
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        assert np.array_equal(np.frombuffer(wav.readframes(wav.getnframes()), "<i2"), audio)
    assert np.array_equal(store.samples(1), audio)
    assert store.wav_bytes(1) == path.read_bytes()
    assert not list(path.parent.glob("*.part"))
    with sqlite3.connect(tmp_path / "c.db") as db:  # another connection sees it: committed
        assert db.execute("SELECT call_id, office, caller, heard_at, heard_by, mailed_at FROM voicemails").fetchall() \
            == [("call-1", "anagrafe", "3331234567", None, "", None)]


def test_listing_unheard_and_marking(store):
    store.save("a", "anagrafe", "3331111111", T0 + timedelta(minutes=5), tone(400, 0.2))
    store.save("b", "tributi", "3332222222", T0, tone(500, 0.2))
    store.save("c", "anagrafe", "3333333333", T0 + timedelta(minutes=1), tone(600, 0.2))
    assert [m.call_id for m in store.list()] == ["b", "c", "a"]  # by time received
    assert [m.call_id for m in store.list(office="anagrafe")] == ["c", "a"]
    first = store.next_unheard("anagrafe")
    assert first.call_id == "c"
    heard = store.mark_heard(first.id, "202", T0 + timedelta(hours=1))
    assert (heard.heard_by, heard.heard_at) == ("202", "2026-11-24T09:00:00.000+00:00")
    again = store.mark_heard(first.id, "203", T0 + timedelta(hours=2))  # the first listener stays
    assert (again.heard_by, again.heard_at) == ("202", "2026-11-24T09:00:00.000+00:00")
    assert store.next_unheard("anagrafe").call_id == "a"
    assert [m.call_id for m in store.list(unheard=True)] == ["b", "a"]
    store.mark_heard(store.next_unheard("anagrafe").id, "202", T0 + timedelta(hours=1))
    assert store.next_unheard("anagrafe") is None
    assert store.mark_mailed(2, T0).mailed_at == "2026-11-24T08:00:00.000+00:00"


def test_delete_removes_row_and_file_and_tolerates_a_missing_file(tmp_path, store):
    a = store.save("a", "anagrafe", "3331111111", T0, tone(400, 0.2))
    b = store.save("b", "anagrafe", "3332222222", T0, tone(400, 0.2))
    assert a.path != b.path  # same second, two files
    store.delete(a.id)
    assert not (tmp_path / "voicemail" / "anagrafe" / "20261124T080000Z-1.wav").exists()
    assert [m.id for m in store.list()] == [b.id]
    (tmp_path / "voicemail" / "anagrafe" / "20261124T080000Z-2.wav").unlink()  # removed by hand
    store.delete(b.id)
    assert store.list() == []


def test_purge_older_than_retention(tmp_path, store):
    now = T0 + timedelta(days=100)
    old = store.save("old", "anagrafe", "3331111111", now - timedelta(days=31), tone(400, 0.1))
    gone = store.save("gone", "tributi", "3332222222", now - timedelta(days=40), tone(400, 0.1))
    store.save("new", "anagrafe", "3333333333", now - timedelta(days=29), tone(400, 0.1))
    (tmp_path / "voicemail" / "tributi" / gone.path.rsplit("/", 1)[1]).unlink()  # missing: not an error
    assert store.purge_older_than(now, 30) == 2
    assert [m.call_id for m in store.list()] == ["new"]
    assert not (tmp_path / "voicemail" / "anagrafe" / old.path.rsplit("/", 1)[1]).exists()
    assert store.purge_older_than(now, 30) == 0


def test_bad_ids_and_bad_input_are_clear_errors(store):
    store.save("a", "anagrafe", "", T0, tone(400, 0.1))
    with pytest.raises(RecordNotFound, match="no voicemail message 7"):
        store.get(7)
    with pytest.raises(RecordNotFound, match="no voicemail message 7"):
        store.mark_heard("7", "202", T0)
    with pytest.raises(RecordNotFound, match="no voicemail message 9"):
        store.delete(9)
    for bad in ("abc", 0, -1, "1.5", None, True):
        with pytest.raises(ValueError, match="voicemail message number is a whole number"):
            store.get(bad)
    with pytest.raises(ValueError, match="int16"):
        store.save("b", "anagrafe", "", T0, np.zeros(10, dtype=np.float32))
    with pytest.raises(ValueError, match="needs the office"):
        store.save("b", "", "", T0, tone(400, 0.1))
    assert len(store.list()) == 1 and store.get("1").call_id == "a"


def test_office_names_cannot_escape_the_folder(tmp_path, store):
    row = store.save("a", "../../etc", "", T0, tone(400, 0.1))
    assert (tmp_path / "voicemail") in Path(row.path).parents
    assert row.office == "../../etc"  # the name itself is kept in the index


def test_a_message_saved_just_before_a_kill_is_complete(tmp_path):
    """save() returned: the file and the row are on disk even if the process dies at once."""
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal
        import numpy as np
        from datetime import datetime, timezone
        from centralino.records.voicemail import VoicemailStore
        store = VoicemailStore({str(tmp_path / "c.db")!r}, {str(tmp_path / "vm")!r})
        audio = (np.arange(16000) % 200 * 50 - 5000).astype(np.int16)
        store.save("k", "anagrafe", "3331234567", datetime(2026, 11, 24, 8, tzinfo=timezone.utc), audio)
        os.kill(os.getpid(), signal.SIGKILL)
    """))
    assert subprocess.run([sys.executable, str(script)]).returncode < 0
    with VoicemailStore(tmp_path / "c.db", tmp_path / "vm") as store:
        [row] = store.list()
        expected = (np.arange(16000) % 200 * 50 - 5000).astype(np.int16)
        assert row.duration_s == 2.0 and np.array_equal(store.samples(row.id), expected)


def test_shares_the_database_with_the_call_records(tmp_path):
    with CdrStore(tmp_path / "c.db") as cdr, VoicemailStore(tmp_path / "c.db", tmp_path / "vm") as vm:
        cdr.open_call("x", started_at=T0, direction="inbound", caller="3331234567")
        vm.save("x", "anagrafe", "3331234567", T0, tone(400, 0.1))
        assert [r.call_id for r in cdr.last(5)] == ["x"] and [m.call_id for m in vm.list()] == ["x"]


def test_a_missing_recording_is_named(tmp_path, store):
    row = store.save("a", "anagrafe", "", T0, tone(400, 0.1))
    (tmp_path / "voicemail" / "anagrafe" / row.path.rsplit("/", 1)[1]).unlink()
    with pytest.raises(RecordsError, match=r"voicemail message 1: .*no such file"):
        store.samples(1)


def test_files_follow_the_transaction_they_are_in(tmp_path):
    """In one job (Stores.run): a saved message rolled back loses its file; a deleted one keeps it."""
    from centralino.records.stores import Stores

    with Stores.open(tmp_path / "c.db", tmp_path / "vm") as stores:
        kept = stores.run(lambda st: st.voicemail.save("a", "anagrafe", "", T0, tone(400, 0.2)))

        def save_then_fail(st):
            st.voicemail.save("b", "anagrafe", "", T0, tone(500, 0.2))
            raise RuntimeError("the mail could not be queued")

        def delete_then_fail(st):
            st.voicemail.delete(kept.id)
            assert Path(kept.path).exists()  # not before the commit
            raise RuntimeError("the rest of the job failed")

        for job in (save_then_fail, delete_then_fail):
            with pytest.raises(RuntimeError):
                stores.run(job)
        assert [m.call_id for m in stores.voicemail.list()] == ["a"]
        assert sorted(p.name for p in (tmp_path / "vm").rglob("*")) == ["20261124T080000Z-1.wav", "anagrafe"]
        stores.run(lambda st: st.voicemail.delete(kept.id))
        assert not Path(kept.path).exists()  # committed: now it goes
