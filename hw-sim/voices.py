"""Test-tone "voices": every party in the simulated world speaks its own sine frequency.

A test proves who hears whom by finding a party's frequency in the frames another party
received. The frequencies avoid 425 Hz (Italian progress tones), the eight DTMF frequencies and
their neighbourhoods, and the V.23 caller-ID pair, and sit far enough apart that a 20 ms frame's
spectrum separates them.
"""

from __future__ import annotations

import numpy as np

from centralino.media.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ
from centralino.media.levels import sine_peak

VOICE_LEVEL_DBM0 = -16.0
# Sorted so that the first parties created get the lowest, best-separated frequencies.
VOICE_FREQUENCIES_HZ = (250, 325, 500, 575, 1050, 1100, 1550, 1750, 1850, 1950, 2250, 2350,
                        2450, 2550, 2650, 2750, 2850, 2950, 3050, 3150)


class Voice:
    """A continuous sine at one frequency, produced frame by frame without phase jumps."""

    def __init__(self, frequency_hz: float, level_dbm0: float = VOICE_LEVEL_DBM0):
        self.frequency_hz = float(frequency_hz)
        self._amplitude = sine_peak(level_dbm0)
        self._phase = 0.0
        self._step = 2 * np.pi * self.frequency_hz / SAMPLE_RATE_HZ

    def frame(self) -> np.ndarray:
        phases = self._phase + self._step * np.arange(FRAME_SAMPLES)
        self._phase = float((phases[-1] + self._step) % (2 * np.pi))
        return np.round(self._amplitude * np.sin(phases)).astype(np.int16)


def level_at(samples: np.ndarray, frequency_hz: float) -> float:
    """Share of the signal's energy found within 15 Hz of ``frequency_hz`` (0..1)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return 0.0
    total = float(np.sum(x * x))
    if total <= 0.0:
        return 0.0
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / SAMPLE_RATE_HZ)
    near = np.abs(freqs - frequency_hz) <= max(15.0, 2.5 * SAMPLE_RATE_HZ / x.size)
    return float(spectrum[near].sum() / spectrum.sum())


def hears(samples: np.ndarray, frequency_hz: float, min_share: float = 0.2) -> bool:
    """True when ``frequency_hz`` carries at least ``min_share`` of the energy in ``samples``."""
    return level_at(samples, frequency_hz) >= min_share
