"""Callback from the queue: the caller hangs up and keeps their turn as a virtual place.

"Premere 1 per essere richiamati senza perdere il turno": the caller confirms the number and hangs
up; their place stays in the office's queue (``OfficeQueue`` holds the ``VirtualPlace`` where the
caller was). When the place comes up (a member free, nobody ahead still waiting), the switchboard
rings the office's next free member first (``engine.offers``: the phone shows the number and
"Richiamata"), tells them in the ear whom they are calling back, and calls the citizen from that
phone on a free line. A citizen who does not answer is tried again after ``callback_retry_s``,
from the back of the queue; after ``callback_attempts`` tries the request becomes a callback ticket
for the office (mailed, like any other). So does a place still waiting when the office closes,
when nobody is logged in to call back for ``max_wait_s``, or when the switchboard stops: nobody
who asked to be called back is forgotten.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field

from centralino.media.callerid import CallerId

from . import sentences
from .callback import announce_when_written
from .office_mail import callback_with_mail
from .session import Session

log = logging.getLogger("centralino.flows")

FEATURE = "queue_callback"
NOBODY_RANG_WAIT_S = 30.0  # no member took the callback: the next try this much later


@dataclass(eq=False)
class VirtualPlace:
    """A caller's turn kept without their line."""
    virtual = True  # as opposed to a caller's session (OfficeQueue counts them apart)
    office: str
    number: str
    call_id: str  # the call that booked it (its record says outcome callback)
    menu_path: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    attempts: int = 0


def load_config(settings, host):
    return QueueCallbacks(host)


class QueueCallbacks:
    def __init__(self, host):
        self.host = host
        self.places: dict[str, VirtualPlace] = {}  # still to be served
        self._tasks: dict[str, asyncio.Task] = {}
        self._outcomes: dict[str, asyncio.Future] = {}  # place id -> answered? of its call out
        self.counts = {"completed": 0, "tickets": 0, "attempts": 0}  # since the start
        self._unsubscribe = None
        self._handed_over = False
        host.register_status("queue_callbacks", self.status)

    # ------------------------------------------------------------------ the host's side
    def start(self, engine) -> None:
        self._unsubscribe = self.host.bus.subscribe("call.ended", self._call_ended)

    def hand_over(self, newer: "QueueCallbacks") -> None:
        """``config reload``: the places keep being served, under the rules they were booked with."""
        # the same objects: the tasks booked here keep updating what the newer host shows
        newer.places, newer._tasks, newer._outcomes, newer.counts = self.places, self._tasks, self._outcomes, self.counts
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._handed_over = True

    async def stop(self) -> None:
        """The switchboard stops: every place still waiting becomes a ticket, then the tasks end."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._handed_over:
            return
        for place in list(self.places.values()):
            self._to_ticket(place, self.host.settings.office(place.office), "stopped")
        for task in list(self._tasks.values()):
            task.cancel()

    def status(self) -> dict:
        return {"waiting": len(self.places), **self.counts}

    # ------------------------------------------------------------------ booking
    def offered(self, office) -> bool:
        """Whether callers in this office's queue hear the offer (the config asks, records exist)."""
        return office.queue.callback and self.host.records is not None

    def book(self, office, queue, session, number: str, call_id: str, menu_path: str) -> VirtualPlace:
        """The caller's turn in ``queue`` becomes a virtual place (same position); it is served by
        a task of its own from now on."""
        place = VirtualPlace(office.name, number, call_id, menu_path)
        queue.replace(session, place)
        self.places[place.id] = place
        self.host.bus.publish("callback.booked", place=place.id, office=office.name, number=number)
        task = asyncio.get_running_loop().create_task(self._serve(place, office, queue),
                                                      name=f"queue-callback-{place.id}")
        self._tasks[place.id] = task
        task.add_done_callback(lambda t: self._tasks.pop(place.id, None))
        return place

    # ------------------------------------------------------------------ serving a place
    async def _serve(self, place: VirtualPlace, office, queue) -> None:
        host = self.host
        engine = host.engine
        unattended_since = None  # nobody logged in and in service to call back, since then
        try:
            while place.id in self.places:
                if not host.office_open(office, host.wall_clock()):
                    self._to_ticket(place, office, "closed")
                    break
                group = engine.groups.get(office.group)
                if group is None or not group.attended():
                    unattended_since = engine.clock() if unattended_since is None else unattended_since
                    if engine.clock() - unattended_since >= office.queue.max_wait_s:
                        self._to_ticket(place, office, "no_answer")  # the office's staff will call
                        break
                else:
                    unattended_since = None
                free = group.free_members() if group is not None else []
                if not (free and queue.may_try(place, len(free))):
                    await engine.wait_for_change(NOBODY_RANG_WAIT_S)  # a member freed, a caller left...
                    continue
                queue.ringing.add(place)
                try:
                    outcome = await self._attempt(place, office, group)
                finally:
                    queue.ringing.discard(place)
                if outcome is None:  # no member took it: it keeps its turn, callers on the line pass meanwhile
                    queue.step_aside(place)
                    try:
                        await asyncio.sleep(NOBODY_RANG_WAIT_S)
                    finally:
                        queue.step_back(place)
                    continue
                self.counts["attempts"] += 1
                place.attempts += 1
                if outcome:
                    self._done(place)  # it leaves the queue below
                    host.bus.publish("callback.completed", place=place.id, office=office.name,
                                     number=place.number, attempts=place.attempts)
                    break
                if place.attempts >= office.queue.callback_attempts:
                    self._to_ticket(place, office, "queue_callback")
                    break
                queue.leave(place)
                await asyncio.sleep(office.queue.callback_retry_s)
                queue.join(place, arrived_s=engine.clock())  # from the back: those who stayed on the line go first
        except asyncio.CancelledError:
            raise
        except Exception:  # this place's fault: it becomes a ticket, the queue goes on
            log.exception("callback %s from the queue of %s failed", place.id, office.name)
            self._to_ticket(place, office, "queue_callback")
        finally:
            queue.leave(place)

    async def _attempt(self, place: VirtualPlace, office, group) -> bool | None:
        """Ring a member; True when the citizen answered the call out, False when not, None when no
        member took the callback."""
        engine = self.host.engine
        shown = CallerId(number=place.number, name=f"Richiamata {office.title}"[:32],
                         when=engine.wall_clock().astimezone(engine.timezone))
        ctx = None
        for batch in group.batches():
            batch = [s for s in batch if s.free and s.logged_in]
            if not batch:
                continue
            group.rang(batch[-1])
            ctx = await engine.offers.ring(batch, shown, group.member_timeout_s, FEATURE)
            if ctx is not None:
                break
        if ctx is None or not ctx.active:
            return None
        outcome = asyncio.get_running_loop().create_future()
        self._outcomes[place.id] = outcome
        session = Session(ctx.channel, self.host.phrases, self.host.clock)
        ctx.on_key(session.key)
        briefing = ctx.run(self._brief(ctx, session, place, office), name=f"callback-brief-{place.id}")
        await asyncio.wait({briefing})
        if briefing.cancelled() or briefing.exception() is not None or not briefing.result():
            self._outcomes.pop(place.id, None)
            if not briefing.cancelled() and briefing.exception() is not None:
                log.error("callback %s: telling the operator failed: %s", place.id, briefing.exception())
            return None  # the member hung up before the call out: the place keeps its turn
        try:
            return await outcome
        finally:
            self._outcomes.pop(place.id, None)

    async def _brief(self, ctx, session, place: VirtualPlace, office) -> bool:
        """The member hears whom they are calling back; then their phone calls the citizen."""
        ctx.note("callback-from-queue", ext=ctx.station.number, office=office.name, place=place.id,
                 attempt=place.attempts + 1)
        await session.say(sentences.queue_callback_for_operator(self.host.settings, office), [place.number],
                          barge_in=False)
        if not ctx.active:
            return False
        ctx.call_outside(place.number, callback_id=place.id, office=office.name)
        return True

    def _call_ended(self, event) -> None:
        outcome = self._outcomes.get(event.get("callback_id") or "")
        if outcome is not None and not outcome.done():
            outcome.set_result(event.get("answered_at") is not None)

    # ------------------------------------------------------------------ endings
    def _done(self, place: VirtualPlace) -> None:
        self.places.pop(place.id, None)
        self.counts["completed"] += 1

    def _to_ticket(self, place: VirtualPlace, office, reason: str) -> None:
        """The request goes on as a callback ticket for the office (mailed to it)."""
        host = self.host
        if self.places.pop(place.id, None) is None:
            return
        self.counts["tickets"] += 1
        host.bus.publish("callback.ticket", place=place.id, office=place.office, number=place.number,
                         reason=reason, attempts=place.attempts)
        if host.records is None:
            log.error("callback %s for %s: no records store, the request is only in the log (number %s)",
                      place.id, place.office, place.number)
            return
        # an office a reload removed still gets its ticket (no mail: its address went with it)
        rules = getattr(office, "tickets", None)
        job = callback_with_mail(host.mailer, place.office, office.email if office is not None else None,
                                 place.call_id, place.number, host.wall_clock(), place.menu_path, reason,
                                 host.engine.timezone, deadline=rules.deadline_for() if rules is not None else None,
                                 title=office.title if office is not None else None)
        future = host.records.submit(job)
        future.add_done_callback(host.mail_sent_soon)
        announce_when_written(host.bus, future, "ticket.opened")
