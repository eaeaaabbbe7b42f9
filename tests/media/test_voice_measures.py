"""The voice measures on signals whose answer is known: tones, silences, a clipped burst."""

import numpy as np

from centralino.media import voice_measures as measures
from centralino.media.levels import sine_peak


def tone(hz: float, seconds: float, dbm0: float = -16.0) -> np.ndarray:
    t = np.arange(round(seconds * 8000)) / 8000
    return np.clip(np.rint(sine_peak(dbm0) * np.sin(2 * np.pi * hz * t)), -32768, 32767).astype(np.int16)


def silence(seconds: float, level: int = 0) -> np.ndarray:
    return np.full(round(seconds * 8000), level, dtype=np.int16)


def test_pauses_inside_are_counted_and_the_ends_are_not():
    audio = np.concatenate([silence(0.5), tone(1000, 0.3), silence(0.2), tone(1000, 0.3), silence(0.1),
                            tone(1000, 0.3), silence(0.4)])
    assert measures.inner_pauses_s(audio) == [0.2, 0.1]
    assert measures.longest_inner_gap_s(audio) == 0.2
    assert measures.long_pauses(audio) == 1
    assert measures.long_pauses(np.concatenate([tone(1000, 0.3), silence(0.15), tone(1000, 0.3)])) == 0
    assert measures.longest_inner_gap_s(silence(1.0)) == 0.0
    # a background at -40 dBm0 is not a pause: it is above the -45 dBm0 threshold
    hiss = tone(2000, 0.2, dbm0=-40.0)
    assert measures.inner_pauses_s(np.concatenate([tone(1000, 0.3), hiss, tone(1000, 0.3)])) == []


def test_level_ignores_the_pauses_clipping_and_pace():
    audio = np.concatenate([tone(1020, 1.0, -16.0), silence(1.0)])  # not 1000 Hz: its samples hit 0
    assert abs(measures.speech_level_dbm0(audio) - -16.0) < 0.5
    assert measures.clipped_samples(audio) == 0
    assert measures.clipped_samples(tone(1000, 0.1, 6.0)) > 100
    assert measures.duration_s(audio) == 2.0
    assert measures.chars_per_second("Premere 1.", audio) == 5.0
    assert measures.words_per_second("Premere 1 per l'Ufficio.", audio) == 2.5


def test_out_of_band_energy_tells_a_telephone_band_tone_from_a_hum():
    assert measures.out_of_band_db(tone(1000, 1.0)) < -40
    assert measures.out_of_band_db(tone(100, 1.0)) > -1
    assert measures.out_of_band_db(tone(3800, 1.0)) > -1
    mixed = tone(1000, 1.0) + tone(100, 1.0)  # equal power inside and outside: half of it, -3 dB
    assert abs(measures.out_of_band_db(mixed) - -3.0) < 0.2
    assert measures.out_of_band_db(mixed, (300, 4000)) > -3.2  # below 300 Hz only
    assert measures.out_of_band_db(mixed, (0, 3400)) < -40     # above 3400 Hz only
