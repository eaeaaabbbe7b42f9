"""Voice prompts: WAV files loaded once into frames, ready for the prompt player.

A comune can replace any prompt with its own recording; ``load_prompt`` checks the format at load
time (8 kHz mono, 16-bit PCM or A-law/u-law) so a wrong file is refused with a clear message when
the configuration is loaded, not in the middle of a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, split_frames
from .wavfile import WavError, read_wav

__all__ = ["Prompt", "PromptPlayer", "load_prompt", "WavError"]


@dataclass(frozen=True)
class Prompt:
    """A loaded prompt: its name, source file and frames (the last one padded with silence)."""

    name: str
    path: str
    frames: tuple[np.ndarray, ...]

    @property
    def seconds(self) -> float:
        return len(self.frames) * FRAME_SAMPLES / SAMPLE_RATE_HZ


def load_prompt(path: str | Path, name: str | None = None) -> Prompt:
    """Load an 8 kHz mono WAV as a Prompt; raises WavError naming the file and the problem."""
    samples = read_wav(path)
    if len(samples) == 0:
        raise WavError(path, "no audio: the data chunk is empty")
    frames = tuple(split_frames(samples))
    for f in frames:
        f.setflags(write=False)
    return Prompt(name or Path(path).stem, str(path), frames)


class PromptPlayer:
    """Plays a sequence of prompts frame by frame; silence once finished or stopped."""

    def __init__(self, prompts: list[Prompt] | tuple[Prompt, ...] = ()):
        self._queue = list(prompts)
        self._index = 0

    def enqueue(self, prompt: Prompt) -> None:
        self._queue.append(prompt)

    def stop(self) -> None:
        """Barge-in: drop everything not yet played."""
        self._queue.clear()
        self._index = 0

    @property
    def playing(self) -> bool:
        return bool(self._queue)

    def frame(self) -> np.ndarray:
        while self._queue and self._index >= len(self._queue[0].frames):
            self._queue.pop(0)
            self._index = 0
        if not self._queue:
            return np.zeros(FRAME_SAMPLES, dtype=np.int16)
        f = self._queue[0].frames[self._index]
        self._index += 1
        return f
