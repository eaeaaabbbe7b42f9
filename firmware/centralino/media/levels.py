"""Signal levels in dBm0 for 16-bit linear samples.

Convention (the one spandsp uses): a full-scale sine in 16-bit linear is +3.14 dBm0, the A-law
overload point of ITU-T G.711. So a 0 dBm0 sine has a peak of 32768 * 10**(-3.14/20) = 22,828.
"""

from __future__ import annotations

import math

import numpy as np

FULL_SCALE_SINE_DBM0 = 3.14
DBM0_SINE_PEAK = 32768.0 * 10.0 ** (-FULL_SCALE_SINE_DBM0 / 20.0)
DBM0_RMS = DBM0_SINE_PEAK / math.sqrt(2.0)
SILENCE_DBM0 = -120.0


def sine_peak(level_dbm0: float) -> float:
    """Peak amplitude of a sine at ``level_dbm0``."""
    return DBM0_SINE_PEAK * 10.0 ** (level_dbm0 / 20.0)


def power_dbm0(samples: np.ndarray) -> float:
    """Mean power of a signal in dBm0 (``SILENCE_DBM0`` for digital silence)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return SILENCE_DBM0
    mean_square = float(np.dot(x, x)) / x.size
    if mean_square <= 0.0:
        return SILENCE_DBM0
    return 10.0 * math.log10(mean_square / (DBM0_RMS * DBM0_RMS))


def db_to_gain(db: float) -> float:
    """Linear amplitude factor for a gain in dB."""
    return 10.0 ** (db / 20.0)
