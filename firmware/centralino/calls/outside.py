"""Calls out on a line: the ``0`` prefix, the trunk prefix, a callback, a flow's forward to a mobile.

A line is free when it is idle, in service and alive: a PSTN line without battery is not taken,
and one found dead once seized (``DialFailed``) gives way to the next free line. Emergency
numbers are not placed here: ``emergency.EmergencyRouter`` takes them, on every path.

Each line in use by a call has a handler for what the line reports: the ordinary one below (the
caller hears the far end's tones and is cleared when it hangs up), an emergency attempt, or a
flow's ``OutsideLeg`` (the failover forward: the flow decides what a mobile that does not answer
means).
"""

from __future__ import annotations

import asyncio
import logging

from centralino.channels import events as ev

from .causes import Cause
from .emergency import EmergencyRouter

log = logging.getLogger("centralino.calls")

ORDINARY_KINDS = ("fxo", "sip")  # the GSM modem carries emergency calls and forwards, not the 0 prefix


def line_alive(line) -> bool:
    """Idle, in service and, where the line can tell, with the far end there (battery, trunk)."""
    if not line.idle:
        return False
    present = getattr(line, "line_present", None)
    return bool(present()) if present is not None else True


class OutsideLeg:
    """A line a flow dialled for its call (the failover forward): awaitable answer, or failure."""

    def __init__(self, engine, call, line, number: str):
        self.engine = engine
        self.call = call
        self.line = line
        self.number = number
        self.state = "dialling"  # dialling, answered, failed
        self.reason = ""
        self._outcome: asyncio.Future = asyncio.get_running_loop().create_future()

    async def answered(self) -> bool:
        """True when the far end answered; False when it failed, was busy or hung up first."""
        return await asyncio.shield(self._outcome)

    def _settle(self, answered: bool, reason: str = "") -> None:
        self.state, self.reason = ("answered" if answered else "failed"), reason
        if not self._outcome.done():
            self._outcome.set_result(answered)

    def on_event(self, line, event) -> None:
        if isinstance(event, ev.Answered):
            self._settle(True)
        elif isinstance(event, ev.Progress) and event.tone in ("busy", "congestion"):
            self.call.far_end_tone = event.tone
        elif isinstance(event, (ev.RemoteHangup, ev.DialFailed)):
            reason = getattr(event, "how", "") or getattr(event, "reason", "")
            if self.state == "answered":  # the mobile hung up after talking: the call is over
                self.engine.end(self.call, Cause.NORMAL_CLEARING, line)
                return
            self.release()
            self._settle(False, reason)

    def release(self) -> None:
        engine, call = self.engine, self.call
        if call.outside_line is self.line:
            call.outside_line = None
            self.line.peer = None
            self.line.hangup()
        engine.outside.handlers.pop(call, None)
        self._settle(False, self.reason or "released")


class OutsideCalls:
    def __init__(self, engine):
        self.engine = engine
        self.handlers: dict = {}  # call -> what handles its outside line's events
        self.emergency = EmergencyRouter(engine, self)

    def free_line(self, kinds: tuple[str, ...] | None = None, exclude=()):
        for line in self.engine.lines(kinds or ORDINARY_KINDS):
            if line not in exclude and line_alive(line):
                return line
        return None

    # ------------------------------------------------------------------ a station calls out
    def place(self, station, number: str, kinds: tuple[str, ...] | None = None, facts=None) -> None:
        engine = self.engine
        call = engine.new_call("outbound", station.channel, station.number, number, station.name)
        call.route.append(f"ext:{station.number}")
        call.facts.update(facts or {})
        station.call = call
        line = self.free_line(kinds)
        if line is None:
            call.route.append("no-free-line")
            engine.end(call, Cause.NO_CIRCUIT_AVAILABLE, None)
            engine.tone(station, "congestion")
            return
        station.state = "talking"
        station.channel.play(None)
        self._use(call, line, number, kinds)
        engine.record_start(call)
        engine.note("outside-call", ext=station.number, number=number, line=line.name, emergency=False)

    def _use(self, call, line, number: str, kinds) -> None:
        engine = self.engine
        call.route.append(f"line:{line.name}")
        call.use_port(line.name)
        call.outside_line = line
        call.legs_set(call.origin, line)
        call.state = "ringing"
        self.handlers[call] = _Ordinary(self, call, number, kinds)
        line.dial(number, emergency=False)
        engine.bridge(call.origin, line)

    # ------------------------------------------------------------------ a flow calls out
    def dial_for(self, call, number: str, kinds: tuple[str, ...]) -> OutsideLeg | None:
        """A second line for a call a flow serves (the failover forward); None when none is free."""
        line = self.free_line(kinds)
        if line is None:
            return None
        leg = OutsideLeg(self.engine, call, line, number)
        call.outside_line = line
        call.use_port(line.name)
        call.route.append(f"{line.kind}:{number}")
        self.handlers[call] = leg
        line.dial(number, emergency=False)
        return leg

    # ------------------------------------------------------------------ what the line says
    def on_line_event(self, call, line, event) -> None:
        handler = self.handlers.get(call)
        if handler is not None:
            handler.on_event(line, event)

    def forget(self, call) -> None:
        self.handlers.pop(call, None)


class _Ordinary:
    """A station's call out: the caller hears the far end; a dead line gives way to the next."""

    def __init__(self, outside: OutsideCalls, call, number: str, kinds):
        self.outside = outside
        self.call = call
        self.number = number
        self.kinds = kinds
        self.tried = []

    def on_event(self, line, event) -> None:
        engine, call = self.outside.engine, self.call
        if isinstance(event, ev.Progress):
            if event.tone in ("busy", "congestion"):
                call.far_end_tone = event.tone
            engine.note("progress", line=line.name, tone=event.tone)
        elif isinstance(event, ev.Answered):
            engine.mark_answered(call, by=line.name)
        elif isinstance(event, ev.RemoteHangup):
            engine.note("far-end-hangup", line=line.name, how=event.how)
            engine.end(call, Cause.NORMAL_CLEARING, line)
        elif isinstance(event, ev.DialFailed):
            engine.note("line-failed", line=line.name, reason=event.reason)
            self.tried.append(line)
            call.outside_line = None
            nxt = self.outside.free_line(self.kinds, exclude=self.tried)
            if nxt is None or call.answered_at is not None:
                station = engine.station_for(call.origin)
                engine.end(call, Cause.NO_CIRCUIT_AVAILABLE, None)
                if station is not None and station.channel.off_hook:
                    engine.tone(station, "congestion")
                return
            self.outside._use(call, nxt, self.number, self.kinds)
            self.outside.handlers[call] = self
