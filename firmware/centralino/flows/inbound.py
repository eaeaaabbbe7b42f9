"""What happens to a call from outside, from the voce guida's greeting to an operator's answer.

One ``InboundFlow`` per answered call runs as a coroutine: it follows destinations (a menu leads
to an office, a full queue to the Sportello Cittadini...) until someone answers, a message is left,
a callback is booked or the caller has heard what the switchboard can say by itself. It acts on
the call only through the switchboard (``ring``, ``stop_ringing``, ``hang_up``), which stays the one
owner of calls and stations; when the caller hangs up the switchboard cancels the coroutine.

Privacy: nothing here ever says an extension's or office's direct number; an outside caller may key
an extension number in a menu only when ``switchboard.direct_dial`` allows it.
"""

from __future__ import annotations

import asyncio
import logging

from centralino.config.flows_schema import Destination
from centralino.flows import italian

from .callback import offer_callback
from .segreteria import leave_voicemail
from .voce_guida import run_menu

log = logging.getLogger("centralino.flows")

MAX_HOPS = 12  # destinations followed before giving up (a loop in the configuration)
QUEUE_CHECK_S = 0.5


class Finished(Exception):
    """The flow is over: the call is answered, or the caller has been served and is hung up."""


class InboundFlow:
    def __init__(self, switchboard, call, session, destination: Destination):
        self.sb = switchboard
        self.call = call
        self.session = session
        self.destination = destination
        self.settings = switchboard.settings
        self.rules = switchboard.settings.rules
        self.menu_path: list[str] = []
        self.tried_operator = False

    # ------------------------------------------------------------------ the whole call
    async def run(self) -> None:
        try:
            destination = self._first_destination()
            for _ in range(MAX_HOPS):
                destination = await self._follow(destination)
                if destination is None:
                    break
            else:
                log.error("call %s: more than %d destinations, the configuration loops", self.call.id, MAX_HOPS)
            if self.call.answered_at is None:
                await self._goodbye()
        except Finished:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:  # a fault in a flow must not leave the caller in silence
            log.exception("call %s: the flow failed; ringing the operator", self.call.id)
            await self._rescue()

    def _first_destination(self) -> Destination:
        offices = self.settings.offices
        if offices and not any(g.attended() for g in self.sb.response_groups.values()):
            self.call.route.append("unattended")
            return self.rules.unattended or Destination("voicemail", self._overflow_office() or offices[0].name)
        if offices and self.destination.kind == "menu" and self._switchboard_busy():
            overflow = self.rules.overflow or (Destination("office", self._overflow_office())
                                               if self._overflow_office() else None)
            if overflow is not None:
                self.call.route.append("all-busy")
                self.call.overflowed = True
                return overflow
        return self.destination

    def _switchboard_busy(self) -> bool:
        """Every phone that could answer is busy (lines in use by other calls)."""
        stations = [s for s in self.sb.stations.values() if s.logged_in and s.channel.in_service]
        return bool(stations) and all(not s.free for s in stations)

    def _overflow_office(self) -> str | None:
        if self.rules.overflow is not None and self.rules.overflow.kind == "office":
            return self.rules.overflow.target
        return "sportello" if self.settings.office("sportello") else None

    async def _follow(self, destination: Destination) -> Destination | None:
        self.call.route.append(str(destination))
        self.sb.note("flow", call=self.call.id[:8], to=str(destination))
        if destination.kind == "menu":
            return await run_menu(self, self.settings.menu(destination.target))
        if destination.kind == "office":
            return await self.reach_office(self.settings.office(destination.target))
        if destination.kind == "voicemail":
            await leave_voicemail(self, self.settings.office(destination.target))
            return None
        ring_timeout_s = self.settings.features.ring_timeout_s
        if destination.kind == "operator":
            self.tried_operator = True
            main = self.settings.dialplan.operator  # the main operator first, then the others
            operators = sorted((s for s in self.sb.stations.values() if s.operator), key=lambda s: s.number != main)
            if await self.ring([operators], ring_timeout_s):
                raise Finished
            return self._after_failure()
        if destination.kind == "extension":
            if await self.ring([[self.sb.stations[destination.target]]], ring_timeout_s):
                raise Finished
            return self._after_failure()
        group = self.sb.response_groups[destination.target]
        if await self.ring(group.batches(), group.member_timeout_s, group):
            raise Finished
        return self._after_failure()

    def _after_failure(self) -> Destination | None:
        if not self.tried_operator:
            return Destination("operator", "")
        return None

    # ------------------------------------------------------------------ offices
    async def reach_office(self, office) -> Destination | None:
        call = self.call
        if not call.office:
            call.office = office.name
        if not self._is_open(office):
            return await self._closed(office)
        group = self.sb.response_groups[office.group]
        if not group.attended():
            self.call.route.append("unattended")
            return await self._failure(office, "closed")
        queue = self.sb.queue_for(office.name)
        entered = self.sb.clock()
        call.office_entered_s = entered
        queue.join(self.session)
        next_announcement = None  # when the caller next hears their position
        greeted = False  # "Vi mettiamo in contatto..." said, or the position already announced
        try:
            while True:
                free = group.free_members()
                if free and queue.may_try(self.session, len(free)):
                    if not greeted:
                        greeted = True
                        await self.session.say("trasferimento", barge_in=False)
                    queue.ringing.add(self.session)
                    try:
                        if await self.ring(group.batches(), group.member_timeout_s, group):
                            call.queued_s = self.sb.clock() - entered
                            raise Finished
                    finally:
                        queue.ringing.discard(self.session)
                    call.queued_s = self.sb.clock() - entered
                    return await self._failure(office, "no_answer")
                waited = self.sb.clock() - entered
                if waited >= office.queue.max_wait_s:
                    call.queued_s = waited
                    return await self._overflow(office)
                if next_announcement is None or self.sb.clock() >= next_announcement:
                    first = next_announcement is None
                    await self._announce_position(queue, first)
                    greeted = True
                    next_announcement = self.sb.clock() + office.queue.announce_every_s
                    self.session.hold_tone(self.settings.features.hold_tone)
                await self.session.pause(QUEUE_CHECK_S)
        finally:
            queue.leave(self.session)
            queue.longest_wait_s = max(queue.longest_wait_s, self.sb.clock() - entered)

    async def _announce_position(self, queue, first: bool) -> None:
        ahead = queue.ahead_of(self.session)
        self.call.positions_announced.append(ahead)
        self.sb.note("queue-position", call=self.call.id[:8], office=queue.office, ahead=ahead)
        pieces = (["tutti_occupati"] if first else []) + [italian.waiting_words(ahead)]
        if first:
            pieces.append("restare_in_linea")
        await self.session.say(*pieces, barge_in=False)

    async def _overflow(self, office) -> Destination | None:
        self.call.overflowed = True
        target = office.queue.overflow
        if target is None:
            name = self._overflow_office()
            target = Destination("office", name) if name and name != office.name else None
        if target is not None and not (target.kind == "office" and target.target == office.name):
            self.sb.note("overflow", call=self.call.id[:8], office=office.name, to=str(target))
            return target
        return await self._failure(office, "busy")

    def _is_open(self, office) -> bool:
        return office.hours.is_open(self.sb.wall_clock(), self.sb.calendar)

    async def _closed(self, office) -> Destination | None:
        """Outside the hours: say so, the hours and the e-mail, then what the office offers."""
        self.call.route.append("closed")
        now = self.sb.wall_clock().astimezone(office.hours.zone)
        holiday = self.sb.calendar.holiday(now.date()) if self.sb.calendar.override is None else None
        pieces: list = ["festivo" if holiday else "ufficio_chiuso"]
        if office.hours.windows:
            pieces += ["ufficio_risponde", italian.hours_words(office.hours)]
        if office.email:
            pieces += ["scrivere_indirizzo", italian.email_words(office.email)]
        await self.session.say(*pieces, barge_in=False)
        if office.closed == "voicemail":
            await leave_voicemail(self, office)
        elif office.closed == "callback":
            await offer_callback(self, office, "closed")
        return None

    async def _failure(self, office, reason: str) -> Destination | None:
        """Nobody could answer: what the office offers instead."""
        self.call.route.append(reason)
        action = office.on_failure
        if action == "callback":
            if not await offer_callback(self, office, reason):
                await leave_voicemail(self, office)
        elif action == "voicemail":
            await leave_voicemail(self, office)
        elif action == "operator" and not self.tried_operator:
            return Destination("operator", "")
        else:
            await self.session.say("tutti_occupati", barge_in=False)
        return None

    # ------------------------------------------------------------------ ringing
    async def ring(self, batches: list[list], timeout_s: float, group=None) -> bool:
        """Ring each batch of stations in turn for ``timeout_s``; True when one answered."""
        for batch in batches:
            batch = [s for s in batch if s.free and s.logged_in]
            if not batch:
                continue
            if group is not None:
                group.rang(batch[-1])
            self.session.hold_tone("it:ringback")
            self.sb.ring(self.call, batch)
            deadline = self.sb.clock() + timeout_s
            while self.call.answered_at is None and self.sb.clock() < deadline:
                await self.session.pause(min(QUEUE_CHECK_S, max(0.02, deadline - self.sb.clock())))
            if self.call.answered_at is not None:
                return True
            self.sb.stop_ringing(self.call)
            self.session.silence()
        return False

    # ------------------------------------------------------------------ endings
    async def _goodbye(self) -> None:
        if self.call.answered_at is None:
            await self.session.say("arrivederci", barge_in=False)
            self.sb.hang_up(self.call)
        raise Finished

    async def _rescue(self) -> None:
        try:
            if self.call.answered_at is None:
                operators = [s for s in self.sb.stations.values() if s.operator and s.free]
                if operators and await self.ring([operators], self.settings.features.ring_timeout_s):
                    return
                self.sb.hang_up(self.call)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("call %s: could not rescue the call", self.call.id)
            self.sb.hang_up(self.call)
