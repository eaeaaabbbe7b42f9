"""Talk-off: no key from Italian speech or music.

The corpus (tests/signals/talkoff.py) is over 10 minutes of Italian speech synthesised with
espeak-ng in 15 voices at several speeds and pitches, plus 150 s of synthesised music with real
harmonics. It is built once and cached under .cache/talkoff.
"""

import shutil

import numpy as np
import pytest

from centralino.media import dtmf
from tests.signals import talkoff

needs_tts = pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                               reason="espeak-ng and sox are installed by `make test`")


@needs_tts
def test_no_key_from_ten_minutes_of_italian_speech():
    clips = talkoff.build_speech(talkoff.corpus_cache_dir())
    assert sum(len(x) for _, x in clips) / 8000 >= 600
    false_keys = [(label, str(e)) for label, x in clips for e in dtmf.detect(x)]
    assert false_keys == []


def test_no_key_from_music():
    pieces = talkoff.build_music()
    assert sum(len(x) for _, x in pieces) / 8000 >= 120
    false_keys = [(label, str(e)) for label, x in pieces for e in dtmf.detect(x)]
    assert false_keys == []


def test_a_note_with_its_octave_harmonic_is_not_key_c():
    """G#5 (830.6 Hz, 2.5% under the 852 Hz row) and its 2nd harmonic near the 1633 Hz column."""
    from centralino.media.tones import sine
    note = sine(830.6 * 1.004, 0.5, -12) + sine(2 * 830.6 * 1.004, 0.5, -15)
    assert dtmf.detect_digits(note) == ""


@needs_tts
def test_keys_mixed_into_speech_are_still_heard():
    """The guard against talk-off must not deafen the detector: keys over speech are detected."""
    clips = talkoff.build_speech(talkoff.corpus_cache_dir())
    speech = np.concatenate([x for _, x in clips[:3]]).astype(float)[: 8000 * 20]
    keys = "0123456789*#"
    signal = speech * 10 ** (-20 / 20)  # speech 20 dB under the keys, as in barge-in over a quiet talker
    for i, d in enumerate(keys):
        at = 8000 + i * 12000
        signal[at: at + 800] += dtmf.tone_pair(d, 100)
    assert dtmf.detect_digits(signal) == keys
