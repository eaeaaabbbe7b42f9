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
  the tone covers, which is what makes the duration limits sharp. A column at twice the row
  frequency (ratio within ``HARMONIC_RATIO_BAND``) is one note and its harmonic, not a key.
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
# a column at twice the row frequency is one musical note and its second harmonic, not a key:
# valid pairs stay outside 1.977..2.056 even with both tones 1.5% off
HARMONIC_RATIO_BAND = (1.98, 2.02)
PAIRS_TO_START = 2
PAIRS_TO_END = 5
_PRE_PURITY = 0.45  # cheap first filter before frequency correction

_FREQS_HZ = np.array(ROWS_HZ + COLUMNS_HZ)
_OMEGAS = 2.0 * np.pi * _FREQS_HZ / SAMPLE_RATE_HZ
_KERNEL = np.exp(-1j * np.outer(np.arange(SUB_BLOCK_SAMPLES), _OMEGAS))  # (80, 8)
_KERNEL_REAL = np.hstack([_KERNEL.real, _KERNEL.imag])  # (80, 16): real matmul is cheaper
# every frequency is a whole number of Hz, so the global phase repeats every 8000 samples
_PHASE_PERIOD_SAMPLES = SAMPLE_RATE_HZ
_RAD_TO_HZ = SAMPLE_RATE_HZ / (2.0 * np.pi * SUB_BLOCK_SAMPLES)
# global-phase factors: sub-block k starts at sample 80k, and 100 sub-blocks make 8000 samples
_BLOCKS_PER_PHASE_PERIOD = _PHASE_PERIOD_SAMPLES // SUB_BLOCK_SAMPLES
_PHASE_TABLE = np.exp(-1j * np.outer(np.arange(_BLOCKS_PER_PHASE_PERIOD) * SUB_BLOCK_SAMPLES, _OMEGAS))
_LEVEL_SCALE = 2.0 / (SUB_BLOCK_SAMPLES ** 2 * DBM0_RMS ** 2)  # |X|^2 -> power in dBm0 units


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
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.sin(x * SUB_BLOCK_SAMPLES) / (SUB_BLOCK_SAMPLES * np.sin(x))
    g = np.where(np.abs(x) < 1e-12, 1.0, g)
    return np.maximum(g * g, 1e-6)


class _KeyTracker:
    """One channel's decisions: turns per-pair key hits into key events."""

    __slots__ = ("run_code", "run_pairs", "run_first_block", "active", "active_first_block",
                 "active_last_block", "misses")

    def __init__(self):
        self.run_code = -1
        self.run_pairs = 0
        self.run_first_block = 0
        self.active = -1
        self.active_first_block = 0
        self.active_last_block = 0
        self.misses = 0

    @property
    def idle(self) -> bool:
        return self.active < 0 and self.run_code < 0

    def step(self, code: int, b: int, events: list) -> None:
        """Pair (b-1, b) hit ``code`` (-1: no key)."""
        if code >= 0 and code == self.run_code:
            self.run_pairs += 1
        elif code >= 0:
            self.run_code, self.run_pairs, self.run_first_block = code, 1, b - 1
        else:
            self.run_code, self.run_pairs = -1, 0
        if self.active >= 0:
            if code == self.active:
                self.misses = 0
                self.active_last_block = b
                return
            self.misses += 1
            if self.misses >= PAIRS_TO_END or (code >= 0 and self.run_pairs >= PAIRS_TO_START):
                events.append(self.release())
        if self.active < 0 and self.run_pairs >= PAIRS_TO_START:
            self.active = self.run_code
            self.active_first_block = self.run_first_block
            self.active_last_block = b
            self.misses = 0

    def release(self) -> DtmfEvent:
        start = self.active_first_block * SUB_BLOCK_SAMPLES
        end = (self.active_last_block + 1) * SUB_BLOCK_SAMPLES
        event = DtmfEvent(DIGITS[self.active], start / SAMPLE_RATE_HZ, (end - start) / SAMPLE_RATE_HZ)
        self.active = -1
        return event


class DtmfBank:
    """DTMF detection for many channels at once, one media-clock tick at a time.

    Why a bank: the per-call cost of numpy is mostly fixed overhead, so analysing every channel's
    frame in one matrix product is what lets a Raspberry Pi watch all its ports. ``feed`` takes a
    (channels, samples) array whose length is a multiple of 80 samples (a 20 ms frame is 160).
    """

    def __init__(self, channels: int):
        if channels < 1:
            raise ValueError(f"a DTMF bank needs at least one channel, got {channels}")
        self.channels = channels
        self._block_index = 0
        self._prev_X = np.zeros((channels, 8), dtype=complex)
        self._prev_E = np.zeros(channels)
        self._prev_code = np.full(channels, -1, dtype=np.int64)
        self._trackers = [_KeyTracker() for _ in range(channels)]
        self._not_idle: set[int] = set()  # channels whose tracker has a key or a run going

    def pressed(self, channel: int) -> str | None:
        """The key held on ``channel`` right now (confirmed, not yet released)."""
        active = self._trackers[channel].active
        return DIGITS[active] if active >= 0 else None

    def feed(self, frames: np.ndarray) -> list[tuple[int, DtmfEvent]]:
        """Analyse one tick of audio for every channel; return (channel, key) for keys that ended."""
        x = np.asarray(frames, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != self.channels or x.shape[1] % SUB_BLOCK_SAMPLES:
            raise ValueError(f"DTMF bank of {self.channels} channels takes ({self.channels}, k*{SUB_BLOCK_SAMPLES}) "
                             f"samples, got shape {x.shape}")
        n = x.shape[1] // SUB_BLOCK_SAMPLES
        if n == 0:
            return []
        codes = self._pair_codes(x.reshape(self.channels, n, SUB_BLOCK_SAMPLES))
        first_block = self._block_index - n
        hits = set() if codes is None else set(np.nonzero((codes >= 0).any(axis=1))[0].tolist())
        events: list[tuple[int, DtmfEvent]] = []
        for ch in sorted(hits | self._not_idle):
            tracker = self._trackers[ch]
            row = codes[ch].tolist() if ch in hits else [-1] * n
            found: list[DtmfEvent] = []
            for i, code in enumerate(row):
                tracker.step(code, first_block + i, found)
            events.extend((ch, e) for e in found)
            if tracker.idle:
                self._not_idle.discard(ch)
            else:
                self._not_idle.add(ch)
        return events

    def flush(self) -> list[tuple[int, DtmfEvent]]:
        """End of stream: release keys still held."""
        events = []
        for ch, tracker in enumerate(self._trackers):
            if tracker.active >= 0:
                events.append((ch, tracker.release()))
            tracker.run_code, tracker.run_pairs = -1, 0
        self._not_idle.clear()
        return events

    def _pair_codes(self, blocks: np.ndarray) -> np.ndarray | None:
        """(channels, n) array: the key hit by each pair of sub-blocks (b-1, b), -1 for none;
        None when no channel has anything resembling a key (the common case, kept cheap)."""
        C, n, _ = blocks.shape
        k0 = self._block_index
        self._block_index += n
        Y = blocks @ _KERNEL_REAL  # (C, n, 16): real and imaginary parts, local phase
        P = Y[:, :, :8] ** 2 + Y[:, :, 8:] ** 2
        E = np.einsum("cnk,cnk->cn", blocks, blocks)
        peak = P[:, :, :4].max(axis=2) + P[:, :, 4:].max(axis=2)
        candidate = 2.0 * peak >= _PRE_PURITY * SUB_BLOCK_SAMPLES * E
        candidate &= E > 0
        if not candidate.any():
            self._prev_code[:] = -1
            return None
        row = np.argmax(P[:, :, :4], axis=2)
        col = np.argmax(P[:, :, 4:], axis=2)
        code = np.where(candidate, row * 4 + col, -1)
        phase = _PHASE_TABLE[(k0 + np.arange(n)) % _BLOCKS_PER_PHASE_PERIOD]  # (n, 8)
        Xg = (Y[:, :, :8] + 1j * Y[:, :, 8:]) * phase[None, :, :]
        code_all = np.concatenate([self._prev_code[:, None], code], axis=1)  # (C, n+1)
        pairs = (code_all[:, 1:] >= 0) & (code_all[:, 1:] == code_all[:, :-1])
        result = np.full((C, n), -1, dtype=np.int64)
        if pairs.any():
            X_all = np.concatenate([self._prev_X[:, None, :], Xg], axis=1)
            E_all = np.concatenate([self._prev_E[:, None], E], axis=1)
            ch, i = np.nonzero(pairs)
            c = code_all[ch, i + 1]
            r, k = c // 4, 4 + c % 4
            a_r, b_r = X_all[ch, i, r], X_all[ch, i + 1, r]
            a_c, b_c = X_all[ch, i, k], X_all[ch, i + 1, k]
            off_r = np.angle(b_r * np.conj(a_r)) * _RAD_TO_HZ
            off_c = np.angle(b_c * np.conj(a_c)) * _RAD_TO_HZ
            ok_freq = (np.abs(off_r) <= FREQ_TOLERANCE * _FREQS_HZ[r]) & (np.abs(off_c) <= FREQ_TOLERANCE * _FREQS_HZ[k])
            ratio = (_FREQS_HZ[k] + off_c) / (_FREQS_HZ[r] + off_r)
            ok_freq &= (ratio < HARMONIC_RATIO_BAND[0]) | (ratio > HARMONIC_RATIO_BAND[1])
            g_r, g_c = 1.0 / _dirichlet_gain(off_r), 1.0 / _dirichlet_gain(off_c)
            pow_r_a, pow_r_b = (a_r.real ** 2 + a_r.imag ** 2) * g_r, (b_r.real ** 2 + b_r.imag ** 2) * g_r
            pow_c_a, pow_c_b = (a_c.real ** 2 + a_c.imag ** 2) * g_c, (b_c.real ** 2 + b_c.imag ** 2) * g_c
            E_a, E_b = E_all[ch, i], E_all[ch, i + 1]
            pure = (2.0 * (pow_r_a + pow_c_a) >= MIN_PURITY * SUB_BLOCK_SAMPLES * E_a) & \
                   (2.0 * (pow_r_b + pow_c_b) >= MIN_PURITY * SUB_BLOCK_SAMPLES * E_b)
            level_r = 10 * np.log10(np.maximum((pow_r_a + pow_r_b) / 2 * _LEVEL_SCALE, 1e-30))
            level_c = 10 * np.log10(np.maximum((pow_c_a + pow_c_b) / 2 * _LEVEL_SCALE, 1e-30))
            twist = level_r - level_c
            hit = (ok_freq & pure & (level_r >= MIN_TONE_DBM0) & (level_c >= MIN_TONE_DBM0)
                   & (twist <= NORMAL_TWIST_MAX_DB) & (-twist <= REVERSE_TWIST_MAX_DB))
            result[ch[hit], i[hit]] = c[hit]
        self._prev_X = Xg[:, -1, :]
        self._prev_E = E[:, -1]
        self._prev_code = code[:, -1]
        return result


class DtmfDetector:
    """Streaming DTMF detector for one channel: feed samples of any length, get keys as they end."""

    def __init__(self, sample_rate_hz: int = SAMPLE_RATE_HZ):
        if sample_rate_hz != SAMPLE_RATE_HZ:
            raise ValueError(f"DTMF detector runs at {SAMPLE_RATE_HZ} Hz, not {sample_rate_hz} Hz")
        self._bank = DtmfBank(1)
        self._carry = np.zeros(0, dtype=np.float64)

    @property
    def pressed(self) -> str | None:
        """The key held right now (confirmed but not yet released), for barge-in."""
        return self._bank.pressed(0)

    def feed(self, samples: np.ndarray) -> list[DtmfEvent]:
        """Analyse more audio; return the keys that ended within it."""
        x = np.asarray(samples, dtype=np.float64)
        if self._carry.size:
            x = np.concatenate([self._carry, x])
        usable = len(x) - len(x) % SUB_BLOCK_SAMPLES
        self._carry = x[usable:]
        if usable == 0:
            return []
        return [e for _, e in self._bank.feed(x[None, :usable])]

    def flush(self) -> list[DtmfEvent]:
        """End of stream: release a key still held."""
        return [e for _, e in self._bank.flush()]


def detect(samples: np.ndarray) -> list[DtmfEvent]:
    """All keys in a finished recording."""
    detector = DtmfDetector()
    return detector.feed(samples) + detector.flush()


def detect_digits(samples: np.ndarray) -> str:
    """Just the keys of a finished recording, as a string."""
    return "".join(e.digit for e in detect(samples))
