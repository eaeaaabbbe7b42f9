"""What happens to a call from outside, from the voce guida's greeting to an operator's answer.

One ``InboundFlow`` per answered call runs as a coroutine: it follows destinations (a menu leads
to an office, a full queue to the Sportello Cittadini...) until someone answers, a message is left,
a callback is booked or the caller has heard what the switchboard can say by itself. It acts on
the call only through its context (``ctx.ring``, ``ctx.hang_up``, ``ctx.record``); the engine stays
the one owner of calls and stations, and cancels the coroutine when the caller hangs up.

Privacy: nothing here ever says an extension's or office's direct number; an outside caller may key
an extension number in a menu only when ``switchboard.direct_dial`` allows it.
"""

from __future__ import annotations

import asyncio
import logging

from centralino.config.flows_schema import Destination
from centralino.flows import sentences

from .callback import callable_number, confirmed_number, offer_callback
from .segreteria import leave_voicemail
from .voce_guida import run_menu

log = logging.getLogger("centralino.flows")

MAX_HOPS = 12  # destinations followed before giving up (a loop in the configuration)


class Finished(Exception):
    """The flow is over: the call is answered, or the caller has been served and is hung up."""


def load_config(settings, host):
    """The voce guida, offices, segreteria and operator destinations of line calls."""
    for kind in ("menu", "office", "voicemail", "operator"):
        host.register(kind, run)
    return None


async def run(host, ctx, session, destination: Destination) -> None:
    ctx.answer()
    ctx.note("voce-guida", line=ctx.channel.name, to=str(destination), caller=ctx.caller or "(unknown)")
    await InboundFlow(host, ctx, session, destination).run()


class InboundFlow:
    def __init__(self, host, ctx, session, destination: Destination):
        self.host = host
        self.ctx = ctx
        self.session = session
        self.destination = destination
        self.settings = ctx.settings
        self.rules = ctx.settings.rules
        self.menu_path: list[str] = []
        self.tried_operator = False
        self.positions_announced: list[int] = []  # "callers ahead" said to the caller
        self.greeted = False  # the greeting naming the comune is said once a call

    # ------------------------------------------------------------------ the whole call
    async def run(self) -> None:
        try:
            handed_over = self.ctx.answered_before  # the operator sent them on: they heard it all already
            if self.host.crisis_active():  # marked in the call's route, announced first
                if "crisis" not in self.ctx.route:
                    self.ctx.step("crisis")
                if not handed_over:
                    await self.session.say(sentences.crisis_announcement(self.settings), barge_in=False)
            avviso = self.host.lookup("announcements")  # flows/announcements.py: recorded by phone
            audio = avviso.for_callers() if avviso is not None and not handed_over else None
            if audio is not None:
                self.ctx.step("avviso")
                await self.session.play(audio, barge_in=False, name="avviso")
            destination = self._first_destination()
            for _ in range(MAX_HOPS):
                destination = await self._follow(destination)
                if destination is None:
                    break
            else:
                log.error("call %s: more than %d destinations, the configuration loops", self.ctx.call_id, MAX_HOPS)
            if not self.ctx.answered:
                await self._goodbye()
        except Finished:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:  # a fault in a flow must not leave the caller in silence
            log.exception("call %s: the flow failed; ringing the operator", self.ctx.call_id)
            await self._rescue()

    def _first_destination(self) -> Destination:
        offices = self.settings.offices
        if offices and not any(g.attended() for g in self.ctx.groups.values()):
            self.ctx.step("unattended")
            return self.rules.unattended or Destination("voicemail", self._overflow_office() or offices[0].name)
        if offices and self.destination.kind == "menu" and self.ctx.switchboard_busy():
            overflow = self.rules.overflow or (Destination("office", self._overflow_office())
                                               if self._overflow_office() else None)
            if overflow is not None:
                self.ctx.step("all-busy")
                self.ctx.record(overflowed=True)
                return overflow
        return self.destination

    def _overflow_office(self) -> str | None:
        if self.rules.overflow is not None and self.rules.overflow.kind == "office":
            return self.rules.overflow.target
        return "sportello" if self.settings.office("sportello") else None

    async def _follow(self, destination: Destination) -> Destination | None:
        self.ctx.step(str(destination))
        self.ctx.note("flow", call=self.ctx.call_id[:8], to=str(destination))
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
            operators = sorted((s for s in self.ctx.stations.values() if s.operator), key=lambda s: s.number != main)
            if await self.ring([operators], ring_timeout_s):
                raise Finished
            return self._after_failure()
        if destination.kind == "extension":
            if await self.ring([[self.ctx.stations[destination.target]]], ring_timeout_s):
                raise Finished
            return self._after_failure()
        group = self.ctx.groups[destination.target]
        if await self.ring(group.batches(), group.member_timeout_s, group):
            raise Finished
        return self._after_failure()

    def _after_failure(self) -> Destination | None:
        if not self.tried_operator:
            return Destination("operator", "")
        return None

    # ------------------------------------------------------------------ offices
    async def reach_office(self, office) -> Destination | None:
        ctx = self.ctx
        if not ctx.fact("office"):
            ctx.record(office=office.name)
        if not self._is_open(office):
            return await self._closed(office)
        group = ctx.groups[office.group]
        if not group.attended():
            ctx.step("unattended")
            return await self._failure(office, "closed")
        queue = self.host.queue_for(office.name)
        entered = ctx.clock()
        ctx.record(queue_entered_s=entered)
        # a caller the operator puts in the queue (``*44``) takes the place of their first call,
        # before those who called after them; everyone else queues from now, so nobody overtakes
        queue.join(self.session, arrived_s=ctx.started_s if ctx.answered_before else entered)
        next_announcement = None  # when the caller next hears their position
        greeted = False  # "Vi mettiamo in contatto..." said, or the position already announced
        callbacks = self.host.lookup("queue_callback")
        offers_callback = callbacks is not None and callbacks.offered(office)
        try:
            while True:
                free = group.free_members()
                if free and queue.may_try(self.session, len(free)):
                    if not greeted:
                        greeted = True
                        await self.session.say(sentences.transfer(self.settings, office), barge_in=False)
                    queue.ringing.add(self.session)
                    try:
                        answered = await self.ring(group.batches(), group.member_timeout_s, group)
                    finally:
                        queue.ringing.discard(self.session)
                    ctx.record(queued_s=round(ctx.clock() - entered, 3))
                    if answered:
                        raise Finished
                    return await self._failure(office, "no_answer")
                waited = ctx.clock() - entered
                if waited >= office.queue.max_wait_s:
                    ctx.record(queued_s=round(waited, 3))
                    return await self._overflow(office)
                if next_announcement is None or ctx.clock() >= next_announcement:
                    first = next_announcement is None
                    await self._announce_position(queue, first, offers_callback)
                    greeted = True
                    next_announcement = ctx.clock() + office.queue.announce_every_s
                    self.session.hold_tone(self.settings.features.hold_tone)
                    continue  # a member freed while the position was said: ring now, not in 30 s
                if offers_callback and self.session.keys:
                    if self.session.keys.popleft() == "1" and await self._book_callback(office, queue, entered):
                        raise Finished
                    self.session.forget_keys()
                    self.session.hold_tone(self.settings.features.hold_tone)
                    continue
                # until a member is free, the next announcement or the longest wait, whichever first
                wake = min(next_announcement, entered + office.queue.max_wait_s) - ctx.clock()
                await self._wait_in_queue(max(0.02, wake), offers_callback)
        finally:
            queue.leave(self.session)
            queue.longest_wait_s = max(queue.longest_wait_s, ctx.clock() - entered)

    async def _announce_position(self, queue, first: bool, offers_callback: bool = False) -> None:
        ahead = queue.ahead_of(self.session)
        self.positions_announced.append(ahead)
        estimates = self.host.lookup("wait_estimate")
        wait_s = estimates.estimate(queue.office, ahead) if estimates is not None else None
        self.ctx.note("queue-position", call=self.ctx.call_id[:8], office=queue.office, ahead=ahead,
                      ewt_s=None if wait_s is None else round(wait_s, 1))
        said = sentences.queue_announcement(ahead, first, wait_s)
        if offers_callback:  # the caller may press 1 while it is said
            await self.session.say(*said, sentences.queue_callback_offer(), barge_in=True)
        else:
            await self.session.say(*said, barge_in=False)

    async def _wait_in_queue(self, timeout_s: float, keys: bool) -> None:
        """Until a station changes, ``timeout_s``, or (when the caller may book a callback) a key."""
        if not keys:
            await self.ctx.wait_for_change(timeout_s)
            return
        waits = {asyncio.ensure_future(self.ctx.wait_for_change(timeout_s)),
                 asyncio.ensure_future(self.session.key_pressed())}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def _book_callback(self, office, queue, entered: float) -> bool:
        """1 in the queue: the caller confirms the number and hangs up; their turn stays as a
        virtual place (flows/queue_callback.py). False when no number was confirmed."""
        ctx = self.ctx
        number = await confirmed_number(self.session, callable_number(ctx.caller))
        if not number:
            ctx.step("callback-no-number")
            return False
        place = self.host.lookup("queue_callback").book(office, queue, self.session, number, ctx.call_id,
                                                         ">".join(self.menu_path))
        ctx.step(f"queue-callback:{place.id}")
        ctx.record(outcome="callback", queued_s=round(ctx.clock() - entered, 3))
        ctx.note("queue-callback", call=ctx.call_id[:8], office=office.name, place=place.id, number=number)
        await self.session.say(sentences.queue_callback_booked(), barge_in=False)
        ctx.hang_up()
        return True

    async def _overflow(self, office) -> Destination | None:
        self.ctx.record(overflowed=True)
        target = office.queue.overflow
        if target is None:
            name = self._overflow_office()
            target = Destination("office", name) if name and name != office.name else None
        if target is not None and not (target.kind == "office" and target.target == office.name):
            self.ctx.note("overflow", call=self.ctx.call_id[:8], office=office.name, to=str(target))
            return target
        return await self._failure(office, "busy")

    def _is_open(self, office) -> bool:
        return self.host.office_open(office, self.ctx.wall_clock())

    async def _closed(self, office) -> Destination | None:
        """Outside the hours: say so, the hours and the e-mail, then what the office offers."""
        self.ctx.step("closed")
        now = self.ctx.wall_clock().astimezone(office.hours.zone)
        calendar = self.host.calendar
        holiday = calendar.holiday(now.date()) if calendar.override is None else None
        await self.session.say(*sentences.closed_sentences(self.settings, office, holiday=bool(holiday)),
                               barge_in=False)
        if office.closed == "voicemail":
            await leave_voicemail(self, office)
        elif office.closed == "callback":
            await offer_callback(self, office, "closed")
        return None

    async def _failure(self, office, reason: str) -> Destination | None:
        """Nobody could answer: what the office offers instead."""
        self.ctx.step(reason)
        action = office.on_failure
        if action == "callback":
            if not await offer_callback(self, office, reason):
                await leave_voicemail(self, office)
        elif action == "voicemail":
            await leave_voicemail(self, office)
        elif action == "operator" and not self.tried_operator:
            return Destination("operator", "")
        else:
            await self.session.say(sentences.nobody_answers(), barge_in=False)
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
            if await self.ctx.ring(batch, timeout_s) is not None or self.ctx.answered:
                return True
            self.session.silence()
        return False

    # ------------------------------------------------------------------ endings
    async def _goodbye(self) -> None:
        if not self.ctx.answered:
            await self.session.say("arrivederci", barge_in=False)
            self.ctx.hang_up()
        raise Finished

    async def _rescue(self) -> None:
        try:
            if not self.ctx.answered:
                operators = [s for s in self.ctx.stations.values() if s.operator and s.free]
                if operators and await self.ring([operators], self.settings.features.ring_timeout_s):
                    return
                self.ctx.hang_up()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("call %s: could not rescue the call", self.ctx.call_id)
            self.ctx.hang_up()
