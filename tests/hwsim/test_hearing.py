"""What a simulated party hears: the Italian tones by their cadence, whose voice, and silence.

The tones come from centralino's generator and are named by hw-sim's own reading of the plan;
the checks include what must NOT be said (busy for congestion, a standard tone for the hold pips).
"""

from __future__ import annotations

import numpy as np
import pytest

from centralino.hwsim.hearing import classify
from centralino.hwsim.voices import Voice
from centralino.media import tones
from centralino.media.frames import FRAME_SAMPLES

VOICES = [(250.0, "200"), (325.0, "201"), (500.0, "202")]


def frames(signal: np.ndarray, t0: float = 0.0) -> list[tuple[float, np.ndarray]]:
    n = len(signal) // FRAME_SAMPLES
    return [(t0 + i * 0.02, signal[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES]) for i in range(n)]


def voice(hz: float, seconds: float) -> np.ndarray:
    v = Voice(hz)
    return np.concatenate([v.frame() for _ in range(int(seconds / 0.02))])


@pytest.mark.parametrize("tone,kind,after_s", [
    ("dial", "dial_tone", 1.3), ("busy", "busy", 1.6), ("congestion", "congestion", 1.1),
    ("ringback", "ringback", 2.6),
])
def test_each_tone_is_named_once_enough_of_its_cadence_was_heard(tone, kind, after_s):
    for seconds in (after_s, after_s + 2.0, 11.0):
        heard = classify(frames(tones.render(tones.ITALY[tone], seconds)), VOICES, seconds, since_s=0.0)
        assert heard.kind == kind, (seconds, str(heard))
    cut = frames(tones.render(tones.ITALY[tone], 12.0))[37:]  # a window that starts mid-cadence
    assert classify(cut, VOICES, 12.0).kind == kind


@pytest.mark.parametrize("tone", ["hold", "callwaiting", "record"])
def test_other_tones_are_never_taken_for_a_standard_one(tone):
    for seconds in np.arange(0.5, 12.0, 0.5):
        heard = classify(frames(tones.render(tones.ITALY[tone], seconds)), VOICES, seconds, since_s=0.0)
        assert heard.kind not in ("dial_tone", "busy", "congestion", "ringback"), (seconds, str(heard))


def test_a_short_burst_of_ringback_is_not_yet_ringback():
    heard = classify(frames(tones.render(tones.ITALY["ringback"], 1.2)), VOICES, 1.2, since_s=0.0)
    assert heard.kind == "tone"


def test_whose_voice_is_heard_and_what_comes_after_it():
    talk = voice(325, 3.0)
    heard = classify(frames(talk), VOICES, 3.0)
    assert (heard.kind, heard.who) == ("voice", "201")
    assert str(heard) == "voice of 201"
    # the other party hangs up: busy tone from then on
    after = np.concatenate([talk, tones.render(tones.ITALY["busy"], 2.5)])
    assert classify(frames(after), VOICES, 5.5).kind == "busy"
    # speech nobody of the world speaks (a prompt): a voice without a name
    rng = np.random.default_rng(1)
    noise = (rng.normal(0, 3000, 8000)).astype(np.int16)
    assert classify(frames(noise), VOICES, 1.0) == classify(frames(noise), [], 1.0)
    assert classify(frames(noise), VOICES, 1.0).who is None


def test_silence_and_old_sounds():
    quiet = np.zeros(8000, dtype=np.int16)
    assert classify(frames(quiet), VOICES, 1.0).kind == "silence"
    assert classify([], VOICES, 1.0).kind == "silence"
    old = frames(voice(250, 2.0))  # heard 20 s ago: not what is heard now
    assert classify(old, VOICES, 22.0).kind == "silence"
    # a phone lifted after that call: what came before the lift is not heard in this one
    assert classify(old + frames(quiet, t0=2.0), VOICES, 3.0, since_s=2.0).kind == "silence"
