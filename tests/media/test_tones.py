"""Italian tone plan: frequency, level and cadence measured on the generated audio."""

import numpy as np
import pytest

from centralino.media import tones
from centralino.media.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, join_frames
from centralino.media.levels import power_dbm0


def on_off_runs_ms(samples):
    """Cadence as measured: (sounding, length in ms) runs, judged one millisecond at a time."""
    ms_blocks = np.abs(samples[: len(samples) // 8 * 8].astype(np.int32)).reshape(-1, 8).max(axis=1)
    on = ms_blocks > 1000
    runs = []
    for state in on.tolist():
        if runs and runs[-1][0] == state:
            runs[-1][1] += 1
        else:
            runs.append([state, 1])
    return [(s, ms) for s, ms in runs]


@pytest.mark.parametrize("name, cadence", [
    ("dial", [200, 200, 600, 1000]),
    ("ringback", [1000, 4000]),
    ("busy", [500, 500]),
    ("congestion", [200, 200]),
    ("callwaiting", [400, 100, 250, 100, 150, 14000]),
])
def test_italian_cadences_as_in_the_reference(name, cadence):
    tone = tones.ITALY[name]
    assert tone.frequencies_hz == (425.0,)
    sig = tones.render(tone, 2 * sum(cadence) / 1000)
    runs = on_off_runs_ms(sig)
    expected = [(i % 2 == 0, ms) for i, ms in enumerate(cadence)] * 2
    assert [(s, ms) for s, ms in runs] == expected


def test_busy_tone_is_425_hz_at_minus_10_dbm0():
    sig = tones.render(tones.lookup("it:busy"), 0.5)  # first burst only
    spec = np.abs(np.fft.rfft(sig * np.hanning(len(sig))))
    assert np.fft.rfftfreq(len(sig), 1 / SAMPLE_RATE_HZ)[np.argmax(spec)] == pytest.approx(425, abs=2)
    assert power_dbm0(sig) == pytest.approx(-10.0, abs=0.05)


def test_streaming_frames_equal_one_shot_rendering():
    tone = tones.ITALY["dial"]
    gen = tones.ToneGenerator(tone)
    frames = [gen.frame() for _ in range(150)]
    assert all(len(f) == FRAME_SAMPLES for f in frames)
    assert np.array_equal(join_frames(frames), tones.render(tone, 3.0))


def test_one_shot_tone_finishes_with_silence():
    beep = tones.Tone("beep", (1000.0,), -12.0, (100, 100), repeat=False)
    gen = tones.ToneGenerator(beep)
    first = gen.samples(1600)
    assert gen.finished and np.any(first[:800]) and not np.any(first[800:])
    assert not np.any(gen.samples(800))


def test_lookup_errors_name_what_exists():
    with pytest.raises(KeyError, match="no tone 'bussy'.*busy"):
        tones.lookup("it:bussy")
    with pytest.raises(KeyError, match="no tone plan for country 'fr'"):
        tones.lookup("fr:busy")


@pytest.mark.parametrize("kwargs, message", [
    (dict(frequencies_hz=()), "at least one frequency"),
    (dict(frequencies_hz=(5000.0,)), "outside"),
    (dict(frequencies_hz=(425.0,), cadence_ms=(100,)), "on/off pairs"),
    (dict(frequencies_hz=(425.0,), cadence_ms=(100, -5)), "positive"),
])
def test_bad_tone_definitions_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tones.Tone("x", **kwargs)
