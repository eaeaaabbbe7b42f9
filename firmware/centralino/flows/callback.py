"""The callback offer: "Premere 1 per essere richiamati", then a ticket for the office.

The number to call back is the caller ID; a caller without one keys it in. The ticket carries
the caller's number, the office, the time and the keys pressed in the voce guida, and the office
gets an e-mail; an operator then dials the feature code for the next pending callback, and the
ticket is closed when the citizen answers that call (reopened when they do not).
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger("centralino.flows")

OFFER_WAIT_S = 6.0
NUMBER_WAIT_S = 5.0
NUMBER = re.compile(r"\+?[0-9]{6,15}")


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
        ticket, tickets = event.get("ticket_id"), self.host.tickets
        if ticket is None or tickets is None:
            return
        by = event.get("caller", "")
        try:
            if event.get("answered_at") is not None:
                tickets.close(ticket, by, self.host.wall_clock(), note="richiamato")
                self.host.bus.publish("engine.callback-closed", ticket=ticket, by=by)
            else:
                tickets.reopen(ticket, by, self.host.wall_clock())
                self.host.bus.publish("engine.callback-reopened", ticket=ticket)
        except Exception:
            log.exception("callback ticket %s could not be updated", ticket)


async def offer_callback(flow, office, reason: str) -> bool:
    """True when a callback was booked (the caller heard so); False when declined or impossible."""
    host, ctx, session = flow.host, flow.ctx, flow.session
    if host.tickets is None:
        return False
    session.forget_keys()
    key = await session.say("richiamata_offerta")
    key = session.keys.popleft() if key is not None else await session.get_key(OFFER_WAIT_S)
    if key != "1":
        ctx.step("callback-declined")
        return False
    number = ctx.caller if ctx.caller and NUMBER.fullmatch(ctx.caller) else ""
    if not number:
        await session.say("richiamata_numero", barge_in=True)
        keyed = await session.get_number(15, NUMBER_WAIT_S)
        if not NUMBER.fullmatch(keyed):
            await session.say("numero_non_valido", barge_in=False)
            ctx.step("callback-no-number")
            return False
        number = keyed
    opened = ctx.wall_clock()
    path = ">".join(flow.menu_path)
    ticket = host.tickets.open_ticket(ctx.call_id, number, office.name, opened, path, reason)
    ctx.record(outcome="callback")
    ctx.step(f"callback:{ticket.id}")
    ctx.note("callback", office=office.name, ticket=ticket.id, number=number)
    if host.mailer is not None and office.email:
        from .mailer import callback_mail

        host.mailer.queue(*callback_mail(office.name, office.email, ticket.id, number,
                                         opened.astimezone(ctx.timezone), path, reason))
    await session.say("richiamata_conferma", [number], "richiamata_registrata", barge_in=False)
    return True
