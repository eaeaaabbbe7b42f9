"""Call-progress tones from a tone plan; the Italian plan is the default.

A tone is one or more frequencies at a level in dBm0, switched by a cadence of on/off times in
milliseconds (repeating, or played once). ``ToneGenerator`` produces phase-continuous frames so a
tone can be streamed to a channel tick by tick and sound exactly like the one-shot rendering.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, saturate
from .levels import sine_peak


@dataclass(frozen=True)
class Tone:
    """One call-progress tone: frequencies, level per frequency, cadence (ms on, ms off, ...)."""

    name: str
    frequencies_hz: tuple[float, ...]
    level_dbm0: float = -10.0
    cadence_ms: tuple[int, ...] = ()  # empty: continuous
    repeat: bool = True

    def __post_init__(self):
        if not self.frequencies_hz:
            raise ValueError(f"tone {self.name!r}: needs at least one frequency")
        for f in self.frequencies_hz:
            if not 0 < f < SAMPLE_RATE_HZ / 2:
                raise ValueError(f"tone {self.name!r}: frequency {f} Hz outside 0..{SAMPLE_RATE_HZ // 2} Hz")
        if len(self.cadence_ms) % 2:
            raise ValueError(f"tone {self.name!r}: cadence needs on/off pairs, got {list(self.cadence_ms)}")
        if any(t < 0 for t in self.cadence_ms) or (self.cadence_ms and sum(self.cadence_ms) == 0):
            raise ValueError(f"tone {self.name!r}: cadence times must be positive milliseconds")

    @property
    def period_ms(self) -> int:
        return sum(self.cadence_ms)


@dataclass(frozen=True)
class TonePlan:
    """The tones of one country, looked up by name (``dial``, ``busy``...)."""

    country: str
    tones: dict[str, Tone] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Tone:
        try:
            return self.tones[name]
        except KeyError:
            raise KeyError(f"tone plan {self.country!r} has no tone {name!r}: "
                           f"known tones are {', '.join(sorted(self.tones))}") from None

    def names(self) -> list[str]:
        return sorted(self.tones)


# Italy: 425 Hz, cadences from Asterisk's indications.conf [it]; level -10 dBm0 is usual for
# call-progress tones on Italian exchanges (the TBR21 family asks for -15..-5 dBm0 at the line).
ITALY = TonePlan("it", {
    "dial": Tone("dial", (425.0,), -10.0, (200, 200, 600, 1000)),
    "ringback": Tone("ringback", (425.0,), -10.0, (1000, 4000)),
    "busy": Tone("busy", (425.0,), -10.0, (500, 500)),
    "congestion": Tone("congestion", (425.0,), -10.0, (200, 200)),
    "callwaiting": Tone("callwaiting", (425.0,), -10.0, (400, 100, 250, 100, 150, 14000)),
    "record": Tone("record", (1400.0,), -13.0, (500, 15000)),
    # not a network tone: centralino's own hold signal, two soft pips every 5 s
    "hold": Tone("hold", (425.0,), -16.0, (200, 200, 200, 4400)),
})

PLANS = {"it": ITALY}


def lookup(spec: str) -> Tone:
    """Resolve ``"it:busy"`` (or just ``"busy"`` for the Italian plan) to a Tone."""
    country, _, name = spec.rpartition(":")
    country = country or "it"
    if country not in PLANS:
        raise KeyError(f"no tone plan for country {country!r}: known plans are {', '.join(sorted(PLANS))}")
    return PLANS[country][name]


class ToneGenerator:
    """Streams a tone frame by frame, keeping phase and cadence position between frames."""

    def __init__(self, tone: Tone, sample_rate_hz: int = SAMPLE_RATE_HZ):
        self.tone = tone
        self.sample_rate_hz = sample_rate_hz
        self._n = 0  # samples produced so far
        self._amplitude = sine_peak(tone.level_dbm0)
        self._omegas = np.array([2 * math.pi * f / sample_rate_hz for f in tone.frequencies_hz])
        self._gate = self._build_gate()

    def _build_gate(self) -> np.ndarray | None:
        """One cadence period as a 0/1 array per sample (None for a continuous tone)."""
        if not self.tone.cadence_ms:
            return None
        parts = []
        for i, ms in enumerate(self.tone.cadence_ms):
            n = ms * self.sample_rate_hz // 1000
            parts.append(np.full(n, 1.0 if i % 2 == 0 else 0.0))
        return np.concatenate(parts)

    @property
    def finished(self) -> bool:
        """True once a non-repeating tone has played its cadence."""
        return (not self.tone.repeat and self._gate is not None and self._n >= len(self._gate))

    def samples(self, n: int) -> np.ndarray:
        """The next ``n`` samples of the tone as int16."""
        idx = np.arange(self._n, self._n + n, dtype=np.int64)
        if len(self._omegas) == 1:
            wave = np.sin(self._omegas[0] * (idx % self._period_samples(self._omegas[0])))
        else:
            wave = np.zeros(n)
            for w in self._omegas:
                wave += np.sin(w * (idx % self._period_samples(w)))
        wave *= self._amplitude
        if self._gate is not None:
            if self.tone.repeat:
                wave *= self._gate[idx % len(self._gate)]
            else:
                inside = idx < len(self._gate)
                wave *= np.where(inside, self._gate[np.minimum(idx, len(self._gate) - 1)], 0.0)
        self._n += n
        return saturate(wave)

    def _period_samples(self, omega: float) -> int:
        """A whole number of samples after which the sine repeats exactly, to keep float phase small."""
        f = omega * self.sample_rate_hz / (2 * math.pi)
        # for integer-ish frequencies the signal repeats every sample_rate samples (1 s)
        return self.sample_rate_hz * (1 if abs(f - round(f)) < 1e-9 else 1000)

    def frame(self) -> np.ndarray:
        """The next 20 ms frame."""
        return self.samples(FRAME_SAMPLES)


def render(tone: Tone, seconds: float, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """``seconds`` of a tone from its start, as int16."""
    return ToneGenerator(tone, sample_rate_hz).samples(int(round(seconds * sample_rate_hz)))


def sine(frequency_hz: float, seconds: float, level_dbm0: float = -10.0, phase: float = 0.0,
         sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """A plain sine as float64 samples (for building test signals and tones by hand)."""
    n = np.arange(int(round(seconds * sample_rate_hz)))
    return sine_peak(level_dbm0) * np.sin(2 * math.pi * frequency_hz * n / sample_rate_hz + phase)
