"""The switchboard: turns channel events into calls, rings, bridges, transfers and records them.

One object owns every call. Channels report events (``on_event``); the switchboard answers with
actions on channels and keeps one ``Call`` per conversation, whose record is committed to the CDR
store before the call is reported finished. Routing here is the minimal one of the configuration
(extensions, ring-all groups, each line's destination, the outside prefix); the municipal flows
build on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import numpy as np
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from centralino.channels import events as ev
from centralino.channels.base import Channel
from centralino.channels.fxo import FxoChannel
from centralino.channels.gsm import GsmChannel
from centralino.channels.fxs import FxsChannel
from centralino.channels.sources import ToneSource, tone
from centralino.channels.sources import SamplesSource
from centralino.config.flows_schema import Destination
from centralino.flows.failover import FailoverMonitor
from centralino.flows.inbound import InboundFlow
from centralino.flows.office_queue import OfficeQueue
from centralino.flows.phrases import PhraseLibrary
from centralino.flows.response_groups import ResponseGroup
from centralino.flows.session import Session
from centralino.flows.station_features import run_feature
from centralino.media.callerid import CallerId

from .call import Call
from .causes import Cause
from .dialplan import Dialplan
from .station import Station

log = logging.getLogger("centralino.calls")

DIAL_TONE_TIMEOUT_S = 15.0  # off-hook without dialling: congestion tone
FAILOVER_CHECK_S = 0.5
CALLER_ID_WAIT_S = 4.0  # a forwarded line call is answered once its caller ID had time to arrive
FINISHED_KEPT = 200


def _trunk_prefix(settings) -> str | None:
    sip = getattr(settings, "sip", None)
    trunk = getattr(sip, "trunk", None) if sip is not None else None
    return trunk.outbound_prefix if trunk is not None else None


class Switchboard:
    def __init__(self, settings, channels: dict[str, Channel], records, clock, wall_clock=None):
        self.settings = settings
        self.channels = channels
        self.records = records
        self.clock = clock
        self.wall_clock = wall_clock or (lambda: datetime.now(timezone.utc))
        self.timezone = ZoneInfo(settings.comune.timezone)
        self.calls: list[Call] = []
        self.finished: deque[Call] = deque(maxlen=FINISHED_KEPT)  # recent calls; the records hold all
        self.observers: list = []  # callables(kind, **details) for the live log and tests
        self.bus = None  # web shim (issue 17): the daemon's EventBus, set by the daemon
        self.stations: dict[str, Station] = {}
        self._station_of: dict[str, Station] = {}
        for ext in settings.extensions:
            station = Station(ext.number, ext.name, channels[ext.port], operator=ext.operator)
            self.stations[ext.number] = station
            self._station_of[ext.port] = station
        self.lines = {line.port: line for line in settings.lines}
        groups = {g.number: g.name for g in settings.groups if g.number}
        self.groups = {g.name: g for g in settings.groups}
        features = {getattr(settings.features, key): key for key in settings.features.CODES if key != "pickup"}
        self.dialplan = Dialplan(self.stations, groups, settings.dialplan.outside_prefix,
                                 tuple(settings.dialplan.emergency_numbers), settings.features.pickup, features,
                                 trunk_prefix=_trunk_prefix(settings))
        # the municipal flows: voce guida, offices, response groups, queues, segreteria, callbacks
        self.phrases = PhraseLibrary(comune_dir=settings.rules.prompts if settings.rules else None)
        self.calendar = settings.calendar()
        self.response_groups = {g.name: ResponseGroup(g, self.stations) for g in settings.groups}
        self.queues: dict[str, OfficeQueue] = {}
        self.sessions: dict[str, Session] = {}  # channel name -> the voce guida talking on it
        self._flow_tasks: dict[str, asyncio.Task] = {}  # channel name -> its flow coroutine
        self.voicemail = None  # VoicemailStore, TicketStore and Mailer: set by the daemon
        self.tickets = None
        self.mailer = None
        for channel in channels.values():
            channel.listener = self.on_event
        self.failover: FailoverMonitor | None = None
        self._next_failover_check_s = 0.0
        if settings.failover is not None:
            lines = [channels[p] for p in self.lines if p in channels]
            self.failover = FailoverMonitor(settings, lines, channels.get("gsm"), clock, self.wall_clock,
                                            notify=self._note)
            self.failover.operators = [st.channel for st in self.stations.values() if st.operator]

    # ------------------------------------------------------------------ observation
    def _note(self, kind: str, **details) -> None:
        log.info("%s %s", kind, " ".join(f"{k}={v}" for k, v in details.items()))
        for observer in self.observers:
            observer(kind, **details)
        if self.bus is not None:  # web shim (issue 17): the lead's engine publishes its own events
            self.bus.publish("engine." + kind, **details)

    note = _note

    def station_for(self, channel: Channel) -> Station | None:
        return self._station_of.get(channel.name)

    def status(self) -> dict:
        return {"calls": [c.status() for c in self.calls],
                "service_mode": self.calendar.override or "auto",
                "queues": [q.status() for q in self.queues.values()],
                "failover": self.failover.status() if self.failover else None,
                "emergency_calls": [c.status() for c in self.calls if c.emergency],
                "stations": [s.status() for s in self.stations.values()],
                "lines": [self.channels[p].status() for p in self.lines if p in self.channels]
                + ([self.channels["gsm"].status()] if "gsm" in self.channels else [])}

    # ------------------------------------------------------------------ events
    def on_event(self, channel: Channel, event) -> None:
        try:
            station = self.station_for(channel)
            if station is not None:
                self._station_event(station, event)
            elif channel.is_line:
                self._line_event(channel, event)
        except Exception:  # one call's fault must not take the switchboard down
            log.exception("error handling %s on %s", type(event).__name__, channel.name)
            self._recover_channel(channel)

    def _recover_channel(self, channel: Channel) -> None:
        for call in [c for c in self.calls if channel in self._legs(c) or channel is c.outside_line]:
            self._end(call, Cause.TEMPORARY_FAILURE, None)

    def _station_event(self, station: Station, event) -> None:
        if station.state == "feature" and isinstance(event, ev.Digit):
            session = self.sessions.get(station.channel.name)
            if session is not None:
                session.key(event.digit)
            return
        if isinstance(event, ev.OffHook):
            self._off_hook(station)
        elif isinstance(event, ev.OnHook):
            self._on_hook(station)
        elif isinstance(event, ev.Digit):
            self._digit(station, event.digit)
        elif isinstance(event, ev.Flash):
            self._flash(station)

    def _line_event(self, line: FxoChannel | GsmChannel, event) -> None:
        call = self._call_on(line)
        if isinstance(event, ev.Incoming):
            self._incoming(line)
        elif call is None:
            return
        elif isinstance(event, ev.Digit):
            session = self.sessions.get(line.name)
            if session is not None:
                session.key(event.digit)
        elif isinstance(event, ev.CallerIdReceived):
            cid = event.caller_id
            call.caller = cid.number or call.caller
            call.caller_name = cid.name or call.caller_name
            call.caller_absent = None if cid.number else (cid.number_absent or "O")
            self.records.update_call(call.id, caller=call.caller)
            for station in call.ringing:
                station.channel.set_caller_id(self._caller_id_for(call))
            self._note("caller-id", line=line.name, number=cid.number or "(withheld)")
            if call.failover and not call.forwarded:
                self._answer_forwarded(call)
            elif call.flow_destination is not None and not call.flow_started:
                self._start_flow(call)
        elif isinstance(event, ev.RingingStopped):
            self._end(call, Cause.ORIGINATOR_CANCEL, line)
        elif isinstance(event, ev.Answered):
            if call.answered_at is None:
                self._mark_answered(call)
            if call.failover and line is call.outside_line:
                self._connect_forwarded(call)
        elif isinstance(event, ev.Progress):
            if event.tone in ("busy", "congestion"):
                call.far_end_tone = event.tone
            self._note("progress", line=line.name, tone=event.tone)
        elif isinstance(event, ev.RemoteHangup):
            self._note("far-end-hangup", line=line.name, how=event.how)
            if call.failover and line is call.outside_line and call.answered_at is None:
                self._announce_mobile_number(call)  # the mobile did not answer: say its number
            else:
                self._end(call, Cause.NORMAL_CLEARING, line)

    # ------------------------------------------------------------------ stations
    def _off_hook(self, station: Station) -> None:
        if station.state == "ringing" and station.call is not None:
            self._answer(station.call, station)
        elif station.state == "idle":
            station.state = "dialling"
            station.digits = ""
            station.last_digit_at_s = self.clock()
            station.channel.play(tone("dial"))

    def _on_hook(self, station: Station) -> None:
        state, call, held = station.state, station.call, station.held
        station.channel.play(None)
        if state == "feature":
            self._stop_flow(station.channel)
        if held is not None and call is not None and call is not held:
            if not self._complete_transfer(station, held, call):
                self._ring_back_held(station, held)
                return
        elif held is not None:
            self._ring_back_held(station, held)
            return
        elif call is not None and state in ("talking", "calling"):
            cause = Cause.NORMAL_CLEARING if state == "talking" else Cause.ORIGINATOR_CANCEL
            self._end(call, cause, station.channel)
        self._idle(station)

    def _ring_back_held(self, station: Station, held: Call) -> None:
        """Hung up with a call on hold that was not transferred: ring the station again for it."""
        held.vacate_leg(station.channel)
        station.call = None
        self._offer(held, [station])
        station.held = None

    def _idle(self, station: Station) -> None:
        if station.state == "talking":
            station.last_call_end_s = self.clock()
        station.state, station.call, station.digits = "idle", None, ""
        station.channel.peer = None
        station.channel.play(None)

    def _digit(self, station: Station, digit: str) -> None:
        if station.state != "dialling":
            return
        if not station.digits:
            station.channel.play(None)  # the first digit stops dial tone
        station.digits += digit
        station.last_digit_at_s = self.clock()
        self._try_number(station, timed_out=False)

    def _try_number(self, station: Station, timed_out: bool) -> None:
        match = self.dialplan.classify(station.digits, timed_out)
        if not match.complete:
            return
        digits, station.digits = station.digits, ""
        self._note("dialled", ext=station.number, digits=digits, meaning=match.kind)
        if match.kind in ("extension", "group"):
            self._call_internal(station, match)
        elif match.kind in ("outside", "emergency"):
            self._call_outside(station, match.target, emergency=match.kind == "emergency")
        elif match.kind == "trunk":
            self._call_outside(station, match.target, emergency=False, kinds=("sip",))
        elif match.kind == "pickup":
            self._pickup(station, match.target)
        elif match.kind == "feature":
            self._feature(station, match.target)
        else:
            self._tone(station, "congestion")

    def _tone(self, station: Station, name: str) -> None:
        station.state = "tone"
        station.channel.peer = None
        station.channel.play(tone(name))

    def _flash(self, station: Station) -> None:
        call = station.call
        if station.state == "talking" and station.held is None and call is not None:
            # hold the other party and give dial tone for an enquiry or transfer
            other = call.other(station.channel)
            self._unbridge(call)
            if other is not None:
                other.play(ToneSource(self.settings.features.hold_tone))
            station.held, station.call = call, None
            station.state, station.digits = "dialling", ""
            station.last_digit_at_s = self.clock()
            station.channel.play(tone("dial"))
            self._note("hold", ext=station.number, held=call.caller)
        elif station.held is not None:
            # back to the held party; an enquiry call in progress is dropped
            if call is not None and call is not station.held:
                self._end(call, Cause.NORMAL_CLEARING, station.channel)
            held, station.held = station.held, None
            station.call, station.state = held, "talking"
            station.channel.play(None)
            other = held.other(station.channel)
            if other is not None:
                other.play(None)
                self._bridge(other, station.channel)
            self._note("retrieve", ext=station.number)

    # ------------------------------------------------------------------ placing calls
    def _new_call(self, direction: str, origin: Channel, caller: str, called: str, name: str = "") -> Call:
        call = Call(direction=direction, origin=origin, caller=caller, called=called,
                    started_at=self.wall_clock(), caller_name=name, started_s=self.clock())
        call.use_port(origin.name)
        self.calls.append(call)
        return call

    def _open_record(self, call: Call) -> None:
        self.records.open_call(call.id, started_at=call.started_at, direction=call.direction,
                               caller=call.caller, called=call.called, ports=",".join(call.ports),
                               route=">".join(call.route), emergency=call.emergency)
        if self.bus is not None:  # web shim (issue 17)
            self.bus.publish("call.started", call_id=call.id, direction=call.direction, caller=call.caller,
                             called=call.called, ports=",".join(call.ports), emergency=call.emergency)

    def _call_internal(self, station: Station, match) -> None:
        targets = [self.stations[match.target]] if match.kind == "extension" else \
            [self.stations[m] for m in self.groups[match.target].members]
        called = match.target if match.kind == "extension" else (self.groups[match.target].number or match.target)
        call = self._new_call("internal", station.channel, station.number, called, station.name)
        call.route.append(f"ext:{station.number}")
        call.route.append(f"{match.kind}:{match.target}")
        self._open_record(call)
        station.call = call
        targets = [t for t in targets if t is not station]
        if match.kind == "group":
            call.hunt_group = match.target
            free = self.response_groups[match.target].free_members()
        else:
            free = [t for t in targets if t.free]
        if not free:
            cause = Cause.USER_BUSY if any(t.channel.in_service for t in targets) else Cause.TEMPORARY_FAILURE
            self._end(call, cause, None)
            self._tone(station, "busy" if cause == Cause.USER_BUSY else "congestion")
            return
        station.state = "calling"
        station.channel.play(tone("ringback"))
        if call.hunt_group:
            self._hunt(call)
        else:
            self._offer(call, free)

    def _call_outside(self, station: Station, number: str, emergency: bool, kinds: tuple[str, ...] | None = None) -> None:
        call = self._new_call("outbound", station.channel, station.number, number, station.name)
        call.emergency = emergency
        call.route.append(f"ext:{station.number}")
        if emergency:
            log.critical("EMERGENCY call to %s from extension %s (%s)", number, station.number, station.name)
        line = self._free_line(emergency, kinds)
        if line is None:
            call.route.append("no-free-line")
            self._open_record(call)
            self._end(call, Cause.NO_CIRCUIT_AVAILABLE, None)
            self._tone(station, "congestion")
            return
        call.route.append(f"line:{line.name}")
        call.use_port(line.name)
        call.outside_line = line
        call.legs_set(station.channel, line)
        self._open_record(call)
        station.call, station.state = call, "talking"
        station.channel.play(None)
        line.dial(number, emergency=emergency)
        self._bridge(station.channel, line)
        call.state = "ringing"
        self._note("outside-call", ext=station.number, number=number, line=line.name,
                   emergency=emergency)

    def _free_line(self, emergency: bool, kinds: tuple[str, ...] | None = None) -> FxoChannel | GsmChannel | None:
        """A free line (of ``kinds`` when given: the trunk prefix); for an emergency call then the
        GSM modem, then an ordinary call's line."""
        lines = [self.channels[p] for p in self.lines if p in self.channels and self.channels[p].in_service
                 and (kinds is None or self.channels[p].kind in kinds)]
        for line in lines:
            if line.idle:
                return line
        if emergency:
            modem = self.channels.get("gsm")
            if isinstance(modem, GsmChannel) and modem.idle_for_emergency:
                return modem
            return self._line_for_emergency(lines)
        return None

    def _line_for_emergency(self, lines: list[FxoChannel]) -> FxoChannel | None:
        """Every line is busy: an emergency call takes the line of an ordinary call.

        An outside call or an answered line call is ended; failing those, a line ringing with an
        unanswered call is answered and dropped. The line then waits on hook for the exchange
        to clear before it dials (FxoChannel.dial)."""
        ordinary = [c for c in self.calls if not c.emergency]
        for call in ordinary:
            line = call.outside_line or (call.origin if call.direction == "inbound" else None)
            if line in lines and (call.outside_line is not None or call.state == "answered"):
                self._end(call, Cause.NO_CIRCUIT_AVAILABLE, None)
                return line
        for call in ordinary:
            line = call.origin
            if call.direction == "inbound" and line in lines and call.answered_at is None:
                self._end(call, Cause.NO_CIRCUIT_AVAILABLE, None)
                line.reject_incoming()
                return line
        return None

    def _incoming(self, line: FxoChannel | GsmChannel) -> None:
        call = self._new_call("inbound", line, "", "")
        route = self.lines.get(line.name)
        destination = route.incoming if route else self.settings.dialplan.operator
        if isinstance(line, GsmChannel):
            destination = self.settings.gsm.incoming or self.settings.dialplan.operator
        call.called = route.number if route and route.number else destination
        call.route.append(f"line:{line.name}")
        flow = Destination.parse(destination)
        if flow.kind == "operator":
            destination = self.settings.dialplan.operator
        if flow.kind in ("menu", "office", "voicemail") and not (self.failover is not None and self.failover.active):
            call.flow_destination = flow  # the voce guida answers it once the caller ID is in
            self._open_record(call)
            call.state = "ringing"
            self._note("incoming", line=line.name, to=str(flow))
            return
        if destination in self.stations:
            targets = [self.stations[destination]]
            call.route.append(f"ext:{destination}")
        else:
            targets = [self.stations[m] for m in self.groups[destination].members]
            call.route.append(f"group:{destination}")
            call.hunt_group = destination
        call.targets = list(targets)
        if self.failover is not None and self.failover.active:
            call.failover, call.targets = True, []  # nobody here is rung: it goes to the mobile
            call.route.append("failover")
            self._open_record(call)
            call.state = "ringing"
            self._note("incoming", line=line.name, to=f"failover:{self.settings.failover.mobile_number}")
            self._dial_mobile(call)
            return
        self._open_record(call)
        call.state = "ringing"
        self._note("incoming", line=line.name, to=destination)
        if call.hunt_group:
            self._hunt(call)
        else:
            self._offer(call, [t for t in targets if t.free])

    def _caller_id_for(self, call: Call) -> CallerId | None:
        """What the ringing phones show; None while a line call's caller ID is still on its way."""
        if call.direction == "inbound" and not call.caller and call.caller_absent is None:
            return None
        when = self.wall_clock().astimezone(self.timezone)
        return CallerId(number=call.caller or None, name=call.caller_name or None, when=when,
                        number_absent=None if call.caller else (call.caller_absent or "O"))

    def _offer(self, call: Call, stations: list[Station]) -> None:
        """Ring these stations for ``call``; the first to answer takes it."""
        now = self.clock()
        call.state = "ringing"
        call.ring_deadline_s = now + self.settings.features.ring_timeout_s
        for station in stations:
            station.state, station.call = "ringing", call
            station.channel.ring(self._caller_id_for(call))
            call.use_port(station.channel.name)
            if station not in call.ringing:
                call.ringing.append(station)
            self._note("ringing", ext=station.number, caller=call.caller or "(unknown)")

    def _hunt(self, call: Call) -> None:
        """Ring a call to a response group by the group's strategy: every available member at once
        (ring_all), or one member after another, each for the group's member_timeout_s. Busy,
        logged-out and faulty members are skipped. A line call starts a new round after the last
        member; an internal call then ends unanswered."""
        group = self.response_groups[call.hunt_group]
        call.next_batch_s = None
        batches = group.batches()
        if group.strategy == "ring_all":
            if batches:
                self._offer(call, batches[0])
            return
        untried = [batch for batch in batches if not call.hunt_tried.intersection(batch)]
        if not untried and call.direction == "internal":
            self._no_answer(call)
            return
        if not untried:  # a new round, from the member after the ones ringing now
            call.hunt_tried = set(call.ringing)
            untried = batches
        if not untried:
            if call.ringing:  # the only member who can answer keeps ringing
                call.next_batch_s = self.clock() + group.member_timeout_s
            return  # or nobody can: tried again when a member is free
        batch = untried[0]
        call.hunt_tried.update(batch)
        group.rang(batch[0])
        call.next_batch_s = self.clock() + group.member_timeout_s
        deadline = call.ring_deadline_s
        self._stop_ringing(call)
        self._offer(call, batch)
        call.ring_deadline_s = deadline or call.ring_deadline_s

    def _no_answer(self, call: Call) -> None:
        """An internal call nobody answered: the caller hears congestion."""
        origin = self.station_for(call.origin)
        self._end(call, Cause.NO_ANSWER, None)
        if origin is not None and origin.channel.off_hook:
            self._tone(origin, "congestion")

    def _stop_ringing(self, call: Call, keep: Station | None = None) -> None:
        for station in call.ringing:
            if station is not keep:
                station.channel.stop_ringing()
                if station.state == "ringing" and station.call is call:
                    self._idle(station)
        call.ringing = []

    def _answer(self, call: Call, station: Station) -> None:
        self._stop_ringing(call, keep=station)
        station.channel.stop_ringing()
        waiting = call.waiting_party()
        if waiting is not None and waiting.is_line and waiting.state == "ringing":
            waiting.answer()
        if waiting is not None:
            waiting.play(None)
        caller_station = self.station_for(waiting) if waiting is not None else None
        if caller_station is not None and caller_station.call is call:
            caller_station.state = "talking"
            caller_station.channel.play(None)
        call.fill_empty_leg(station.channel)
        station.state, station.call = "talking", call
        call.recall_at_s = None
        call.route.append(f"answered:{station.number}")
        if waiting is not None:
            self._bridge(waiting, station.channel)
        if call.answered_at is None:
            self._mark_answered(call)
        self._note("answered", ext=station.number, caller=call.caller or "(unknown)")

    def _mark_answered(self, call: Call) -> None:
        call.answered_at = self.wall_clock()
        call.state = "answered"
        self.records.update_call(call.id, answered_at=call.answered_at)

    def _pickup(self, station: Station, target: str) -> None:
        candidates = [c for c in self.calls if c.state == "ringing" and c.ringing
                      and (not target or any(s.number == target for s in c.ringing))]
        if not candidates:
            self._tone(station, "congestion")
            return
        call = candidates[0]
        call.route.append(f"pickup:{station.number}")
        call.use_port(station.channel.name)
        call.ringing.append(station)
        station.channel.play(None)
        self._answer(call, station)

    # ------------------------------------------------------------------ failover
    def _dial_mobile(self, call: Call) -> None:
        """At the first ring of a line call in failover, call the mobile at once: it rings while
        the switchboard waits for the caller ID before answering the line."""
        modem = self.channels.get("gsm")
        if isinstance(call.origin, GsmChannel) or not isinstance(modem, GsmChannel) or not modem.idle:
            return  # answered later with the mobile's number
        number = self.settings.failover.mobile_number
        call.outside_line = modem
        call.use_port(modem.name)
        call.route.append(f"gsm:{number}")
        modem.dial(number)
        self._note("forwarding", line=call.origin.name, to=number)

    def _answer_forwarded(self, call: Call) -> None:
        """Answer a line call in failover: the announcement while the mobile rings, or its number."""
        call.forwarded = True
        line = call.origin
        line.answer()
        if call.outside_line is None:
            self._announce_mobile_number(call)
        elif call.answered_at is None:
            line.play(SamplesSource(self.phrases.samples("servizio_trasferito"), name="announcement"))

    def _connect_forwarded(self, call: Call) -> None:
        line, modem = call.origin, call.outside_line
        if not call.forwarded:  # the mobile answered before the caller ID came: take the line now
            call.forwarded = True
            line.answer()
        line.play(None)
        call.legs_set(line, modem)
        self._bridge(line, modem)
        self._note("forwarded", line=line.name, to=self.settings.failover.mobile_number)

    def _announce_mobile_number(self, call: Call) -> None:
        """Tell the caller the number to call instead, then hang up."""
        if not call.forwarded:
            call.forwarded = True
            call.origin.answer()
        if call.outside_line is not None:
            call.outside_line.hangup()
            call.outside_line = None
        number = self.settings.failover.mobile_number
        audio = np.concatenate([self.phrases.samples("non_disponibile"), self.phrases.render([number]),
                                self.phrases.samples("arrivederci")])
        call.origin.play(SamplesSource(audio, name="mobile-number"))
        call.announcing = True
        call.route.append("announced-number")
        self._note("announce-number", line=call.origin.name, number=number)

    # ------------------------------------------------------------------ the municipal flows
    def _start_flow(self, call: Call) -> None:
        """Answer a line call and hand it to the voce guida."""
        call.flow_started = True
        line = call.origin
        line.answer()
        session = Session(line, self.phrases, self.clock)
        line.tap = session.heard
        self.sessions[line.name] = session
        flow = InboundFlow(self, call, session, call.flow_destination)
        self._flow_tasks[line.name] = asyncio.get_running_loop().create_task(flow.run())
        self._note("voce-guida", line=line.name, to=str(call.flow_destination), caller=call.caller or "(unknown)")

    def _feature(self, station: Station, feature: str) -> None:
        station.state = "feature"
        session = Session(station.channel, self.phrases, self.clock)
        self.sessions[station.channel.name] = session
        self._flow_tasks[station.channel.name] = asyncio.get_running_loop().create_task(
            self._run_feature(station, session, feature))
        self._note("feature", ext=station.number, feature=feature)

    async def _run_feature(self, station: Station, session: Session, feature: str) -> None:
        try:
            await run_feature(self, station, session, feature)
        except asyncio.CancelledError:
            raise
        except Exception:
            self._note("feature-failed", ext=station.number, feature=feature)
            log.exception("feature %s on %s failed", feature, station.number)
            session.hold_tone("it:congestion")
        finally:
            if self.sessions.get(station.channel.name) is session:
                self.sessions.pop(station.channel.name, None)
                self._flow_tasks.pop(station.channel.name, None)

    def _stop_flow(self, channel: Channel | None) -> None:
        if channel is None:
            return
        self.sessions.pop(channel.name, None)
        if getattr(channel, "tap", None) is not None:
            channel.tap = None
        task = self._flow_tasks.pop(channel.name, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def ring(self, call: Call, stations: list[Station]) -> None:
        """Ring ``stations`` for a call the voce guida puts through (the first to answer takes it)."""
        self._offer(call, stations)

    def stop_ringing(self, call: Call) -> None:
        self._stop_ringing(call)

    def hang_up(self, call: Call) -> None:
        """The voce guida has finished with a caller."""
        self._end(call, Cause.NORMAL_CLEARING, None)

    def queue_for(self, office: str) -> OfficeQueue:
        if office not in self.queues:
            self.queues[office] = OfficeQueue(office)
        return self.queues[office]

    def set_service_mode(self, mode: str | None, by: str) -> None:
        """Day, night or automatic service (the manual override of office hours)."""
        self.calendar.set_override(mode)
        self._note("service-mode", mode=mode or "auto", by=by)

    def call_back(self, station: Station, ticket) -> None:
        """Call the citizen of a callback ticket from ``station``."""
        self._call_outside(station, ticket.caller, emergency=False)
        if station.call is not None:
            station.call.ticket_id = ticket.id
            station.call.office = ticket.office

    def _callback_done(self, call: Call) -> None:
        if self.tickets is None:
            return
        station = self.station_for(call.origin)
        by = station.number if station else ""
        try:
            if call.answered_at is not None:
                self.tickets.close(call.ticket_id, by, self.wall_clock(), note="richiamato")
                self._note("callback-closed", ticket=call.ticket_id, by=by)
            else:
                self.tickets.reopen(call.ticket_id, by, self.wall_clock())
                self._note("callback-reopened", ticket=call.ticket_id)
        except Exception:
            log.exception("callback ticket %s could not be updated", call.ticket_id)

    # ------------------------------------------------------------------ transfer
    def _complete_transfer(self, station: Station, held: Call, enquiry: Call) -> bool:
        """The operator hung up with a call on hold and an enquiry call: connect the two.

        Returns False when the enquiry went to no extension (an outside number): it is ended and
        the held call stays with the operator."""
        station.held = None
        held_party = held.other(station.channel)
        target = enquiry.ringing[0] if enquiry.ringing else self.station_for(enquiry.other(station.channel))
        if held_party is None or target is None:
            self._end(enquiry, Cause.NORMAL_CLEARING, station.channel)
            return False
        held.transfer_chain.append(f"{station.number}>{target.number}")
        held.route.append(f"transfer:{target.number}")
        held.use_port(target.channel.name)
        held.vacate_leg(station.channel)
        self._discard(enquiry)
        if enquiry.answered_at is not None:  # attended: both already talked, connect them
            target.call, target.state = held, "talking"
            held.fill_empty_leg(target.channel)
            held_party.play(None)
            self._bridge(held_party, target.channel)
            self._note("transfer", by=station.number, to=target.number, how="attended")
        else:  # blind: the held party hears ringback while the target rings
            held_party.play(tone("ringback"))
            held.state = "ringing"
            held.ringing = [s for s in enquiry.ringing]
            for s in held.ringing:
                s.call = held
            held.recall_at_s = self.clock() + self.settings.features.transfer_recall_s
            held.transferred_by = station
            self._note("transfer", by=station.number, to=target.number, how="blind")
        return True

    def _discard(self, call: Call) -> None:
        """Drop an enquiry call that became part of a transfer: it has no record of its own."""
        if call in self.calls:
            self.calls.remove(call)
        self.records.discard_call(call.id)

    # ------------------------------------------------------------------ ending
    def _legs(self, call: Call) -> list[Channel]:
        return [leg for leg in call.legs if leg is not None]

    def _end(self, call: Call, cause: Cause, by: Channel | None) -> None:
        if call not in self.calls:
            return
        self.calls.remove(call)
        call.state = "ended"
        self._stop_ringing(call)
        self._stop_flow(call.origin)
        for leg in self._legs(call) + ([call.outside_line] if call.outside_line else []):
            leg.play(None)
            leg.peer = None
            station = self.station_for(leg)
            if leg.is_line:
                leg.hangup()
            elif station is not None and leg is not by:
                if station.held is call:
                    station.held = None
                elif station.call is call:
                    station.call = None
                    if leg.off_hook:
                        self._tone(station, "busy")
                    else:
                        self._idle(station)
        for station in self.stations.values():
            if station.held is call:
                station.held = None
        if call.answered_at is None and call.far_end_tone and cause in (Cause.NORMAL_CLEARING,
                                                                         Cause.ORIGINATOR_CANCEL):
            cause = Cause.USER_BUSY if call.far_end_tone == "busy" else Cause.NO_CIRCUIT_AVAILABLE
        disposition = "failover" if call.failover else call.disposition(cause)
        if call.outcome is not None:
            disposition = call.outcome
        elif call.flow_destination is not None and call.answered_at is None and by is call.origin:
            disposition = "abandoned"  # hung up in the voce guida or in the queue
        if call.office_entered_s is not None and call.answered_at is None:
            call.queued_s = self.clock() - call.office_entered_s
        self.records.finish_call(call.id, ended_at=self.wall_clock(), disposition=disposition,
                                 cause=cause.label, answered_at=call.answered_at,
                                 route=">".join(call.route), transfer_chain=",".join(call.transfer_chain),
                                 ports=",".join(call.ports), called=call.called, caller=call.caller,
                                 office=call.office, queued_s=round(call.queued_s, 3),
                                 overflowed=call.overflowed)
        if call.ticket_id is not None:
            self._callback_done(call)
        self.finished.append(call)
        if self.bus is not None:  # web shim (issue 17)
            self.bus.publish("call.ended", call_id=call.id, disposition=disposition, cause=cause.label,
                             office=call.office, caller=call.caller, called=call.called)
        self._note("ended", caller=call.caller or "(unknown)", called=call.called,
                   disposition=disposition, cause=cause.label)

    def _call_on(self, channel: Channel) -> Call | None:
        for call in self.calls:
            if channel in call.legs or channel is call.outside_line:
                return call
        return None

    # ------------------------------------------------------------------ audio
    @staticmethod
    def _bridge(a: Channel, b: Channel) -> None:
        a.peer, b.peer = b, a

    @staticmethod
    def _unbridge(call: Call) -> None:
        for leg in call.legs:
            if leg is not None:
                leg.peer = None

    # ------------------------------------------------------------------ time
    def tick(self) -> None:
        """Every media tick: dialling timeouts, ring timeouts, transfer recalls, waiting calls."""
        now = self.clock()
        for session in self.sessions.values():
            session.poke()
        for call in self.calls:
            if call.flow_destination is not None and not call.flow_started \
                    and now - call.started_s >= self.settings.rules.answer_after_s:
                self._start_flow(call)
        if self.failover is not None and now >= self._next_failover_check_s:
            self._next_failover_check_s = max(self._next_failover_check_s + FAILOVER_CHECK_S, now)
            self.failover.check()
            for call in list(self.calls):
                if call.failover and not call.forwarded and now - call.started_s >= CALLER_ID_WAIT_S:
                    self._answer_forwarded(call)
                elif call.announcing and call.origin.source is None:
                    self._end(call, Cause.NORMAL_CLEARING, None)
        for station in self.stations.values():
            if station.state == "dialling":
                waited = now - station.last_digit_at_s
                if station.digits and waited >= self.settings.dialplan.interdigit_timeout_s:
                    self._try_number(station, timed_out=True)
                elif not station.digits and waited >= DIAL_TONE_TIMEOUT_S:
                    self._tone(station, "congestion")
        for call in list(self.calls):
            if call.state != "ringing":
                continue
            if call.recall_at_s is not None and now >= call.recall_at_s:
                self._recall(call)
            elif call.direction == "internal" and call.ring_deadline_s and now >= call.ring_deadline_s \
                    and call.ringing:
                self._no_answer(call)
            elif call.hunt_group and call.next_batch_s is not None and now >= call.next_batch_s:
                self._hunt(call)
            elif call.direction == "inbound" and not call.ringing and call.answered_at is None:
                if call.hunt_group:
                    self._hunt(call)
                elif free := [t for t in call.targets if t.free]:
                    self._offer(call, free)

    def _recall(self, call: Call) -> None:
        """A blind transfer nobody answered goes back to the operator who made it."""
        call.recall_at_s = None
        operator = call.transferred_by
        self._stop_ringing(call)
        call.route.append(f"recall:{operator.number}")
        self._note("recall", to=operator.number, caller=call.caller or "(unknown)")
        if operator.free:
            self._offer(call, [operator])
