"""The callback offer: "Premere 1 per essere richiamati", then a ticket for the office.

The number to call back is the caller ID; a caller without one keys it in. The ticket carries
the caller's number, the office, the time and the keys pressed in the voce guida, and the office
gets an e-mail; an operator then dials the feature code for the next pending callback, and the
ticket is closed when the citizen answers that call (reopened when they do not).
"""

from __future__ import annotations

import asyncio
import logging
import re

from centralino.records.writer import RecordsKept

from . import sentences
from .office_mail import callback_with_mail

log = logging.getLogger("centralino.flows")

OFFER_WAIT_S = 6.0
NUMBER_WAIT_S = 5.0
NUMBER_TRIES = 3  # numbers keyed in before the offer is given up
NUMBER = re.compile(r"\+?[0-9]{6,15}")


def announce_ticket(bus, kind: str, ticket) -> None:
    """``ticket.opened`` / ``ticket.closed`` on the bus (the citizen's SMS listens: ticket_sms.py)."""
    bus.publish(kind, ticket=ticket.id, caller=ticket.caller, office=ticket.office, subject=ticket.subject,
                status=ticket.status)


def announce_when_written(bus, future, kind: str) -> None:
    """Announce the ticket a records job returns once it is on disk (later, if it was kept)."""
    async def wait():
        try:
            ticket = await asyncio.wrap_future(future)
        except RecordsKept as kept:
            ticket = await asyncio.wrap_future(kept.written)
        announce_ticket(bus, kind, ticket)

    task = asyncio.get_running_loop().create_task(wait())
    task.add_done_callback(lambda t: t.cancelled() or t.exception() and log.warning(
        "%s not announced: %s", kind, t.exception()))


def load_config(settings, host):
    return CallbackDesk(host)


class CallbackDesk:
    """Closes a callback ticket when the call that serves it ends (``call.ended`` with its ticket)."""

    def __init__(self, host):
        self.host = host
        self._unsubscribe = None

    def start(self, engine) -> None:
        self._unsubscribe = self.host.bus.subscribe("call.ended", self._call_ended)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def _call_ended(self, event) -> None:
        ticket, records = event.get("ticket_id"), self.host.records
        if ticket is None or records is None:
            return
        by, now = event.get("caller", ""), self.host.wall_clock()
        if event.get("answered_at") is not None:
            future = records.submit(lambda st: st.tickets.close(ticket, by, now, note="richiamato",
                                                                outcome="called_back"))
            self.host.bus.publish("engine.callback-closed", ticket=ticket, by=by)
            announce_when_written(self.host.bus, future, "ticket.closed")
        else:
            records.submit(lambda st: st.tickets.reopen(ticket, by, now))
            self.host.bus.publish("engine.callback-reopened", ticket=ticket)


async def offer_callback(flow, office, reason: str) -> bool:
    """True when a callback was booked (the caller heard so); False when declined or impossible."""
    host, ctx, session = flow.host, flow.ctx, flow.session
    if host.records is None:
        return False
    session.forget_keys()
    # after ringing nobody answered: say so before offering anything
    before = [sentences.nobody_answers()] if reason in ("no_answer", "busy") else []
    key = await session.say(*before, sentences.callback_offer())
    key = session.keys.popleft() if key is not None else await session.get_key(OFFER_WAIT_S)
    if key != "1":
        ctx.step("callback-declined")
        return False
    number = await confirmed_number(session, callable_number(ctx.caller))
    if not number:
        ctx.step("callback-no-number")
        return False
    opened = ctx.wall_clock()
    path = ">".join(flow.menu_path)
    rules = getattr(office, "tickets", None)
    job = callback_with_mail(host.mailer, office.name, office.email, ctx.call_id, number, opened, path, reason,
                             ctx.timezone, deadline=rules.deadline_for() if rules is not None else None,
                             title=office.title)
    future = host.records.submit(job)
    future.add_done_callback(host.mail_sent_soon)
    ctx.record(outcome="callback")
    try:
        ticket = await asyncio.wrap_future(future)
        ctx.step(f"callback:{ticket.id}")
        ctx.note("callback", office=office.name, ticket=ticket.id, number=number)
        announce_ticket(host.bus, "ticket.opened", ticket)
    except RecordsKept as kept:  # the database cannot be written now: the ticket is kept and written later
        ctx.step("callback:kept")
        ctx.note("callback", office=office.name, ticket="kept", number=number)
        announce_when_written(host.bus, kept.written, "ticket.opened")
    await session.say(sentences.callback_booked(), barge_in=False)
    return True


def callable_number(caller: str | None) -> str:
    """The caller ID when it is a number the switchboard can call back, else "" (keyed in then)."""
    return caller if caller and NUMBER.fullmatch(caller) else ""


async def confirmed_number(session, number: str) -> str:
    """The number to call back, read back to the caller: 1 confirms (so does silence), 2 corrects
    it (the caller keys another). "" when no valid number was given after ``NUMBER_TRIES``."""
    tries = 0
    while tries < NUMBER_TRIES:
        if not number:
            tries += 1
            session.forget_keys()
            await session.say(sentences.callback_ask_number(), barge_in=True)
            keyed = await session.get_number(15, NUMBER_WAIT_S)
            if not NUMBER.fullmatch(keyed):
                await session.say(sentences.number_invalid(), barge_in=False)
                continue
            number = keyed
        session.forget_keys()
        key = await session.say(sentences.callback_number_is(), [number], sentences.callback_confirm_or_correct())
        key = session.keys.popleft() if key is not None else await session.get_key(OFFER_WAIT_S)
        if key == "2":
            number = ""
            continue
        return number
    return ""
