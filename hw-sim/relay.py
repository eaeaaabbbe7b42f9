"""The lifeline relay of the simulated HAT: what phone 1 is wired to when the switchboard is down.

The hardware (docs/hardware.md): a normally closed DPDT relay whose coil is driven by a
retriggerable monostable (74HC123) of ``hold_s``; every rising edge on the heartbeat GPIO
retriggers it (falling edges do not, so leaving the line low never holds the relay).
Energised, phone 1 is on its SLIC (fxs1) and line 1 on its DAA (fxo1). Released, which is also
its position with the Pi off, phone 1 is wired straight to line 1 and both chips see an open
pair. An opto-coupler in series with the direct path pulls the sense GPIO low while loop current
flows there (phone 1 off hook, or ringing current).

Register face: the heartbeat wire (watched for edges) and the sense wire (pulled low).
World face: ``energised``, ``contacts`` ("switchboard" or "direct"), ``transitions``
[(time_s, energised)], ``inject_fault("stuck_released" | "stuck_energised")``; the phone on
fxs1 is attached to ``phone_side`` and the DAA of fxo1 to ``daa_side`` instead of the chip and the
line themselves. While released, ``run()`` carries the audio between phone and line every 20 ms,
the copper doing what the media clock does otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from centralino.media.frames import FRAME_MS, FRAME_SAMPLES

from .buses import GpioLine

FAULTS = ("stuck_released", "stuck_energised")
COPPER_TICK_S = FRAME_MS / 1000.0
SENSE_ID = "lifeline-opto"


class LifelineRelay:
    def __init__(self, clock: Callable[[], float], *, heartbeat: GpioLine, sense: GpioLine | None, slic,
                 line, hold_s: float):
        self._clock = clock
        self._sense = sense
        self.slic = slic
        self.line = line
        self.hold_s = hold_s
        self._last_edge_s: float | None = None
        self._energised = False
        self._faults: set[str] = set()
        self.transitions: list[tuple[float, bool]] = []
        self.edges = 0
        self._phone = None
        self._phone_off_hook = False
        self._daa_off_hook = False
        self.phone_side = PhoneSide(self)
        self.daa_side = DaaSide(self)
        heartbeat.watch(self._on_heartbeat)
        self._update_sense()

    # ------------------------------------------------------------------ world face
    @property
    def energised(self) -> bool:
        self.update()
        return self._energised

    @property
    def contacts(self) -> str:
        return "switchboard" if self.energised else "direct"

    def inject_fault(self, name: str) -> None:
        if name not in FAULTS:
            raise ValueError(f"lifeline relay: unknown fault {name!r}, expected one of {FAULTS}")
        self._faults.add(name)
        self.update()

    async def run(self) -> None:
        """The copper: while released, 20 ms of audio each way between phone 1 and line 1."""
        while True:
            self.update()
            if not self._energised and self._phone is not None:
                if self._phone_off_hook:
                    self.line.to_line(np.asarray(self._phone.mouthpiece(), dtype=np.int16))
                self._phone.earpiece(np.asarray(self.line.from_line(), dtype=np.int16))
            self._update_sense()
            await asyncio.sleep(COPPER_TICK_S)

    # ------------------------------------------------------------------ the monostable and the coil
    def _on_heartbeat(self, level: bool) -> None:
        """The monostable's B input: a rising edge retriggers it, a falling one does nothing."""
        if not level:
            return
        self._last_edge_s = self._clock()
        self.edges += 1
        self.update()

    def _coil_on(self, now: float) -> bool:
        return self._last_edge_s is not None and now - self._last_edge_s < self.hold_s

    def update(self) -> None:
        """Move the contacts to where the coil and the faults put them now."""
        now = self._clock()
        wanted = self._coil_on(now)
        if "stuck_released" in self._faults:
            wanted = False
        elif "stuck_energised" in self._faults:
            wanted = True
        if wanted != self._energised:
            self._switch(wanted, now)
        self._update_sense()

    def _switch(self, energised: bool, now: float) -> None:
        self._energised = energised
        self.transitions.append((now, energised))
        if energised:  # line 1 back to the DAA, phone 1 back to the SLIC
            self.line.on_hook_state(self._daa_off_hook)
            self.slic.set_off_hook(self._phone_off_hook)
        else:  # phone 1 straight onto line 1, both chips on an open pair
            self.slic.set_off_hook(False)
            self.line.on_hook_state(self._phone_off_hook)
        self.daa_side.notify()

    def _update_sense(self) -> None:
        if self._sense is None:
            return
        current = not self._energised and (self.line.ringing or
                                           (self._phone_off_hook and abs(self.line.voltage_v) > 0))
        self._sense.pull_low(SENSE_ID, current)

    # ------------------------------------------------------------------ the two sides
    def _phone_hook(self, off_hook: bool) -> None:
        self._phone_off_hook = bool(off_hook)
        self.update()
        if self._energised:
            self.slic.set_off_hook(self._phone_off_hook)
        else:
            self.line.on_hook_state(self._phone_off_hook)
        self._update_sense()

    def _daa_hook(self, off_hook: bool) -> None:
        self._daa_off_hook = bool(off_hook)
        if self._energised:
            self.line.on_hook_state(self._daa_off_hook)


class PhoneSide:
    """What phone 1's wires end at: the SLIC when energised, line 1 when released."""

    def __init__(self, relay: LifelineRelay):
        self._relay = relay

    @property
    def port(self) -> str:
        return self._relay.slic.port

    def attach(self, phone) -> None:
        self._relay._phone = phone
        self._relay.slic.attach(self)

    def set_off_hook(self, off_hook: bool) -> None:
        self._relay._phone_hook(off_hook)

    @property
    def ringing(self) -> bool:
        return self._relay.slic.ringing if self._relay.energised else bool(self._relay.line.ringing)

    @property
    def ring_bursts(self):
        return self._relay.slic.ring_bursts

    # the SLIC's line face: only while the contacts connect it to the phone
    def earpiece(self, frame: np.ndarray) -> None:
        if self._relay.energised and self._relay._phone is not None:
            self._relay._phone.earpiece(frame)

    def mouthpiece(self) -> np.ndarray:
        if self._relay.energised and self._relay._phone is not None:
            return self._relay._phone.mouthpiece()
        return np.zeros(FRAME_SAMPLES, dtype=np.int16)


class DaaSide:
    """What the DAA of line 1 is wired to: the line when energised, an open pair when released."""

    def __init__(self, relay: LifelineRelay):
        self._relay = relay
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)
        subscribe = getattr(self._relay.line, "subscribe", None)
        if subscribe is not None:
            subscribe(callback)

    def notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    @property
    def ringing(self) -> bool:
        return self._relay.energised and bool(self._relay.line.ringing)

    @property
    def voltage_v(self) -> float:
        return float(self._relay.line.voltage_v) if self._relay.energised else 0.0

    def loop_current_ma(self, off_hook: bool) -> float:
        return self._relay.line.loop_current_ma(off_hook) if self._relay.energised else 0.0

    def to_line(self, frame: np.ndarray) -> None:
        if self._relay.energised:
            self._relay.line.to_line(frame)

    def from_line(self) -> np.ndarray:
        if self._relay.energised:
            return self._relay.line.from_line()
        return np.zeros(FRAME_SAMPLES, dtype=np.int16)

    def on_hook_state(self, off_hook: bool) -> None:
        self._relay._daa_hook(off_hook)
