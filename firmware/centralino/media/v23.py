"""ITU-T V.23 forward channel (1200 baud FSK, mark 1300 Hz, space 2100 Hz) with 8N1 framing.

This is the physical layer of ETSI EN 300 659-1 caller ID: the exchange sends the data between
rings as a burst of phase-continuous FSK. At 8 kHz a bit lasts 6 2/3 samples, so every timing
here is kept in fractional samples and never rounded per bit; rounding would drift a third of a
sample per bit and lose the byte framing within a message.

Receive chain, all vectorised numpy: carrier detection by in-band versus out-of-band power; a
zero-phase band-pass to the data band; non-coherent correlation with mark and space over one bit
time (complex mixing, then a moving sum of fractional width) giving a soft decision per sample;
a bit-rate estimate from the zero crossings of that soft decision; and an asynchronous UART that
re-synchronises on every start bit. The only Python loop is the UART's walk from one character
to the next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Sequence

import numpy as np

from .frames import SAMPLE_RATE_HZ, saturate
from .levels import DBM0_RMS, FULL_SCALE_SINE_DBM0, power_dbm0, sine_peak

BAUD = 1200
MARK_HZ = 1300  # binary 1, also the idle line
SPACE_HZ = 2100  # binary 0
SAMPLES_PER_BIT = SAMPLE_RATE_HZ / BAUD  # 6.666... samples
BITS_PER_FRAME_8N1 = 10  # start + 8 data + stop

# Receiver settings.
MIN_LEVEL_DBM0 = -50.0  # weakest carrier taken for FSK; ETSI asks for bursts down to -40 dBm0
BAND_LOW_HZ = 500.0  # the V.23 spectrum (with the 600 Hz sidebands of the 0101 seizure) lies in here
BAND_HIGH_HZ = 2900.0
DATA_LOW_HZ = 1000.0  # noise outside 1000..2400 Hz is removed before the bit decisions: 2-3 dB of
DATA_HIGH_HZ = 2400.0  # margin at low S/N, measured; narrower starts to cut the data sidebands
VOICE_LOW_HZ = 300.0  # below this is DC offset and mains hum, not line noise: not counted against FSK
IN_BAND_RATIO_DB = 8.0  # carrier: in-band power this far above the out-of-band (300..4000 Hz) power
DETECT_WINDOW_MS = 10.0  # power averaging window of the carrier detector
MIN_CARRIER_MS = 25.0  # shorter than 30 bits cannot hold even an empty message
MAX_GAP_MS = 5.0  # dips shorter than this inside a burst are bridged
EDGE_THRESHOLD_DB = -10.0  # carrier edges: where the bit-time power crosses median - 10 dB
BAUD_TOLERANCE = 0.06  # bit rates searched around 1200 baud (V.23 allows 1 %; some senders are worse)
MAX_TIMING_CROSSINGS = 160  # bit boundaries used to estimate the bit rate
REGION_MARGIN_MS = 20.0  # signal kept either side of a carrier region for filtering


# ---------------------------------------------------------------------------------------------
# Transmit

# Timing is counted in ticks of 1/24000 s, the finest grid holding both a sample (3 ticks) and a
# bit (20 ticks) exactly; phase is counted in whole 1/240 turns, which every tone advances by per
# tick. Integer arithmetic throughout, so a burst of any length accumulates no rounding error.
_TICK_HZ = math.lcm(SAMPLE_RATE_HZ, BAUD)  # 24000
_SAMPLE_TICKS = _TICK_HZ // SAMPLE_RATE_HZ  # 3
_BIT_TICKS = _TICK_HZ // BAUD  # 20
_PHASE_UNITS = math.lcm(Fraction(MARK_HZ, _TICK_HZ).denominator, Fraction(SPACE_HZ, _TICK_HZ).denominator)  # 240


def frame_bytes_8n1(data: bytes | Iterable[int]) -> list[int]:
    """Bits of ``data`` as an asynchronous line sends them: 0 start bit, 8 bits LSB first, 1 stop bit."""
    bits: list[int] = []
    for value in bytes(data):
        bits.append(0)
        bits.extend((value >> i) & 1 for i in range(8))
        bits.append(1)
    return bits


def bit_samples(n_bits: int) -> int:
    """Number of 8 kHz samples that ``n_bits`` at 1200 baud occupy (sample n is at time n / 8000 s)."""
    return -(-n_bits * _BIT_TICKS // _SAMPLE_TICKS)


def _bit_array(bits: Sequence[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(bits)
    if arr.ndim != 1:
        raise ValueError(f"bits must be a 1-D sequence of 0 and 1, got shape {arr.shape}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError("bits must be 0 (space) or 1 (mark)")
    return arr.astype(bool)


def _phase_units(bits: np.ndarray, n_samples: int) -> np.ndarray:
    """Exact CPFSK phase at each sample, in 1/_PHASE_UNITS turns (integrated over fractional bits)."""
    per_tick = np.where(bits, MARK_HZ, SPACE_HZ).astype(np.int64) * _PHASE_UNITS // _TICK_HZ
    at_bit_start = np.concatenate(([0], np.cumsum(per_tick * _BIT_TICKS)))
    ticks = np.arange(n_samples, dtype=np.int64) * _SAMPLE_TICKS
    bit_index = ticks // _BIT_TICKS
    into_bit = ticks - bit_index * _BIT_TICKS
    return (at_bit_start[bit_index] + per_tick[bit_index] * into_bit) % _PHASE_UNITS


def modulate_bits(bits: Sequence[int] | np.ndarray, level_dbm0: float, start_phase: float = 0.0) -> np.ndarray:
    """Phase-continuous V.23 FSK for ``bits`` (1 = mark 1300 Hz) at ``level_dbm0``, as int16.

    The frequency changes exactly at each bit boundary, even between two samples: the phase at a
    sample is the integral of the frequency up to that instant. Output has ``bit_samples(len(bits))``
    samples. To generate a burst in pieces, start each piece with ``phase_after`` of the previous
    ones and cut at multiples of 3 bits (exactly 20 samples), so the bit clock stays on the grid.
    """
    arr = _bit_array(bits)
    if not math.isfinite(level_dbm0) or level_dbm0 > FULL_SCALE_SINE_DBM0:
        raise ValueError(f"level {level_dbm0} dBm0: must be at most +{FULL_SCALE_SINE_DBM0} dBm0 (16-bit full scale)")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int16)
    phase = start_phase + (2.0 * np.pi / _PHASE_UNITS) * _phase_units(arr, bit_samples(arr.size))
    return saturate(sine_peak(level_dbm0) * np.sin(phase))


def phase_after(bits: Sequence[int] | np.ndarray, start_phase: float = 0.0) -> float:
    """Carrier phase (radians, 0..2 pi) at the instant ``bits`` end, started at ``start_phase``."""
    arr = _bit_array(bits)
    per_bit = np.where(arr, MARK_HZ, SPACE_HZ).astype(np.int64) * _PHASE_UNITS // BAUD
    units = int(per_bit.sum() % _PHASE_UNITS)
    return (start_phase + 2.0 * np.pi * units / _PHASE_UNITS) % (2.0 * np.pi)


# ---------------------------------------------------------------------------------------------
# Receive: soft decision


@dataclass(frozen=True)
class Discriminated:
    """Per-sample output of the mark/space correlators, centred on each sample.

    ``soft`` is (|mark|^2 - |space|^2) / (|mark|^2 + |space|^2): +1 pure mark, -1 pure space,
    crossing 0 at a bit boundary. ``power`` is the correlator power scaled so that a steady
    tone of power P reads about P (same units as samples squared).
    """

    soft: np.ndarray
    power: np.ndarray


_LO_PERIOD = 80  # both tones repeat exactly every 80 samples at 8 kHz (1300/8000 = 13/80, 2100/8000 = 21/80)
_n = np.arange(_LO_PERIOD)
_MARK_LO = np.exp(-2j * np.pi * MARK_HZ * _n / SAMPLE_RATE_HZ)
_SPACE_LO = np.exp(-2j * np.pi * SPACE_HZ * _n / SAMPLE_RATE_HZ)
del _n


def _local_oscillator(table: np.ndarray, n: int) -> np.ndarray:
    return np.tile(table, n // _LO_PERIOD + 1)[:n]


def _centred_boxcar(z: np.ndarray, width: float) -> np.ndarray:
    """Sum of ``z`` over a window of ``width`` samples centred on each sample (fractional width).

    A sample counts as the interval [n - 1/2, n + 1/2); the two end samples that the window only
    partly covers are weighted by the covered fraction, so a 6 2/3-sample bit is integrated
    exactly instead of being rounded to 6 or 7 samples.
    """
    n = z.size
    half = width / 2.0
    k = int(math.floor(half + 0.5))  # distance of the partly covered samples
    w_edge = half - (k - 0.5)
    # c[k + j] = z[0] + ... + z[j - 1], held at 0 before the signal and at the total after it
    total = np.cumsum(z)
    c = np.concatenate((np.zeros(k + 1, dtype=z.dtype), total, np.full(k, total[-1] if n else 0, dtype=z.dtype)))
    full = c[2 * k: 2 * k + n] - c[1: 1 + n]  # samples n-k+1 .. n+k-1
    if w_edge <= 0.0:
        return full
    zp = np.concatenate((np.zeros(k, dtype=z.dtype), z, np.zeros(k, dtype=z.dtype)))
    return full + w_edge * (zp[:n] + zp[2 * k: 2 * k + n])


def discriminate(samples: np.ndarray, samples_per_bit: float = SAMPLES_PER_BIT) -> Discriminated:
    """Non-coherent mark/space correlation over one bit time, for every sample (vectorised)."""
    x = np.asarray(samples, dtype=np.float64)
    n = x.size
    mark = _centred_boxcar(x * _local_oscillator(_MARK_LO, n), samples_per_bit)
    space = _centred_boxcar(x * _local_oscillator(_SPACE_LO, n), samples_per_bit)
    pm = mark.real ** 2 + mark.imag ** 2
    ps = space.real ** 2 + space.imag ** 2
    total = pm + ps
    soft = (pm - ps) / np.maximum(total, 1e-12)
    return Discriminated(soft=soft, power=total * (2.0 / (samples_per_bit * samples_per_bit)))


def hard_bits(soft: np.ndarray, first_bit_start: float, n_bits: int,
              samples_per_bit: float = SAMPLES_PER_BIT) -> np.ndarray:
    """Bits (1 = mark) sampled at the centres of ``n_bits`` consecutive bits from ``first_bit_start``."""
    return (_sample_at(soft, first_bit_start + (np.arange(n_bits) + 0.5) * samples_per_bit) >= 0).astype(np.uint8)


def _sample_at(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``values`` at fractional sample ``positions`` (inside the array)."""
    i = np.floor(positions).astype(np.int64)
    i = np.clip(i, 0, values.size - 2)
    frac = positions - i
    return values[i] * (1.0 - frac) + values[i + 1] * frac


# ---------------------------------------------------------------------------------------------
# Receive: bit rate and UART


def _crossings(soft: np.ndarray) -> np.ndarray:
    """Fractional positions where ``soft`` changes sign (bit boundaries)."""
    mark = soft >= 0
    idx = np.flatnonzero(mark[1:] != mark[:-1])
    a = soft[idx]
    b = soft[idx + 1]
    return idx + a / (a - b)


def estimate_samples_per_bit(soft: np.ndarray, nominal: float = SAMPLES_PER_BIT,
                             tolerance: float = BAUD_TOLERANCE) -> float:
    """Bit length that best explains the bit-boundary times in ``soft`` (within +-tolerance).

    Every boundary falls a whole number of bit times after any other, so the right bit length
    T lines up exp(2 pi j t / T) over all boundaries t. The search first uses the boundaries of
    the first ~120 bits over the whole tolerance, then all of them in a window around that
    answer (a longer span gives a sharper peak). Falls back to ``nominal`` when there are too
    few boundaries or they do not line up (noise rather than data).
    """
    t = _crossings(soft)
    if t.size < 16:
        return nominal
    if t.size > MAX_TIMING_CROSSINGS:  # the span sets the precision; more crossings only cost time
        t = t[np.linspace(0, t.size - 1, MAX_TIMING_CROSSINGS).astype(np.int64)]
    t = t - t[0]
    best, half_range = nominal, tolerance * nominal
    for span_limit_bits in (120.0, math.inf):
        used = t[t <= span_limit_bits * best]
        if used.size < 16:
            used = t[:16]
        span = max(used[-1] / best, 1.0)  # bits
        step = 0.5 * best / span  # a quarter of the width of the score's main lobe
        grid = best + np.arange(-half_range, half_range + step / 2, step)
        score = np.abs(np.exp((2j * np.pi) * used[None, :] / grid[:, None]).sum(axis=1))
        k = int(np.argmax(score))
        if score[k] < 0.4 * used.size:
            return nominal
        best, half_range = float(grid[k]), 2.0 * best / span
    return best


@dataclass(frozen=True)
class UartByte:
    """One received character: value, where its start bit began, and whether the stop bit was 1."""

    value: int
    start: float  # sample position of the start bit's leading edge
    framing_ok: bool


def uart_8n1(soft: np.ndarray, samples_per_bit: float = SAMPLES_PER_BIT) -> list[UartByte]:
    """Recover 8N1 characters from a soft bit stream, re-synchronising on every start bit.

    Hunts for a mark-to-space transition, checks that the line is still space half a bit later
    (else it was a glitch), then samples the eight data bits and the stop bit at their centres.
    After each character it hunts again from the middle of the stop bit, as a hardware UART
    does, so timing errors never accumulate beyond one character. A character whose stop bit
    would lie past the end of ``soft`` is not returned.
    """
    soft = np.asarray(soft, dtype=np.float64)
    if soft.size < 2:
        return []
    # Every falling edge is a possible start bit: decode them all at once, then walk through
    # them as the UART would, skipping the edges that fall inside a character already taken.
    mark = soft >= 0
    falls = np.flatnonzero(mark[:-1] & ~mark[1:]) + 1  # first space sample of each falling edge
    a, b = soft[falls - 1], soft[falls]
    edges = (falls - 1) + a / (a - b)
    centres = edges[:, None] + (np.arange(BITS_PER_FRAME_8N1) + 0.5) * samples_per_bit
    complete = centres[:, -1] <= soft.size - 1  # stop bit inside the signal
    edges, centres = edges[complete], centres[complete]
    values = _sample_at(soft, centres)
    start_ok = (values[:, 0] < 0).tolist()  # still space mid start bit, else a glitch
    codes = ((values[:, 1:9] >= 0) @ (1 << np.arange(8))).tolist()
    framing_ok = (values[:, 9] >= 0).tolist()
    resume = np.searchsorted(falls[: edges.size], centres[:, -1], side="right").tolist()  # hunt from mid stop bit
    edge_list = edges.tolist()
    out: list[UartByte] = []
    i = 0
    while i < len(edge_list):
        if not start_ok[i]:
            i += 1
            continue
        out.append(UartByte(codes[i], edge_list[i], framing_ok[i]))
        i = resume[i]
    return out


# ---------------------------------------------------------------------------------------------
# Receive: bursts


@dataclass
class FskBurst:
    """One stretch of V.23 carrier and the characters the UART found in it."""

    start: int  # first sample of carrier
    end: int  # one past the last sample of carrier
    samples_per_bit: float
    level_dbm0: float
    chars: list[UartByte] = field(default_factory=list)

    @property
    def baud(self) -> float:
        return SAMPLE_RATE_HZ / self.samples_per_bit

    @property
    def data(self) -> bytes:
        return bytes(c.value for c in self.chars)

    @property
    def start_s(self) -> float:
        return self.start / SAMPLE_RATE_HZ


def _moving_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Mean over ``width`` samples centred on each sample (shorter windows at the ends)."""
    n = x.size
    c = np.concatenate(([0.0], np.cumsum(x)))
    lo = np.maximum(np.arange(n) - width // 2, 0)
    hi = np.minimum(lo + width, n)
    return (c[hi] - c[lo]) / (hi - lo)


def _fast_fft_len(n: int) -> int:
    """Smallest length >= n made of factors 2, 3 and 5, which pocketfft transforms fastest."""
    best = 1 << max(int(n - 1).bit_length(), 0)
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return max(best, 1)


def _band_pass(x: np.ndarray, *bands: tuple[float, float]) -> list[np.ndarray]:
    """``x`` through zero-phase brick-wall band-passes (one FFT, no delay: sample times stay exact)."""
    n = x.size
    n_fft = _fast_fft_len(n + 64)  # a little padding keeps the wrap-around away from the ends
    spectrum = np.fft.rfft(x, n_fft)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / SAMPLE_RATE_HZ)
    return [np.fft.irfft(np.where((freqs >= lo) & (freqs <= hi), spectrum, 0.0), n_fft)[:n] for lo, hi in bands]


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    d = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _carrier_regions(x: np.ndarray, min_level_dbm0: float) -> list[tuple[int, int]]:
    in_band, voice_band = _band_pass(x, (BAND_LOW_HZ, BAND_HIGH_HZ), (VOICE_LOW_HZ, SAMPLE_RATE_HZ / 2))
    window = int(round(DETECT_WINDOW_MS * SAMPLE_RATE_HZ / 1000))
    p_in = _moving_mean(in_band * in_band, window)
    p_out = _moving_mean((voice_band - in_band) ** 2, window)
    min_power = DBM0_RMS * DBM0_RMS * 10.0 ** (min_level_dbm0 / 10.0)
    on = (p_in >= min_power) & (p_in >= p_out * 10.0 ** (IN_BAND_RATIO_DB / 10.0))
    merged: list[tuple[int, int]] = []
    max_gap = int(MAX_GAP_MS * SAMPLE_RATE_HZ / 1000)
    for a, b in _runs(on):
        if merged and a - merged[-1][1] <= max_gap:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    min_len = int(MIN_CARRIER_MS * SAMPLE_RATE_HZ / 1000)
    return [(a, b) for a, b in merged if b - a >= min_len]


def find_carrier(samples: np.ndarray, min_level_dbm0: float = MIN_LEVEL_DBM0) -> list[tuple[int, int]]:
    """Sample ranges [start, end) that hold something like V.23 carrier, coarse to ~5 ms.

    Carrier means: power between 500 and 2900 Hz at least ``min_level_dbm0`` and 8 dB above the
    power in the rest of the voice band (300 to 4000 Hz; DC offset and hum are ignored). White
    noise puts about as much power outside as inside and never qualifies, digital silence has no
    power, and an FSK burst keeps nearly all its power in the band.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return []
    return _carrier_regions(x, min_level_dbm0)


def frame_has_carrier(frame: np.ndarray, min_level_dbm0: float = MIN_LEVEL_DBM0) -> bool:
    """The ``find_carrier`` test on one short frame (a 20 ms frame costs one 160-point FFT).

    Lets a streaming receiver stay idle, and cheap, until something like FSK is on the line.
    """
    x = np.asarray(frame, dtype=np.float64)
    if x.size < 16:
        return False
    power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / SAMPLE_RATE_HZ)
    band = (freqs >= BAND_LOW_HZ) & (freqs <= BAND_HIGH_HZ)
    p_in, p_out = float(power[band].sum()), float(power[~band & (freqs >= VOICE_LOW_HZ)].sum())
    if p_in <= 0.0:
        return False
    in_band_dbm0 = power_dbm0(x) + 10.0 * math.log10(p_in / power.sum())
    return in_band_dbm0 >= min_level_dbm0 and p_in >= p_out * 10.0 ** (IN_BAND_RATIO_DB / 10.0)


def demodulate(samples: np.ndarray, min_level_dbm0: float = MIN_LEVEL_DBM0) -> list[FskBurst]:
    """Every V.23 burst in ``samples``, with its 8N1 characters, in time order.

    Outside each burst the soft decision is forced to mark (idle line), so noise before the
    carrier can never fake a start bit; the burst edges are located to a sample or two from the
    bit-time correlator power, which rises by some 20 dB at the carrier onset.
    """
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"samples must be a 1-D signal, got shape {x.shape}")
    if x.size == 0:
        return []
    xf = x.astype(np.float64)
    regions = _carrier_regions(xf, min_level_dbm0)
    guard = int(math.ceil(2 * SAMPLES_PER_BIT))
    margin = guard + int(REGION_MARGIN_MS * SAMPLE_RATE_HZ / 1000)
    bursts: list[FskBurst] = []
    for a, b in regions:
        # Work on the region and a margin only: the rest of the signal is not FSK.
        lo, hi = max(a - margin, 0), min(b + margin, x.size)
        disc = discriminate(_band_pass(xf[lo:hi], (DATA_LOW_HZ, DATA_HIGH_HZ))[0])
        a_, b_ = a - lo, b - lo
        search_lo, search_hi = max(a_ - guard, 0), min(b_ + guard, hi - lo)
        threshold = float(np.median(disc.power[a_:b_])) * 10.0 ** (EDGE_THRESHOLD_DB / 10.0)
        above = np.flatnonzero(disc.power[search_lo:search_hi] >= threshold)
        if above.size == 0:
            continue
        start, end = search_lo + int(above[0]), search_lo + int(above[-1]) + 1  # within the segment
        if bursts and lo + start < bursts[-1].end:  # overlaps the previous one after refinement
            continue
        inside = disc.soft[start:end]
        spb = estimate_samples_per_bit(inside)
        soft = np.concatenate((np.ones(guard), inside, np.ones(guard)))  # idle mark around the burst
        offset = lo + start - guard
        chars = [UartByte(c.value, c.start + offset, c.framing_ok) for c in uart_8n1(soft, spb)]
        bursts.append(FskBurst(lo + start, lo + end, spb, power_dbm0(x[lo + start: lo + end]), chars))
    return bursts
