"""Call detail records: one row per call, written when it starts and committed when it ends.

The row is written at the start (disposition ``in_progress``) so that a call cut by a crash or a
power cut leaves a trace; at the next start ``recover_interrupted`` marks such rows
``interrupted``. ``finish_call`` returns only after its transaction is committed, so a call the
engine reports finished is on disk.

Times are stored as UTC ISO-8601 text with milliseconds (``2026-11-24T08:00:00.000+00:00``): one
fixed format sorts in time order as text, reads back with ``datetime.fromisoformat`` and needs no
time-zone database; the console and the CLI show them in the comune's zone. A naive datetime
given to the store is taken as UTC.

Every write is one short transaction on the caller's thread, with one fsync. The daemon's writes
go through ``records.writer.RecordWriter`` (a thread of its own, off the media clock), which also
uses the idempotent ``ensure_call``: a finish can always write the whole record, even when its
start was lost with a damaged file or dropped from memory during a long outage.
"""

from __future__ import annotations

from datetime import datetime

import peewee

from .database import BaseModel, RecordsError, parse_time, to_text
from .retention import mask_number
from .store import Store

DIRECTIONS = ("inbound", "outbound", "internal")
# abandoned: the caller hung up before anyone answered (in a menu or a queue); voicemail: the
# caller left a message; callback: a callback ticket was opened for the caller.
DISPOSITIONS = ("answered", "no_answer", "busy", "failed", "transferred", "failover", "interrupted",
                "abandoned", "voicemail", "callback", "in_progress")
INTERRUPTED_CAUSE = "daemon stopped during the call"
STOPPED_CAUSE = "switchboard stopped during the call"  # a clean stop: the end time is the stop's
TIME_FIELDS = ("started_at", "answered_at", "ended_at")


class CallRecord(BaseModel):
    call_id = peewee.CharField(unique=True)
    started_at = peewee.CharField(index=True)
    answered_at = peewee.CharField(null=True)
    ended_at = peewee.CharField(null=True)
    duration_s = peewee.FloatField(default=0.0)  # start to end (ringing included)
    billable_s = peewee.FloatField(default=0.0)  # answer to end: the conversation
    direction = peewee.CharField()
    caller = peewee.CharField(default="")
    called = peewee.CharField(default="")
    caller_name = peewee.CharField(default="")
    ports = peewee.CharField(default="")  # comma list, e.g. "fxo1,fxs1"
    route = peewee.TextField(default="")  # e.g. "line:fxo1>ext:200>transfer:203"
    disposition = peewee.CharField(default="in_progress", index=True)
    cause = peewee.CharField(default="")
    transfer_chain = peewee.TextField(default="")
    emergency = peewee.BooleanField(default=False)
    office = peewee.CharField(default="")  # the office that handled or was asked for the call
    queued_s = peewee.FloatField(default=0.0)  # reaching the office to answer (or to the end if unanswered)
    overflowed = peewee.BooleanField(default=False)  # sent on from a full or too-long queue
    crisis = peewee.BooleanField(default=False)  # started while the crisis service was on (Protezione Civile)

    class Meta:
        table_name = "calls"

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in FIELDS}


FIELDS = tuple(name for name in CallRecord._meta.sorted_field_names if name != "id")
UPDATABLE = tuple(name for name in FIELDS if name not in ("call_id", "started_at"))
# The keyword arguments of open_call and finish_call (the engine's events carry the same names).
OPEN_FIELDS = ("started_at", "direction", "caller", "called", "ports", "route", "emergency", "caller_name", "crisis")
FINISH_FIELDS = ("ended_at", "disposition", "cause", "answered_at", "route", "transfer_chain", "ports", "called",
                 "caller", "caller_name", "office", "queued_s", "overflowed")


def seconds_between(start: str | None, end: str | None) -> float:
    """Seconds from one stored time to another (0 when either is missing or the end comes first)."""
    if not start or not end:
        return 0.0
    return round(max(0.0, (parse_time(end) - parse_time(start)).total_seconds()), 3)


def check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}: expected one of {', '.join(DIRECTIONS)}")


def check_disposition(disposition: str) -> None:
    if disposition not in DISPOSITIONS or disposition == "in_progress":
        raise ValueError(f"unknown disposition {disposition!r}: expected one of "
                         f"{', '.join(d for d in DISPOSITIONS if d != 'in_progress')}")


class CdrStore(Store):
    """The engine's call records."""

    MODELS = (CallRecord,)

    def open_call(self, call_id: str, started_at: datetime, direction: str, caller: str = "",
                  called: str = "", ports: str = "", route: str = "", emergency: bool = False,
                  caller_name: str = "", crisis: bool = False) -> None:
        """Write the call's first row (``in_progress``) so that a crash leaves a trace."""
        check_direction(direction)
        with self._write():
            try:
                CallRecord.create(call_id=call_id, started_at=to_text(started_at), direction=direction,
                                  caller=caller or "", called=called or "", caller_name=caller_name or "",
                                  ports=ports or "", route=route or "", emergency=emergency, crisis=crisis)
            except peewee.IntegrityError:
                raise RecordsError(f"{self.path}: call {call_id} is already recorded") from None

    def ensure_call(self, call_id: str, started_at: datetime, direction: str, **fields) -> bool:
        """``open_call`` unless the call already has its row; True when it wrote one.

        What the records writer uses: the same start may be written twice (once from memory after
        an outage), and a finish may come with a start that was lost.
        """
        check_direction(direction)
        with self._write():
            if CallRecord.select().where(CallRecord.call_id == call_id).exists():
                return False
            self.open_call(call_id, started_at=started_at, direction=direction, **fields)
        return True

    def update_call(self, call_id: str, **fields) -> None:
        """Change some fields of a call (caller ID arrived, answered...)."""
        unknown = sorted(set(fields) - set(UPDATABLE))
        if unknown:
            raise ValueError(f"cannot update {', '.join(unknown)}: expected some of {', '.join(UPDATABLE)}")
        for name in TIME_FIELDS:
            if name in fields:
                fields[name] = to_text(fields[name])
        if not fields:
            return
        with self._write():
            if CallRecord.update(**fields).where(CallRecord.call_id == call_id).execute() != 1:
                raise RecordsError(f"{self.path}: no call {call_id} to update")

    def finish_call(self, call_id: str, ended_at: datetime, disposition: str, cause: str,
                    answered_at: datetime | None = None, route: str | None = None,
                    transfer_chain: str | None = None, ports: str | None = None, called: str | None = None,
                    caller: str | None = None, caller_name: str | None = None, office: str | None = None,
                    queued_s: float | None = None, overflowed: bool | None = None) -> CallRecord:
        """Close the call's row with its outcome and durations; returns once it is committed."""
        check_disposition(disposition)
        with self._write():
            record = CallRecord.get_or_none(CallRecord.call_id == call_id)
            if record is None:
                raise RecordsError(f"{self.path}: no call {call_id} to finish")
            record.ended_at = to_text(ended_at)
            if answered_at is not None:
                record.answered_at = to_text(answered_at)
            record.duration_s = seconds_between(record.started_at, record.ended_at)
            record.billable_s = seconds_between(record.answered_at, record.ended_at)
            record.disposition, record.cause = disposition, cause or ""
            for name, value in (("route", route), ("transfer_chain", transfer_chain), ("ports", ports),
                                ("called", called), ("caller", caller), ("caller_name", caller_name),
                                ("office", office), ("queued_s", queued_s), ("overflowed", overflowed)):
                if value is not None:
                    setattr(record, name, value)
            record.save()
        return record

    def discard_call(self, call_id: str) -> None:
        """Remove a call that became part of another (an enquiry call merged by a transfer)."""
        with self._write():
            CallRecord.delete().where(CallRecord.call_id == call_id).execute()

    def recover_interrupted(self, now: datetime) -> int:
        """Calls still ``in_progress`` were cut by a crash or power cut: mark them ``interrupted``.

        When such a call really ended is unknown; ``ended_at`` is set to ``now`` (the restart, an
        upper bound, so ``duration_s`` is an upper bound too) and ``billable_s`` stays 0 rather
        than invent a conversation length. ``answered_at`` is kept if it was recorded.
        """
        ended = to_text(now)
        count = 0
        with self._write():
            for record in CallRecord.select().where(CallRecord.disposition == "in_progress"):
                record.disposition, record.cause, record.ended_at = "interrupted", INTERRUPTED_CAUSE, ended
                record.duration_s = seconds_between(record.started_at, ended)
                record.billable_s = 0.0
                record.save()
                count += 1
        return count

    def mask_callers_before(self, cutoff: datetime) -> int:
        """Mask the outside party's number on finished calls started before ``cutoff``.

        Inbound: the caller (and the caller-ID name, emptied); outbound: the called number, which
        is the citizen's. Internal calls carry only extensions and stay as they are; a call still
        ``in_progress`` is the engine's row until it ends. Returns how many rows changed, so a
        second run over the same period returns 0.
        """
        count = 0
        with self._write():
            query = CallRecord.select().where(CallRecord.started_at < to_text(cutoff),
                                              CallRecord.direction != "internal",
                                              CallRecord.disposition != "in_progress")
            for record in query:
                if record.direction == "inbound":
                    changes = {"caller": mask_number(record.caller), "caller_name": ""}
                else:
                    changes = {"called": mask_number(record.called)}
                if any(getattr(record, name) != value for name, value in changes.items()):
                    CallRecord.update(**changes).where(CallRecord.id == record.id).execute()
                    count += 1
        return count

    def delete_finished_before(self, cutoff: datetime) -> int:
        """Delete finished calls started before ``cutoff`` (``records.keep_days``); returns how many.

        A call still ``in_progress`` is never deleted: its row is the engine's until it ends.
        """
        with self._write():
            return CallRecord.delete().where(CallRecord.started_at < to_text(cutoff),
                                             CallRecord.disposition != "in_progress").execute()

    def last(self, n: int = 20) -> list[CallRecord]:
        """The ``n`` most recently started calls, oldest first."""
        with self._read():
            rows = list(CallRecord.select().order_by(CallRecord.started_at.desc(), CallRecord.id.desc()).limit(n))
        return rows[::-1]

