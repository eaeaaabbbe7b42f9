"""Ringing stations for a call, by the group's strategy, until one answers.

A call to a response group is rung member by member (hunt, round robin, longest idle) or all at
once (ring_all), skipping busy, logged-out and faulty members, however it was reached: a line
routed to the group, the group's number dialled inside, or a flow (an office's queue). A line
call starts a new round after the last member; an internal call ends unanswered
(``no_answer``). A call with nobody free to ring waits (``waiting``) and is rung as soon as a
station changes state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from centralino.media.callerid import CallerId

from .causes import Cause


@dataclass
class RingPlan:
    """How a call's ringing goes on: the stations it may ring, or the group it hunts through."""
    targets: list = field(default_factory=list)  # stations a direct call may ring
    group: str | None = None  # a response group rung by its strategy
    tried: set = field(default_factory=set)  # members rung in this round
    next_batch: object | None = None  # the timer that moves on to the next members


class Ringer:
    def __init__(self, engine):
        self.engine = engine
        self.waiting: list = []  # calls with nobody free to ring yet
        self._timeouts: dict = {}  # call -> its ring timeout

    # ------------------------------------------------------------------ offering
    def offer(self, call, stations: list) -> None:
        """Ring ``stations`` for ``call``; the first to answer takes it."""
        engine = self.engine
        call.state = "ringing"
        for station in stations:
            station.state, station.call = "ringing", call
            station.channel.ring(self.caller_id_for(call))
            call.use_port(station.channel.name)
            if station not in call.ringing:
                call.ringing.append(station)
            engine.note("ringing", ext=station.number, caller=call.caller or "(unknown)")

    def ring_plan(self, call, plan: RingPlan) -> None:
        """Ring a call by its plan now (or as soon as a member is free)."""
        call.plan = plan
        if plan.group is not None:
            self.hunt(call)
        else:
            free = [t for t in plan.targets if t.free]
            if free:
                self.offer(call, free)
            else:
                self._wait(call)

    def ring_timeout(self, call) -> None:
        """An internal call rings at most the configured ring timeout."""
        self.cancel_timeout(call)
        self._timeouts[call] = self.engine.after(self.engine.settings.features.ring_timeout_s,
                                                 lambda: self._no_answer(call), owner=call, what="ring timeout")

    def cancel_timeout(self, call) -> None:
        timer = self._timeouts.pop(call, None)
        if timer is not None:
            timer.cancel()

    def caller_id_for(self, call) -> CallerId | None:
        """What the ringing phones show; None while a line call's caller ID is still on its way."""
        if call.direction == "inbound" and not call.caller and call.caller_absent is None:
            return None
        when = self.engine.wall_clock().astimezone(self.engine.timezone)
        return CallerId(number=call.caller or None, name=call.caller_name or None, when=when,
                        number_absent=None if call.caller else (call.caller_absent or "O"))

    def show_caller_id(self, call) -> None:
        for station in call.ringing:
            station.channel.set_caller_id(self.caller_id_for(call))

    # ------------------------------------------------------------------ groups
    def hunt(self, call) -> None:
        """Ring the next members of the call's group by the group's strategy."""
        engine, plan = self.engine, call.plan
        group = engine.groups[plan.group]
        if plan.next_batch is not None:
            plan.next_batch.cancel()
            plan.next_batch = None
        batches = group.batches()
        if group.strategy == "ring_all":
            if batches:
                self.offer(call, batches[0])
            elif not call.ringing:
                self._wait(call)
            return
        untried = [batch for batch in batches if not plan.tried.intersection(batch)]
        if not untried and call.direction == "internal":
            self._no_answer(call)
            return
        if not untried:  # a new round, from the member after the ones ringing now
            plan.tried = set(call.ringing)
            untried = batches
        if not untried:
            if call.ringing:  # the only member who can answer keeps ringing
                plan.next_batch = engine.after(group.member_timeout_s, lambda: self.hunt(call), owner=call,
                                               what="next group member")
            else:
                self._wait(call)  # nobody can: tried again when a member is free
            return
        batch = untried[0]
        plan.tried.update(batch)
        group.rang(batch[0])
        plan.next_batch = engine.after(group.member_timeout_s, lambda: self.hunt(call), owner=call,
                                       what="next group member")
        self.stop(call)
        self.offer(call, batch)

    def _wait(self, call) -> None:
        if call not in self.waiting:
            self.waiting.append(call)

    def retry_waiting(self) -> None:
        """A station changed state: ring the waiting calls that can now ring someone."""
        for call in list(self.waiting):
            if call not in self.engine.calls or call.answered_at is not None:
                self.waiting.remove(call)
                continue
            plan = call.plan
            if plan is None:
                continue
            if plan.group is not None:
                if self.engine.groups[plan.group].free_members():
                    self.waiting.remove(call)
                    self.hunt(call)
            elif free := [t for t in plan.targets if t.free]:
                self.waiting.remove(call)
                self.offer(call, free)

    def forget(self, call) -> None:
        if call in self.waiting:
            self.waiting.remove(call)
        self.cancel_timeout(call)

    def _no_answer(self, call) -> None:
        """An internal call nobody answered: the caller hears congestion."""
        engine = self.engine
        self._timeouts.pop(call, None)
        if call not in engine.calls or call.answered_at is not None:
            return
        origin = engine.station_for(call.origin)
        engine.end(call, Cause.NO_ANSWER, None)
        if origin is not None and origin.channel.off_hook:
            engine.tone(origin, "congestion")

    # ------------------------------------------------------------------ stopping and answering
    def stop(self, call, keep=None) -> None:
        for station in call.ringing:
            if station is not keep:
                station.channel.stop_ringing()
                if station.state == "ringing" and station.call is call:
                    self.engine.idle(station)
        call.ringing = [keep] if keep is not None and keep in call.ringing else []

    def answer(self, call, station) -> None:
        """``station`` went off hook while ringing for ``call``: connect it to the waiting party."""
        engine = self.engine
        self.stop(call, keep=station)
        call.ringing = []
        station.channel.stop_ringing()
        if call.plan is not None and call.plan.next_batch is not None:
            call.plan.next_batch.cancel()
        self.forget(call)
        waiting = call.waiting_party()
        if waiting is not None and waiting.is_line and getattr(waiting, "state", "") == "ringing":
            waiting.answer()
        if waiting is not None:
            waiting.play(None)
        caller_station = engine.station_for(waiting) if waiting is not None else None
        if caller_station is not None and caller_station.call is call:
            caller_station.state = "talking"
            caller_station.channel.play(None)
        call.fill_empty_leg(station.channel)
        station.state, station.call = "talking", call
        engine.desk.cancel_dialling(station)
        engine.transfers.answered(call)
        call.route.append(f"answered:{station.number}")
        if waiting is not None:
            engine.bridge(waiting, station.channel)
        engine.mark_answered(call, by=station.number)
        engine.note("answered", ext=station.number, caller=call.caller or "(unknown)", call_id=call.id)
