"""Emergency calls (112, 113, 115, 118): the first path that works now, and the next when it fails.

The rule is fixed; only the order of the kinds can be configured (``dialplan.emergency_paths``,
by default PSTN, then GSM, then the SIP trunk):

1. a path that is healthy now: a PSTN line with battery and no fault, the modem registered on a
   network, the trunk registered and answering its keepalives;
2. failing that, the modem in any state that can still reach 112 (no SIM, no network of its own);
3. failing that, a healthy path busy with an ordinary call, which is cut for it (pre-emption).

A path that fails while the call is being placed is left and the next one tried: a PSTN line
dead once seized or without dial tone, the modem's ``+CME ERROR`` (after one retry by the driver),
a SIP refusal or timeout, a far end that hangs up or gives busy before answering, a port whose
hardware fails, or no ringback within ``ATTEMPT_TIMEOUT_S``. When every path has been tried, the
router looks again every ``RETRY_PAUSE_S`` (a modem recovering from a hang, a line plugged back)
for ``SEARCH_FOR_S``, the caller hearing ringback meanwhile, before the caller hears congestion. Nothing else stands in front: the record (``call.started``)
is published only once the number is on its way, and LEDs, console and records hear of it on
the event bus. The time from the caller's last digit to the far end ringing is published with
``emergency.ringing`` (the figure the fault-matrix bench reports).
"""

from __future__ import annotations

import logging

from centralino.channels import events as ev
from centralino.channels.sources import tone

from .causes import Cause

log = logging.getLogger("centralino.emergency")

DEFAULT_ORDER = ("fxo", "gsm", "sip")
ATTEMPT_TIMEOUT_S = 20.0  # no ringback nor answer by then: try the next path (if there is one)
SEARCH_FOR_S = 120.0  # keep looking for a path this long (from the first attempt) before giving up
RETRY_PAUSE_S = 2.0  # between rounds: a path may come back (a modem that was mid-recovery)
KEY_GAP_S = 3.0  # keys pressed in the voce guida closer than this count as one number


class EmergencyRouter:
    def __init__(self, engine, outside):
        self.engine = engine
        self.outside = outside
        self.reconfigure(engine.settings)
        self.attempts: dict = {}  # call -> its EmergencyAttempt

    def reconfigure(self, settings) -> None:
        order = tuple(getattr(settings.dialplan, "emergency_paths", None) or DEFAULT_ORDER)
        self.order = order + tuple(k for k in DEFAULT_ORDER if k not in order)  # every kind, always

    # ------------------------------------------------------------------ which paths
    def paths(self) -> list:
        return [line for kind in self.order for line in self.engine.lines((kind,))]

    @staticmethod
    def rank(line) -> int | None:
        """0: healthy and free now; 1: free and able to try (the modem without a network); None: not now."""
        if line.fault is not None:
            return None
        if line.kind == "gsm":
            if getattr(line, "state", "") != "idle" or not line.can_carry_emergency():
                return None
            return 0 if line.line_present() else 1
        if not line.idle:
            return None
        present = getattr(line, "line_present", None)
        return 0 if present is None or present() else None

    def alive(self, line) -> bool:
        """Able to carry an emergency call once freed (for pre-emption)."""
        if line.fault is not None:
            return False
        if line.kind == "gsm":
            return line.can_carry_emergency()
        present = getattr(line, "line_present", None)
        return present is None or bool(present())

    def pick(self, exclude) -> object | None:
        ranked = [(rank, i, line) for i, line in enumerate(self.paths())
                  if line not in exclude and (rank := self.rank(line)) is not None]
        return min(ranked, key=lambda r: (r[0], r[1]))[2] if ranked else None

    def preempt(self, exclude) -> object | None:
        """Every path is busy: cut an ordinary call on a live path, conversations first."""
        engine = self.engine
        ordinary = [c for c in engine.calls if not c.emergency]
        for line in self.paths():
            if line in exclude or not self.alive(line):
                continue
            for call in ordinary:
                uses = call.outside_line is line or (call.direction == "inbound" and call.origin is line)
                if uses and (call.outside_line is line or call.state == "answered"):
                    engine.note("emergency-preempts", line=line.name, call=call.id[:8])
                    engine.end(call, Cause.NO_CIRCUIT_AVAILABLE, None)
                    return line
        for line in self.paths():
            if line in exclude or not self.alive(line):
                continue
            for call in ordinary:
                if call.direction == "inbound" and call.origin is line and call.answered_at is None:
                    engine.note("emergency-preempts", line=line.name, call=call.id[:8])
                    engine.end(call, Cause.NO_CIRCUIT_AVAILABLE, None)
                    if hasattr(line, "reject_incoming"):
                        line.reject_incoming()
                    return line
        return None

    # ------------------------------------------------------------------ placing
    def place_from_station(self, station, number: str) -> None:
        engine = self.engine
        log.critical("EMERGENCY call to %s from extension %s (%s)", number, station.number, station.name)
        call = engine.new_call("outbound", station.channel, station.number, number, station.name)
        call.emergency = True
        call.route.append(f"ext:{station.number}")
        station.call, station.state = call, "talking"
        station.channel.play(None)
        self._start(call, number, station.last_digit_at_s or engine.clock())

    def place_from_line(self, call, number: str) -> None:
        """A caller in the voce guida keyed an emergency number: put them through to it."""
        engine = self.engine
        log.critical("EMERGENCY call to %s keyed by caller %s on %s", number, call.caller or "(unknown)",
                     call.origin.name)
        engine.flows_stop(call)
        engine.ringer.stop(call)
        call.emergency = True
        call.called = number
        call.route.append(f"keyed-emergency:{number}")
        call.origin.play(None)
        self._start(call, number, engine.clock())

    def _start(self, call, number: str, last_digit_s: float) -> None:
        attempt = EmergencyAttempt(self, call, number, last_digit_s)
        self.attempts[call] = attempt
        call.on_ended.append(lambda c: self.attempts.pop(c, None))
        attempt.next_path()
        self.engine.record_start(call)  # after the number is on its way, never before

    def path_failed(self, call, line, reason: str) -> None:
        attempt = self.attempts.get(call)
        if attempt is not None:
            attempt.failed(line, reason)
        else:
            self.engine.end(call, Cause.TEMPORARY_FAILURE, line)


class EmergencyAttempt:
    """One emergency call's way through the paths."""

    def __init__(self, router: EmergencyRouter, call, number: str, last_digit_s: float):
        self.router = router
        self.engine = router.engine
        self.call = call
        self.number = number
        self.last_digit_s = last_digit_s
        self.started_s = router.engine.clock()
        self.round = 1
        self.tried: list = []
        self.line = None
        self.timer = None
        self.ringing_reported = False

    def next_path(self) -> None:
        engine, call = self.engine, self.call
        if call not in engine.calls:
            return
        line = self.router.pick(self.tried) or self.router.preempt(self.tried)
        if line is None:
            if engine.clock() - self.started_s < SEARCH_FOR_S:
                self.round += 1
                self.tried = []
                if self.round == 2:
                    call.origin.play(tone("ringback"))  # the call is being placed: not silence
                engine.note("emergency-retry", call=call.id[:8], number=self.number, round=self.round)
                engine.after(RETRY_PAUSE_S, self.next_path, owner=call, what="emergency retry")
                return
            engine.publish("emergency.failed", call_id=call.id, number=self.number,
                           reason="no path could place the call")
            log.critical("EMERGENCY call to %s could not be placed on any path", self.number)
            station = engine.station_for(call.origin)
            engine.end(call, Cause.NO_CIRCUIT_AVAILABLE, None)
            if station is not None and station.channel.off_hook:
                engine.tone(station, "congestion")
            return
        self.use(line)

    def use(self, line) -> None:
        engine, call = self.engine, self.call
        self.line = line
        call.origin.play(None)
        call.route.append(f"line:{line.name}")
        call.use_port(line.name)
        call.outside_line = line
        call.legs_set(call.origin, line)
        call.state = "ringing"
        engine.outside.handlers[call] = self
        another = self.router.pick([*self.tried, line]) is not None
        if line.kind == "fxo":
            line.dial(self.number, emergency=True, strict=another)
        else:
            line.dial(self.number, emergency=True)
        engine.bridge(call.origin, line)
        self.timer = engine.after(ATTEMPT_TIMEOUT_S, lambda: self._timed_out(line), owner=call,
                                  what="emergency attempt")
        engine.publish("emergency.placing", call_id=call.id, number=self.number, path=line.name)
        engine.note("outside-call", ext=call.caller, number=self.number, line=line.name, emergency=True)

    def on_event(self, line, event) -> None:
        engine, call = self.engine, self.call
        if line is not self.line:
            return
        if isinstance(event, ev.Progress):
            engine.note("progress", line=line.name, tone=event.tone)
            if event.tone == "ringback":
                self._ringing()
            elif event.tone in ("busy", "congestion") and call.answered_at is None:
                self.failed(line, f"{event.tone} tone")
        elif isinstance(event, ev.Answered):
            self._ringing()
            engine.mark_answered(call, by=line.name)
        elif isinstance(event, ev.DialFailed):
            self.failed(line, event.reason)
        elif isinstance(event, ev.RemoteHangup):
            if call.answered_at is None:
                self.failed(line, f"far end gone before answering ({event.how})")
            else:
                engine.note("far-end-hangup", line=line.name, how=event.how)
                engine.end(call, Cause.NORMAL_CLEARING, line)

    def _ringing(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.ringing_reported:
            self.ringing_reported = True
            after = round(self.engine.clock() - self.last_digit_s, 3)
            self.engine.publish("emergency.ringing", call_id=self.call.id, number=self.number,
                                path=self.line.name, after_s=after, tried=[ln.name for ln in self.tried])

    def _timed_out(self, line) -> None:
        self.timer = None
        if line is self.line and self.call.answered_at is None and not self.ringing_reported \
                and self.router.pick([*self.tried, line]) is not None:
            self.failed(line, f"no ringback within {ATTEMPT_TIMEOUT_S:g} s")

    def failed(self, line, reason: str) -> None:
        engine, call = self.engine, self.call
        if line is not self.line or call not in engine.calls:
            return
        log.error("EMERGENCY call to %s: path %s failed (%s); trying the next", self.number, line.name, reason)
        engine.publish("emergency.path_failed", call_id=call.id, number=self.number, path=line.name,
                       reason=reason)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.line = None
        self.tried.append(line)
        call.outside_line = None
        call.legs_set(call.origin, None)
        call.origin.peer = None
        line.peer = None
        if line.fault is None:
            line.hangup()
        call.far_end_tone = None
        self.next_path()
