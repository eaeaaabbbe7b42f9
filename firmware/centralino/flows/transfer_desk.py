"""The operator's failed-transfer desk: a blind transfer nobody answered, back at the operator.

When the recalled caller is answered again, the operator hears in the ear who did not answer
("l'Ufficio Tributi non risponde"). Then, with the caller on hold (flash), a feature code says
what happens to them:

- ``*41`` (``features.desk_voicemail``): the caller goes to the office's segreteria;
- ``*42`` [subject code] ``#`` (``features.desk_callback``): a callback ticket for the office, with
  the caller's number and the subject the office defines (``subjects:``), mailed to the office;
  the caller hears that they will be called back, and the call ends;
- ``*43`` (``features.desk_retry``): the same transfer once more.

The office is the one whose response group holds the number the transfer went to (an
extension or a group's number). A code without a failed transfer, or for a number of no office,
gets congestion tone and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from centralino.channels.sources import SamplesSource
from centralino.config.flows_schema import Destination
from centralino.records.writer import RecordsKept

from .callback import announce_ticket
from .office_mail import callback_with_mail
from .session import Session

log = logging.getLogger("centralino.flows")

FEATURES = ("desk_voicemail", "desk_callback", "desk_retry")
SUBJECT_WAIT_S = 4.0
PEER_UNDER_WHISPER = 8  # the caller, 18 dB down while the operator hears who did not answer


def load_config(settings, host):
    desk = TransferDesk(settings, host)
    for feature in FEATURES:
        host.register_feature(feature, (lambda name: lambda h, ctx, session: desk.run(ctx, session, name))(feature))
    host.register("desk_callback", desk.confirm_callback)
    return desk


def office_for(settings, number: str):
    """The office whose group is ``number`` (its number or name) or has the extension ``number``."""
    for office in settings.offices:
        group = settings.group(office.group)
        if group is not None and number in (group.number, group.name, *group.members):
            return office
    return None


class Whisper(SamplesSource):
    """A prompt in the operator's ear over the caller's voice: the two keep talking meanwhile."""

    def __init__(self, samples, channel):
        super().__init__(samples, name="whisper")
        self._channel = channel

    def frame(self):
        prompt = super().frame().astype(np.int32)
        peer = self._channel.peer
        if peer is not None:
            prompt += peer.last_rx.astype(np.int32) // PEER_UNDER_WHISPER
        return np.clip(prompt, -32768, 32767).astype(np.int16)


class TransferDesk:
    def __init__(self, settings, host):
        self.settings = settings
        self.host = host
        self.recalled: dict[str, tuple[str, str]] = {}  # call id -> (operator, number not answering)
        self._unsubscribe: list = []

    def start(self, engine) -> None:
        bus = self.host.bus
        self._unsubscribe = [bus.subscribe("engine.recall", self._recall),
                             bus.subscribe("engine.answered", self._answered),
                             bus.subscribe("call.ended", lambda e: self.recalled.pop(e.get("call_id"), None))]

    def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    # ------------------------------------------------------------------ the prompt in the ear
    def _recall(self, event) -> None:
        if event.get("call_id"):
            self.recalled[event.get("call_id")] = (event.get("to", ""), event.get("target", ""))

    def _answered(self, event) -> None:
        operator, target = self.recalled.get(event.get("call_id"), ("", ""))
        if not operator or event.get("ext") != operator:
            return
        self.recalled.pop(event.get("call_id"), None)
        office = office_for(self.settings, target)
        station = self.host.engine.stations.get(operator) if self.host.engine is not None else None
        if station is None:
            return
        who = office.prompt if office is not None else None
        pieces = ([who] if who else [[target]]) + ["non_risponde"]
        samples = Session(station.channel, self.host.phrases, self.host.clock).phrase(*pieces)
        station.channel.play(Whisper(samples, station.channel))

    # ------------------------------------------------------------------ the feature codes
    async def run(self, ctx, session, feature: str) -> None:
        target = ctx.failed_transfer
        office = office_for(self.settings, target) if target else None
        if office is None:
            ctx.note("refused", ext=ctx.station.number, feature=feature, why="no failed transfer held")
            session.hold_tone("it:congestion")
            return
        if feature == "desk_voicemail":
            done = ctx.send_held_to(Destination("voicemail", office.name))
        elif feature == "desk_retry":
            done = ctx.retry_transfer()
        else:
            done = await self._callback(ctx, session, office)
        if not done:
            session.hold_tone("it:congestion")
            return
        if feature != "desk_retry":
            await session.say("grazie", barge_in=False)
        ctx.done()

    async def _callback(self, ctx, session, office) -> bool:
        number = ctx.held_caller
        if not number:
            ctx.note("refused", ext=ctx.station.number, feature="desk_callback", why="no caller number")
            return False
        code = await session.get_number(3, SUBJECT_WAIT_S)
        rules = office.tickets
        subject = rules.subject(code) if code else None
        if code and subject is None:
            ctx.note("refused", ext=ctx.station.number, feature="desk_callback", why=f"no subject {code}")
            return False
        opened = ctx.wall_clock()
        job = callback_with_mail(self.host.mailer, office.name, office.email, ctx.held_call_id or "", number, opened,
                                 "", "transfer_failed", ctx.timezone, subject=subject,
                                 deadline=rules.deadline_for(code or ""), by=ctx.station.number)
        future = self.host.records.submit(job)
        future.add_done_callback(self.host.mail_sent_soon)
        try:
            ticket = await asyncio.wrap_future(future)
            announce_ticket(self.host.bus, "ticket.opened", ticket)
            target = str(ticket.id)
        except RecordsKept:
            target = "kept"
        return ctx.send_held_to(Destination("desk_callback", target))

    async def confirm_callback(self, host, ctx, session, destination) -> None:
        """The caller's side of a desk callback: they hear they will be called back, then goodbye."""
        ctx.record(outcome="callback")
        ctx.step(f"callback:{destination.target}")
        await session.say("richiamata_conferma", [ctx.caller], "richiamata_registrata", "arrivederci",
                          barge_in=False)
        ctx.hang_up()
