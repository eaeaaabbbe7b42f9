"""Mixing and gain: what a bridge or a conference does to frames.

Sums are done in int32 and saturated to int16 once, so a loud party clips instead of wrapping
around (a wrap sounds like a crack on the line).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .frames import FRAME_SAMPLES, saturate
from .levels import db_to_gain


def mix(frames: Sequence[np.ndarray]) -> np.ndarray:
    """Sum of frames with saturation; silence for no frames."""
    if not frames:
        return np.zeros(FRAME_SAMPLES, dtype=np.int16)
    total = np.zeros(len(frames[0]), dtype=np.int32)
    for frame in frames:
        if len(frame) != len(total):
            raise ValueError(f"cannot mix frames of {len(total)} and {len(frame)} samples")
        total += frame
    return saturate(total)


def apply_gain(frame: np.ndarray, gain_db: float) -> np.ndarray:
    """Frame scaled by ``gain_db`` (negative attenuates), saturated to int16."""
    if gain_db == 0.0:
        return np.asarray(frame, dtype=np.int16)
    return saturate(np.asarray(frame, dtype=np.float64) * db_to_gain(gain_db))


class Conference:
    """N-party conference: each party hears everyone but itself, each with its own gain.

    The mix is computed once as the total, and each party's own contribution is subtracted: N
    parties cost O(N) instead of O(N^2), which matters when a Pi runs several conferences.
    """

    def __init__(self):
        self._gains_db: dict[str, float] = {}

    def add(self, party: str, gain_db: float = 0.0) -> None:
        """Join ``party``; ``gain_db`` is applied to what it says before mixing."""
        self._gains_db[party] = float(gain_db)

    def remove(self, party: str) -> None:
        self._gains_db.pop(party, None)

    def set_gain(self, party: str, gain_db: float) -> None:
        if party not in self._gains_db:
            raise KeyError(f"{party!r} is not in the conference")
        self._gains_db[party] = float(gain_db)

    @property
    def parties(self) -> list[str]:
        return list(self._gains_db)

    def mix(self, spoken: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One tick: what each party said in, what each party hears out.

        A party that sent nothing this tick (absent from ``spoken``) counts as silent.
        """
        unknown = set(spoken) - set(self._gains_db)
        if unknown:
            raise KeyError(f"frames from parties not in the conference: {sorted(unknown)}")
        contributions = {}
        for party, gain_db in self._gains_db.items():
            frame = spoken.get(party)
            if frame is None:
                continue
            if len(frame) != FRAME_SAMPLES:
                raise ValueError(f"party {party!r} sent {len(frame)} samples, expected {FRAME_SAMPLES}")
            contributions[party] = np.rint(np.asarray(frame, dtype=np.float64) * db_to_gain(gain_db)).astype(np.int32)
        total = np.zeros(FRAME_SAMPLES, dtype=np.int32)
        for c in contributions.values():
            total += c
        heard = {}
        for party in self._gains_db:
            own = contributions.get(party)
            heard[party] = saturate(total - own if own is not None else total)
        return heard
