"""What a party of the simulated world hears now: an Italian call-progress tone, a voice, or silence.

``centralino sim phone EXT hears`` answers from the frames the phone received, and so do the demo
and the tests that drive the world from outside. The cadences are the published Italian plan
(reference/hardware.md, Asterisk's indications ``[it]``), written here rather than taken from
centralino's tone generator or progress detector, so that a wrong tone from the switchboard shows
as a wrong answer instead of agreeing with itself.

Each 20 ms frame is labelled: silence, the 425 Hz tone, one of the world's voices (every phone
and remote party speaks its own test frequency, ``voices.py``), or other sound (speech, a prompt,
digits). When most of the last second is voice or other sound, the answer is ``voice`` (with
whose, when one known voice dominates). Otherwise the 425 Hz on/off runs since the last sound are
matched against each cadence; a tone that fits none is ``tone``; nothing at all is ``silence``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from centralino.media.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ
from centralino.media.levels import DBM0_RMS

TONE_HZ = 425.0
FRAME_MS = 1000 * FRAME_SAMPLES // SAMPLE_RATE_HZ
# on, off, on, off... ms, repeating [V Asterisk indications.conf [it]]
CADENCES_MS = {
    "dial_tone": (200, 200, 600, 1000),
    "congestion": (200, 200),
    "busy": (500, 500),
    "ringback": (1000, 4000),
}
# complete runs needed before a cadence is named: enough that no other cadence fits them too
RUNS_NEEDED = {"dial_tone": 3, "congestion": 4, "busy": 2, "ringback": 1}
RINGBACK_OFF_SEEN_MS = 1500  # ...and for ringback, this much of its long pause
KINDS = ("dial_tone", "ringback", "busy", "congestion", "voice", "silence", "tone")
WINDOW_S = 8.0  # a ringback period (5 s) and a half, so one whole on and off always fit
RECENT_S = 1.0  # voice in most of this last stretch is what is heard now
VOICE_SHARE_OF_RECENT = 0.4
SILENCE_DBM0 = -45.0
TONE_PURITY = 0.6  # share of a frame's energy at 425 Hz
VOICE_PURITY = 0.5  # share of a frame's energy at one voice's frequency
TOLERANCE = 0.15  # relative, per run
TOLERANCE_MIN_MS = 50.0  # runs are counted in whole frames, with one frame lost or gained per edge


@dataclass(frozen=True)
class Heard:
    kind: str  # one of KINDS
    who: str | None = None  # whose voice, when one known voice dominates
    detail: str = ""  # for a tone that is no standard one: the on/off pattern seen

    def __str__(self) -> str:
        text = self.kind
        if self.who:
            text += f" of {self.who}"
        if self.detail:
            text += f" ({self.detail})"
        return text


@lru_cache(maxsize=32)
def _kernels(freqs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Cosine and sine of each frequency over one frame (a DFT at just those frequencies)."""
    phase = 2 * math.pi * np.outer(np.arange(FRAME_SAMPLES), freqs) / SAMPLE_RATE_HZ
    return np.cos(phase), np.sin(phase)


def _labels(frames: np.ndarray, voice_hz: list[float]) -> list[str]:
    """One label per frame: "S" silence, "T" 425 Hz, "V<i>" voice i, "O" other sound."""
    x = frames.astype(np.float64)
    energy = np.einsum("ij,ij->i", x, x)
    cos, sin = _kernels((TONE_HZ, *voice_hz))
    power = ((x @ cos) ** 2 + (x @ sin) ** 2) * 2.0 / FRAME_SAMPLES
    share = power / np.maximum(energy, 1e-9)[:, None]
    level = 10 * np.log10(np.maximum(energy / FRAME_SAMPLES, 1e-12) / DBM0_RMS ** 2)
    labels = np.full(len(x), "O", dtype=object)
    if voice_hz:
        best = share[:, 1:].argmax(axis=1)
        is_voice = share[np.arange(len(x)), best + 1] >= VOICE_PURITY
        labels[is_voice] = np.char.add("V", best[is_voice].astype(str)).astype(object)
    labels[share[:, 0] >= TONE_PURITY] = "T"
    labels[level < SILENCE_DBM0] = "S"
    return labels.tolist()


def _runs(labels: list[str]) -> list[list]:
    """[[tone_on, ms], ...] of the 425 Hz tone against everything else."""
    runs: list[list] = []
    for label in labels:
        on = label == "T"
        if runs and runs[-1][0] == on:
            runs[-1][1] += FRAME_MS
        else:
            runs.append([on, FRAME_MS])
    return runs


def _tolerance(expected: float) -> float:
    return max(TOLERANCE_MIN_MS, TOLERANCE * expected)


def _matches(runs: list[list], first_partial: bool, pattern: tuple[int, ...]) -> int | None:
    """How many complete runs follow ``pattern`` (None if any run contradicts it). Partial runs
    (the one the window cut, the one still going on) only must not be longer than expected."""
    for shift in range(0, len(pattern), 2):  # tone-on runs face the pattern's on times
        offset = shift if runs[0][0] else shift + 1
        complete = 0
        for j, (_, ms) in enumerate(runs):
            expected = pattern[(offset + j) % len(pattern)]
            if (j == 0 and first_partial) or j == len(runs) - 1:
                if ms > expected + _tolerance(expected):
                    break
            elif abs(ms - expected) <= _tolerance(expected):
                complete += 1
            else:
                break
        else:
            return complete
    return None


def _cadence(runs: list[list], first_complete: bool) -> tuple[str | None, str]:
    """The cadence the last runs follow, and the pattern seen (for a tone that is none of them)."""
    seen = "/".join(f"{ms:.0f}" for _, ms in runs[-7:-1])
    for name, pattern in CADENCES_MS.items():
        need = RUNS_NEEDED[name]
        # the longest stretch of last runs that follows the pattern, from a whole period down to
        # just enough runs (what came before it may be another tone or the pause between two)
        for keep in range(max(need, len(pattern)) + 1, need, -1):
            tail = runs[-keep:]
            complete = _matches(tail, first_partial=len(runs) <= keep and not first_complete, pattern=pattern)
            if complete is None or complete < need:
                continue
            if name == "ringback" and not any(not on and ms >= RINGBACK_OFF_SEEN_MS for on, ms in tail):
                continue  # one 1 s burst alone is not yet ringback
            return name, seen
    return None, seen


def classify(frames: list[tuple[float, np.ndarray]], voices: list[tuple[float, str]],
             now_s: float, since_s: float | None = None, window_s: float = WINDOW_S) -> Heard:
    """What the frames (``(time_s, frame)``, oldest first) say is heard at ``now_s``.

    ``voices`` are (frequency, name) of the world's speakers; ``since_s`` is where the listening
    started (a phone lifted), so frames before it are not this call's."""
    start = now_s - window_s
    window_cut = True
    if since_s is not None and since_s >= start:
        start, window_cut = since_s, False
    recent = [(t, f) for t, f in frames if t >= start]
    if not recent:
        return Heard("silence")
    labels = _labels(np.stack([f for _, f in recent]), [hz for hz, _ in voices])
    tail = labels[-int(RECENT_S * 1000 / FRAME_MS):]
    sound = [label for label in tail if label[0] in "VO"]
    if len(sound) >= VOICE_SHARE_OF_RECENT * len(tail):
        speakers = Counter(label for label in sound if label[0] == "V")
        who = None
        if speakers:
            label, count = speakers.most_common(1)[0]
            if count >= 0.5 * len(sound):
                who = voices[int(label[1:])][1]
        return Heard("voice", who)
    last_sound = max((i for i, label in enumerate(labels) if label[0] in "VO"), default=None)
    if last_sound is not None:
        labels, window_cut = labels[last_sound + 1:], False
    if "T" not in labels:
        return Heard("silence")
    runs = _runs(labels)
    if len(runs) == 1:
        return Heard("tone", detail=f"{TONE_HZ:.0f} Hz steady for {runs[0][1]:.0f} ms")
    name, seen = _cadence(runs, first_complete=not window_cut)
    if name is not None:
        return Heard(name)
    return Heard("tone", detail=f"{TONE_HZ:.0f} Hz, {seen} ms")
