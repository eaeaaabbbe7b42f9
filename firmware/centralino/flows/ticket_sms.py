"""The citizen's SMS: "Comune di ...: richiesta n. 123 presa in carico", and another at closing.

Opt-in per comune (``tickets.sms`` in the configuration, with the texts). It listens to
``ticket.opened`` and ``ticket.closed`` on the event bus and sends through the GSM modem driver's
``send_sms`` (AT+CMGF=1 text mode, AT+CMGS), only to Italian mobile numbers (3xx, with or without
+39) and only when the modem is there and idle, so an SMS never takes the modem from a call. The
ticket is on disk before the event is published: a failed SMS never costs the ticket, it is only
noted in the ticket's history ("sms": sent, or why not), like every other change.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata

log = logging.getLogger("centralino.flows")

MOBILE = re.compile(r"(?:\+39|0039)?3[0-9]{8,9}")
SEND_TIMEOUT_S = 40.0  # the driver gives up on AT+CMGS after 30 s; this is the outer bound
KINDS = {"ticket.opened": "opened", "ticket.closed": "closed"}
SMS_USER = "centralino"


def is_mobile(number: str) -> bool:
    """An Italian mobile number: 3 and 8 or 9 more digits, optionally after +39 or 0039."""
    return bool(MOBILE.fullmatch((number or "").replace(" ", "")))


def sms_ascii(text: str) -> str:
    """The text in the modem's plain alphabet: accents dropped ("Forlì" -> "Forli"), the rest kept."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(c if c == "\n" or " " <= c <= "~" else " " for c in plain)


def load_config(settings, host):
    return TicketSms(settings, host)


class TicketSms:
    """Sends the configured SMS for tickets opened and closed; notes the outcome in the history."""

    def __init__(self, settings, host):
        self.host = host
        self.config = settings.tickets.sms
        self.comune = settings.comune.name
        self.offices = {o.name: o for o in settings.offices}
        self.modem = None
        self.sent: list[tuple[str, str]] = []  # (number, text) handed to the modem and accepted
        self._unsubscribe: list = []
        self._tasks: set[asyncio.Task] = set()

    def start(self, engine) -> None:
        if not self.config.enabled:
            return
        self.modem = engine.channels.get("gsm")
        if self.modem is None:
            log.warning("tickets.sms is enabled but there is no GSM modem: no SMS will be sent")
        self._unsubscribe = [self.host.bus.subscribe(kind, self._ticket) for kind in KINDS]

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for task in list(self._tasks):
            task.cancel()

    def _subject_name(self, office: str, code: str) -> str:
        rules = getattr(self.offices.get(office), "tickets", None)
        subject = rules.subject(code) if rules is not None and code else None
        return subject.name if subject is not None else ""

    def _ticket(self, event) -> None:
        which, number, ticket = KINDS[event.kind], event.get("caller", ""), event.get("ticket")
        if not is_mobile(number):
            return  # a landline or a masked number: nothing to send, nothing to note
        if self.modem is None or not self.modem.in_service:
            self._note(ticket, "not sent: no GSM modem in service")
            return
        office = self.offices.get(event.get("office", ""))  # the display name: no identifier reaches a caller
        shown = (office.title or office.name) if office is not None else event.get("office", "")
        text = sms_ascii(self.config.text(which, comune=self.comune, number=ticket, office=shown,
                                          subject=self._subject_name(event.get("office", ""),
                                                                     event.get("subject", ""))))
        task = asyncio.get_running_loop().create_task(self._send(ticket, number, text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, ticket, number: str, text: str) -> None:
        try:
            await self._modem_free()
            reference = await asyncio.wait_for(self.modem.driver.send_sms(number, text), SEND_TIMEOUT_S)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # ModemError, a timeout, a text the driver refuses: the ticket stays
            log.warning("ticket %s: SMS to %s failed: %s", ticket, number, err)
            self._note(ticket, f"failed to {number}: {err}")
            return
        self.sent.append((number, text))
        self._note(ticket, f"sent to {number} (ref {reference}): {text}")

    async def _modem_free(self, wait_s: float = 120.0) -> None:
        """Wait (on the loop's clock) while the modem carries a call: calls first, SMS after. A modem
        without network is tried all the same: its refusal is what the history notes."""
        clock = self.host.clock
        deadline = clock() + wait_s
        while self.modem.state != "idle":
            if not self.modem.in_service or clock() > deadline:
                raise RuntimeError("the GSM modem is busy with a call")
            await asyncio.sleep(1.0)

    def _note(self, ticket, detail: str) -> None:
        records = self.host.records
        if records is None or ticket is None:
            return
        at = self.host.wall_clock()
        records.submit(lambda st: st.tickets.note_event(ticket, SMS_USER, at, "sms", detail))
