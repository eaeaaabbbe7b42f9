"""A phone's side of the engine: off hook, dial tone, digits, what they mean, on hook, flash.

The digits go through the dial plan as they arrive, so an extension rings as soon as its number is
unambiguous and an emergency number goes out at its last digit. Dial tone without a digit for
``DIAL_TONE_TIMEOUT_S`` and an outside number left unfinished for the inter-digit timeout end with
congestion and with dialling the number, as on any exchange.
"""

from __future__ import annotations

from centralino.channels import events as ev
from centralino.channels.sources import tone

from .causes import Cause
from .ringing import RingPlan

DIAL_TONE_TIMEOUT_S = 15.0  # off-hook without dialling: congestion tone


class StationDesk:
    def __init__(self, engine):
        self.engine = engine
        self.feature_keys: dict = {}  # station -> the key callback of its feature-code flow
        self.features: dict = {}  # station -> the StationContext of the feature code it runs

    def handle(self, station, event) -> None:
        if station.state == "feature" and isinstance(event, ev.Digit):
            on_key = self.feature_keys.get(station)
            if on_key is not None:
                on_key(event.digit)
            return
        if isinstance(event, ev.OffHook):
            self.off_hook(station)
        elif isinstance(event, ev.OnHook):
            self.on_hook(station)
        elif isinstance(event, ev.Digit):
            self.digit(station, event.digit)
        elif isinstance(event, ev.Flash):
            self.engine.transfers.flash(station)

    # ------------------------------------------------------------------ hook
    def off_hook(self, station) -> None:
        if station.state == "ringing" and station.call is not None:
            self.engine.ringer.answer(station.call, station)
        elif station.state == "ringing" and self.engine.offers.answered(station):
            return  # the switchboard rang it for a callback: the callback's flow goes on
        elif station.state == "idle":
            self.start_dialling(station)

    def start_dialling(self, station) -> None:
        """Dial tone, and congestion if no digit follows (off hook, or a flash for an enquiry)."""
        station.state, station.digits = "dialling", ""
        station.channel.play(tone("dial"))
        self._dialling_timer(station, DIAL_TONE_TIMEOUT_S)

    def on_hook(self, station) -> None:
        engine = self.engine
        state, call, held = station.state, station.call, station.held
        station.channel.play(None)
        if state == "feature":
            self.stop_feature(station)
        if held is not None:
            if call is not None and call is not held and engine.transfers.complete(station, held, call):
                engine.idle(station)
                return
            engine.transfers.ring_back_held(station, held)
            return
        if call is not None and state in ("talking", "calling"):
            cause = Cause.NORMAL_CLEARING if state == "talking" else Cause.ORIGINATOR_CANCEL
            engine.end(call, cause, station.channel)
        engine.idle(station)

    # ------------------------------------------------------------------ dialling
    def digit(self, station, digit: str) -> None:
        if station.state != "dialling":
            return
        if not station.digits:
            station.channel.play(None)  # the first digit stops dial tone
        station.digits += digit
        station.last_digit_at_s = self.engine.clock()
        self._dialling_timer(station, self.engine.settings.dialplan.interdigit_timeout_s)
        self._try_number(station, timed_out=False)

    def _dialling_timer(self, station, seconds: float) -> None:
        self.cancel_dialling(station)
        station.dial_timer = self.engine.after(seconds, lambda: self._dialling_timed_out(station),
                                               owner=station, what=f"dialling on {station.number}")

    def cancel_dialling(self, station) -> None:
        if station.dial_timer is not None:
            station.dial_timer.cancel()
            station.dial_timer = None

    def _dialling_timed_out(self, station) -> None:
        station.dial_timer = None
        if station.state != "dialling":
            return
        if station.digits:
            self._try_number(station, timed_out=True)
        else:
            self.engine.tone(station, "congestion")

    def _try_number(self, station, timed_out: bool) -> None:
        engine = self.engine
        match = engine.dialplan.classify(station.digits, timed_out)
        if not match.complete:
            return
        self.cancel_dialling(station)
        digits, station.digits = station.digits, ""
        engine.note("dialled", ext=station.number, digits=digits, meaning=match.kind)
        if match.kind == "emergency":
            engine.outside.emergency.place_from_station(station, match.target)
        elif match.kind in ("extension", "group"):
            self.call_internal(station, match)
        elif match.kind == "outside":
            engine.outside.place(station, match.target)
        elif match.kind == "trunk":
            engine.outside.place(station, match.target, kinds=("sip",))
        elif match.kind == "pickup":
            self.pickup(station, match.target)
        elif match.kind == "feature":
            self.start_feature(station, match.target)
        else:
            engine.tone(station, "congestion")

    # ------------------------------------------------------------------ internal calls
    def call_internal(self, station, match) -> None:
        engine = self.engine
        if match.kind == "extension":
            targets = [engine.stations[match.target]]
            called = match.target
        else:
            group = engine.settings.group(match.target)
            targets = [engine.stations[m] for m in group.members if m in engine.stations]
            called = group.number or match.target
        call = engine.new_call("internal", station.channel, station.number, called, station.name)
        call.route += [f"ext:{station.number}", f"{match.kind}:{match.target}"]
        engine.record_start(call)
        station.call = call
        targets = [t for t in targets if t is not station]
        if match.kind == "group":
            plan = RingPlan(group=match.target)
            free = [m for m in engine.groups[match.target].free_members() if m is not station]
        else:
            plan = RingPlan(targets=targets)
            free = [t for t in targets if t.free]
        if not free:
            cause = Cause.USER_BUSY if any(t.channel.in_service for t in targets) else Cause.TEMPORARY_FAILURE
            engine.end(call, cause, None)
            engine.tone(station, "busy" if cause == Cause.USER_BUSY else "congestion")
            return
        station.state = "calling"
        station.channel.play(tone("ringback"))
        engine.ringer.ring_timeout(call)
        engine.ringer.ring_plan(call, plan)

    def pickup(self, station, target: str) -> None:
        """``*8`` (any ringing phone) or ``*8203`` (that one): answer a call ringing elsewhere."""
        engine = self.engine
        candidates = [c for c in engine.calls if c.state == "ringing" and c.ringing
                      and (not target or any(s.number == target for s in c.ringing))]
        if not candidates:
            engine.tone(station, "congestion")
            return
        call = candidates[0]
        call.route.append(f"pickup:{station.number}")
        call.use_port(station.channel.name)
        call.ringing.append(station)
        station.channel.play(None)
        engine.ringer.answer(call, station)

    # ------------------------------------------------------------------ feature codes
    def start_feature(self, station, feature: str) -> None:
        from .context import StationContext

        station.state = "feature"
        engine = self.engine
        engine.note("feature", ext=station.number, feature=feature)
        context = StationContext(engine, station, feature)
        self.features[station] = context
        engine.flows.start_station_flow(context, feature)

    def stop_feature(self, station) -> None:
        self.feature_keys.pop(station, None)
        context = self.features.pop(station, None)
        if context is not None:
            context.cancel()
