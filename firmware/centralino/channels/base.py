"""The channel interface every line technology implements, and the audio path they share.

Audio: each 20 ms tick the media loop hands every channel the frame its line sent (``receive``)
and asks what to send (``transmit``). A channel sends, in order of precedence, what it is
playing (a tone, a caller-ID burst, the digits an FXO line dials), the frame its bridged peer
received on the previous tick, or silence.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

import numpy as np

from centralino.drivers.errors import ChipError
from centralino.media.frames import silence

from .events import ChannelEvent, PortFaulty, PortRestored

log = logging.getLogger("centralino.channels")

Listener = Callable[["Channel", ChannelEvent], None]


def port_boundary(method):
    """A channel action that touches the hardware: whatever it raises (``ChipError``, periphery's
    ``SPIError``/``GPIOError`` and smbus2's ``OSError``, or a bug) marks this port faulty and returns
    None, so the caller (the engine, the media clock) goes on with every other port."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as err:
            self.fail(f"{method.__name__}: {_describe(err)}", err)
            return None
    return guarded


def _describe(err: BaseException) -> str:
    return str(err) if isinstance(err, ChipError) else f"{type(err).__name__}: {err}"


class Channel:
    kind = "?"
    is_line = False  # a line to the outside (PSTN, GSM, SIP trunk) rather than a station's phone
    restartable = False  # a port whose driver can be initialised again after a fault (fxs, fxo)

    def __init__(self, name: str, clock: Callable[[], float], driver=None):
        self.name = name
        self.driver = driver
        self.clock = clock
        self.listener: Listener = lambda channel, event: None
        self.fault: str | None = None
        self.peer: Channel | None = None
        self.source = None
        self.last_rx = silence()
        self.tap: Callable[[np.ndarray], None] | None = None  # the voce guida listening (segreteria)

    # -- life cycle
    async def start(self) -> None:
        """Initialise the hardware; a ChipError marks the port faulty instead of stopping the rest."""
        try:
            await self.driver.start()
        except ChipError as err:
            self.mark_faulty(str(err))
            raise

    def close(self) -> None:
        """Release the hardware."""
        self.driver.close()

    @property
    def in_service(self) -> bool:
        return self.fault is None

    def mark_faulty(self, problem: str) -> None:
        self.fault = problem

    def fail(self, reason: str, error: BaseException | None = None) -> None:
        """The hardware failed while running: out of service at once; the engine hears of it
        (``PortFaulty``) on the next turn of the loop, never in the middle of what it is doing."""
        first = self.fault is None
        self.fault = reason
        self.peer = None
        self.play(None)
        if not first:
            return
        log.error("port %s out of service: %s", self.name, reason, exc_info=error)
        self._emit_later(PortFaulty(self.fault, self.clock()))

    def restore(self) -> None:
        """Back in service after a successful re-initialisation."""
        if self.fault is None:
            return
        self.fault = None
        log.warning("port %s back in service", self.name)
        self._emit_later(PortRestored(self.clock()))

    async def restart(self) -> None:
        """Initialise the hardware again (the port supervisor's retry); raises when it still fails."""
        restart = getattr(self.driver, "restart", None)
        await (restart() if restart is not None else self.driver.start())

    def _emit_later(self, event: ChannelEvent) -> None:
        try:
            asyncio.get_running_loop().call_soon(self.emit, event)
        except RuntimeError:  # no loop (a synchronous test): at once
            self.emit(event)

    def interrupt(self) -> None:
        """The interrupt line is readable: served in the port's boundary; a port out of service only
        has its edges consumed, so a line held low cannot keep the loop busy."""
        if self.fault is None:
            self.guarded("interrupt", self.service_interrupt)
            return
        drain = getattr(self.driver, "drain_interrupt", None)
        try:
            if drain is not None:
                drain()
        except Exception:
            log.debug("port %s: draining its interrupt line failed", self.name, exc_info=True)

    def guarded(self, what: str, fn: Callable, *args):
        """Run one step of this port (its tick, its interrupt, its audio) inside its boundary."""
        if self.fault is not None and what != "status":
            return None
        try:
            return fn(*args)
        except Exception as err:
            self.fail(f"{what}: {_describe(err)}", err)
            return None

    # -- events
    def emit(self, event: ChannelEvent) -> None:
        self.listener(self, event)

    def service_interrupt(self) -> None:
        """The port's interrupt line fired."""

    def tick(self) -> None:
        """Every media tick, after ``receive``: time-based decisions."""

    # -- audio
    def receive(self, frame: np.ndarray) -> None:
        self.last_rx = frame
        if self.tap is not None:
            self.tap(frame)

    def transmit(self) -> np.ndarray:
        if self.source is not None:
            source = self.source
            frame = source.frame()
            if getattr(source, "finished", False):
                self.source = None
                _done(source)
            return frame
        if self.peer is not None:
            return self.peer.last_rx
        return silence()

    def play(self, source) -> None:
        """Play a source (tone, samples) to the line instead of silence; ``None`` stops it.

        A source that is replaced or stopped before its end is told so (``on_done``), as is one
        that finishes: whoever waits for a prompt is woken by the channel, never by polling."""
        previous, self.source = self.source, source
        if previous is not None and previous is not source:
            _done(previous)

    def status(self) -> dict:
        return {"name": self.name, "kind": self.kind, "in_service": self.in_service,
                "fault": self.fault, "bridged_to": self.peer.name if self.peer else None,
                "playing": getattr(self.source, "name", None)}


def _done(source) -> None:
    callback = getattr(source, "on_done", None)
    if callback is not None:
        source.on_done = None
        callback(source)
