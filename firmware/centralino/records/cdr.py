"""Call detail records: one row per call, written when it starts and committed when it ends.

The row is written at the start (disposition ``in_progress``) so that a call cut by a crash or a
power cut leaves a trace; at the next start ``recover_interrupted`` marks such rows
``interrupted``. ``finish_call`` returns only after its transaction is committed, so a call the
engine reports finished is on disk. Times are stored as UTC ISO-8601 text.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import peewee

from .database import BaseModel, open_database

DISPOSITIONS = ("answered", "no_answer", "busy", "failed", "transferred", "interrupted", "in_progress")
INTERRUPTED_CAUSE = "daemon stopped during the call"


class CallRecord(BaseModel):
    call_id = peewee.CharField(unique=True)
    started_at = peewee.CharField()
    answered_at = peewee.CharField(null=True)
    ended_at = peewee.CharField(null=True)
    duration_s = peewee.FloatField(default=0.0)
    billable_s = peewee.FloatField(default=0.0)
    direction = peewee.CharField()
    caller = peewee.CharField(default="")
    called = peewee.CharField(default="")
    caller_name = peewee.CharField(default="")
    ports = peewee.CharField(default="")
    route = peewee.TextField(default="")
    disposition = peewee.CharField(default="in_progress")
    cause = peewee.CharField(default="")
    transfer_chain = peewee.TextField(default="")
    emergency = peewee.BooleanField(default=False)

    class Meta:
        table_name = "calls"

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self._meta.sorted_field_names if name != "id"}


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class CdrStore:
    def __init__(self, path):
        self.path = Path(path)
        self.db = open_database(self.path, [CallRecord])

    def open_call(self, call_id: str, started_at: datetime, direction: str, caller: str = "",
                  called: str = "", ports: str = "", route: str = "", emergency: bool = False) -> None:
        with self.db.atomic():
            CallRecord.create(call_id=call_id, started_at=_iso(started_at), direction=direction,
                              caller=caller or "", called=called or "", ports=ports, route=route,
                              emergency=emergency)

    def update_call(self, call_id: str, **fields) -> None:
        if "answered_at" in fields:
            fields["answered_at"] = _iso(fields["answered_at"])
        with self.db.atomic():
            CallRecord.update(**fields).where(CallRecord.call_id == call_id).execute()

    def finish_call(self, call_id: str, ended_at: datetime, disposition: str, cause: str,
                    answered_at: datetime | None = None, **fields) -> CallRecord:
        if disposition not in DISPOSITIONS:
            raise ValueError(f"unknown disposition {disposition!r}: expected one of {DISPOSITIONS}")
        with self.db.atomic():
            record = CallRecord.get(CallRecord.call_id == call_id)
            started = parse_time(record.started_at)
            record.ended_at = _iso(ended_at)
            record.duration_s = round(max(0.0, (parse_time(record.ended_at) - started).total_seconds()), 3)
            if answered_at is not None:
                record.answered_at = _iso(answered_at)
            answered = parse_time(record.answered_at)
            record.billable_s = round(max(0.0, (parse_time(record.ended_at) - answered).total_seconds()), 3) \
                if answered else 0.0
            record.disposition, record.cause = disposition, cause
            for name, value in fields.items():
                if value is not None:
                    setattr(record, name, value)
            record.save()
        return record

    def discard_call(self, call_id: str) -> None:
        """Remove a call that became part of another (an enquiry call merged by a transfer)."""
        with self.db.atomic():
            CallRecord.delete().where(CallRecord.call_id == call_id).execute()

    def recover_interrupted(self, now: datetime) -> int:
        """Calls still ``in_progress`` were cut by a crash or power cut: mark them interrupted."""
        count = 0
        with self.db.atomic():
            for record in CallRecord.select().where(CallRecord.disposition == "in_progress"):
                record.disposition, record.cause = "interrupted", INTERRUPTED_CAUSE
                record.ended_at = _iso(now)
                record.duration_s = round(max(0.0, (now.astimezone(timezone.utc)
                                                    - parse_time(record.started_at)).total_seconds()), 3)
                record.save()
                count += 1
        return count

    def last(self, n: int = 20) -> list[CallRecord]:
        rows = CallRecord.select().order_by(CallRecord.started_at.desc(), CallRecord.id.desc()).limit(n)
        return list(reversed(list(rows)))

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()
