"""The call engine: owns every call and station, turns channel events into calls, says what happened.

Channels report events (``on_event``); the engine's parts act on channels and keep one ``Call``
per conversation:

- ``stations.StationDesk``: a phone's hook, digits and flash (dialling, dial tone, feature codes);
- ``ringing.Ringer``: ringing stations by a group's strategy, answering, ring timeouts;
- ``transfer.Transfers``: hold, enquiry, blind and attended transfer, recall;
- ``outside.OutsideCalls``: calls out on a line, and ``emergency.EmergencyRouter`` for 112;
- ``line_calls.LineCalls``: calls that arrive on a line, handed to a destination or a flow;
- ``offers.StationOffers``: the switchboard rings a staff phone for itself (a callback from a queue).

The engine publishes what happens on the event bus (``call.started``, ``call.answered``,
``call.ended``, ``port.faulty``...): records, LEDs, console and web listen there; none of them is
called from in here, so none can stand in front of a call. Flows (the voce guida, offices,
failover forwarding, feature codes) are started through the flow host the daemon gives
(``flows``), and reach a call only through its ``context``.

Boundaries: an exception while handling one channel's event ends that channel's calls; a timer
that raises ends its owner's call; a port whose hardware fails (``PortFaulty``) ends only the
calls that use it. The media clock and every other call go on.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from centralino.channels import events as ev
from centralino.channels.base import Channel
from centralino.channels.sources import tone

from .call import PUBLISHED_FACTS, Call
from .context import NoFlows
from .causes import Cause
from .dialplan import Dialplan
from .groups import ResponseGroup
from .line_calls import LineCalls, LineRoute
from .offers import StationOffers
from .outside import OutsideCalls
from .ringing import Ringer
from .station import Station
from .stations import StationDesk
from .timers import Timer, Timers
from .transfer import Transfers

log = logging.getLogger("centralino.calls")


class Engine:
    def __init__(self, settings, channels: dict[str, Channel], bus, clock, wall_clock=None, flows=None):
        self.channels = channels
        self.bus = bus
        self.clock = clock
        self.wall_clock = wall_clock or (lambda: datetime.now(timezone.utc))
        self.flows = flows or NoFlows()
        self.calls: list[Call] = []
        self.stations: dict[str, Station] = {}
        self._station_of: dict[str, Station] = {}
        self.line_routes: dict[str, LineRoute] = {}
        self._configure(settings)
        self.timers = Timers(clock)
        self._changed = asyncio.Event()
        self.ringer = Ringer(self)
        self.transfers = Transfers(self)
        self.outside = OutsideCalls(self)
        self.desk = StationDesk(self)
        self.line_calls = LineCalls(self)
        self.offers = StationOffers(self)
        for channel in channels.values():
            channel.listener = self.on_event

    def _configure(self, settings) -> None:
        """Stations, line routes, groups and the dial plan from ``settings`` (at start and on reload).

        A station keeps its object (and so its call, its hold, its login) when its port keeps an
        extension; an extension removed while in a call keeps its port's station until the call
        ends, but can no longer be dialled."""
        self.settings = settings
        self.timezone = ZoneInfo(settings.comune.timezone)
        by_port = dict(self._station_of)
        stations, station_of = {}, {}
        for ext in settings.extensions:
            if ext.port not in self.channels:
                continue
            station = by_port.get(ext.port)
            if station is None:
                station = Station(ext.number, ext.name, self.channels[ext.port], operator=ext.operator)
            else:
                station.number, station.name, station.operator = ext.number, ext.name, ext.operator
            stations[ext.number] = station
            station_of[ext.port] = station
        for port, station in by_port.items():  # removed, but still in a call: kept until it ends
            if port not in station_of and (station.call is not None or station.held is not None):
                station_of[port] = station
        self.stations, self._station_of = stations, station_of
        configured = {line.port: LineRoute(line.incoming, line.number) for line in settings.lines}
        kept = {port: route for port, route in self.line_routes.items()
                if port not in configured and port in self.channels and not self._configured_line(port)}
        self.line_routes = {**configured, **kept}  # SIP trunk lines keep the routes SIP gave them
        self._line_ports = set(configured)
        old_groups = getattr(self, "groups", {})
        groups = {g.name: ResponseGroup(g, self.stations, self.clock) for g in settings.groups}
        for name, group in groups.items():
            if name in old_groups:
                group._last_rung = old_groups[name]._last_rung  # the round robin goes on where it was
        # a removed group stays known to the calls ringing it (it can no longer be dialled)
        self.groups = {**{n: g for n, g in old_groups.items() if n not in groups}, **groups}
        group_numbers = {g.number: g.name for g in settings.groups if g.number}
        features = {getattr(settings.features, key): key for key in settings.features.CODES if key != "pickup"}
        sip = getattr(settings, "sip", None)
        trunk = sip.trunk if sip is not None else None
        self.dialplan = Dialplan(self.stations, group_numbers, settings.dialplan.outside_prefix,
                                 tuple(settings.dialplan.emergency_numbers), settings.features.pickup, features,
                                 trunk_prefix=trunk.outbound_prefix if trunk is not None else None)

    def _configured_line(self, port: str) -> bool:
        return port in getattr(self, "_line_ports", ())

    def reconfigure(self, settings, flows) -> None:
        """Take on a new configuration for the calls to come: the calls in progress go on with
        their stations, and their flows with the flow host they started under."""
        self._configure(settings)
        self.flows = flows
        self.outside.emergency.reconfigure(settings)
        self.changed()

    # ------------------------------------------------------------------ channels
    def add_channel(self, channel: Channel, route: LineRoute | None = None) -> None:
        """A channel that joins after start (SIP's line appearances), routed like a line."""
        self.channels[channel.name] = channel
        channel.listener = self.on_event
        if route is not None:
            self.line_routes[channel.name] = route
        if channel.name in self._station_of:
            self._station_of[channel.name].channel = channel

    def set_line_route(self, port: str, route: LineRoute) -> None:
        """Where the next call on ``port`` goes (a SIP trunk line takes each call's DID route)."""
        self.line_routes[port] = route

    def lines(self, kinds: tuple[str, ...] | None = None) -> list[Channel]:
        """The lines to the outside (PSTN, GSM, SIP trunk), in the configuration's order."""
        found = [self.channels[p] for p in self.line_routes if p in self.channels]
        found += [ch for ch in self.channels.values() if ch.is_line and ch not in found]
        return [ch for ch in found if kinds is None or ch.kind in kinds]

    def station_for(self, channel: Channel | None) -> Station | None:
        return self._station_of.get(channel.name) if channel is not None else None

    # ------------------------------------------------------------------ events in
    def on_event(self, channel: Channel, event) -> None:
        try:
            if isinstance(event, ev.PortFaulty):
                self._port_faulty(channel, event.reason)
            elif isinstance(event, ev.PortRestored):
                self.publish("port.restored", port=channel.name)
                self.changed()
            elif (station := self.station_for(channel)) is not None:
                self.desk.handle(station, event)
            elif channel.is_line:
                self.line_calls.handle(channel, event)
        except Exception:  # one call's fault must not take the switchboard down
            log.exception("error handling %s on %s", type(event).__name__, channel.name)
            self._recover(channel)

    def _recover(self, channel: Channel) -> None:
        for call in [c for c in self.calls if c.involves(channel)]:
            try:
                self.end(call, Cause.TEMPORARY_FAILURE, None)
            except Exception:
                log.exception("could not end call %s after a fault", call.id)
                self._forget(call)

    def _port_faulty(self, channel: Channel, reason: str) -> None:
        """A port's hardware failed: only its calls end (an emergency call moves to another path)."""
        self.publish("port.faulty", port=channel.name, reason=reason)
        for call in [c for c in self.calls if c.involves(channel)]:
            if call.emergency and channel is call.outside_line:
                self.outside.emergency.path_failed(call, channel, reason)
            elif channel in call.legs or channel is call.outside_line:
                self.end(call, Cause.TEMPORARY_FAILURE, channel)
            else:  # it was only being rung
                station = self.station_for(channel)
                if station in call.ringing:
                    call.ringing.remove(station)
                    self.idle(station)
        station = self.station_for(channel)
        if station is not None:
            station.state, station.call, station.held, station.digits = "idle", None, None, ""
        self.changed()

    # ------------------------------------------------------------------ events out
    def publish(self, kind: str, **details) -> None:
        self.bus.publish(kind, **details)

    def note(self, kind: str, **details) -> None:
        """The live log: what a technician watching the console sees happen."""
        log.info("%s %s", kind, " ".join(f"{k}={v}" for k, v in details.items()))
        self.bus.publish(f"engine.{kind}", **details)

    def changed(self) -> None:
        """A station became free, logged in or back in service: wake whoever waits for one."""
        self._changed.set()
        self._changed = asyncio.Event()
        self.ringer.retry_waiting()

    async def wait_for_change(self, timeout_s: float) -> None:
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), timeout_s)
        except asyncio.TimeoutError:
            pass

    # ------------------------------------------------------------------ calls
    def new_call(self, direction: str, origin: Channel, caller: str, called: str, name: str = "") -> Call:
        call = Call(direction=direction, origin=origin, caller=caller, called=called,
                    started_at=self.wall_clock(), started_s=self.clock(), caller_name=name,
                    crisis=self.flows.crisis_active())
        call.use_port(origin.name)
        self.calls.append(call)
        return call

    def record_start(self, call: Call) -> None:
        """``call.started``: published after what the call needed was done (an emergency number is
        dialled first), and only once."""
        if not call.recorded:
            call.recorded = True
            self.publish("call.started", **call.start_fields())

    def record_update(self, call: Call, **fields) -> None:
        if call.recorded:
            self.publish("call.updated", call_id=call.id, **fields)

    def mark_answered(self, call: Call, by: str) -> None:
        """Someone answered ``call``. Answered again (after a transfer, in an office's queue the
        operator put the caller in), the record keeps the first answer; the flow waiting hears it."""
        first = call.answered_at is None
        if not first and call.state == "ended":
            return
        call.state = "answered"
        if first:
            call.answered_at = self.wall_clock()
            self.record_update(call, answered_at=call.answered_at)
            self.publish("call.answered", call_id=call.id, answered_at=call.answered_at, by=by)
        for callback in list(call.on_answered):
            callback(call)

    def flows_stop(self, call: Call) -> None:
        """Stop the flow serving ``call`` (it is put through to an emergency number)."""
        self.line_calls.stop_flow(call)

    def call_on(self, channel: Channel) -> Call | None:
        for call in self.calls:
            if channel in call.legs or channel is call.outside_line:
                return call
        return None

    def interrupt_all(self, why: str) -> None:
        """The daemon stops: every live call ends now and is recorded ``interrupted``."""
        for call in list(self.calls):
            call.facts["outcome"] = "interrupted"
            self.end(call, Cause.TEMPORARY_FAILURE, None, cause_text=why)

    def end(self, call: Call, cause: Cause, by: Channel | None, cause_text: str | None = None) -> None:
        """Tear the call down, tell every party, and publish its record (``call.ended``)."""
        if call not in self.calls:
            return
        self.calls.remove(call)
        call.state = "ended"
        self.timers.cancel_owner(call)
        self.ringer.stop(call)
        self.ringer.forget(call)
        self.outside.forget(call)
        for leg in call.channels():
            leg.play(None)
            leg.peer = None
            station = self.station_for(leg)
            if leg.is_line:
                leg.hangup()
            elif station is not None and leg is not by:
                self._release_station(station, call)
        for station in self.stations.values():
            if station.held is call:
                station.held = None
        if call.answered_at is None and call.far_end_tone and cause in (Cause.NORMAL_CLEARING,
                                                                         Cause.ORIGINATOR_CANCEL):
            cause = Cause.USER_BUSY if call.far_end_tone == "busy" else Cause.NO_CIRCUIT_AVAILABLE
        entered = call.facts.get("queue_entered_s")
        if entered is not None and call.answered_at is None:
            call.facts["queued_s"] = round(self.clock() - entered, 3)
        disposition = call.facts.get("outcome") or call.disposition(cause)
        if call.flow is not None and call.answered_at is None and by is call.origin \
                and "outcome" not in call.facts:
            disposition = "abandoned"  # hung up in the voce guida or in the queue
        for callback in list(call.on_ended):
            try:
                callback(call)
            except Exception:
                log.exception("call %s: an end-of-call handler failed", call.id)
        self.record_start(call)  # a call that ended before its record was due still gets one
        self.publish("call.ended", call_id=call.id, ended_at=self.wall_clock(), disposition=disposition,
                     cause=cause_text or cause.label, answered_at=call.answered_at, route=">".join(call.route),
                     transfer_chain=",".join(call.transfer_chain), ports=",".join(call.ports),
                     called=call.called, caller=call.caller, caller_name=call.caller_name,
                     emergency=call.emergency, direction=call.direction,
                     **{k: call.facts[k] for k in PUBLISHED_FACTS if k in call.facts})
        self.note("ended", caller=call.caller or "(unknown)", called=call.called,
                  disposition=disposition, cause=cause.label)
        self.changed()

    def _release_station(self, station: Station, call: Call) -> None:
        if station.held is call:
            station.held = None
        elif station.call is call:
            station.call = None
            if station.state == "feature":
                return
            if station.channel.off_hook:
                if station.state == "talking":
                    self._call_over(station)  # the far end hung up first: the call is over now
                self.tone(station, "busy")
            else:
                self.idle(station)

    def _forget(self, call: Call) -> None:
        if call in self.calls:
            self.calls.remove(call)
        self.timers.cancel_owner(call)

    def discard(self, call: Call) -> None:
        """Drop an enquiry call that became part of a transfer: it has no record of its own."""
        self._forget(call)
        if call.recorded:
            self.publish("call.discarded", call_id=call.id)

    # ------------------------------------------------------------------ stations and audio
    def idle(self, station: Station) -> None:
        if station.state == "talking":
            self._call_over(station)
        station.state, station.call, station.digits = "idle", None, ""
        self.desk.cancel_dialling(station)
        station.channel.peer = None
        station.channel.play(None)
        self.changed()

    def _call_over(self, station: Station) -> None:
        """A station's call ended: the longest-idle order counts from now, and so does each of its
        groups' wrap-up, at whose end the calls waiting for a member are woken."""
        station.last_call_end_s, station.ended_a_call = self.clock(), True
        wrap_ups = sorted({g.wrap_up_s for g in self.groups.values() if station in g.members and g.wrap_up_s > 0})
        if wrap_ups:
            self.note("wrap-up", ext=station.number, seconds=wrap_ups[-1])
        for seconds in wrap_ups:
            self.after(seconds, self.changed, owner=station, what=f"wrap-up of {station.number}")

    def tone(self, station: Station, name: str) -> None:
        station.state = "tone"
        self.desk.cancel_dialling(station)
        station.channel.peer = None
        station.channel.play(tone(name))

    @staticmethod
    def bridge(a: Channel, b: Channel) -> None:
        a.peer, b.peer = b, a

    @staticmethod
    def unbridge(call: Call) -> None:
        for leg in call.legs:
            if leg is not None:
                leg.peer = None

    # ------------------------------------------------------------------ time
    def tick(self) -> None:
        """Every media tick: the timers that are due (each inside its owner's boundary)."""
        self.timers.run_due(self._timer_failed)

    def after(self, delay_s: float, fn, owner=None, what: str = "") -> Timer:
        return self.timers.after(delay_s, fn, owner, what)

    def _timer_failed(self, timer: Timer, err: Exception) -> None:
        log.error("timer %s failed: %s: %s", timer.what or timer.fn, type(err).__name__, err, exc_info=err)
        owner = timer.owner
        if isinstance(owner, Call):
            self.end(owner, Cause.TEMPORARY_FAILURE, None)
        elif isinstance(owner, Station):
            if owner.call is not None:
                self.end(owner.call, Cause.TEMPORARY_FAILURE, None)
            if owner.channel.off_hook:
                self.tone(owner, "congestion")
            else:
                self.idle(owner)

    # ------------------------------------------------------------------ status
    def status(self) -> dict:
        return {"calls": [c.status() for c in self.calls],
                "emergency_calls": [c.status() for c in self.calls if c.emergency],
                "stations": [s.status() for s in self.stations.values()],
                "lines": [ch.status() for ch in self.lines()],
                **self.flows.status()}

    def station_states(self) -> dict[str, str]:
        return {number: station.state for number, station in self.stations.items()}
