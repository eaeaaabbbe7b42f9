"""An analogue phone on an FXS port: the world face of a ProSLIC model.

It lifts and replaces the handset, flashes, dials (DTMF tones in its audio or decadic pulses
on the hook switch), speaks its own test tone while off hook, records everything it hears with
timestamps, and decodes caller ID from what reaches it on hook during on-hook transmission, as a
display phone does between the first and second ring.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable

import numpy as np

from centralino.media import dtmf
from centralino.media.callerid import CallerId, CallerIdReceiver
from centralino.media.frames import FRAME_SAMPLES

from .si321x import RingBurst, Si321x
from .voices import Voice

PULSE_BREAK_MS = 60  # Italian decadic dialling, 10 pulses per second
PULSE_MAKE_MS = 40
PULSE_INTERDIGIT_MS = 700
PULSE_DIGITS = "0123456789"
HEARD_HISTORY_S = 900.0  # what the phone keeps of what it heard (a long-running world stays bounded)
HEARD_FRAMES = int(HEARD_HISTORY_S / 0.020)


class AnalogPhone:
    """A phone wired to ``slic``; actions that take time are coroutines on the (virtual) clock."""

    def __init__(self, slic: Si321x, voice: Voice, clock: Callable[[], float]):
        self.slic = slic
        self.voice = voice
        self._clock = clock
        self._off_hook = False
        self._dialling = False
        self._tone: np.ndarray = np.zeros(0, dtype=np.int16)  # DTMF samples still to send
        self._heard: deque[tuple[float, np.ndarray]] = deque(maxlen=HEARD_FRAMES)
        self._cid_receiver = CallerIdReceiver()
        self.caller_ids: list[CallerId] = []
        self.lifted_at_s: float | None = None
        slic.attach(self)

    # --------------------------------------------------------------- actions
    def off_hook(self) -> None:
        if not self._off_hook:
            self.lifted_at_s = self._clock()  # what it hears from now on is this call's
        self._set_hook(True)

    def on_hook(self) -> None:
        self._set_hook(False)

    async def flash(self, ms: float = 100) -> None:
        self._require_off_hook("flash")
        self._set_hook(False)
        await asyncio.sleep(ms / 1000)
        self._set_hook(True)

    async def dial(self, digits: str, mode: str = "dtmf", on_ms: float = 80, off_ms: float = 80) -> None:
        """Dial ``digits`` as DTMF tones (``on_ms``/``off_ms`` each) or as hook-switch pulses."""
        self._require_off_hook("dial")
        if mode == "dtmf":
            for digit in digits:
                dtmf.key_frequencies(digit)  # ValueError names a key that is not on the keypad
        elif mode == "pulse":
            bad = [d for d in digits if d not in PULSE_DIGITS]
            if bad:
                raise ValueError(f"pulse dialling sends only 0-9, got {bad[0]!r} in {digits!r}")
        else:
            raise ValueError(f"dial mode must be 'dtmf' or 'pulse', got {mode!r}")
        self._dialling = True
        try:
            if mode == "dtmf":
                self._tone = dtmf.generate(digits, on_ms, off_ms)
                await asyncio.sleep(len(digits) * (on_ms + off_ms) / 1000)
            else:
                await self._dial_pulses(digits)
        finally:
            self._dialling = False
            self._tone = np.zeros(0, dtype=np.int16)

    async def _dial_pulses(self, digits: str) -> None:
        for digit in digits:
            for _ in range(10 if digit == "0" else int(digit)):
                self._set_hook(False)
                await asyncio.sleep(PULSE_BREAK_MS / 1000)
                self._set_hook(True)
                await asyncio.sleep(PULSE_MAKE_MS / 1000)
            await asyncio.sleep(PULSE_INTERDIGIT_MS / 1000)

    def _set_hook(self, off_hook: bool) -> None:
        if off_hook and not self._off_hook:
            self._cid_receiver.reset()
        self._off_hook = off_hook
        self.slic.set_off_hook(off_hook)

    def _require_off_hook(self, what: str) -> None:
        if not self._off_hook:
            raise RuntimeError(f"{self.slic.port}: cannot {what} with the handset on hook")

    # --------------------------------------------------------------- called by the chip model
    def earpiece(self, frame: np.ndarray) -> None:
        """A 20 ms frame reaching the phone: heard off hook, caller-ID data on hook."""
        frame = np.array(frame, dtype=np.int16)
        if self._off_hook:
            self._heard.append((self._clock(), frame))
            return
        cid = self._cid_receiver.feed(frame)
        if cid is not None:
            self.caller_ids.append(cid)

    def mouthpiece(self) -> np.ndarray:
        """The next 20 ms frame the phone sends: DTMF while dialling, its voice while speaking."""
        if self._tone.size:
            frame, self._tone = self._tone[:FRAME_SAMPLES], self._tone[FRAME_SAMPLES:]
            return np.pad(frame, (0, FRAME_SAMPLES - frame.size)).astype(np.int16)
        if self.speaking:
            return self.voice.frame()
        return np.zeros(FRAME_SAMPLES, dtype=np.int16)

    # --------------------------------------------------------------- observation
    @property
    def is_off_hook(self) -> bool:
        return self._off_hook

    @property
    def speaking(self) -> bool:
        return self._off_hook and not self._dialling

    @property
    def heard_frames(self) -> list[tuple[float, np.ndarray]]:
        """(time_s, frame) for every frame received off hook (the last ``HEARD_HISTORY_S``)."""
        return list(self._heard)

    def recent_frames(self, since_s: float) -> list[tuple[float, np.ndarray]]:
        """(time_s, frame) received from ``since_s`` on, oldest first, without copying the rest."""
        return _tail_since(self._heard, since_s)

    def heard(self, since_s: float | None = None) -> np.ndarray:
        """Everything received off hook (from ``since_s`` on, by frame time), as one signal."""
        frames = [frame for at, frame in self._heard if since_s is None or at >= since_s]
        return np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)

    @property
    def ringing(self) -> bool:
        return self.slic.ringing

    @property
    def ring_bursts(self) -> list[RingBurst]:
        return self.slic.ring_bursts

    @property
    def display(self) -> str | None:
        """The last caller ID as the phone's display shows it, or None."""
        if not self.caller_ids:
            return None
        cid = self.caller_ids[-1]
        absent = {"P": "PRIVATO", "O": "NON DISPONIBILE"}
        parts = [cid.number or absent.get(cid.number_absent or "O", "NON DISPONIBILE")]
        if cid.name:
            parts.append(cid.name)
        if cid.when is not None:
            parts.append(str(cid.when))
        return " ".join(parts)


def _tail_since(history, since_s: float) -> list:
    recent = list(itertools.takewhile(lambda item: item[0] >= since_s, reversed(history)))
    recent.reverse()
    return recent
