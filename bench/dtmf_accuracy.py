"""DTMF detection accuracy on the generated test sets, and where the detector's limits really lie.

Prints: pass rates on the Q.24 acceptance / rejection / timing sets and random dialling sequences;
false keys on the talk-off corpus (30 min of espeak-ng Italian speech when available, and music
from several seeds); and the measured boundaries (frequency error, duration, twist, level, S/N)
found by sweeping each condition for every key.
"""

from _common import report  # first: it puts firmware/ on the import path
import shutil

import numpy as np

from centralino.media import dtmf
from tests.signals import dtmf_sets, talkoff


def rate(cases) -> float:
    return round(sum(dtmf.detect_digits(c.samples) == c.expected for c in cases) / len(cases), 4)


def boundary(make, values) -> float | None:
    """The last value (in sweep order) at which every key is still detected."""
    last = None
    for v in values:
        if all(dtmf.detect_digits(make(d, v)) == d for d in dtmf.DIGITS):
            last = v
        else:
            break
    return last


def main() -> None:
    rng = np.random.default_rng(5)
    fig = {
        "acceptance_pass_rate": rate(dtmf_sets.acceptance_cases()),
        "rejection_pass_rate": rate(dtmf_sets.rejection_cases()),
        "timing_pass_rate": rate(dtmf_sets.timing_cases()),
        "sequences_pass_rate": rate(dtmf_sets.dialled_sequences(count=200)),
    }
    if shutil.which("espeak-ng") and shutil.which("sox"):
        speech = talkoff.build_speech(talkoff.corpus_cache_dir(), min_seconds=1800)
        fig["talkoff_speech_seconds"] = round(sum(len(x) for _, x in speech) / 8000)
        fig["talkoff_speech_false_keys"] = sum(len(dtmf.detect(x)) for _, x in speech)
    music = [p for seed in (1, 2, 3, 4) for p in talkoff.build_music(seed=seed)]
    fig["talkoff_music_seconds"] = round(sum(len(x) for _, x in music) / 8000)
    fig["talkoff_music_false_keys"] = sum(len(dtmf.detect(x)) for _, x in music)

    pct = [i / 1000 for i in range(0, 61)]
    fig["freq_error_all_keys_up_to_pct"] = 100 * boundary(
        lambda d, e: dtmf_sets.key_in_silence(d, low_error=e, high_error=e), pct)
    fig["freq_error_all_keys_down_to_pct"] = -100 * boundary(
        lambda d, e: dtmf_sets.key_in_silence(d, low_error=-e, high_error=-e), pct)
    fig["shortest_key_all_detected_ms"] = boundary(
        lambda d, ms: dtmf_sets.key_in_silence(d, on_ms=ms, lead_ms=41.125), range(60, 10, -1))
    fig["normal_twist_all_detected_db"] = boundary(
        lambda d, t: dtmf_sets.key_in_silence(d, low_dbm0=-6, high_dbm0=-6 - t), np.arange(0, 15, 0.5))
    fig["reverse_twist_all_detected_db"] = boundary(
        lambda d, t: dtmf_sets.key_in_silence(d, low_dbm0=-10 - t, high_dbm0=-10), np.arange(0, 10, 0.5))
    fig["lowest_level_all_detected_dbm0"] = boundary(
        lambda d, lv: dtmf_sets.key_in_silence(d, low_dbm0=lv, high_dbm0=lv), range(0, -50, -1))

    def noisy(d, snr):
        clean = dtmf_sets.key_in_silence(d, low_dbm0=-20, high_dbm0=-20)
        return clean + dtmf_sets.noise_for(clean, snr, rng)
    fig["lowest_snr_all_detected_db"] = boundary(noisy, np.arange(30, 0, -0.5))
    report("dtmf_accuracy", **{k: (round(float(v), 3) if isinstance(v, (float, np.floating)) else v) for k, v in fig.items()})


if __name__ == "__main__":
    main()
