"""The channel interface every line technology implements, and the audio path they share.

Audio: each 20 ms tick the media loop hands every channel the frame its line sent (``receive``)
and asks what to send (``transmit``). A channel sends, in order of precedence, what it is
playing (a tone, a caller-ID burst, the digits an FXO line dials), the frame its bridged peer
received on the previous tick, or silence.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from centralino.drivers.errors import ChipError
from centralino.media.frames import silence

from .events import ChannelEvent

Listener = Callable[["Channel", ChannelEvent], None]


class Channel:
    kind = "?"
    is_line = False  # a line to the outside (PSTN, GSM, SIP trunk) rather than a station's phone

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
            frame = self.source.frame()
            if getattr(self.source, "finished", False):
                self.source = None
            return frame
        if self.peer is not None:
            return self.peer.last_rx
        return silence()

    def play(self, source) -> None:
        """Play a source (tone, samples) to the line instead of silence; ``None`` stops it."""
        self.source = source

    def status(self) -> dict:
        return {"name": self.name, "kind": self.kind, "in_service": self.in_service,
                "fault": self.fault, "bridged_to": self.peer.name if self.peer else None,
                "playing": getattr(self.source, "name", None)}
