"""GSM channel: the mobile network through the modem, as one more outside line.

It is the emergency path when no PSTN line is free (the modem can place 112 without a SIM) and
a line of its own for calls to the modem's number. The driver's events become the same channel
events an FXO line gives, so the switchboard treats both alike.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from centralino.drivers import gsm_events as gsm
from centralino.drivers.errors import ChipError
from centralino.media.callerid import CallerId
from centralino.media.frames import silence

from . import events as ev
from .base import Channel

log = logging.getLogger("centralino.channels.gsm")

# a modem that lost its network or SIM can still place emergency calls
EMERGENCY_STATES = ("ready", "no_sim", "no_service")
# Without a SIM or its own network a phone reaches only the universal emergency number (3GPP
# TS 22.101); in Italy 112 (NUE) passes calls on to 113, 115 and 118.
UNIVERSAL_EMERGENCY = "112"


class GsmChannel(Channel):
    kind = "gsm"
    is_line = True

    def __init__(self, name: str, modem, clock):
        super().__init__(name, clock, modem)
        self.state = "idle"  # idle, ringing, outgoing, connected, releasing
        self._tasks: set[asyncio.Task] = set()
        self.health_listeners: list = []  # called with ("lost" | "recovered", detail) for alerts
        modem.set_listener(self._on_modem_event)

    async def close(self) -> None:
        """Unlike the HAT's channels, closing the modem is a coroutine: the daemon awaits it."""
        for task in list(self._tasks):
            task.cancel()
        await self.driver.close()

    @property
    def idle(self) -> bool:
        return self.state == "idle" and self.in_service and self.driver.state == "ready"

    @property
    def idle_for_emergency(self) -> bool:
        return self.state == "idle" and self.driver.state in EMERGENCY_STATES

    def line_present(self) -> bool:
        """Registered on a network (or, for an emergency call, at least answering without one)."""
        return self.in_service and self.driver.state == "ready"

    def can_carry_emergency(self) -> bool:
        return self.fault is None and self.driver.state in EMERGENCY_STATES

    # -- actions
    def answer(self) -> None:
        self.state = "connected"
        self._spawn(self.driver.answer())

    def dial(self, number: str, emergency: bool = False) -> None:
        if emergency and self.driver.state != "ready" and number != UNIVERSAL_EMERGENCY:
            log.warning("%s: no SIM or network: %s goes to %s instead", self.name, number, UNIVERSAL_EMERGENCY)
            number = UNIVERSAL_EMERGENCY
        self.state = "outgoing"
        self._spawn(self._dial(number, emergency))

    async def _dial(self, number: str, emergency: bool) -> None:
        try:
            await self.driver.dial(number, emergency=emergency)
        except (ChipError, ValueError) as err:
            log.error("%s: dialling %s failed: %s", self.name, number, err)
            if self.state == "outgoing":
                self.state = "idle"
                self.emit(ev.DialFailed(f"modem: {err}", self.clock()))

    def hangup(self) -> None:
        """Hang up; the channel is busy ("releasing") until the modem has really dropped the call."""
        if self.state not in ("idle", "releasing"):
            self.state = "releasing"
            self._spawn(self._release())
        self.peer = None
        self.source = None

    async def _release(self) -> None:
        try:
            await self.driver.hangup()
        except ChipError as err:
            log.error("%s: hanging up failed: %s", self.name, err)
        finally:
            if self.state == "releasing":
                self.state = "idle"

    # -- audio: the modem's own port, not the HAT's PCM bus
    def exchange_audio(self) -> None:
        frame = self.driver.read_frame() if self.state == "connected" else None
        self.receive(frame if frame is not None else silence())
        outgoing = self.transmit()
        if self.state == "connected":
            self.driver.write_frame(np.asarray(outgoing, dtype=np.int16))

    # -- events
    def _on_modem_event(self, event) -> None:
        now = self.clock()
        if isinstance(event, gsm.IncomingCall) and self.state == "idle":
            self.state = "ringing"
            self.emit(ev.Incoming(now))
            cid = CallerId(number=event.number) if event.number else CallerId(number_absent="P")
            self.emit(ev.CallerIdReceived(cid, now))
        elif isinstance(event, gsm.CallAlerting) and self.state == "outgoing":
            self.emit(ev.Progress("ringback", now))
        elif isinstance(event, gsm.CallAnswered) and self.state == "outgoing":
            self.state = "connected"
            self.emit(ev.Answered(now))
        elif isinstance(event, gsm.CallEnded):
            self._ended(event.reason, now)
        elif isinstance(event, gsm.Dtmf) and self.state == "connected":
            self.emit(ev.Digit(event.digit, "dtmf", now))  # keys the far end pressed (the voce guida)
        elif isinstance(event, gsm.ModemLost):
            self._ended("modem lost", now)
            self.fail(f"modem lost: {event.reason}")
            for listener in self.health_listeners:
                listener("lost", event.reason)
        elif isinstance(event, gsm.ModemRecovered):
            self.restore()
            for listener in self.health_listeners:
                listener("recovered", f"{event.recovery_s:.1f} s")

    def _ended(self, reason: str, now: float) -> None:
        state = self.state
        if state != "releasing":
            self.state = "idle"
        if state == "ringing":
            self.emit(ev.RingingStopped(now))
        elif state == "outgoing" and reason in ("busy", "no answer", "unreachable"):
            self.emit(ev.Progress("busy" if reason == "busy" else "congestion", now))
            self.emit(ev.RemoteHangup(reason, now))
        elif state in ("outgoing", "connected"):
            self.emit(ev.RemoteHangup(reason, now))

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def status(self) -> dict:
        status = super().status()
        status.update(state=self.state, modem=self.driver.status())
        return status


def load_config(settings, board, clock) -> list[GsmChannel]:
    """The ``gsm`` section: the modem on the board's AT and audio ports (udev names on the Pi)."""
    if settings.gsm is None:
        return []
    from centralino.drivers.gsm_modem import GsmModem

    at_port, audio_port = board.gsm_ports
    modem = GsmModem(at_port, dialect=settings.gsm.dialect, audio_path=audio_port, clock=clock,
                     power_key=board.gsm_power_key)
    return [GsmChannel("gsm", modem, clock)]
