"""The e-mail outbox: a queued mail is on disk at once and stays until the server took it."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest

from centralino.records.database import RecordNotFound
from centralino.records.outbox import OutboxStore

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
MESSAGE = "From: a@b.it\nTo: c@d.it\nSubject: x\n\nbody\n"


def test_pending_until_sent_then_the_body_is_dropped(tmp_path):
    with OutboxStore(tmp_path / "c.db") as box:
        a = box.add(["anagrafe@comune.example.it", "Tributi <tributi@comune.example.it>"], "uno", MESSAGE, T0)
        b = box.add(["tributi@comune.example.it"], "due", MESSAGE, T0 + timedelta(seconds=1))
        assert a.recipients == ["anagrafe@comune.example.it", "Tributi <tributi@comune.example.it>"]
        assert [m.subject for m in box.pending()] == ["uno", "due"]
        failed = box.mark_failed(a.id, "550 5.1.1 no such user", T0 + timedelta(seconds=2))
        assert (failed.attempts, failed.last_error, failed.next_attempt_at) == \
            (1, "550 5.1.1 no such user", "2026-11-24T08:00:02.000+00:00")
        assert box.mark_failed(a.id, "x" * 2000, T0).attempts == 2
        assert len(box.get(a.id).last_error) == 500  # a server's novel is cut, not stored whole
        sent = box.mark_sent(a.id, T0 + timedelta(minutes=1))
        assert (sent.sent_at, sent.message, sent.next_attempt_at) == ("2026-11-24T08:01:00.000+00:00", "", None)
        assert [m.id for m in box.pending()] == [b.id]
        assert [m.subject for m in box.list()] == ["uno", "due"]
        assert "message" not in sent.as_dict() and sent.as_dict()["attempts"] == 2
        with pytest.raises(RecordNotFound, match="no mail 99 in the outbox"):
            box.mark_sent(99, T0)


def test_a_queued_mail_survives_a_kill(tmp_path):
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(f"""
        import os
        from datetime import datetime, timezone
        from centralino.records.outbox import OutboxStore
        box = OutboxStore({str(tmp_path / "c.db")!r})
        box.add(["anagrafe@comune.example.it"], "segreteria", {MESSAGE!r}, datetime.now(timezone.utc))
        os.kill(os.getpid(), {int(signal.SIGKILL)})
    """))
    assert subprocess.run([sys.executable, str(script)]).returncode == -signal.SIGKILL
    with OutboxStore(tmp_path / "c.db") as box:
        [mail] = box.pending()
        assert (mail.subject, mail.message, mail.attempts) == ("segreteria", MESSAGE, 0)
    with sqlite3.connect(tmp_path / "c.db") as db:
        assert db.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0] == 1


def test_the_message_id_is_kept_in_the_row_and_stays_after_sending(tmp_path):
    text = "Message-ID: <1.2@comune.example.it>\n" + MESSAGE
    with OutboxStore(tmp_path / "c.db") as box:
        row = box.add(["anagrafe@comune.example.it"], "x", text, T0)
        plain = box.add(["anagrafe@comune.example.it"], "y", MESSAGE, T0)  # a message without one
        box.mark_sent(row.id, T0)
    with sqlite3.connect(tmp_path / "c.db") as db:
        assert db.execute("SELECT message_id, message FROM outbox ORDER BY id").fetchall() == \
            [("<1.2@comune.example.it>", ""), ("", MESSAGE)]
    assert plain.message_id == ""
