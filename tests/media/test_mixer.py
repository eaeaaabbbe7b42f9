"""Mixer and conference: who hears whom, saturation, gain."""

import numpy as np
import pytest

from centralino.media import mixer, tones
from centralino.media.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ
from centralino.media.levels import power_dbm0


def voice(freq_hz, level_dbm0=-15.0):
    return tones.sine(freq_hz, FRAME_SAMPLES / SAMPLE_RATE_HZ, level_dbm0).round().astype(np.int16)


def tone_power(frame, freq_hz):
    n = np.arange(len(frame))
    return abs(np.dot(frame.astype(float), np.exp(-2j * np.pi * freq_hz * n / SAMPLE_RATE_HZ))) / len(frame)


def test_each_party_hears_the_others_and_not_itself():
    conf = mixer.Conference()
    freqs = {"anna": 400.0, "bruno": 1000.0, "carla": 1600.0, "dario": 2400.0}
    for name in freqs:
        conf.add(name)
    heard = conf.mix({name: voice(f) for name, f in freqs.items()})
    for listener, frame in heard.items():
        for speaker, f in freqs.items():
            present = tone_power(frame, f) > 1000
            assert present == (speaker != listener), (listener, speaker)


def test_saturation_clips_instead_of_wrapping():
    loud = np.full(FRAME_SAMPLES, 30000, np.int16)
    out = mixer.mix([loud, loud, loud])
    assert np.all(out == 32767)
    assert np.all(mixer.mix([-loud, -loud]) == -32768)
    conf = mixer.Conference()
    for p in "abc":
        conf.add(p)
    heard = conf.mix({"a": loud, "b": loud, "c": loud})
    assert np.all(heard["a"] == 32767)


def test_gain_in_db():
    frame = voice(1000.0, -20.0)
    assert power_dbm0(mixer.apply_gain(frame, 6.0)) == pytest.approx(-14.0, abs=0.1)
    assert power_dbm0(mixer.apply_gain(frame, -10.0)) == pytest.approx(-30.0, abs=0.1)
    assert np.array_equal(mixer.apply_gain(frame, 0.0), frame)
    conf = mixer.Conference()
    conf.add("a", gain_db=-6.0)
    conf.add("b")
    heard = conf.mix({"a": frame})
    assert power_dbm0(heard["b"]) == pytest.approx(-26.0, abs=0.1)
    assert not np.any(heard["a"])


def test_silent_or_missing_parties_and_errors():
    conf = mixer.Conference()
    conf.add("a")
    conf.add("b")
    assert not np.any(conf.mix({})["a"])
    with pytest.raises(KeyError, match="not in the conference"):
        conf.mix({"zeta": voice(400)})
    with pytest.raises(ValueError, match="expected 160"):
        conf.mix({"a": np.zeros(80, np.int16)})
    with pytest.raises(ValueError, match="cannot mix frames of 160 and 80"):
        mixer.mix([np.zeros(160, np.int16), np.zeros(80, np.int16)])
    conf.remove("b")
    assert conf.parties == ["a"]
