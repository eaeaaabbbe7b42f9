"""Call-progress tone recognition: which tone of the plan is on the line (busy, ringback...).

Why: on an Italian analog line the far end's hang-up often shows only as busy tone, and an
outgoing call's progress (ringback, busy, congestion) is only audible. The detector measures,
frame by frame, whether the plan's frequency dominates the line, turns that into on/off runs, and
names the tone whose cadence the last runs match (within ``CADENCE_TOLERANCE``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .frames import FRAME_SAMPLES, SAMPLE_RATE_HZ
from .levels import DBM0_RMS
from .tones import ITALY, Tone, TonePlan

CADENCE_TOLERANCE = 0.2  # relative, per on or off period
MIN_LEVEL_DBM0 = -40.0
MIN_PURITY = 0.6  # share of the frame's energy at the tone frequency
CYCLES_TO_CONFIRM = 2  # whole cadence periods seen before naming the tone
FRAME_MS = FRAME_SAMPLES * 1000 // SAMPLE_RATE_HZ


@dataclass(frozen=True)
class ProgressEvent:
    """A recognised tone and the time (s from the detector's start) it was confirmed."""

    tone: str
    at_s: float


class ProgressToneDetector:
    """Streams frames; reports each call-progress tone of the plan once it is confirmed."""

    def __init__(self, plan: TonePlan = ITALY, names: tuple[str, ...] = ("busy", "congestion", "ringback", "dial")):
        tones = [plan[n] for n in names]
        freqs = {t.frequencies_hz for t in tones}
        if len(freqs) != 1 or len(next(iter(freqs))) != 1:
            raise ValueError("progress detection needs tones sharing one single frequency")
        self._tones: list[Tone] = tones
        self._freq_hz = tones[0].frequencies_hz[0]
        n = np.arange(FRAME_SAMPLES)
        self._kernel = np.exp(-2j * math.pi * self._freq_hz * n / SAMPLE_RATE_HZ)
        self._runs: list[list] = []  # [is_on, ms]
        self._frames = 0
        self.current: str | None = None

    def feed(self, frame: np.ndarray) -> list[ProgressEvent]:
        """One 20 ms frame in; a ProgressEvent when a tone is newly recognised."""
        x = np.asarray(frame, dtype=np.float64)
        energy = float(np.dot(x, x))
        power = abs(np.dot(x, self._kernel)) ** 2 * 2.0 / FRAME_SAMPLES
        level = 10 * math.log10(max(power / FRAME_SAMPLES, 1e-12) / DBM0_RMS ** 2)
        on = energy > 0 and power / energy >= MIN_PURITY and level >= MIN_LEVEL_DBM0
        self._frames += 1
        if self._runs and self._runs[-1][0] == on:
            self._runs[-1][1] += FRAME_MS
        else:
            self._runs.append([on, FRAME_MS])
            del self._runs[:-16]
            name = self._match()
            if name and name != self.current:
                self.current = name
                return [ProgressEvent(name, self._frames * FRAME_MS / 1000)]
        if self._runs[-1][0] is False and self._runs[-1][1] > 6000:
            self.current = None  # the line went quiet
        return []

    def _match(self) -> str | None:
        """Name of the tone whose cadence the completed runs repeat, if any."""
        done = self._runs[:-1]  # the last run is still growing
        # drop a leading partial run: start at the first complete 'on'
        while done and not done[0][0]:
            done = done[1:]
        done = done[1:] if len(done) > 1 else []  # the first on-run may have been cut
        for tone in self._tones:
            period = list(tone.cadence_ms)
            need = len(period) * CYCLES_TO_CONFIRM
            if len(done) < need:
                continue
            if _follows_cadence(done[-need:], period):
                return tone.name
        return None


def _follows_cadence(runs: list[list], period: list[int]) -> bool:
    """Whether these runs repeat the tone's cadence from some point in it (one frame of slack)."""
    for offset in range(0, len(period), 2 if runs[0][0] else 1):
        ok = True
        for i, (on, ms) in enumerate(runs):
            k = (offset + i) % len(period)
            if on != (k % 2 == 0):
                ok = False
                break
            expected = period[k]
            if abs(ms - expected) > max(CADENCE_TOLERANCE * expected, FRAME_MS):
                ok = False
                break
        if ok:
            return True
    return False


def recognise(samples: np.ndarray, plan: TonePlan = ITALY) -> list[ProgressEvent]:
    """Tones recognised in a finished recording, in order."""
    det = ProgressToneDetector(plan)
    x = np.asarray(samples)
    events = []
    for i in range(0, len(x) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        events += det.feed(x[i: i + FRAME_SAMPLES])
    return events
