"""The one unit of audio in centralino: 20 ms of 8 kHz int16 samples.

Every channel, tone generator, detector and mixer passes frames of exactly ``FRAME_SAMPLES``
samples, so that one media clock tick moves one frame everywhere.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

SAMPLE_RATE_HZ = 8000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE_HZ * FRAME_MS // 1000  # 160
SAMPLE_MIN = -32768
SAMPLE_MAX = 32767


def silence(n_frames: int = 1) -> np.ndarray:
    """Return ``n_frames`` frames of silence as one int16 array."""
    return np.zeros(n_frames * FRAME_SAMPLES, dtype=np.int16)


def saturate(samples: np.ndarray) -> np.ndarray:
    """Clip any numeric array to the int16 range and return it as int16 (rounding floats)."""
    if samples.dtype.kind == "f":
        samples = np.rint(samples)
    return np.clip(samples, SAMPLE_MIN, SAMPLE_MAX).astype(np.int16)


def split_frames(samples: np.ndarray, pad: bool = True) -> list[np.ndarray]:
    """Cut a signal into frames; the last partial frame is padded with silence (or dropped)."""
    samples = np.asarray(samples, dtype=np.int16)
    remainder = len(samples) % FRAME_SAMPLES
    if remainder:
        if pad:
            samples = np.concatenate([samples, np.zeros(FRAME_SAMPLES - remainder, dtype=np.int16)])
        else:
            samples = samples[: len(samples) - remainder]
    return [samples[i : i + FRAME_SAMPLES] for i in range(0, len(samples), FRAME_SAMPLES)]


def join_frames(frames: Iterable[np.ndarray]) -> np.ndarray:
    """Concatenate frames back into one int16 signal."""
    frames = list(frames)
    if not frames:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate(frames).astype(np.int16, copy=False)


def seconds(n_samples: int) -> float:
    """Duration in seconds of ``n_samples`` samples at 8 kHz."""
    return n_samples / SAMPLE_RATE_HZ
