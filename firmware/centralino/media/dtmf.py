"""DTMF (ITU-T Q.23) generation and streaming detection (Q.24 acceptance).

How the detector decides, and why:
- The signal is cut into 10 ms sub-blocks (80 samples). For each one, a DFT at the eight Q.23
  frequencies (a Goertzel bank done as one matrix product) is taken with a *global* time
  reference, so the phase advance between two sub-blocks gives each tone's true frequency.
- A pair of consecutive sub-blocks is a hit for a key when: the strongest row and column are the
  same in both, each tone is within ``FREQ_TOLERANCE`` of its nominal frequency (Q.24: accept
  +-1.5%, reject beyond +-3.5%), each tone is above ``MIN_TONE_DBM0``, the twist is within limits,
  and in *both* sub-blocks the two tones hold at least ``MIN_PURITY`` of the energy. Purity is the
  talk-off guard (speech and music spread their energy) and also measures how much of a sub-block
  the tone covers, which is what makes the duration limits sharp.
- A key starts after ``PAIRS_TO_START`` consecutive hit pairs (3 sub-blocks fully in tone: every
  tone >= 40 ms qualifies, none <= 25 ms does) and ends after ``PAIRS_TO_END`` pairs without it
  (a dropout of up to 20 ms is bridged, a pause of 40 ms or more separates two keys).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .frames import SAMPLE_RATE_HZ, saturate
from .levels import DBM0_RMS, sine_peak

ROWS_HZ = (697.0, 770.0, 852.0, 941.0)
COLUMNS_HZ = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = ("123A", "456B", "789C", "*0#D")
DIGITS = "".join(KEYPAD)

# Sending levels: ETSI practice puts the high group ~2 dB above the low group (pre-emphasis).
SEND_LOW_DBM0 = -10.0
SEND_HIGH_DBM0 = -8.0
SEND_ON_MS = 100
SEND_OFF_MS = 100

SUB_BLOCK_SAMPLES = 80  # 10 ms
FREQ_TOLERANCE = 0.025  # relative; midway between Q.24's must-accept 1.5% and must-reject 3.5%
MIN_TONE_DBM0 = -33.0  # Q.24 asks for operation down to -26 dBm0 per tone
MIN_PURITY = 0.80
NORMAL_TWIST_MAX_DB = 9.0  # low (row) tone stronger; Q.24: accept up to 8 dB
REVERSE_TWIST_MAX_DB = 5.0  # high (column) tone stronger; Q.24: accept up to 4 dB
PAIRS_TO_START = 2
PAIRS_TO_END = 5
_PRE_PURITY = 0.45  # cheap first filter before frequency correction

_FREQS_HZ = np.array(ROWS_HZ + COLUMNS_HZ)
_OMEGAS = 2.0 * np.pi * _FREQS_HZ / SAMPLE_RATE_HZ
_KERNEL = np.exp(-1j * np.outer(np.arange(SUB_BLOCK_SAMPLES), _OMEGAS))  # (80, 8)
# every frequency is a whole number of Hz, so the global phase repeats every 8000 samples
_PHASE_PERIOD_SAMPLES = SAMPLE_RATE_HZ
_RAD_TO_HZ = SAMPLE_RATE_HZ / (2.0 * np.pi * SUB_BLOCK_SAMPLES)


def key_frequencies(digit: str) -> tuple[float, float]:
    """(row Hz, column Hz) of a key; raises ValueError for anything not on the 4x4 keypad."""
    d = digit.upper()
    for r, row in enumerate(KEYPAD):
        c = row.find(d)
        if c >= 0 and len(d) == 1:
            return ROWS_HZ[r], COLUMNS_HZ[c]
    raise ValueError(f"{digit!r} is not a DTMF key: expected one of {DIGITS}")


def tone_pair(digit: str, duration_ms: float, low_dbm0: float = SEND_LOW_DBM0,
              high_dbm0: float = SEND_HIGH_DBM0, low_error: float = 0.0, high_error: float = 0.0,
              phase: float = 0.0) -> np.ndarray:
    """One key as float64 samples, with optional relative frequency errors (for testing)."""
    row_hz, col_hz = key_frequencies(digit)
    n = np.arange(int(round(duration_ms * SAMPLE_RATE_HZ / 1000)))
    w_row = 2 * math.pi * row_hz * (1 + low_error) / SAMPLE_RATE_HZ
    w_col = 2 * math.pi * col_hz * (1 + high_error) / SAMPLE_RATE_HZ
    return sine_peak(low_dbm0) * np.sin(w_row * n + phase) + sine_peak(high_dbm0) * np.sin(w_col * n + 2 * phase)


def generate(digits: str, on_ms: float = SEND_ON_MS, off_ms: float = SEND_OFF_MS,
             low_dbm0: float = SEND_LOW_DBM0, high_dbm0: float = SEND_HIGH_DBM0) -> np.ndarray:
    """A dialling sequence as int16: each key ``on_ms``, then ``off_ms`` of silence."""
    gap = np.zeros(int(round(off_ms * SAMPLE_RATE_HZ / 1000)))
    parts = []
    for d in digits:
        parts.append(tone_pair(d, on_ms, low_dbm0, high_dbm0))
        parts.append(gap)
    return saturate(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int16)


@dataclass(frozen=True)
class DtmfEvent:
    """A detected key: which, when it started (s from the detector's start) and how long."""

    digit: str
    start_s: float
    duration_s: float

    def __str__(self) -> str:
        return f"{self.start_s:9.3f}  {self.digit}  {self.duration_s * 1000:6.0f} ms"


def _dirichlet_gain(offset_hz: np.ndarray) -> np.ndarray:
    """Fraction of a tone's power a sub-block DFT captures when the tone is ``offset_hz`` away."""
    x = np.pi * offset_hz / SAMPLE_RATE_HZ
    num = np.sin(x * SUB_BLOCK_SAMPLES)
    den = SUB_BLOCK_SAMPLES * np.sin(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(np.abs(x) < 1e-12, 1.0, num / np.where(den == 0, 1.0, den))
    return np.maximum(g * g, 1e-6)


class DtmfDetector:
    """Streaming DTMF detector: feed samples of any length, get keys as they end."""

    def __init__(self, sample_rate_hz: int = SAMPLE_RATE_HZ):
        if sample_rate_hz != SAMPLE_RATE_HZ:
            raise ValueError(f"DTMF detector runs at {SAMPLE_RATE_HZ} Hz, not {sample_rate_hz} Hz")
        self._carry = np.zeros(0, dtype=np.float64)
        self._block_index = 0  # sub-blocks consumed so far
        self._prev_X: np.ndarray | None = None  # (8,) complex, last sub-block
        self._prev_E = 0.0
        self._prev_code = -1
        self._run_code = -1  # key of the current run of hit pairs
        self._run_pairs = 0
        self._run_first_block = 0
        self._active: int = -1  # key being held, -1 none
        self._active_first_block = 0
        self._active_last_block = 0
        self._misses = 0

    @property
    def pressed(self) -> str | None:
        """The key held right now (confirmed but not yet released), for barge-in."""
        return DIGITS[self._active] if self._active >= 0 else None

    def feed(self, samples: np.ndarray) -> list[DtmfEvent]:
        """Analyse more audio; return the keys that ended within it."""
        x = np.asarray(samples, dtype=np.float64)
        if self._carry.size:
            x = np.concatenate([self._carry, x])
        n_blocks = len(x) // SUB_BLOCK_SAMPLES
        self._carry = x[n_blocks * SUB_BLOCK_SAMPLES:]
        if n_blocks == 0:
            return []
        blocks = x[: n_blocks * SUB_BLOCK_SAMPLES].reshape(n_blocks, SUB_BLOCK_SAMPLES)
        codes = self._pair_codes(blocks)
        return self._run_state_machine(codes)

    def flush(self) -> list[DtmfEvent]:
        """End of stream: release a key still held."""
        events = []
        if self._active >= 0:
            events.append(self._event())
            self._active = -1
        self._run_code, self._run_pairs = -1, 0
        return events

    # -- analysis -------------------------------------------------------------------------
    def _pair_codes(self, blocks: np.ndarray) -> np.ndarray:
        """For each new sub-block b, the key hit by the pair (b-1, b), or -1."""
        n = len(blocks)
        starts = (self._block_index + np.arange(n)) * SUB_BLOCK_SAMPLES % _PHASE_PERIOD_SAMPLES
        X = (blocks @ _KERNEL) * np.exp(-1j * np.outer(starts, _OMEGAS))  # (n, 8)
        E = np.einsum("ij,ij->i", blocks, blocks)
        P = X.real ** 2 + X.imag ** 2
        row = np.argmax(P[:, :4], axis=1)
        col = 4 + np.argmax(P[:, 4:], axis=1)
        idx = np.arange(n)
        pr, pc = P[idx, row], P[idx, col]
        with np.errstate(invalid="ignore", divide="ignore"):
            purity = 2.0 * (pr + pc) / (SUB_BLOCK_SAMPLES * E)
        code = np.where(purity >= _PRE_PURITY, row * 4 + (col - 4), -1)
        self._block_index += n

        # stitch the previous call's last sub-block in front, so pairs cross feed() boundaries
        if self._prev_X is None:
            prev_X, prev_E, prev_code = np.zeros(8, complex), 0.0, -1
        else:
            prev_X, prev_E, prev_code = self._prev_X, self._prev_E, self._prev_code
        X_all = np.vstack([prev_X[None, :], X])
        E_all = np.concatenate([[prev_E], E])
        code_all = np.concatenate([[prev_code], code])
        self._prev_X, self._prev_E, self._prev_code = X[-1], float(E[-1]), int(code[-1])

        result = np.full(n, -1, dtype=np.int64)
        cand = np.nonzero((code_all[1:] >= 0) & (code_all[1:] == code_all[:-1]))[0]
        if cand.size == 0:
            return result
        c = code_all[cand + 1]
        r, k = c // 4, 4 + c % 4
        a_r, b_r = X_all[cand, r], X_all[cand + 1, r]
        a_c, b_c = X_all[cand, k], X_all[cand + 1, k]
        off_r = np.angle(b_r * np.conj(a_r)) * _RAD_TO_HZ
        off_c = np.angle(b_c * np.conj(a_c)) * _RAD_TO_HZ
        ok_freq = (np.abs(off_r) <= FREQ_TOLERANCE * _FREQS_HZ[r]) & (np.abs(off_c) <= FREQ_TOLERANCE * _FREQS_HZ[k])
        g_r, g_c = 1.0 / _dirichlet_gain(off_r), 1.0 / _dirichlet_gain(off_c)
        pow_r_a, pow_r_b = np.abs(a_r) ** 2 * g_r, np.abs(b_r) ** 2 * g_r
        pow_c_a, pow_c_b = np.abs(a_c) ** 2 * g_c, np.abs(b_c) ** 2 * g_c
        E_a, E_b = E_all[cand], E_all[cand + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            purity_a = 2.0 * (pow_r_a + pow_c_a) / (SUB_BLOCK_SAMPLES * E_a)
            purity_b = 2.0 * (pow_r_b + pow_c_b) / (SUB_BLOCK_SAMPLES * E_b)
        # tone power in the pair: amplitude = 2|X|/N, power = amplitude^2 / 2
        scale = 2.0 / (SUB_BLOCK_SAMPLES ** 2 * DBM0_RMS ** 2)
        level_r = 10 * np.log10(np.maximum((pow_r_a + pow_r_b) / 2 * scale, 1e-30))
        level_c = 10 * np.log10(np.maximum((pow_c_a + pow_c_b) / 2 * scale, 1e-30))
        twist = level_r - level_c
        hit = (ok_freq & (purity_a >= MIN_PURITY) & (purity_b >= MIN_PURITY)
               & (level_r >= MIN_TONE_DBM0) & (level_c >= MIN_TONE_DBM0)
               & (twist <= NORMAL_TWIST_MAX_DB) & (-twist <= REVERSE_TWIST_MAX_DB))
        result[cand[hit]] = c[hit]
        return result

    # -- decisions ------------------------------------------------------------------------
    def _run_state_machine(self, codes: np.ndarray) -> list[DtmfEvent]:
        events: list[DtmfEvent] = []
        first_block = self._block_index - len(codes)
        for i, code in enumerate(codes.tolist()):
            b = first_block + i  # pair (b-1, b)
            if code >= 0 and code == self._run_code:
                self._run_pairs += 1
            elif code >= 0:
                self._run_code, self._run_pairs, self._run_first_block = code, 1, b - 1
            else:
                self._run_code, self._run_pairs = -1, 0

            if self._active >= 0:
                if code == self._active:
                    self._misses = 0
                    self._active_last_block = b
                    continue
                self._misses += 1
                new_key = code >= 0 and self._run_pairs >= PAIRS_TO_START
                if self._misses >= PAIRS_TO_END or new_key:
                    events.append(self._event())
                    self._active = -1
            if self._active < 0 and self._run_pairs >= PAIRS_TO_START:
                self._active = self._run_code
                self._active_first_block = self._run_first_block
                self._active_last_block = b
                self._misses = 0
        return events

    def _event(self) -> DtmfEvent:
        start = self._active_first_block * SUB_BLOCK_SAMPLES
        end = (self._active_last_block + 1) * SUB_BLOCK_SAMPLES
        return DtmfEvent(DIGITS[self._active], start / SAMPLE_RATE_HZ, (end - start) / SAMPLE_RATE_HZ)


def detect(samples: np.ndarray) -> list[DtmfEvent]:
    """All keys in a finished recording."""
    detector = DtmfDetector()
    return detector.feed(samples) + detector.flush()


def detect_digits(samples: np.ndarray) -> str:
    """Just the keys of a finished recording, as a string."""
    return "".join(e.digit for e in detect(samples))
