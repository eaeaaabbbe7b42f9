"""The call log: the engine's call events turned into call records, through the records writer.

``CallLog`` subscribes to the engine's events on the ``EventBus``: ``call.started`` opens the
call's record, ``call.updated`` changes it, ``call.ended`` finishes it and ``call.discarded``
removes it (an enquiry call merged by a transfer). The events carry the keyword arguments of
``CdrStore.open_call``, ``update_call`` and ``finish_call`` plus ``call_id``. A handler only takes
note and hands a job to the writer, so the event loop never waits for a disk.

It remembers each live call's start and changes: every job it submits can write the whole record
by itself (``ensure_call`` first), so a finish still gives a complete record when its start was
dropped from memory during a long outage, or lost with a damaged file that was moved aside. It
keeps the last finished calls in memory (``recent``) for the console's ``cdr`` while the file is
unusable, and republishes the writer's state on the bus: ``records.degraded``, ``records.restored``
(and ``records.moved_aside``), on the loop's thread.

A clean stop closes the calls still live as ``interrupted`` at the stop time
(``close_live_calls``); a crash leaves them ``in_progress`` for ``recover`` at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from concurrent.futures import Future
from datetime import datetime

from .cdr import FIELDS, FINISH_FIELDS, OPEN_FIELDS, STOPPED_CAUSE, UPDATABLE, check_direction, check_disposition
from .cdr import seconds_between
from .database import to_text
from .writer import RecordsKept, RecordWriter

log = logging.getLogger("centralino.records")

KEEP_FINISHED = 200  # finished calls kept in memory: more than the console's cdr shows at once
SUBSCRIBED = ("call.started", "call.updated", "call.ended", "call.discarded")
TIME_FIELDS = ("started_at", "answered_at", "ended_at")
DEFAULTS = {name: "" for name in FIELDS} | {"answered_at": None, "ended_at": None, "duration_s": 0.0,
                                            "billable_s": 0.0, "emergency": False, "queued_s": 0.0,
                                            "overflowed": False, "crisis": False,
                                            "disposition": "in_progress"}


class MemoryRecord:
    """A call record held in memory, with the attributes and ``as_dict`` of a stored one."""

    def __init__(self, fields: dict):
        self._fields = {name: fields.get(name, DEFAULTS[name]) for name in FIELDS}

    def __getattr__(self, name):
        try:
            return self.__dict__["_fields"][name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict:
        return dict(self._fields)

    def __repr__(self) -> str:
        return f"MemoryRecord({self._fields['call_id']!r}, {self._fields['disposition']!r})"


class CallLog:
    """Writes the engine's calls through ``writer``; publishes the records' state on ``bus``."""

    def __init__(self, bus, writer: RecordWriter, keep_finished: int = KEEP_FINISHED,
                 loop: asyncio.AbstractEventLoop | None = None):
        self.bus = bus
        self.writer = writer
        self.loop = loop or _running_loop()
        self._live: dict[str, _Live] = {}
        self._finished: deque[MemoryRecord] = deque(maxlen=keep_finished)
        self.refused = 0  # events whose details the store refused (a bug upstream)
        handlers = {"call.started": self._started, "call.updated": self._updated,
                    "call.ended": self._ended, "call.discarded": self._discarded}
        self._unsubscribe = [bus.subscribe(kind, handlers[kind]) for kind in SUBSCRIBED]
        writer.add_listener(self._writer_said)

    # ------------------------------------------------------------------ events
    def _started(self, event) -> None:
        details = dict(event.details)
        call_id = details.pop("call_id", None)
        opening = {name: details[name] for name in OPEN_FIELDS if name in details}
        try:
            if not call_id or "started_at" not in opening or "direction" not in opening:
                raise ValueError("call.started needs call_id, started_at and direction")
            check_direction(opening["direction"])
        except ValueError as err:
            self._refuse(event, err)
            return
        self._live[call_id] = _Live(opening)
        self._submit(lambda st: st.cdr.ensure_call(call_id, **opening), call_id, "start")

    def _updated(self, event) -> None:
        details = dict(event.details)
        call_id = details.pop("call_id", None)
        changes = {name: value for name, value in details.items() if name in UPDATABLE}
        if not call_id or not changes:
            self._refuse(event, ValueError(f"call.updated needs call_id and some of {', '.join(UPDATABLE)}"))
            return
        live = self._live.get(call_id)
        start = live.change(changes) if live is not None else None

        def job(st):
            if start is not None:
                st.cdr.ensure_call(call_id, **start)
            st.cdr.update_call(call_id, **changes)
        self._submit(job, call_id, "update")

    def _ended(self, event) -> None:
        details = dict(event.details)
        call_id = details.pop("call_id", None)
        finish = {name: details[name] for name in FINISH_FIELDS if name in details}
        finish.setdefault("cause", "")
        try:
            if not call_id or "ended_at" not in finish or "disposition" not in finish:
                raise ValueError("call.ended needs call_id, ended_at and disposition")
            check_disposition(finish["disposition"])
        except ValueError as err:
            self._refuse(event, err)
            return
        self._finish(call_id, finish)

    def _discarded(self, event) -> None:
        call_id = event.get("call_id")
        if not call_id:
            self._refuse(event, ValueError("call.discarded needs call_id"))
            return
        self._live.pop(call_id, None)
        self._submit(lambda st: st.cdr.discard_call(call_id), call_id, "discard")

    def _finish(self, call_id: str, finish: dict) -> None:
        live = self._live.pop(call_id, None)
        start = dict(live.opening) if live is not None else None
        if live is not None:
            for name, value in live.changes.items():  # what an update said, in case the update was lost
                if name in FINISH_FIELDS and finish.get(name) is None:
                    finish[name] = value
            self._finished.append(live.finished(call_id, finish))

        def job(st):
            if start is not None:
                st.cdr.ensure_call(call_id, **start)
            st.cdr.finish_call(call_id, **finish)
        self._submit(job, call_id, "finish")

    # ------------------------------------------------------------------ the engine's and console's API
    def close_live_calls(self, now: datetime) -> int:
        """A clean stop: finish every live call as ``interrupted`` at ``now``; returns how many."""
        live = list(self._live)
        for call_id in live:
            self._finish(call_id, {"ended_at": now, "disposition": "interrupted", "cause": STOPPED_CAUSE})
        if live:
            log.warning("records: %d call(s) in progress at the stop recorded as interrupted", len(live))
        return len(live)

    def recover(self, now: datetime) -> Future:
        """At start: calls a crash left ``in_progress`` become ``interrupted`` (the Future: how many)."""
        return self.writer.submit(lambda st: st.cdr.recover_interrupted(now))

    def recent(self, n: int = 20) -> list[MemoryRecord]:
        """The last ``n`` calls finished while this daemon ran, oldest first (from memory)."""
        return list(self._finished)[-n:] if n > 0 else []

    def live_calls(self) -> list[str]:
        return list(self._live)

    def status(self) -> dict:
        return {"live": len(self._live), "finished_in_memory": len(self._finished), "refused": self.refused,
                "writer": self.writer.status()}

    def close(self) -> None:
        """Stop listening to the bus (the writer is closed by its owner)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    # ------------------------------------------------------------------ helpers
    def _submit(self, job, call_id: str, what: str) -> None:
        future = self.writer.submit(job)
        future.add_done_callback(lambda f: self._written(f, call_id, what))

    def _written(self, future: Future, call_id: str, what: str) -> None:
        error = future.exception()
        if error is not None and not isinstance(error, RecordsKept):
            self.refused += 1
            log.error("records: the %s of call %s was not recorded: %s", what, call_id, error)
        elif error is None and what == "finish":
            # on the file now: who shows figures read from it (the wallboard) may read them again
            self._writer_said("call.recorded", {"call_id": call_id})

    def _refuse(self, event, err: Exception) -> None:
        self.refused += 1
        log.error("records: %s ignored: %s (details %s)", event.kind, err, sorted(event.details))

    def _writer_said(self, kind: str, details: dict) -> None:
        """From the writer's thread: publish on the bus from the loop's thread."""
        if self.loop is None or self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(lambda: self.bus.publish(kind, **details))
        except RuntimeError:  # the loop stopped in between
            pass


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class _Live:
    """A call in progress: its ``open_call`` arguments (kept current) and every change since."""

    def __init__(self, opening: dict):
        self.opening = opening
        self.changes: dict = {}

    def change(self, changes: dict) -> dict:
        """Note ``changes``; returns the start as it is now (to write it whole if it was lost)."""
        self.changes.update(changes)
        self.opening.update({name: value for name, value in changes.items() if name in OPEN_FIELDS})
        return dict(self.opening)

    def finished(self, call_id: str, finish: dict) -> MemoryRecord:
        """The record as the store will have it once ``finish_call(**finish)`` is written."""
        fields = {**self.opening, **self.changes, "call_id": call_id}
        fields.update({name: value for name, value in finish.items() if value is not None})
        for name in TIME_FIELDS:
            if fields.get(name) is not None:
                fields[name] = to_text(fields[name])
        fields["duration_s"] = seconds_between(fields.get("started_at"), fields.get("ended_at"))
        fields["billable_s"] = seconds_between(fields.get("answered_at"), fields.get("ended_at"))
        return MemoryRecord(fields)
