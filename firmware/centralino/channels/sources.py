"""What a channel can play to its line, one 20 ms frame at a time."""

from __future__ import annotations

import numpy as np

from centralino.media.frames import FRAME_SAMPLES, silence
from centralino.media.tones import ToneGenerator, lookup


class SamplesSource:
    """Plays a finished signal once (an FSK caller-ID burst, a DTMF dialling sequence)."""

    def __init__(self, samples: np.ndarray, name: str = "samples", on_done=None):
        self.name = name
        self.on_done = on_done  # called once with the source when it ends or is replaced
        self._samples = np.asarray(samples, dtype=np.int16)
        self._pos = 0

    @property
    def finished(self) -> bool:
        return self._pos >= self._samples.size

    def frame(self) -> np.ndarray:
        out = silence()
        chunk = self._samples[self._pos:self._pos + FRAME_SAMPLES]
        out[:chunk.size] = chunk
        self._pos += FRAME_SAMPLES
        return out


class ToneSource:
    """A call-progress tone by name ("it:dial", "it:busy"...), streamed phase-continuously."""

    def __init__(self, spec: str):
        self.name = spec
        self.on_done = None
        self._generator = ToneGenerator(lookup(spec))

    @property
    def finished(self) -> bool:
        return self._generator.finished

    def frame(self) -> np.ndarray:
        return self._generator.frame()


def tone(name: str) -> ToneSource:
    """Shorthand for the Italian plan: ``tone("busy")`` plays "it:busy"."""
    return ToneSource(name if ":" in name else f"it:{name}")
