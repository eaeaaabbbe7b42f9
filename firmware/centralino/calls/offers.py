"""The switchboard rings a staff phone for itself: a callback from an office's queue.

No caller waits on a line, so there is no ``Call`` yet: the phones ring with what the call is
about on their display, and the first to go off hook gets a ``StationContext`` as if it had dialled
a feature code. The flow then tells the operator whom they are calling back and places the call
out from that phone (``StationContext.call_outside``), which is the engine's ordinary outbound call.
A phone that faults, is rung for a real call or logs out meanwhile simply stops being offered.
"""

from __future__ import annotations

import asyncio

from .context import StationContext


class StationOffers:
    def __init__(self, engine):
        self.engine = engine
        self.ringing: dict = {}  # station -> the future of the offer it rings for

    async def ring(self, stations: list, caller_id, timeout_s: float, feature: str) -> StationContext | None:
        """Ring the free, logged-in ``stations`` for ``timeout_s``; the context of the one that
        answered (its feature flow is the caller's to run), or None."""
        engine = self.engine
        batch = [s for s in stations if s.free and s.logged_in]
        if not batch:
            return None
        answered: asyncio.Future = asyncio.get_running_loop().create_future()
        try:  # whatever happens (a chip that fails to ring, a cancel), the phones are freed below
            for station in batch:
                station.state, station.call = "ringing", None
                self.ringing[station] = answered
                station.channel.ring(caller_id)
                engine.note("ringing", ext=station.number, caller=getattr(caller_id, "number", None) or "(callback)")
            station = await asyncio.wait_for(asyncio.shield(answered), timeout_s)
        except asyncio.TimeoutError:
            station = answered.result() if answered.done() else None
        finally:
            self._stop(answered)
        if station is None:
            return None
        context = StationContext(engine, station, feature)
        engine.desk.features[station] = context
        return context

    def answered(self, station) -> bool:
        """``station`` went off hook while ringing: True when it was ringing for an offer."""
        future = self.ringing.get(station)
        if future is None or station.state != "ringing" or station.call is not None:
            return False
        station.channel.stop_ringing()
        station.state = "feature"
        station.channel.play(None)
        if not future.done():
            future.set_result(station)
        self._stop(future)
        return True

    def _stop(self, future) -> None:
        """The offer is over: its other phones stop ringing and are free again."""
        for station, offered in list(self.ringing.items()):
            if offered is not future:
                continue
            del self.ringing[station]
            if station.state == "ringing" and station.call is None:
                station.channel.stop_ringing()
                self.engine.idle(station)
