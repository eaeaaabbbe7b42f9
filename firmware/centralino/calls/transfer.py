"""Hold, enquiry and transfer with the hook flash, as an operator does them on an analog phone.

Flash while talking: the other party is held (hold tone) and the phone gets dial tone for an
enquiry. Flash again: back to the held party (an enquiry in progress is dropped). Hang up with a
held party and an enquiry call: attended transfer when the enquiry was answered, blind transfer
while it still rings. A blind transfer nobody answers within ``transfer_recall_s`` rings the
operator who made it again; hanging up with a held party and no enquiry rings the phone back.

After such a recall the call remembers the number the transfer failed to reach
(``facts["failed_transfer"]``): the operator's failed-transfer desk (flows/transfer_desk.py) may
then hand the held caller to a flow (``send_held``: the office's segreteria, the callback
confirmation) or try the same transfer again (``retry``).
"""

from __future__ import annotations

from centralino.channels.sources import ToneSource, tone

from .causes import Cause


class Transfers:
    def __init__(self, engine):
        self.engine = engine
        self._recalls: dict = {}  # call -> (its recall timer, the station that transferred it)

    def flash(self, station) -> None:
        engine, call = self.engine, station.call
        if station.state == "talking" and station.held is None and call is not None:
            other = call.other(station.channel)
            engine.unbridge(call)
            if other is not None:
                other.play(ToneSource(engine.settings.features.hold_tone))
            station.held, station.call = call, None
            engine.desk.start_dialling(station)
            engine.note("hold", ext=station.number, held=call.caller)
        elif station.held is not None:
            if call is not None and call is not station.held:
                engine.end(call, Cause.NORMAL_CLEARING, station.channel)
            held, station.held = station.held, None
            station.call, station.state = held, "talking"
            engine.desk.cancel_dialling(station)
            station.channel.play(None)
            other = held.other(station.channel)
            if other is not None:
                other.play(None)
                engine.bridge(other, station.channel)
            engine.note("retrieve", ext=station.number)

    def complete(self, station, held, enquiry) -> bool:
        """The operator hung up with a call on hold and an enquiry call: connect the two.

        Returns False when the enquiry went to no extension (an outside number): it is ended and
        the held call stays with the operator."""
        engine = self.engine
        station.held = None
        held_party = held.other(station.channel)
        target = enquiry.ringing[0] if enquiry.ringing else engine.station_for(enquiry.other(station.channel))
        if held_party is None or target is None:
            engine.end(enquiry, Cause.NORMAL_CLEARING, station.channel)
            return False
        held.transfer_chain.append(f"{station.number}>{target.number}")
        held.route.append(f"transfer:{target.number}")
        held.use_port(target.channel.name)
        held.vacate_leg(station.channel)
        engine.ringer.forget(enquiry)
        engine.discard(enquiry)
        if enquiry.answered_at is not None:  # attended: both already talked, connect them
            target.call, target.state = held, "talking"
            held.fill_empty_leg(target.channel)
            held_party.play(None)
            engine.bridge(held_party, target.channel)
            engine.note("transfer", by=station.number, to=target.number, how="attended")
        else:  # blind: the held party hears ringback while the target rings
            held.facts["transfer_target"] = enquiry.called
            held_party.play(tone("ringback"))
            held.state = "ringing"
            held.ringing = list(enquiry.ringing)
            for s in held.ringing:
                s.call = held
            self._hunt_on(held, enquiry.plan)
            timer = engine.after(engine.settings.features.transfer_recall_s, lambda: self._recall(held),
                                 owner=held, what="transfer recall")
            self._recalls[held] = (timer, station)
            engine.note("transfer", by=station.number, to=target.number, how="blind")
        return True

    def _hunt_on(self, held, plan) -> None:
        """A blind transfer to a group's number goes on through the group's members, as the
        enquiry would have (its own timer went with it)."""
        engine = self.engine
        if plan is None or plan.group is None:
            return
        held.plan = plan
        group = engine.groups[plan.group]
        if group.strategy != "ring_all":
            plan.next_batch = engine.after(group.member_timeout_s, lambda: engine.ringer.hunt(held), owner=held,
                                           what="next group member")

    def answered(self, call) -> None:
        """Someone answered: a pending recall is off."""
        recall = self._recalls.pop(call, None)
        if recall is not None:
            recall[0].cancel()

    def _recall(self, call) -> None:
        """A blind transfer nobody answered goes back to the operator who made it."""
        engine = self.engine
        _, operator = self._recalls.pop(call, (None, None))
        if operator is None or call not in engine.calls:
            return  # answered meanwhile (``answered`` took the recall off), or over
        engine.ringer.stop(call)
        if call.plan is not None and call.plan.next_batch is not None:
            call.plan.next_batch.cancel()  # the group's members ring no more
        call.plan = None
        call.route.append(f"recall:{operator.number}")
        target = call.facts.get("transfer_target", "")
        call.facts["failed_transfer"] = target
        engine.note("recall", to=operator.number, caller=call.caller or "(unknown)", call_id=call.id, target=target)
        if operator.free:
            engine.ringer.offer(call, [operator])

    def send_held(self, station, destination) -> bool:
        """The caller ``station`` holds (from a line) goes to a flow (``destination``): the station
        is out of the call. False when there is no such caller."""
        engine, held = self.engine, station.held
        if held is None or held not in engine.calls or not held.origin.is_line:
            return False
        station.held = None
        held.vacate_leg(station.channel)
        line = held.origin
        line.play(None)
        line.peer = None
        engine.line_calls.stop_flow(held)  # the voce guida's, over since someone answered
        held.flow = destination.kind
        held.facts["destination"] = destination
        held.route.append(f"desk:{destination}")
        engine.note("desk", by=station.number, to=str(destination), caller=held.caller or "(unknown)")
        engine.line_calls.start_flow(held)
        return True

    def retry(self, station) -> bool:
        """The held caller's failed blind transfer once more: the target rings, the operator is out
        of the call, and a recall follows if nobody answers again. False when it cannot ring."""
        engine, held = self.engine, station.held
        target = held.facts.get("failed_transfer") if held is not None else None
        if held is None or held not in engine.calls or not target:
            return False
        if target in engine.stations:
            free = [engine.stations[target]]
        else:
            group = next((g for g in engine.settings.groups if target in (g.number, g.name)), None)
            free = engine.groups[group.name].free_members() if group is not None else []
        free = [s for s in free if s.free and s is not station]
        held_party = held.other(station.channel)
        if not free or held_party is None:
            return False
        station.held = None
        held.vacate_leg(station.channel)
        held_party.peer = None
        held_party.play(tone("ringback"))
        held.route.append(f"retry:{target}")
        engine.ringer.offer(held, free)
        timer = engine.after(engine.settings.features.transfer_recall_s, lambda: self._recall(held),
                             owner=held, what="transfer recall")
        self._recalls[held] = (timer, station)
        engine.note("transfer", by=station.number, to=target, how="retry")
        return True

    def ring_back_held(self, station, held) -> None:
        """Hung up with a call on hold that was not transferred: ring the station again for it."""
        engine = self.engine
        held.vacate_leg(station.channel)
        station.call = None
        station.held = None
        engine.idle(station)
        engine.ringer.offer(held, [station])
