"""Recognising which prompts a simulated caller heard, from the audio their phone received.

A prompt is found where the received signal matches the prompt's recording: the normalised
cross-correlation of the two (computed with FFTs) peaks near 1 there, whatever the gain of the
line, and stays low elsewhere, since two different spoken words do not line up sample by sample.
Tests use it to hear what the caller heard ("Premere 1 per l'Ufficio Anagrafe", "Ci sono 2
persone in attesa prima di Lei") rather than trusting what the switchboard says it played.
"""

from __future__ import annotations

import numpy as np

from centralino.media.frames import SAMPLE_RATE_HZ

MATCH = 0.75  # normalised correlation above which the prompt is taken as heard


def _correlate(signal: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of ``template`` at every offset into ``signal``."""
    n, m = len(signal), len(template)
    size = 1 << (n + m - 1).bit_length()
    spectrum = np.fft.rfft(signal, size) * np.conj(np.fft.rfft(template, size))
    raw = np.fft.irfft(spectrum, size)[:n - m + 1]
    energy = np.concatenate([[0.0], np.cumsum(signal.astype(np.float64) ** 2)])
    window = np.sqrt(np.maximum(energy[m:] - energy[:-m], 1e-9))
    return raw / (window * np.sqrt(float(np.sum(template.astype(np.float64) ** 2))) + 1e-9)


def find(heard: np.ndarray, template: np.ndarray, threshold: float = MATCH) -> list[float]:
    """Start times (s) where ``template`` was heard in ``heard``."""
    heard = np.asarray(heard, dtype=np.float64)
    template = np.asarray(template, dtype=np.float64)
    if len(template) == 0 or len(heard) < len(template):
        return []
    score = _correlate(heard, template)
    hits: list[float] = []
    above = np.flatnonzero(score >= threshold)
    last = -len(template)
    for index in above:
        if index - last >= len(template):  # one hit per occurrence
            best = index + int(np.argmax(score[index:index + len(template) // 2 + 1]))
            hits.append(best / SAMPLE_RATE_HZ)
            last = index
    return hits


class PromptEars:
    """Which prompts of a ``PhraseLibrary`` a party heard, and when."""

    def __init__(self, library):
        self.library = library

    def times(self, heard: np.ndarray, key: str) -> list[float]:
        return find(heard, self.library.samples(key))

    def heard(self, heard: np.ndarray, key: str) -> bool:
        return bool(self.times(heard, key))

    def count(self, heard: np.ndarray, key: str) -> int:
        return len(self.times(heard, key))

    def sequence(self, heard: np.ndarray, keys: list[str]) -> bool:
        """Every key was heard, each after the one before (a phrase: "premere", "n1", "per", ...)."""
        at = -1.0
        for key in keys:
            later = [t for t in self.times(heard, key) if t > at]
            if not later:
                return False
            at = later[0]
        return True

    def phrase_keys(self, words: list[str]) -> list[str]:
        return self.library.keys_for(words)
