"""Callback tickets: a citizen asked to be called back by an office, and someone must do it.

A ticket is ``open`` when the caller leaves it, ``in_progress`` once an operator takes it (the
feature code that dials the next pending callback), ``closed`` when done. The row number is the
ticket's number, the one read to people ("richiesta numero 12"). Every change is one short
transaction that has committed when the method returns, so a promise made to a citizen survives a
power cut.
"""

from __future__ import annotations

from datetime import datetime

import peewee

from .database import BaseModel, RecordNotFound, RecordsError, to_text
from .retention import mask_number
from .store import Store

REASONS = ("no_answer", "busy", "closed", "requested")
STATUSES = ("open", "in_progress", "closed")


class Ticket(BaseModel):
    call_id = peewee.CharField(default="")
    caller = peewee.CharField()
    office = peewee.CharField(index=True)
    opened_at = peewee.CharField(index=True)
    menu_path = peewee.CharField(default="")  # the keys pressed in the voce guida, e.g. "1>2"
    reason = peewee.CharField()
    status = peewee.CharField(default="open", index=True)
    taken_at = peewee.CharField(null=True)
    taken_by = peewee.CharField(default="")
    closed_at = peewee.CharField(null=True)
    closed_by = peewee.CharField(default="")
    note = peewee.TextField(default="")

    class Meta:
        table_name = "tickets"

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in FIELDS}


FIELDS = tuple(Ticket._meta.sorted_field_names)


class TicketError(RecordsError, ValueError):
    """A change a ticket's state does not allow (closing a closed ticket...)."""


def ticket_id(value) -> int:
    """A ticket number from code or a console word; anything else is a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"a ticket number is a whole number, got {value!r}")
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"a ticket number is a whole number from 1, got {value!r}")
    return int(text)


def _choice(what: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"unknown ticket {what} {value!r}: expected one of {', '.join(choices)}")


class TicketStore(Store):
    """The callback tickets in the database at ``database_path``."""

    MODELS = (Ticket,)

    def _get(self, id) -> Ticket:
        number = ticket_id(id)
        row = Ticket.get_or_none(Ticket.id == number)
        if row is None:
            raise RecordNotFound(f"{self.path}: no ticket {number}")
        return row

    # -- writing
    def open_ticket(self, call_id: str, caller: str, office: str, opened_at: datetime, menu_path: str = "",
                    reason: str = "requested") -> Ticket:
        """A new open ticket; its ``id`` is the number to tell the caller."""
        _choice("reason", reason, REASONS)
        if not caller:
            raise ValueError("a callback ticket needs the number to call back")
        if not office:
            raise ValueError("a callback ticket needs the office that calls back")
        with self._write():
            return Ticket.create(call_id=call_id or "", caller=caller, office=office, opened_at=to_text(opened_at),
                                 menu_path=menu_path or "", reason=reason)

    def take(self, id, by: str, at: datetime) -> Ticket:
        """An operator starts on an open ticket (open -> in_progress)."""
        with self._write():
            row = self._get(id)
            if row.status != "open":
                raise TicketError(f"ticket {row.id} is {self._state(row)}: only an open ticket can be taken")
            row.status, row.taken_at, row.taken_by = "in_progress", to_text(at), by or ""
            row.save()
        return row

    def take_next(self, office: str | None, by: str, at: datetime) -> Ticket | None:
        """Take the oldest open ticket of ``office`` (any office when None) in one transaction."""
        with self._write():
            row = self._pending(office)
            if row is None:
                return None
            row.status, row.taken_at, row.taken_by = "in_progress", to_text(at), by or ""
            row.save()
        return row

    def reopen(self, id, by: str, at: datetime) -> Ticket:
        """The callback did not reach the citizen (in_progress -> open): it waits for the next try."""
        with self._write():
            row = self._get(id)
            if row.status != "in_progress":
                raise TicketError(f"ticket {row.id} is {self._state(row)}: only a ticket in progress can be reopened")
            row.status, row.taken_at, row.taken_by = "open", None, ""
            row.note = f"non raggiunto da {by}" if by else "non raggiunto"
            row.save()
        return row

    def close(self, id, by: str, at: datetime, note: str = "") -> Ticket:
        """Done (open or in_progress -> closed), with an optional note of the outcome."""
        with self._write():
            row = self._get(id)
            if row.status == "closed":
                raise TicketError(f"ticket {row.id} is already {self._state(row)}")
            row.status, row.closed_at, row.closed_by, row.note = "closed", to_text(at), by or "", note or ""
            row.save()
        return row

    def mask_callers_before(self, cutoff: datetime) -> int:
        """Mask the caller's number of tickets closed before ``cutoff``; returns how many changed.

        Open and in-progress tickets keep the number: it is the promise to call back.
        """
        count = 0
        with self._write():
            for row in Ticket.select().where(Ticket.status == "closed", Ticket.closed_at < to_text(cutoff)):
                masked = mask_number(row.caller)
                if masked != row.caller:
                    Ticket.update(caller=masked).where(Ticket.id == row.id).execute()
                    count += 1
        return count

    @staticmethod
    def _state(row: Ticket) -> str:
        if row.status == "closed":
            return f"closed (by {row.closed_by or '?'} at {row.closed_at})"
        if row.status == "in_progress":
            return f"in progress (taken by {row.taken_by or '?'} at {row.taken_at})"
        return "open"

    # -- reading
    def _pending(self, office: str | None) -> Ticket | None:
        query = Ticket.select().where(Ticket.status == "open")
        if office is not None:
            query = query.where(Ticket.office == office)
        return query.order_by(Ticket.opened_at, Ticket.id).first()

    def next_pending(self, office: str | None) -> Ticket | None:
        """The oldest open ticket of ``office`` (any office when None), or None."""
        with self._read():
            return self._pending(office)

    def get(self, id) -> Ticket:
        with self._read():
            return self._get(id)

    def list(self, status: str | None = None, office: str | None = None) -> list[Ticket]:
        """Tickets oldest first, filtered by status and office when given."""
        if status is not None:
            _choice("status", status, STATUSES)
        with self._read():
            query = Ticket.select()
            if status is not None:
                query = query.where(Ticket.status == status)
            if office is not None:
                query = query.where(Ticket.office == office)
            return list(query.order_by(Ticket.opened_at, Ticket.id))
