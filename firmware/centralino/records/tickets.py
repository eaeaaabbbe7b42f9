"""Tickets: a citizen's request to an office (a callback, most often), from opening to its outcome.

The life cycle, with the stored state names (the console accepts the everyday words too):

- ``open`` ("new"): the caller left it;
- ``in_progress`` ("in charge"): someone took it (the feature code that dials the next pending
  callback, the console, the web pages);
- ``waiting``: it waits for another office or administration (``waiting_for``); the deadline is
  suspended meanwhile (``deadlines.py``);
- ``closed``, with an ``outcome`` (resolved, called back, not reached, withdrawn, not competent)
  and a note.

Each ticket has a deadline class (same day, 7 days, 40 days) and a due time, fixed when it is
opened from the office's and the subject's rules, and a history (``ticket_history``: who, when,
what) of every change. The row number is the ticket's number, the one read to people
("richiesta numero 12"). Every change is one short transaction that has committed when the method
returns, so a promise made to a citizen survives a power cut. Tickets from a file written before
deadlines and history existed get the default class's due time and a history made from their own
columns the first time the store opens the file.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import peewee

from .database import BaseModel, RecordNotFound, RecordsError, parse_time, to_text
from .deadlines import DEFAULT_DEADLINE, check_deadline, due_time, is_overdue
from .retention import mask_number
from .store import Store

log = logging.getLogger("centralino.records")

REASONS = ("no_answer", "busy", "closed", "requested", "transfer_failed", "queue_callback", "stopped")
STATUSES = ("open", "in_progress", "waiting", "closed")
STATE_WORDS = {"new": "open", "in_charge": "in_progress", "in-charge": "in_progress", "taken": "in_progress"}
OUTCOMES = ("resolved", "called_back", "not_reached", "withdrawn", "not_competent")
DEFAULT_OUTCOME = "resolved"


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
    subject = peewee.CharField(default="")  # the office's subject code ("1" = IMU), "" for none
    deadline = peewee.CharField(default=DEFAULT_DEADLINE)  # deadlines.DEADLINES
    due_at = peewee.CharField(null=True, index=True)  # pushed later by every wait once it ends
    waiting_since = peewee.CharField(null=True)
    waiting_for = peewee.CharField(default="")  # the office or administration it waits for
    waited_s = peewee.FloatField(default=0.0)  # waits that have ended, in seconds
    outcome = peewee.CharField(default="")  # OUTCOMES, once closed

    class Meta:
        table_name = "tickets"

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in FIELDS}


FIELDS = tuple(Ticket._meta.sorted_field_names)


class TicketEvent(BaseModel):
    """One line of a ticket's history: who did what, when, and the state it left the ticket in."""
    ticket = peewee.IntegerField(index=True)
    at = peewee.CharField()
    by = peewee.CharField(default="")
    action = peewee.CharField()  # opened, taken, waiting, resumed, reopened, closed, sms, migrated
    state = peewee.CharField(default="")
    detail = peewee.TextField(default="")

    class Meta:
        table_name = "ticket_history"

    def as_dict(self) -> dict:
        return {"ticket": self.ticket, "at": self.at, "by": self.by, "action": self.action,
                "state": self.state, "detail": self.detail}


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


def state_name(word: str) -> str:
    """A state as stored, from a stored name or an everyday word (``new``, ``in_charge``)."""
    state = STATE_WORDS.get(word, word)
    if state not in STATUSES:
        raise ValueError(f"unknown ticket state {word!r}: expected one of new (open), in_charge (in_progress), "
                         "waiting, closed")
    return state


class TicketStore(Store):
    """The callback tickets in the database at ``database_path``."""

    MODELS = (Ticket, TicketEvent)

    def __init__(self, database_path, **kwargs):
        super().__init__(database_path, **kwargs)
        self._adopt_old_rows()

    def _adopt_old_rows(self) -> None:
        """Tickets of an older file get a due time (the default class) and a history of their own
        columns, once; nothing of theirs changes. A file that cannot be written is left as it is."""
        with self._read():
            orphans = list(Ticket.select().join(TicketEvent, peewee.JOIN.LEFT_OUTER,
                                                on=(TicketEvent.ticket == Ticket.id))
                           .where(TicketEvent.id.is_null()))
        if not orphans:
            return
        try:
            with self._write():
                for row in orphans:
                    if not row.due_at:
                        row.due_at = to_text(due_time(parse_time(row.opened_at), row.deadline or DEFAULT_DEADLINE))
                        row.deadline = row.deadline or DEFAULT_DEADLINE
                        Ticket.update(due_at=row.due_at, deadline=row.deadline).where(Ticket.id == row.id).execute()
                    self._log(row, parse_time(row.opened_at), "", "opened", row.reason, state="open")
                    if row.taken_at:
                        self._log(row, parse_time(row.taken_at), row.taken_by, "taken", state="in_progress")
                    if row.closed_at:
                        self._log(row, parse_time(row.closed_at), row.closed_by, "closed", row.note, state="closed")
        except (peewee.OperationalError, RecordsError) as err:
            log.warning("%s: older tickets keep no history for now (%s)", self.path, err)

    @staticmethod
    def _log(row: Ticket, at: datetime, by: str, action: str, detail: str = "", state: str | None = None) -> None:
        TicketEvent.create(ticket=row.id, at=to_text(at), by=by or "", action=action,
                           state=row.status if state is None else state, detail=detail or "")

    def _get(self, id) -> Ticket:
        number = ticket_id(id)
        row = Ticket.get_or_none(Ticket.id == number)
        if row is None:
            raise RecordNotFound(f"{self.path}: no ticket {number}")
        return row

    # -- writing
    def open_ticket(self, call_id: str, caller: str, office: str, opened_at: datetime, menu_path: str = "",
                    reason: str = "requested", subject: str = "", deadline: str = DEFAULT_DEADLINE,
                    zone="Europe/Rome", by: str = "") -> Ticket:
        """A new open ticket due by its ``deadline`` class; its ``id`` is the number to tell the caller."""
        _choice("reason", reason, REASONS)
        check_deadline(deadline)
        if not caller:
            raise ValueError("a callback ticket needs the number to call back")
        if not office:
            raise ValueError("a callback ticket needs the office that calls back")
        with self._write():
            row = Ticket.create(call_id=call_id or "", caller=caller, office=office, opened_at=to_text(opened_at),
                                menu_path=menu_path or "", reason=reason, subject=str(subject or ""),
                                deadline=deadline, due_at=to_text(due_time(opened_at, deadline, zone)))
            self._log(row, opened_at, by, "opened", reason + (f", subject {row.subject}" if row.subject else ""))
            return row

    def take(self, id, by: str, at: datetime) -> Ticket:
        """An operator starts on an open ticket (open -> in_progress)."""
        with self._write():
            row = self._get(id)
            if row.status != "open":
                raise TicketError(f"ticket {row.id} is {self._state(row)}: only an open ticket can be taken")
            row.status, row.taken_at, row.taken_by = "in_progress", to_text(at), by or ""
            row.save()
            self._log(row, at, by, "taken")
        return row

    def take_next(self, office: str | None, by: str, at: datetime) -> Ticket | None:
        """Take the oldest open ticket of ``office`` (any office when None) in one transaction."""
        with self._write():
            row = self._pending(office)
            if row is None:
                return None
            row.status, row.taken_at, row.taken_by = "in_progress", to_text(at), by or ""
            row.save()
            self._log(row, at, by, "taken")
        return row

    def wait(self, id, by: str, at: datetime, waiting_for: str) -> Ticket:
        """The ticket waits for another office or administration (open or in_progress -> waiting);
        its deadline is suspended until ``resume`` or ``close``."""
        waiting_for = " ".join(str(waiting_for or "").split())
        if not waiting_for:
            raise ValueError("say whom the ticket waits for (another office or administration)")
        with self._write():
            row = self._get(id)
            if row.status not in ("open", "in_progress"):
                raise TicketError(f"ticket {row.id} is {self._state(row)}: only a new ticket or one in charge "
                                  "can wait for someone else")
            row.status, row.waiting_since, row.waiting_for = "waiting", to_text(at), waiting_for
            row.save()
            self._log(row, at, by, "waiting", waiting_for)
        return row

    def resume(self, id, by: str, at: datetime) -> Ticket:
        """The answer came (waiting -> in_progress, or open if nobody had taken it): the deadline
        runs again, later by the time waited."""
        with self._write():
            row = self._get(id)
            if row.status != "waiting":
                raise TicketError(f"ticket {row.id} is {self._state(row)}: only a waiting ticket can resume")
            waited = self._end_wait(row, at)
            row.status = "in_progress" if row.taken_at else "open"
            row.save()
            self._log(row, at, by, "resumed", f"waited {round(waited)} s")
        return row

    @staticmethod
    def _end_wait(row: Ticket, at: datetime) -> float:
        """Close the current wait: its seconds go into ``waited_s`` and push ``due_at`` later."""
        since = parse_time(row.waiting_since)
        if since is None:
            return 0.0
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        waited = max(0.0, (at - since).total_seconds())
        row.waited_s = (row.waited_s or 0.0) + waited
        if row.due_at:
            row.due_at = to_text(parse_time(row.due_at) + timedelta(seconds=waited))
        row.waiting_since = None
        return waited

    def reopen(self, id, by: str, at: datetime) -> Ticket:
        """The callback did not reach the citizen (in_progress -> open): it waits for the next try."""
        with self._write():
            row = self._get(id)
            if row.status != "in_progress":
                raise TicketError(f"ticket {row.id} is {self._state(row)}: only a ticket in progress can be reopened")
            row.status, row.taken_at, row.taken_by = "open", None, ""
            row.note = f"non raggiunto da {by}" if by else "non raggiunto"
            row.save()
            self._log(row, at, by, "reopened", row.note)
        return row

    def close(self, id, by: str, at: datetime, note: str = "", outcome: str = DEFAULT_OUTCOME) -> Ticket:
        """Done (from any other state -> closed) with its ``outcome`` and an optional note."""
        _choice("outcome", outcome, OUTCOMES)
        with self._write():
            row = self._get(id)
            if row.status == "closed":
                raise TicketError(f"ticket {row.id} is already {self._state(row)}")
            if row.status == "waiting":
                self._end_wait(row, at)
            row.status, row.closed_at, row.closed_by, row.note = "closed", to_text(at), by or "", note or ""
            row.outcome = outcome
            row.save()
            self._log(row, at, by, "closed", outcome + (f": {note}" if note else ""))
        return row

    def note_event(self, id, by: str, at: datetime, action: str, detail: str = "") -> TicketEvent:
        """A line in the ticket's history that changes nothing else (an SMS sent or failed...)."""
        with self._write():
            row = self._get(id)
            return TicketEvent.create(ticket=row.id, at=to_text(at), by=by or "", action=action,
                                      state=row.status, detail=detail or "")

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
        if row.status == "waiting":
            return f"waiting for {row.waiting_for or '?'} (since {row.waiting_since})"
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

    def list(self, status: str | None = None, office: str | None = None, by_due: bool = False) -> list[Ticket]:
        """Tickets oldest first (soonest due first with ``by_due``), filtered by status and office."""
        if status is not None:
            _choice("status", status, STATUSES)
        with self._read():
            query = Ticket.select()
            if status is not None:
                query = query.where(Ticket.status == status)
            if office is not None:
                query = query.where(Ticket.office == office)
            order = (Ticket.due_at, Ticket.id) if by_due else (Ticket.opened_at, Ticket.id)
            return list(query.order_by(*order))

    def overdue(self, now: datetime, office: str | None = None) -> list[Ticket]:
        """Tickets past their due time, not closed and not waiting, soonest due first."""
        return [row for row in self.list(office=office, by_due=True) if is_overdue(row, now)]

    def history(self, id) -> list[TicketEvent]:
        """Every change of ticket ``id``, oldest first."""
        with self._read():
            row = self._get(id)
            return list(TicketEvent.select().where(TicketEvent.ticket == row.id).order_by(TicketEvent.id))
