"""Generated DTMF test sets (the acceptance limits of ITU-T Q.24 as the reference gives them).

Shared by the tests, the multimon-ng cross-check and bench/dtmf_accuracy.py, so the figures in the
notes come from the same signals the tests assert on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from centralino.media import dtmf
from centralino.media.frames import SAMPLE_RATE_HZ, saturate

DIGITS = dtmf.DIGITS


def noise_for(signal: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White Gaussian noise whose power is ``snr_db`` below the signal's (over the tone only)."""
    active = signal[np.abs(signal) > 0]
    p = float(np.mean(active.astype(np.float64) ** 2)) if active.size else 0.0
    return rng.normal(0.0, math.sqrt(p / 10 ** (snr_db / 10)), len(signal))


def silence_ms(ms: float) -> np.ndarray:
    return np.zeros(int(round(ms * SAMPLE_RATE_HZ / 1000)))


def key_in_silence(digit: str, on_ms: float = 100, lead_ms: float = 47, tail_ms: float = 120,
                   **kwargs) -> np.ndarray:
    """One key surrounded by silence (lead chosen off the 10 ms grid on purpose)."""
    return np.concatenate([silence_ms(lead_ms), dtmf.tone_pair(digit, on_ms, **kwargs), silence_ms(tail_ms)])


@dataclass(frozen=True)
class Case:
    """One labelled test signal: what it is, the samples, and the keys it must decode to."""

    name: str
    samples: np.ndarray
    expected: str


def acceptance_cases(seed: int = 7) -> list[Case]:
    """Signals Q.24 says must be detected: every key under each limit condition."""
    rng = np.random.default_rng(seed)
    cases = []
    for d in DIGITS:
        for err in (-0.015, 0.015):
            cases.append(Case(f"{d} freq {err:+.1%}", key_in_silence(d, low_error=err, high_error=err), d))
            cases.append(Case(f"{d} freq row {err:+.1%} col {-err:+.1%}", key_in_silence(d, low_error=err, high_error=-err), d))
        cases.append(Case(f"{d} normal twist 8 dB", key_in_silence(d, low_dbm0=-6, high_dbm0=-14), d))
        cases.append(Case(f"{d} reverse twist 4 dB", key_in_silence(d, low_dbm0=-14, high_dbm0=-10), d))
        for level in (0.0, -10.0, -20.0, -26.0):
            cases.append(Case(f"{d} level {level:.0f} dBm0", key_in_silence(d, low_dbm0=level, high_dbm0=level), d))
        cases.append(Case(f"{d} 40 ms", key_in_silence(d, on_ms=40, lead_ms=float(rng.integers(0, 80)) / 8), d))
        clean = key_in_silence(d, low_dbm0=-20, high_dbm0=-20, low_error=0.015, high_error=-0.015)
        cases.append(Case(f"{d} S/N 15 dB", clean + noise_for(clean, 15.0, rng), d))
        worst = key_in_silence(d, low_dbm0=-18, high_dbm0=-26, low_error=-0.015, high_error=0.015)
        cases.append(Case(f"{d} 8 dB twist, -26 dBm0, 1.5% off, S/N 15 dB", worst + noise_for(worst, 15.0, rng), d))
    return cases


def rejection_cases(seed: int = 11) -> list[Case]:
    """Signals Q.24 says must not be detected."""
    rng = np.random.default_rng(seed)
    cases = []
    for d in DIGITS:
        for err in (-0.035, 0.035, -0.05, 0.05):
            cases.append(Case(f"{d} row {err:+.1%}", key_in_silence(d, low_error=err), ""))
            cases.append(Case(f"{d} column {err:+.1%}", key_in_silence(d, high_error=err), ""))
        for ms in (10, 20, 25):
            lead = 40 + float(rng.integers(0, 80)) / 8
            cases.append(Case(f"{d} {ms} ms", key_in_silence(d, on_ms=ms, lead_ms=lead), ""))
        cases.append(Case(f"{d} level -40 dBm0", key_in_silence(d, low_dbm0=-40, high_dbm0=-40), ""))
        row_hz, col_hz = dtmf.key_frequencies(d)
        single_row = np.concatenate([silence_ms(40), _sine(row_hz, 200, -10), silence_ms(100)])
        single_col = np.concatenate([silence_ms(40), _sine(col_hz, 200, -10), silence_ms(100)])
        cases.append(Case(f"{d} row tone alone", single_row, ""))
        cases.append(Case(f"{d} column tone alone", single_col, ""))
    return cases


def timing_cases() -> list[Case]:
    """Pauses and dropouts: keys separated by a pause count twice, a short dropout once."""
    cases = []
    for pause_ms in (50, 60, 100):
        for d in "15#D":
            sig = np.concatenate([silence_ms(33), dtmf.tone_pair(d, 60), silence_ms(pause_ms), dtmf.tone_pair(d, 60), silence_ms(100)])
            cases.append(Case(f"{d}{d} pause {pause_ms} ms", sig, d + d))
    for gap_ms in (5, 10, 20):
        for d in "15#D":
            tone = dtmf.tone_pair(d, 300)
            cut = 1200 + 3  # off the grid
            gap = int(gap_ms * 8)
            tone[cut: cut + gap] = 0.0
            sig = np.concatenate([silence_ms(21), tone, silence_ms(100)])
            cases.append(Case(f"{d} with {gap_ms} ms dropout", sig, d))
    return cases


def _sine(freq_hz: float, ms: float, level_dbm0: float) -> np.ndarray:
    from centralino.media.tones import sine
    return sine(freq_hz, ms / 1000, level_dbm0)


def as_int16(samples: np.ndarray) -> np.ndarray:
    return saturate(samples)


def dialled_sequences(seed: int = 3, count: int = 40) -> list[Case]:
    """Realistic dialling: random numbers, levels, twist and timing (40-120 ms on, 50-150 ms off),
    with white noise 18-40 dB below the quietest key of the sequence."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        digits = "".join(rng.choice(list(DIGITS), size=int(rng.integers(3, 12))))
        parts = [silence_ms(float(rng.integers(0, 300)))]
        quietest = math.inf
        for d in digits:
            level = float(rng.uniform(-24, -4))
            twist = float(rng.uniform(-3, 6))
            key = dtmf.tone_pair(d, float(rng.integers(40, 121)), low_dbm0=level, high_dbm0=level - twist,
                                 low_error=float(rng.uniform(-0.012, 0.012)),
                                 high_error=float(rng.uniform(-0.012, 0.012)), phase=float(rng.uniform(0, 6.28)))
            quietest = min(quietest, float(np.mean(key ** 2)))
            parts.append(key)
            parts.append(silence_ms(float(rng.integers(50, 151))))
        sig = np.concatenate(parts)
        snr_db = float(rng.uniform(18, 40))
        sig = sig + rng.normal(0.0, math.sqrt(quietest / 10 ** (snr_db / 10)), len(sig))
        cases.append(Case(f"sequence {i}: {digits}", sig, digits))
    return cases
