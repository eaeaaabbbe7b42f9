"""Calls that arrive on a line (PSTN, GSM, SIP trunk): where they go, and what the line says after.

A line's route names its destination: an extension or a group (rung by the engine at once, the
caller ID shown as soon as it arrives) or a flow (the voce guida ``menu:NAME``, an ``office:``, a
``voicemail:``, or the failover ``forward`` the flow host substitutes while calls go to the
mobile). A flow starts once the caller ID had time to arrive (``switchboard.answer_after_s``), or
at the first ring when the flow says so (the forward dials the mobile at once).

A caller in a flow who keys an emergency number (keys less than ``KEY_GAP_S`` apart) is put
through to it: the flow stops and the emergency router places the call from the line.
"""

from __future__ import annotations

from dataclasses import dataclass

from centralino.channels import events as ev
from centralino.config.flows_schema import Destination

from .causes import Cause
from .emergency import KEY_GAP_S
from .ringing import RingPlan

ENGINE_KINDS = ("extension", "group", "operator")  # destinations the engine rings itself


@dataclass(frozen=True)
class LineRoute:
    incoming: str  # an extension, a group, operator, menu:NAME, office:NAME, voicemail:OFFICE
    number: str | None = None  # the line's (or DID's) own number, for the record


class LineCalls:
    def __init__(self, engine):
        self.engine = engine
        self.contexts: dict = {}  # call -> the CallContext of the flow serving it
        self._keys: dict = {}  # call -> [(digit, at_s)] the caller keyed, for emergency numbers

    def handle(self, line, event) -> None:
        engine = self.engine
        if isinstance(event, ev.Incoming):
            if engine.call_on(line) is None:
                self.incoming(line)
            return
        call = engine.call_on(line)
        if call is None:
            return
        if line is call.outside_line and line is not call.origin:
            engine.outside.on_line_event(call, line, event)
            return
        if isinstance(event, ev.Digit):
            self._digit(call, event)
        elif isinstance(event, ev.CallerIdReceived):
            self._caller_id(call, line, event.caller_id)
        elif isinstance(event, ev.RingingStopped):
            engine.end(call, Cause.ORIGINATOR_CANCEL, line)
        elif isinstance(event, ev.Progress):
            engine.note("progress", line=line.name, tone=event.tone)
        elif isinstance(event, ev.RemoteHangup):
            engine.note("far-end-hangup", line=line.name, how=event.how)
            engine.end(call, Cause.NORMAL_CLEARING, line)

    # ------------------------------------------------------------------ arrival
    def incoming(self, line) -> None:
        engine, settings = self.engine, self.engine.settings
        call = engine.new_call("inbound", line, "", "")
        route = engine.line_routes.get(line.name)
        text = route.incoming if route else settings.dialplan.operator
        if line.kind == "gsm" and settings.gsm is not None:
            text = settings.gsm.incoming or settings.dialplan.operator
        call.called = route.number if route is not None and route.number else text
        call.route.append(f"line:{line.name}")
        destination = Destination.parse(text)
        if destination.kind == "operator":
            destination = Destination("extension", settings.dialplan.operator)
        destination = engine.flows.destination_for(call, destination)
        call.state = "ringing"
        if destination.kind not in ENGINE_KINDS:
            call.flow = destination.kind
            call.facts["destination"] = destination
            engine.record_start(call)
            engine.note("incoming", line=line.name, to=str(destination))
            if engine.flows.starts_at_first_ring(destination):
                self.start_flow(call)
            else:
                engine.after(settings.rules.answer_after_s, lambda: self.start_flow(call), owner=call,
                             what="voce guida answer")
            return
        if destination.kind == "extension":
            plan = RingPlan(targets=[engine.stations[destination.target]])
            call.route.append(f"ext:{destination.target}")
        else:
            plan = RingPlan(group=destination.target)
            call.route.append(f"group:{destination.target}")
        engine.record_start(call)
        engine.note("incoming", line=line.name, to=destination.target)
        engine.ringer.ring_plan(call, plan)

    def _caller_id(self, call, line, cid) -> None:
        engine = self.engine
        call.caller = cid.number or call.caller
        call.caller_name = cid.name or call.caller_name
        call.caller_absent = None if cid.number else (cid.number_absent or "O")
        engine.record_update(call, caller=call.caller, caller_name=call.caller_name)
        engine.ringer.show_caller_id(call)
        engine.note("caller-id", line=line.name, number=cid.number or "(withheld)")
        context = self.contexts.get(call)
        if context is not None:
            context.caller_id_arrived()
        elif call.flow is not None:
            self.start_flow(call)

    # ------------------------------------------------------------------ flows
    def start_flow(self, call) -> None:
        from .context import CallContext

        engine = self.engine
        if call not in engine.calls or call in self.contexts or call.flow is None:
            return
        context = CallContext(engine, call)
        self.contexts[call] = context
        call.on_ended.append(self._flow_call_ended)
        engine.flows.start_call_flow(context, call.facts["destination"])

    def stop_flow(self, call) -> None:
        context = self.contexts.pop(call, None)
        if context is not None:
            context.cancel()
        call.flow = None

    def _flow_call_ended(self, call) -> None:
        self.stop_flow(call)
        self._keys.pop(call, None)

    def _digit(self, call, event) -> None:
        context = self.contexts.get(call)
        if context is None or call.emergency:
            return
        keys = self._keys.setdefault(call, [])
        if keys and event.at_s - keys[-1][1] > KEY_GAP_S:
            keys.clear()
        keys.append((event.digit, event.at_s))
        typed = "".join(k for k, _ in keys)
        for number in self.engine.dialplan.emergency:
            if typed.endswith(number):
                keys.clear()
                self.engine.outside.emergency.place_from_line(call, number)
                return
        context.key(event.digit)
