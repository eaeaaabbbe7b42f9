"""FXS channel: an analog phone on a ProSLIC port (an office extension).

Translates the driver's hook events into telephony events, rings the phone with caller ID in the
pause after the first ring (ETSI EN 300 659-1 on-hook transmission), and carries the phone's audio.
"""

from __future__ import annotations

from centralino.drivers import proslic
from centralino.media.callerid import CallerId, encode_burst

from . import events as ev
from .base import Channel, port_boundary
from .sources import SamplesSource

# The FSK burst lasts about 0.6 s; the pause after the first ring lasts 4 s. A caller ID that
# arrives later than this into the pause waits for the next call rather than overlap the ring.
CALLER_ID_LATEST_S = 2.5


class FxsChannel(Channel):
    kind = "fxs"
    restartable = True

    def __init__(self, name: str, driver: proslic.ProSlic, clock):
        super().__init__(name, clock, driver)
        self._caller_id: CallerId | None = None
        self._cid_window_at: float | None = None
        self._cid_sent = False

    @property
    def off_hook(self) -> bool:
        return self.in_service and self.driver.off_hook

    @property
    def ringing(self) -> bool:
        return self.in_service and self.driver.ringing

    # -- actions
    @port_boundary
    def ring(self, caller_id: CallerId | None = None) -> None:
        self._caller_id = caller_id
        self._cid_window_at = None
        self._cid_sent = False
        self.driver.ring()

    def set_caller_id(self, caller_id: CallerId) -> None:
        """A caller ID learnt after ringing started (an FXO line's comes after its first ring)."""
        self._caller_id = caller_id
        self._send_caller_id_if_due()

    @port_boundary
    def stop_ringing(self) -> None:
        if self.driver.ringing:
            self.driver.stop_ringing()
        if isinstance(self.source, SamplesSource) and self.source.name == "caller-id":
            self.source = None
        self._cid_window_at = None

    # -- events
    def service_interrupt(self) -> None:
        self._handle(self.driver.handle_interrupt())

    def tick(self) -> None:
        self._handle(self.driver.tick())

    def _handle(self, driver_events) -> None:
        for event in driver_events:
            if isinstance(event, proslic.OffHook):
                self._cid_window_at = None
                if isinstance(self.source, SamplesSource) and self.source.name == "caller-id":
                    self.source = None
                self.emit(ev.OffHook(event.at_s))
            elif isinstance(event, proslic.OnHook):
                self.emit(ev.OnHook(event.at_s))
            elif isinstance(event, proslic.Flash):
                self.emit(ev.Flash(event.at_s))
            elif isinstance(event, proslic.PulseDigit):
                self.emit(ev.Digit(event.digit, "pulse", event.at_s))
            elif isinstance(event, proslic.CallerIdWindow):
                self._cid_window_at = event.at_s
                self._send_caller_id_if_due()
            elif isinstance(event, proslic.ChipFailed):  # a chip lost for good: the port supervisor retries
                self.fail(event.problem)

    def _send_caller_id_if_due(self) -> None:
        if self._cid_sent or self._caller_id is None or self._cid_window_at is None:
            return
        if self.clock() - self._cid_window_at > CALLER_ID_LATEST_S:
            return
        self._cid_sent = True
        self.play(SamplesSource(encode_burst(self._caller_id), name="caller-id"))

    def status(self) -> dict:
        status = super().status()
        status.update(off_hook=self.off_hook if self.in_service else None,
                      ringing=self.ringing if self.in_service else False)
        line = self.guarded("status", self.driver.diagnostics) if self.in_service else None
        if line is not None:
            status.update(tip_v=round(line.tip_v, 1), ring_v=round(line.ring_v, 1),
                          battery_v=round(line.battery_v, 1), loop_current_ma=round(line.loop_current_ma, 1))
        return status


LAW = "alaw"  # Italy


def load_config(settings, board, clock) -> list[FxsChannel]:
    """One ProSLIC driver and one channel per FXS port of the board."""
    channels = []
    for port in settings.board.ports:
        if port.kind == "fxs":
            buses = board.ports[port.name]
            driver = proslic.ProSlic(buses.spi, buses.irq, buses.reset, port=port.name, timeslot=port.timeslot,
                                     law=LAW, clock=clock)
            channels.append(FxsChannel(port.name, driver, clock))
    return channels
