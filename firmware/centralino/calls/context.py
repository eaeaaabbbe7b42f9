"""What a flow may do: the small surface of the engine a flow's coroutine sees.

A flow serving a caller gets a ``CallContext``; one serving a staff phone's feature code gets a
``StationContext``. They carry awaitables (``await ctx.ring(stations, 15)``, ``await
ctx.caller_id(4)``, ``await ctx.wait_for_change(0.5)``) and a few actions (answer the line, dial a
second line, connect, hang up, tell the record), and nothing else: a flow never holds the engine,
never polls a call's fields, and what it raises costs only its own call (the flow host catches it).
"""

from __future__ import annotations

import asyncio
import logging

from centralino.channels.sources import tone

from .call import FACTS
from .causes import Cause

log = logging.getLogger("centralino.flows")


class _Context:
    def __init__(self, engine, channel):
        self._engine = engine
        self.channel = channel
        self.settings = engine.settings
        self.clock = engine.clock
        self.wall_clock = engine.wall_clock
        self.timezone = engine.timezone
        self.task: asyncio.Task | None = None

    # -- the flow's own task
    def run(self, coro, name: str) -> asyncio.Task:
        self.task = asyncio.get_running_loop().create_task(coro, name=name)
        return self.task

    def cancel(self) -> None:
        if self.task is not None and self.task is not asyncio.current_task() and not self.task.done():
            self.task.cancel()

    # -- audio and keys on the flow's channel
    def play(self, source) -> None:
        self.channel.play(source)

    def tap(self, callback) -> None:
        """Who hears what the party says (the segreteria's or a staff phone's recorder); None stops it."""
        self.channel.tap = callback

    def note(self, kind: str, **details) -> None:
        self._engine.note(kind, **details)

    def publish(self, kind: str, **details) -> None:
        self._engine.publish(kind, **details)

    # -- who could answer
    @property
    def stations(self) -> dict:
        return self._engine.stations

    @property
    def groups(self) -> dict:
        return self._engine.groups

    def changed(self) -> None:
        """The flow changed a station (logged it in or out): calls waiting for one try again."""
        self._engine.changed()

    async def wait_for_change(self, timeout_s: float) -> None:
        """Until a station becomes free (or logs in, or comes back into service), or ``timeout_s``."""
        await self._engine.wait_for_change(timeout_s)


class CallContext(_Context):
    """A flow's hold on one call from outside: the voce guida, an office's queue, a forward."""

    def __init__(self, engine, call):
        super().__init__(engine, call.origin)
        self._call = call
        self._on_key = None
        self._caller_id = asyncio.Event()
        if call.caller or call.caller_absent:
            self._caller_id.set()

    # -- facts about the call
    @property
    def call_id(self) -> str:
        return self._call.id

    @property
    def caller(self) -> str:
        return self._call.caller

    @property
    def started_s(self) -> float:
        """When the caller first called (media clock): their place in an office's queue."""
        return self._call.started_s

    @property
    def answered(self) -> bool:
        """Someone talks with the caller now. A held caller the operator hands to a flow (a queue, a
        segreteria) was answered before, yet waits for a person again."""
        call = self._call
        return call.answered_at is not None and None not in call.legs

    @property
    def answered_before(self) -> bool:
        """A person answered this call once (a caller the operator handed to a flow)."""
        return self._call.answered_at is not None

    @property
    def ended(self) -> bool:
        return self._call.state == "ended"

    @property
    def route(self) -> list[str]:
        return self._call.route

    def record(self, **facts) -> None:
        """What the call's record should say about it (office, queued_s, overflowed, outcome...)."""
        unknown = set(facts) - set(FACTS)
        if unknown:
            raise ValueError(f"a flow cannot record {', '.join(sorted(unknown))}: expected some of {', '.join(FACTS)}")
        self._call.facts.update(facts)

    def fact(self, name: str, default=None):
        return self._call.facts.get(name, default)

    def step(self, text: str) -> None:
        """One step of the call's route, as the record shows it (``menu:principale>office:anagrafe``)."""
        self._call.route.append(text)

    # -- the caller's line
    def answer(self) -> None:
        """Take the line (the voce guida answers); the call counts as answered only when a person does."""
        if getattr(self.channel, "state", "") == "ringing":
            self.channel.answer()

    async def caller_id(self, timeout_s: float) -> bool:
        """Wait for the caller ID (True) or ``timeout_s`` (False)."""
        try:
            await asyncio.wait_for(self._caller_id.wait(), timeout_s)
        except asyncio.TimeoutError:
            return False
        return True

    def caller_id_arrived(self) -> None:
        self._caller_id.set()

    def on_key(self, callback) -> None:
        """Who gets the caller's keys (the flow's session)."""
        self._on_key = callback

    def key(self, digit: str) -> None:
        if self._on_key is not None:
            self._on_key(digit)

    def switchboard_busy(self) -> bool:
        """Every phone that could answer is busy with another call."""
        stations = [s for s in self._engine.stations.values() if s.logged_in and s.channel.in_service]
        return bool(stations) and all(not s.free for s in stations)

    # -- ringing people
    async def ring(self, stations: list, timeout_s: float):
        """Ring ``stations`` (those free and logged in) for ``timeout_s``; the station that answered,
        or None (they stop ringing)."""
        engine, call = self._engine, self._call
        batch = [s for s in stations if s.free and s.logged_in]
        if not batch or self.ended:
            return None
        answered = asyncio.get_running_loop().create_future()

        def on_answered(c) -> None:
            if not answered.done():
                answered.set_result(engine.station_for(c.other(c.origin)))

        call.on_answered.append(on_answered)
        try:
            engine.ringer.offer(call, batch)
            try:
                return await asyncio.wait_for(asyncio.shield(answered), timeout_s)
            except asyncio.TimeoutError:
                if not self.answered:
                    engine.ringer.stop(call)
                return answered.result() if answered.done() else None
        finally:
            if on_answered in call.on_answered:
                call.on_answered.remove(on_answered)

    # -- a second line
    def dial(self, number: str, kinds: tuple[str, ...]):
        """Call ``number`` on a free line of ``kinds`` for this caller (an ``OutsideLeg``), or None."""
        return self._engine.outside.dial_for(self._call, number, kinds)

    def connect(self, leg) -> None:
        """Bridge the caller with the answered leg: the call is answered and goes on by itself."""
        engine, call = self._engine, self._call
        self.answer()
        self.channel.play(None)
        call.legs_set(call.origin, leg.line)
        engine.bridge(call.origin, leg.line)
        engine.outside.handlers[call] = leg
        engine.mark_answered(call, by=leg.line.name)

    def hang_up(self) -> None:
        """The flow has finished with the caller."""
        self._engine.end(self._call, Cause.NORMAL_CLEARING, None)


class StationContext(_Context):
    """A flow's hold on a staff phone running a feature code (log in, segreteria, callback...)."""

    def __init__(self, engine, station, feature: str):
        super().__init__(engine, station.channel)
        self.station = station
        self.feature = feature

    @property
    def active(self) -> bool:
        return self.station.state == "feature"

    def on_key(self, callback) -> None:
        self._engine.desk.feature_keys[self.station] = callback

    def call_outside(self, number: str, **facts) -> None:
        """The phone calls ``number`` (a callback; ``facts`` go to its record): the feature ends and
        the call is the engine's."""
        self._engine.desk.feature_keys.pop(self.station, None)
        self._engine.desk.features.pop(self.station, None)
        self._engine.outside.place(self.station, number, facts=facts)

    # -- the call the phone holds (the operator's failed-transfer desk)
    @property
    def held_caller(self) -> str | None:
        """The number of the caller this phone holds, "" when withheld, None when it holds nobody."""
        held = self.station.held
        return None if held is None else held.caller

    @property
    def held_call_id(self) -> str | None:
        held = self.station.held
        return None if held is None else held.id

    @property
    def failed_transfer(self) -> str | None:
        """The number the held caller's last blind transfer failed to reach, or None."""
        held = self.station.held
        return None if held is None else held.facts.get("failed_transfer") or None

    def send_held_to(self, destination) -> bool:
        """The held caller goes to ``destination``'s flow (a segreteria...); this phone leaves the call."""
        return self._engine.transfers.send_held(self.station, destination)

    def retry_transfer(self) -> bool:
        """The held caller's failed blind transfer once more."""
        return self._engine.transfers.retry(self.station)

    def done(self) -> None:
        """The feature has finished: the phone hears busy tone until it is hung up."""
        if self.active:
            self.channel.play(tone("busy"))  # the station stays in "feature" until it hangs up


class NoFlows:
    """The flow host of an engine without flows (tests of the bare engine): nothing to start."""

    def destination_for(self, call, destination):
        return destination

    def starts_at_first_ring(self, destination) -> bool:
        return False

    def crisis_active(self) -> bool:
        return False

    def start_call_flow(self, context, destination) -> None:
        context.hang_up()

    def start_station_flow(self, context, feature: str) -> None:
        context.done()

    def status(self) -> dict:
        return {}
