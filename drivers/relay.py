"""The lifeline relay's two GPIO lines: the heartbeat that holds it and the sense of the direct path.

The relay is not driven by a level: its coil hangs off a retriggerable monostable (74HC123) on
the HAT, and every rising edge on the heartbeat line restarts the monostable's ``hold_s``. So the relay
stays energised only while something keeps toggling the line; a daemon that is killed, frozen or
stuck, or a kernel that hangs, stops the edges and the relay drops by itself within ``hold_s``,
wiring phone 1 straight to line 1. ``beat()`` toggles the line (a rising edge every second
beat, so every 40 ms from the media clock); ``stop()`` leaves it low, which triggers nothing.

The sense line (input, opened with edge events on both edges so that its history since the board
was opened is kept by the kernel) reads low while loop current flows on the direct path: phone 1
in a call on line 1, or ringing. ``direct_path_busy(quiet_s)`` says whether it is low now or
changed within the last ``quiet_s``: pulse dialling and a hook flash leave it high for up to
0.6 s, which must not be taken for the end of a call.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .errors import ChipError

PORT_NAME = "lifeline"
EDGE_CLOCK_TOLERANCE_S = 1.0  # an edge stamp further than this from clock() is on another clock
MAX_EDGES_PER_READ = 64


class LifelineRelay:
    def __init__(self, heartbeat, sense=None, *, hold_s: float, clock: Callable[[], float] = time.monotonic):
        self._heartbeat = heartbeat
        self._sense = sense
        self.hold_s = hold_s
        self._clock = clock
        self._level = False
        self.beats = 0
        self._last_sense_edge_s: float | None = None

    def beat(self) -> None:
        """Toggle the line: on the rising edges the monostable holds the relay another ``hold_s``."""
        self._level = not self._level
        try:
            self._heartbeat.write(self._level)
        except OSError as err:
            raise ChipError(PORT_NAME, f"cannot write the relay's heartbeat line: {err}") from err
        self.beats += 1

    def stop(self) -> None:
        """No more edges: the relay drops within ``hold_s`` (the hardware decides, not this call)."""
        self._level = False
        try:
            self._heartbeat.write(False)
        except OSError:
            pass  # closing after the bus went away: the relay drops anyway

    def direct_path_busy(self, quiet_s: float) -> bool:
        """Loop current on the direct path now, or a change of it within ``quiet_s``."""
        if self._sense is None:
            return False
        now = self._clock()
        try:
            for _ in range(MAX_EDGES_PER_READ):
                if not self._sense.poll(0):
                    break
                stamp_s = self._sense.read_event().timestamp / 1e9
                self._last_sense_edge_s = stamp_s if abs(stamp_s - now) <= EDGE_CLOCK_TOLERANCE_S else now
            current = not self._sense.read()
        except OSError as err:
            raise ChipError(PORT_NAME, f"cannot read the lifeline's sense line: {err}") from err
        recent = self._last_sense_edge_s is not None and now - self._last_sense_edge_s < quiet_s
        return current or recent

    def status(self) -> dict:
        return {"beats": self.beats, "hold_s": self.hold_s, "sense": self._sense is not None}
