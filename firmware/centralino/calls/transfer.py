"""Hold, enquiry and transfer with the hook flash, as an operator does them on an analog phone.

Flash while talking: the other party is held (hold tone) and the phone gets dial tone for an
enquiry. Flash again: back to the held party (an enquiry in progress is dropped). Hang up with a
held party and an enquiry call: attended transfer when the enquiry was answered, blind transfer
while it still rings. A blind transfer nobody answers within ``transfer_recall_s`` rings the
operator who made it again; hanging up with a held party and no enquiry rings the phone back.
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
            held_party.play(tone("ringback"))
            held.state = "ringing"
            held.ringing = list(enquiry.ringing)
            for s in held.ringing:
                s.call = held
            timer = engine.after(engine.settings.features.transfer_recall_s, lambda: self._recall(held),
                                 owner=held, what="transfer recall")
            self._recalls[held] = (timer, station)
            engine.note("transfer", by=station.number, to=target.number, how="blind")
        return True

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
        call.route.append(f"recall:{operator.number}")
        engine.note("recall", to=operator.number, caller=call.caller or "(unknown)")
        if operator.free:
            engine.ringer.offer(call, [operator])

    def ring_back_held(self, station, held) -> None:
        """Hung up with a call on hold that was not transferred: ring the station again for it."""
        engine = self.engine
        held.vacate_leg(station.channel)
        station.call = None
        station.held = None
        engine.idle(station)
        engine.ringer.offer(held, [station])
