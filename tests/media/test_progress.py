"""Call-progress tone recognition (busy, congestion, ringback, dial) on line-like audio."""

import numpy as np
import pytest

from centralino.media import progress, tones
from centralino.media.frames import SAMPLE_RATE_HZ
from tests.signals.dtmf_sets import noise_for


def line(samples, loss_db=10.0, snr_db=20.0, seed=0):
    x = samples.astype(float) * 10 ** (-loss_db / 20)
    return x + noise_for(x, snr_db, np.random.default_rng(seed))


@pytest.mark.parametrize("name, within_s", [("busy", 3.0), ("congestion", 1.5), ("dial", 5.0), ("ringback", 12.0)])
def test_each_italian_tone_is_named(name, within_s):
    sig = np.concatenate([np.zeros(1234), tones.render(tones.ITALY[name], within_s + 1)])
    events = progress.recognise(line(sig))
    assert [e.tone for e in events] == [name]
    assert events[0].at_s <= within_s + 1234 / SAMPLE_RATE_HZ


def test_speech_like_noise_and_a_continuous_tone_are_not_busy():
    rng = np.random.default_rng(4)
    assert progress.recognise(rng.normal(0, 3000, 10 * SAMPLE_RATE_HZ)) == []
    assert progress.recognise(tones.sine(425, 10, -10)) == []


def test_busy_at_a_wrong_cadence_is_not_busy():
    wrong = tones.Tone("wrong", (425.0,), -10.0, (250, 750))
    assert progress.recognise(tones.render(wrong, 6)) == []
