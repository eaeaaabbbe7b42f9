"""Listening tests that can be measured on 8 kHz int16 speech: pauses, level, clipping, pace, band.

Shared by the voice tests (tests/flows/test_voice.py) and the voice comparison bench
(bench/voice_compare.py), so a sentence is judged the same way wherever it is measured. A pause
is a run of 10 ms blocks quieter than -45 dBm0 between the first and the last sound; the level is
the power of the samples louder than 300 (about -40 dBm0), so the pauses do not lower it.
"""

from __future__ import annotations

import re

import numpy as np

from .frames import SAMPLE_RATE_HZ
from .levels import power_dbm0

BLOCK = 80                 # 10 ms at 8 kHz
SILENT_DBM0 = -45.0        # a block quieter than this is a pause
ACTIVE_ABOVE = 300         # samples louder than this count for the speech level
CLIP_AT = 32000            # a sample this loud is clipped (or about to be)
BAND_HZ = (300, 3400)      # the telephone band
LONG_PAUSE_S = 0.150       # a pause longer than this breaks a sentence


def inner_pauses_s(audio: np.ndarray, silent_dbm0: float = SILENT_DBM0) -> list[float]:
    """Every pause between the first and last sound, in seconds, in order."""
    blocks = np.asarray(audio, dtype=np.float64)[: len(audio) // BLOCK * BLOCK].reshape(-1, BLOCK)
    quiet = np.array([power_dbm0(b) < silent_dbm0 for b in blocks], dtype=bool)
    loud = np.flatnonzero(~quiet)
    if len(loud) == 0:
        return []
    pauses, run = [], 0
    for q in quiet[loud[0]:loud[-1] + 1]:
        if q:
            run += 1
        elif run:
            pauses.append(run * BLOCK / SAMPLE_RATE_HZ)
            run = 0
    return pauses


def longest_inner_gap_s(audio: np.ndarray, silent_dbm0: float = SILENT_DBM0) -> float:
    """The longest pause inside the sentence (0 when there is none)."""
    return max(inner_pauses_s(audio, silent_dbm0), default=0.0)


def long_pauses(audio: np.ndarray, longer_than_s: float = LONG_PAUSE_S) -> int:
    """How many pauses inside are longer than ``longer_than_s``."""
    return sum(p > longer_than_s + 1e-9 for p in inner_pauses_s(audio))


def speech_level_dbm0(audio: np.ndarray) -> float:
    """The level of the speech itself: the power of the samples louder than ``ACTIVE_ABOVE``."""
    x = np.asarray(audio)
    return power_dbm0(x[np.abs(x) > ACTIVE_ABOVE].astype(np.float64))


def clipped_samples(audio: np.ndarray) -> int:
    return int(np.count_nonzero(np.abs(np.asarray(audio, dtype=np.int32)) >= CLIP_AT))


def duration_s(audio: np.ndarray) -> float:
    return len(audio) / SAMPLE_RATE_HZ


def chars_per_second(text: str, audio: np.ndarray) -> float:
    """Characters of the text a second: 8-22 is a speaking pace, not glued words with pauses."""
    return len(text) / duration_s(audio)


def words_per_second(text: str, audio: np.ndarray) -> float:
    """Words a second ("l'Ufficio" is two, a number one)."""
    return len(re.findall(r"[^\W_]+", text)) / duration_s(audio)


def out_of_band_db(audio: np.ndarray, band_hz: tuple[int, int] = BAND_HZ) -> float:
    """Energy outside ``band_hz`` relative to the total, in dB (-60 is clean, 0 all outside)."""
    x = np.asarray(audio, dtype=np.float64)
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE_HZ)
    outside = power[(freqs < band_hz[0]) | (freqs > band_hz[1])].sum()
    return float(10 * np.log10(outside / power.sum() + 1e-12)) if power.sum() > 0 else -120.0
