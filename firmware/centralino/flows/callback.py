"""The callback offer: "Premere 1 per essere richiamati", then a ticket for the office.

The number to call back is the caller ID; a caller without one keys it in. The ticket carries
the caller's number, the office, the time and the keys pressed in the voce guida, and the office
gets an e-mail; an operator then dials the feature code for the next pending callback.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger("centralino.flows")

OFFER_WAIT_S = 6.0
NUMBER_WAIT_S = 5.0
NUMBER = re.compile(r"\+?[0-9]{6,15}")


async def offer_callback(flow, office, reason: str) -> bool:
    """True when a callback was booked (the caller heard so); False when declined or impossible."""
    sb, call, session = flow.sb, flow.call, flow.session
    if sb.tickets is None:
        return False
    session.forget_keys()
    key = await session.say("richiamata_offerta")
    key = session.keys.popleft() if key is not None else await session.get_key(OFFER_WAIT_S)
    if key != "1":
        call.route.append("callback-declined")
        return False
    number = call.caller if call.caller and NUMBER.fullmatch(call.caller) else ""
    if not number:
        await session.say("richiamata_numero", barge_in=True)
        keyed = await session.get_number(15, NUMBER_WAIT_S)
        if not NUMBER.fullmatch(keyed):
            await session.say("numero_non_valido", barge_in=False)
            call.route.append("callback-no-number")
            return False
        number = keyed
    opened = sb.wall_clock()
    path = ">".join(flow.menu_path)
    ticket = sb.tickets.open_ticket(call.id, number, office.name, opened, path, reason)
    call.outcome = "callback"
    call.route.append(f"callback:{ticket.id}")
    sb.note("callback", office=office.name, ticket=ticket.id, number=number)
    if sb.mailer is not None and office.email:
        from .mailer import callback_mail

        sb.mailer.queue(*callback_mail(office.name, office.email, ticket.id, number,
                                       opened.astimezone(sb.timezone), path, reason))
    await session.say("richiamata_conferma", [number], "richiamata_registrata", barge_in=False)
    return True
