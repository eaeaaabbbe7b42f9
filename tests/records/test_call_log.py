"""The call log: engine events on a real EventBus become call records in a real file, through the writer.

The file is checked with a connection of the test's own; the bus events are checked as a
subscriber sees them, on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from datetime import datetime, timedelta, timezone

from centralino.eventbus import EventBus
from centralino.records.call_log import CallLog
from centralino.records.cdr import FIELDS, STOPPED_CAUSE, CdrStore
from centralino.records.writer import RecordWriter

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
SAFETY_S = 20.0
FAST = {"retry_first_s": 0.01, "retry_max_s": 0.05}
START = dict(started_at=T0, direction="inbound", caller="", called="0558450150", caller_name="", ports="fxo1",
             route="line:fxo1", emergency=False)


def stored(path) -> dict[str, dict]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return {row["call_id"]: {name: row[name] for name in FIELDS} for row in db.execute("SELECT * FROM calls")}


async def until(condition, what: str):
    for _ in range(int(SAFETY_S / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what}: not within {SAFETY_S} s")


class Listener:
    """A bus subscriber to records.*, noting the thread each event arrived on."""

    def __init__(self, bus: EventBus):
        self.events = []
        bus.subscribe("records.*", lambda e: self.events.append((e.kind, dict(e.details), threading.get_ident())))

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.events]


def run(main):
    return asyncio.run(main())


def test_the_engines_events_become_records_and_the_memory_copy_matches_the_file(tmp_path):
    path = tmp_path / "c.db"

    async def main():
        bus = EventBus(asyncio.get_running_loop().time)
        writer = RecordWriter(path, **FAST)
        log = CallLog(bus, writer)
        bus.publish("call.started", call_id="in1", **START)
        bus.publish("call.updated", call_id="in1", caller="3331234567", caller_name="ROSSI MARIO")
        bus.publish("call.updated", call_id="in1", answered_at=T0 + timedelta(seconds=8))
        bus.publish("call.started", call_id="enquiry", **{**START, "direction": "internal", "caller": "200"})
        bus.publish("call.discarded", call_id="enquiry")
        bus.publish("call.ended", call_id="in1", ended_at=T0 + timedelta(seconds=98), disposition="transferred",
                    cause="normal_clearing", answered_at=T0 + timedelta(seconds=8), route="line:fxo1>ext:200>ext:203",
                    transfer_chain="200,203", ports="fxo1,fxs1,fxs3", called="0558450150", caller="3331234567",
                    caller_name="ROSSI MARIO", office="anagrafe", queued_s=4.5, overflowed=False, emergency=False)
        assert writer.flush(SAFETY_S)
        memory = [r.as_dict() for r in log.recent()]
        writer.close()
        return memory, log.refused

    memory, refused = run(main)
    rows = stored(path)
    assert set(rows) == {"in1"} and refused == 0
    row = rows["in1"]
    assert (row["caller"], row["caller_name"], row["disposition"], row["route"], row["office"]) == \
        ("3331234567", "ROSSI MARIO", "transferred", "line:fxo1>ext:200>ext:203", "anagrafe")
    assert (row["duration_s"], row["billable_s"], row["queued_s"]) == (98.0, 90.0, 4.5)
    [copy] = memory
    assert {k: (bool(v) if k in ("emergency", "overflowed") else v) for k, v in row.items()} == copy


def test_an_unwritable_file_is_reported_on_the_bus_and_the_emergency_call_written_later(tmp_path):
    path = tmp_path / "c.db"
    path.write_text("not a database")  # the daemon starts on a file it cannot use

    async def main():
        bus = EventBus(asyncio.get_running_loop().time)
        heard = Listener(bus)
        writer = RecordWriter(path, **FAST)
        log = CallLog(bus, writer)
        await until(lambda: "records.degraded" in heard.kinds(), "records.degraded on the bus")
        bus.publish("call.started", call_id="sos", **{**START, "direction": "outbound", "caller": "207",
                                                       "called": "112", "emergency": True})
        bus.publish("call.updated", call_id="sos", answered_at=T0 + timedelta(seconds=3))
        bus.publish("call.ended", call_id="sos", ended_at=T0 + timedelta(seconds=63), disposition="answered",
                    cause="normal_clearing", emergency=True)
        assert writer.flush(SAFETY_S)
        while_down = ([r.call_id for r in log.recent()], writer.status()["state"], dict(stored_or_none(path)))
        path.unlink()  # the technician moves the file away
        writer.retry_now()
        await until(lambda: "records.restored" in heard.kinds(), "records.restored on the bus")
        writer.close()
        return heard, while_down, threading.get_ident()

    heard, while_down, loop_thread = run(main)
    assert while_down == (["sos"], "degraded", {})
    assert [kind for kind, _, _ in heard.events] == ["records.degraded", "records.restored"]
    degraded, restored = heard.events[0][1], heard.events[1][1]
    assert "not an SQLite database" in degraded["reason"] and restored == {"written": 3}
    assert {thread for _, _, thread in heard.events} == {loop_thread}  # published from the loop's thread
    row = stored(path)["sos"]
    assert (row["called"], row["emergency"], row["disposition"], row["billable_s"]) == ("112", 1, "answered", 60.0)


def stored_or_none(path) -> dict:
    try:
        return stored(path)
    except sqlite3.DatabaseError:
        return {}


def test_a_finish_writes_the_whole_record_when_its_start_was_dropped_from_memory(tmp_path):
    path = tmp_path / "c.db"
    path.write_text("not a database")

    async def main():
        bus = EventBus(asyncio.get_running_loop().time)
        writer = RecordWriter(path, max_kept_jobs=2, **FAST)
        CallLog(bus, writer)
        bus.publish("call.started", call_id="long", **{**START, "caller": "3331234567"})
        bus.publish("call.updated", call_id="long", answered_at=T0 + timedelta(seconds=10))
        bus.publish("call.updated", call_id="long", office="tributi")
        bus.publish("call.ended", call_id="long", ended_at=T0 + timedelta(seconds=70), disposition="answered",
                    cause="normal_clearing")
        assert writer.flush(SAFETY_S)
        dropped = writer.status()["dropped"]
        path.unlink()
        writer.retry_now()
        await until(lambda: writer.status()["pending"] == 0 and writer.status()["state"] == "ok", "written")
        writer.close()
        return dropped

    assert run(main) == 2  # the start and the first update are gone from memory
    row = stored(path)["long"]
    assert (row["started_at"], row["caller"], row["direction"], row["route"]) == \
        ("2026-11-24T08:00:00.000+00:00", "3331234567", "inbound", "line:fxo1")
    assert (row["answered_at"], row["billable_s"], row["office"], row["disposition"]) == \
        ("2026-11-24T08:00:10.000+00:00", 60.0, "tributi", "answered")


def test_bad_event_details_are_refused_with_a_reason_and_the_next_call_is_recorded(tmp_path, caplog):
    path = tmp_path / "c.db"

    async def main():
        bus = EventBus(asyncio.get_running_loop().time)
        writer = RecordWriter(path, **FAST)
        log = CallLog(bus, writer)
        bus.publish("call.started", call_id="x", started_at=T0)  # no direction
        bus.publish("call.started", call_id="y", **{**START, "direction": "sideways"})
        bus.publish("call.updated", call_id="ghost", caller="1")  # a call nobody started
        bus.publish("call.updated", call_id="z")  # nothing to change
        bus.publish("call.ended", call_id="q", ended_at=T0, disposition="maybe")
        bus.publish("call.started", call_id="good", **START)
        bus.publish("call.ended", call_id="good", ended_at=T0 + timedelta(seconds=5), disposition="no_answer",
                    cause="no_answer")
        assert writer.flush(SAFETY_S)
        writer.close()
        return log.refused, bus.handler_errors

    with caplog.at_level(logging.ERROR, logger="centralino.records"):
        refused, handler_errors = run(main)
    assert refused == 5 and handler_errors == 0  # refused by the call log itself: the bus saw no exception
    assert "call.started ignored: call.started needs call_id, started_at and direction" in caplog.text
    assert "unknown direction 'sideways'" in caplog.text and "no call ghost to update" in caplog.text
    assert "unknown disposition 'maybe'" in caplog.text
    assert {c: r["disposition"] for c, r in stored(path).items()} == {"good": "no_answer"}


def test_a_clean_stop_closes_the_live_calls_as_interrupted_at_the_stop_time(tmp_path):
    path = tmp_path / "c.db"
    stop = T0 + timedelta(minutes=2)

    async def main():
        bus = EventBus(asyncio.get_running_loop().time)
        writer = RecordWriter(path, **FAST)
        log = CallLog(bus, writer)
        bus.publish("call.started", call_id="talking", **START)
        bus.publish("call.updated", call_id="talking", answered_at=T0 + timedelta(seconds=20))
        bus.publish("call.started", call_id="ringing", **{**START, "started_at": T0 + timedelta(seconds=100)})
        bus.publish("call.started", call_id="over", **START)
        bus.publish("call.ended", call_id="over", ended_at=T0 + timedelta(seconds=9), disposition="busy", cause="busy")
        closed = log.close_live_calls(stop)
        assert writer.flush(SAFETY_S)
        writer.close()
        return closed, log.live_calls()

    closed, live = run(main)
    rows = stored(path)
    assert (closed, live) == (2, [])
    for call_id, billable in (("talking", 100.0), ("ringing", 0.0)):
        row = rows[call_id]
        assert (row["disposition"], row["cause"], row["ended_at"], row["billable_s"]) == \
            ("interrupted", STOPPED_CAUSE, "2026-11-24T08:02:00.000+00:00", billable)
    assert rows["over"]["disposition"] == "busy"


def test_calls_a_crash_left_open_are_recovered_through_the_writer(tmp_path):
    path = tmp_path / "c.db"
    with CdrStore(path) as store:
        store.open_call("cut", started_at=T0, direction="inbound", caller="3331234567")

    async def main():
        bus = EventBus(asyncio.get_running_loop().time)
        writer = RecordWriter(path, **FAST)
        recovered = await asyncio.wrap_future(CallLog(bus, writer).recover(T0 + timedelta(minutes=5)))
        writer.close()
        return recovered

    assert run(main) == 1
    assert (stored(path)["cut"]["disposition"], stored(path)["cut"]["duration_s"]) == ("interrupted", 300.0)
