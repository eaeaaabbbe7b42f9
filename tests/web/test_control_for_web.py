"""The daemon's side of the web interface, on the virtual clock: the event stream and the commands
the pages use, through a real control socket, with what they store read back from the files."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import sqlite3
import tarfile
from datetime import timedelta

import numpy as np

from centralino.ops.event_stream import QUEUE_EVENTS, ClientQueue

from tests.engine.helpers import connect
from tests.ops.conftest import EXAMPLE
from tests.ops.test_control import control_session


async def _stream(path, kinds=None):
    reader, writer = await asyncio.open_unix_connection(str(path))
    request = {"cmd": "events"} | ({"kinds": kinds} if kinds is not None else {})
    writer.write(json.dumps(request).encode() + b"\n")
    await writer.drain()
    return reader, writer, json.loads(await reader.readline())


async def _lines(reader, n):
    return [json.loads(await reader.readline()) for _ in range(n)]


def test_the_event_stream_carries_a_calls_start_and_end_and_only_the_kinds_asked(tmp_path):
    async def story(s, client, ctx):
        reader, writer, first = await _stream(tmp_path / "control.sock", ["call.*"])
        a, b = await connect(s, "201", "205")
        a.on_hook()
        await s.until(lambda: s.finished, "the call ends")
        events = [e for e in await _lines(reader, 4) if e["event"] in ("call.started", "call.ended")]
        writer.close()
        return first, events, s.finished[-1]["call_id"]

    first, events, call_id = control_session(tmp_path, story)
    assert first == {"ok": True, "result": {"streaming": ["call.*"], "queue": QUEUE_EVENTS}}
    assert [e["event"] for e in events] == ["call.started", "call.ended"]
    assert {e["call_id"] for e in events} == {call_id}
    assert events[1]["disposition"] == "answered" and events[0]["caller"] == "201"


def test_a_bad_events_request_is_answered_and_the_connection_still_serves_commands(tmp_path):
    async def story(s, client, ctx):
        bad = await client.raw(b'{"cmd": "events", "kinds": ["call.*", "DROP TABLE"]}')
        status = await client.ask("status")
        return bad, status

    bad, status = control_session(tmp_path, story)
    assert bad["ok"] is False and "kinds must be a list of event kinds" in bad["error"]
    assert status["ok"] and status["result"]["ready"]


def test_a_client_that_does_not_read_loses_the_oldest_events_and_is_told(tmp_path):
    burst = 5 * QUEUE_EVENTS

    async def story(s, client, ctx):
        reader, writer, _ = await _stream(tmp_path / "control.sock", ["test.*"])
        for n in range(burst):  # one synchronous burst: publishing never waits for the client
            s.daemon.bus.publish("test.tick", n=n)
        got = await _lines(reader, 1 + QUEUE_EVENTS)
        writer.close()
        return got

    got = control_session(tmp_path, story)
    assert got[0]["event"] == "stream.lost" and got[0]["lost"] == burst - QUEUE_EVENTS
    assert [e["n"] for e in got[1:]] == list(range(burst - QUEUE_EVENTS, burst)), "the newest are kept, in order"


def test_a_client_queue_is_bounded_and_counts_what_it_dropped():
    async def main():
        queue = ClientQueue(capacity=3)
        for n in range(5):
            queue.put(n)
        first = queue.take()
        queue.put(9)
        return first, queue.take()

    (lost, events), (lost_after, after) = asyncio.run(main())
    assert (lost, events) == (2, [2, 3, 4])
    assert (lost_after, after) == (0, [9])


def _record(records, call_id, started, office, caller, disposition):
    records.open_call(call_id, started_at=started, direction="inbound", caller=caller, called="0558450100")
    records.finish_call(call_id, ended_at=started + timedelta(seconds=30), disposition=disposition,
                        cause="normal", office=office)


def test_cdr_search_filters_pages_and_explains_bad_filters(tmp_path):
    async def story(s, client, ctx):
        now = s.wall_clock()
        for n in range(7):
            _record(s.records, f"a{n}", now - timedelta(days=1, minutes=n), "anagrafe", f"33300000{n:02d}", "answered")
        _record(s.records, "t1", now, "tributi", "3471234567", "abandoned")
        day = f"{(now - timedelta(days=1)).astimezone(s.engine.timezone):%Y-%m-%d}"
        return {"office": await client.ask("cdr search", "office=anagrafe", "limit=5"),
                "page2": await client.ask("cdr search", "office=anagrafe", "limit=5", "offset=5"),
                "number": await client.ask("cdr search", "number=347"),
                "day": await client.ask("cdr search", f"from={day}", f"to={day}"),
                "outcome": await client.ask("cdr search", "outcome=abandoned"),
                "export": await client.ask("cdr export", "office=tributi"),
                "bad_day": await client.ask("cdr search", "from=24/11/2026"),
                "bad_key": await client.ask("cdr search", "ufficio=anagrafe"),
                "bad_outcome": await client.ask("cdr search", "outcome=persa")}

    answers = control_session(tmp_path, story)
    office = answers["office"]["result"]
    assert office["total"] == 7 and [r["call_id"] for r in office["records"]] == ["a0", "a1", "a2", "a3", "a4"]
    assert [r["call_id"] for r in answers["page2"]["result"]["records"]] == ["a5", "a6"]
    assert [r["call_id"] for r in answers["number"]["result"]["records"]] == ["t1"]
    assert answers["day"]["result"]["total"] == 7
    assert [r["call_id"] for r in answers["outcome"]["result"]["records"]] == ["t1"]
    export = answers["export"]["result"]
    assert len(export["rows"]) == 1 and export["rows"][0][export["fields"].index("caller")] == "3471234567"
    assert answers["bad_day"]["error"] == "cdr search: from: bad day '24/11/2026' (expected YYYY-MM-DD, e.g. 2026-11-24)"
    assert answers["bad_key"]["error"].startswith("cdr search: unknown filter ufficio")
    assert answers["bad_outcome"]["error"].startswith("cdr search: outcome: unknown 'persa'")


def test_config_test_names_the_line_and_apply_writes_only_a_good_file(tmp_path):
    config = tmp_path / "centralino.yaml"
    original = EXAMPLE.read_text()
    config.write_text(original)
    bad = original.replace("port: fxs2,", "port: fxs9,", 1)
    bad_line = next(n for n, line in enumerate(original.split("\n"), 1) if "port: fxs2," in line)
    good = original.replace('name: "Tributi"}', 'name: "Tributi e Tasse"}', 1)

    async def story(s, client, ctx):
        return {"test_bad": await client.ask("config test", "caricato.yaml", bad),
                "test_good": await client.ask("config test", "caricato.yaml", good),
                "diff": await client.ask("config diff", good),
                "apply_bad": await client.ask("config apply", "admin", bad),
                "after_bad": config.read_text(),
                "apply_good": await client.ask("config apply", "admin", good),
                "status": await client.ask("status"),
                "bad_account": await client.ask("config apply", "Admin Rossi", good)}

    answers = control_session(tmp_path, story, config=config)
    result = answers["test_bad"]["result"]
    assert (result["ok"], result["line"], result["key"]) == (False, bad_line, "extensions[1].port")
    assert result["error"].startswith(f"caricato.yaml:{bad_line}: extensions[1].port: unknown port 'fxs9'")
    assert answers["test_good"]["result"]["ok"] is True
    assert '+  - {number: "204", port: fxs5, name: "Tributi e Tasse"}' in answers["diff"]["result"]["diff"]
    assert answers["apply_bad"]["error"].startswith("config apply: refused, nothing written: centralino.yaml:")
    assert answers["after_bad"] == original
    assert answers["apply_good"]["ok"] and config.read_text() == good
    assert (tmp_path / "centralino.yaml.previous").read_text() == original
    assert answers["status"]["result"]["config_pending_restart"] is True
    assert "is not an account name" in answers["bad_account"]["error"]


def test_ticket_changes_carry_the_account_and_a_citizen_learns_only_the_state(tmp_path):
    async def story(s, client, ctx):
        t = s.tickets
        first = t.open_ticket("c1", "3471234567", "anagrafe", s.wall_clock(), "1", "busy").id
        masked = t.open_ticket("c2", "333xxxxxxx", "tributi", s.wall_clock(), "2", "closed").id
        return {"take": await client.ask("ticket take", str(first), "mrossi"),
                "again": await client.ask("ticket take", str(first), "gbianchi"),
                "done": await client.ask("ticket done", str(first), "mrossi", "richiamato: certificato pronto"),
                "show": await client.ask("ticket show", str(first)),
                "right": await client.ask("ticket lookup", str(first), "4567"),
                "wrong": await client.ask("ticket lookup", str(first), "4568"),
                "missing": await client.ask("ticket lookup", "999", "4567"),
                "masked": await client.ask("ticket lookup", str(masked), "xxxx"),
                "masked_digits": await client.ask("ticket lookup", str(masked), "0000")}, s.database

    answers, db_path = control_session(tmp_path, story)
    assert answers["take"]["result"]["taken_by"] == "mrossi"
    assert answers["again"]["error"].startswith("ticket take: ticket 1 is in progress (taken by mrossi")
    assert [h["what"] for h in answers["show"]["result"]["history"]] == ["opened", "taken", "closed"]
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT closed_by, note FROM tickets WHERE id = 1").fetchone() == \
            ("mrossi", "richiamato: certificato pronto")
    right = answers["right"]["result"]
    assert right["found"] and right["status"] == "closed" and right["office"] == "Ufficio Anagrafe"  # its name
    assert set(right) == {"found", "timezone", "id", "status", "office", "opened_at", "closed_at", "due_at"}
    assert answers["wrong"]["result"] == answers["missing"]["result"] == {"found": False}
    assert answers["masked"]["error"] == "ticket lookup: LAST4 must be 4 digits"
    assert answers["masked_digits"]["result"] == {"found": False}


def test_voicemail_audio_is_the_file_and_marking_names_the_listener(tmp_path):
    samples = (3000 * np.sin(np.arange(8000) / 3)).astype(np.int16)

    async def story(s, client, ctx):
        row = s.voicemail.save("c1", "anagrafe", "3331234567", s.wall_clock(), samples)
        return (await client.ask("voicemail audio", str(row.id)), await client.ask("voicemail mark", str(row.id), "lverdi"),
                await client.ask("voicemail audio", "77"), row.path)

    audio, mark, missing, path = control_session(tmp_path, story)
    data = base64.b64decode(audio["result"]["wav_base64"])
    assert data == open(path, "rb").read() and data[:4] == b"RIFF"
    assert mark["result"]["heard_by"] == "lverdi"
    assert missing["error"] == "voicemail audio: no voicemail message 77"


def test_a_backup_holds_the_database_the_configuration_and_the_recordings(tmp_path):
    samples = np.zeros(800, dtype=np.int16)

    async def story(s, client, ctx):
        _record(s.records, "b1", s.wall_clock(), "anagrafe", "3330000001", "answered")
        s.voicemail.save("c1", "anagrafe", "3331234567", s.wall_clock(), samples)
        _avviso(s)
        before = await client.ask("backup read", "0")
        started = await client.ask("backup create")
        ctx._backup_job.wait(30)
        status = await client.ask("backup status")
        data, offset = b"", 0
        while offset is not None:
            chunk = (await client.ask("backup read", str(offset)))["result"]
            data += base64.b64decode(chunk["data"])
            offset = chunk["next"]
        return before, started, status, data

    before, started, status, data = control_session(tmp_path, story)
    assert before["error"].startswith("backup read: no backup ready")
    assert started["result"]["state"] == "running"
    assert status["result"]["state"] == "ready" and status["result"]["bytes"] == len(data)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = tar.getnames()
        copy = tmp_path / "restored.db"
        copy.write_bytes(tar.extractfile("centralino.db").read())
    assert "config/comune.yaml" in names and any(n.startswith("voicemail/anagrafe/") for n in names)
    assert "announcements/avviso.wav" in names and "announcements/recordings.json" in names
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT caller FROM calls WHERE call_id = 'b1'").fetchone() == ("3330000001",)


def test_the_wallboard_counts_busy_desks_and_waiting_callers(tmp_path):
    async def story(s, client, ctx):
        idle = await client.ask("wallboard", "anagrafe")
        s.phone("202").off_hook()
        await s.wait(0.5)
        busy = await client.ask("wallboard", "anagrafe")
        unknown = await client.ask("wallboard", "ragioneria")
        return idle, busy, unknown

    idle, busy, unknown = control_session(tmp_path, story)
    board = idle["result"]["offices"][0]
    assert (board["office"], board["free"], board["busy"], board["waiting"]) == ("anagrafe", 2, 0, 0)
    board = busy["result"]["offices"][0]
    assert (board["free"], board["busy"]) == (1, 1)
    assert [m["state"] for m in board["members"]] == ["busy", "free"]
    assert unknown["error"].startswith("wallboard: no office ragioneria")


def _archive(tmp_path, members: dict[str, bytes], name="backup.tar.gz"):
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as tar:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


async def _upload(client, data: bytes):
    import hashlib

    size = (await client.ask("restore begin"))["result"]["chunk_bytes"]
    for offset in range(0, len(data), size):
        answer = await client.ask("restore chunk", str(offset), base64.b64encode(data[offset:offset + size]).decode())
        assert answer["ok"], answer
    return await client.ask("restore check", hashlib.sha256(data).hexdigest())


def test_a_backup_is_restored_at_the_next_start_and_a_bad_one_is_refused(tmp_path):
    from centralino.ops.restore import apply_staged
    from centralino.records.cdr import CdrStore

    config = tmp_path / "centralino.yaml"
    config.write_text(EXAMPLE.read_text())
    evil = _archive(tmp_path, {"centralino.db": b"x", "../../etc/cron.d/evil": b"* * * * * root sh"}, "evil.tar.gz")
    not_db = _archive(tmp_path, {"centralino.db": b"not a database"}, "notdb.tar.gz")

    async def story(s, client, ctx):
        _record(s.records, "kept", s.wall_clock(), "anagrafe", "3330000009", "answered")
        s.voicemail.save("c1", "anagrafe", "3331234567", s.wall_clock(), np.zeros(800, dtype=np.int16))
        _avviso(s)
        await client.ask("backup create")
        ctx._backup_job.wait(30)
        backup = ctx._backup_job.archive.read_bytes()
        answers = {}
        for name, data in (("evil", evil.read_bytes()), ("not_db", not_db.read_bytes())):
            await _upload(client, data)
            await _settle(s, ctx)
            answers[name] = (await client.ask("restore status"))["result"]
        await _upload(client, backup)
        await _settle(s, ctx)
        answers["good"] = (await client.ask("restore status"))["result"]
        _record(s.records, "after-backup", s.wall_clock(), "tributi", "3330000010", "answered")
        return answers, s.database

    answers, database = control_session(tmp_path, story, config=config)
    assert answers["evil"]["state"] == "failed" and "a path outside the archive" in answers["evil"]["error"]
    assert answers["not_db"]["state"] == "failed" and "centralino.db" in answers["not_db"]["error"]
    good = answers["good"]
    assert (good["state"], good["calls"], good["recordings"], good["config"]) == ("staged", 1, 1, "config/centralino.yaml")
    manifest = apply_staged(database, config)  # what centralino run does before opening the database
    assert manifest["calls"] == 1
    with CdrStore(database) as store:
        assert [r.call_id for r in store.last(10)] == ["kept"], "the database of the backup, not the later call"
    before = database.parent / "backups" / "before-restore" / "centralino.db"
    with sqlite3.connect(before) as db:
        assert db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 2, "the replaced data is kept"
    assert (database.parent / "announcements" / "avviso.wav").is_file()  # the avviso comes back too
    assert (database.parent / "backups" / "before-restore" / "announcements" / "avviso.wav").is_file()
    assert apply_staged(database, config) is None, "applied once"


def _avviso(s) -> None:
    """An avviso recorded by phone (flows/announcements.py), as its files hold it."""
    from centralino.flows.recordings import RecordingShelf

    shelf = RecordingShelf(s.data_dir / "announcements")
    shelf.write_pending("avviso", np.full(800, 1000, dtype=np.int16), "202", s.wall_clock().isoformat())
    shelf.accept("avviso")


async def _settle(s, ctx):
    """Until the restore's check thread is done (real time: it reads files)."""
    import time

    deadline = time.monotonic() + 30
    while ctx._restore_job.state == "checking" and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_staged_restore_that_cannot_be_applied_leaves_the_current_files(tmp_path, caplog):
    from centralino.ops.restore import MANIFEST, STAGED, apply_staged
    from centralino.records.cdr import CdrStore

    database = tmp_path / "centralino.db"
    with CdrStore(database) as store:
        store.open_call("current", started_at=datetime_now(), direction="internal", caller="201", called="205")
    staged = tmp_path / "backups" / STAGED
    staged.mkdir(parents=True)
    (staged / MANIFEST).write_text('{"calls": 1, "config": null}')  # but no centralino.db beside it
    assert apply_staged(database, None) is None
    with CdrStore(database) as store:
        assert [r.call_id for r in store.last(5)] == ["current"]
    assert (tmp_path / "backups" / "restore-failed").is_dir() and not staged.exists()
    assert any("could not be applied" in r.getMessage() for r in caplog.records)


def datetime_now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc)
