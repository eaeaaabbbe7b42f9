"""DTMF generation (Q.23) and detection against the Q.24 acceptance limits."""

import numpy as np
import pytest

from centralino.media import dtmf
from centralino.media.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, split_frames
from centralino.media.levels import power_dbm0
from tests.signals import dtmf_sets


def spectrum_peaks(samples, count=2):
    spec = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE_HZ)
    peaks = []
    for _ in range(count):
        i = int(np.argmax(spec))
        peaks.append(freqs[i])
        spec[max(0, i - 20): i + 20] = 0
    return sorted(peaks)


@pytest.mark.parametrize("digit", list(dtmf.DIGITS))
def test_generated_key_has_the_q23_frequencies_and_levels(digit):
    sig = dtmf.tone_pair(digit, 1000, low_dbm0=-10, high_dbm0=-8)
    row, col = dtmf.key_frequencies(digit)
    low, high = spectrum_peaks(sig)
    assert abs(low - row) < 2 and abs(high - col) < 2
    # the two tones' powers add: -10 dBm0 + -8 dBm0 = -5.88 dBm0
    assert power_dbm0(sig) == pytest.approx(10 * np.log10(10 ** -1 + 10 ** -0.8), abs=0.05)


def test_generate_timing_and_unknown_key():
    sig = dtmf.generate("12", on_ms=70, off_ms=30)
    assert len(sig) == 2 * 100 * 8
    assert np.all(sig[70 * 8: 100 * 8] == 0) and np.any(sig[:70 * 8] != 0)
    with pytest.raises(ValueError, match="'E' is not a DTMF key"):
        dtmf.generate("1E")


@pytest.mark.parametrize("case", dtmf_sets.acceptance_cases(), ids=lambda c: c.name)
def test_detects_within_q24_limits(case):
    assert dtmf.detect_digits(case.samples) == case.expected


@pytest.mark.parametrize("case", dtmf_sets.rejection_cases(), ids=lambda c: c.name)
def test_rejects_outside_q24_limits(case):
    assert dtmf.detect_digits(case.samples) == ""


@pytest.mark.parametrize("case", dtmf_sets.timing_cases(), ids=lambda c: c.name)
def test_pauses_separate_and_dropouts_bridge(case):
    assert dtmf.detect_digits(case.samples) == case.expected


def test_dialled_sequences_with_noise_and_random_timing():
    wrong = [(c.name, dtmf.detect_digits(c.samples)) for c in dtmf_sets.dialled_sequences()
             if dtmf.detect_digits(c.samples) != c.expected]
    assert wrong == []


def test_events_report_start_and_duration():
    lead_ms, on_ms = 250, 120
    sig = np.concatenate([dtmf_sets.silence_ms(lead_ms), dtmf.tone_pair("7", on_ms), dtmf_sets.silence_ms(200)])
    (event,) = dtmf.detect(sig)
    assert event.digit == "7"
    assert abs(event.start_s - lead_ms / 1000) <= 0.010
    assert abs(event.duration_s - on_ms / 1000) <= 0.020


def test_streaming_frames_equal_whole_signal_and_odd_chunks():
    sig = dtmf_sets.as_int16(dtmf_sets.dialled_sequences(seed=5, count=1)[0].samples)
    whole = dtmf.detect(sig)
    det = dtmf.DtmfDetector()
    framed = [e for f in split_frames(sig) for e in det.feed(f)] + det.flush()
    det2 = dtmf.DtmfDetector()
    rng = np.random.default_rng(1)
    chunks, pos = [], 0
    while pos < len(sig):
        n = int(rng.integers(1, 500))
        chunks.append(sig[pos: pos + n])
        pos += n
    odd = [e for c in chunks for e in det2.feed(c)] + det2.flush()
    assert [e.digit for e in whole] == [e.digit for e in framed] == [e.digit for e in odd]
    assert [e.start_s for e in whole] == [e.start_s for e in odd]


def test_pressed_reports_a_held_key_before_release():
    det = dtmf.DtmfDetector()
    tone = dtmf_sets.as_int16(dtmf.tone_pair("5", 400))
    seen = []
    for f in split_frames(tone):
        assert det.feed(f) == []
        seen.append(det.pressed)
    assert "5" in seen[:4]  # confirmed within the first 80 ms, while still held
    assert [e.digit for e in det.feed(np.zeros(FRAME_SAMPLES * 5, np.int16))] == ["5"]
    assert det.pressed is None


def test_continuous_tone_and_silence_give_nothing():
    from centralino.media import tones
    assert dtmf.detect_digits(tones.render(tones.ITALY["dial"], 5.0)) == ""
    assert dtmf.detect_digits(np.zeros(8000, np.int16)) == ""


def test_detector_refuses_other_sample_rates():
    with pytest.raises(ValueError, match="8000 Hz"):
        dtmf.DtmfDetector(sample_rate_hz=16000)


def test_bank_keeps_channels_apart():
    """Keys on one channel never show on another, and each channel's timing is its own."""
    plan = {0: "123", 1: "", 2: "#0", 3: "9D"}
    signals = {}
    for ch, keys in plan.items():
        lead = dtmf_sets.silence_ms(30 + 70 * ch)
        body = dtmf.generate(keys, on_ms=60, off_ms=70).astype(float) if keys else np.zeros(0)
        signals[ch] = np.concatenate([lead, body])
    length = max(len(s) for s in signals.values()) + 4000
    length += -length % FRAME_SAMPLES
    stack = np.zeros((len(plan), length))
    for ch, s in signals.items():
        stack[ch, :len(s)] = s
    stack[1] += np.random.default_rng(2).normal(0, 500, length)  # a noisy, keyless line
    bank = dtmf.DtmfBank(len(plan))
    events = []
    for i in range(0, length, FRAME_SAMPLES):
        events += bank.feed(stack[:, i: i + FRAME_SAMPLES])
    events += bank.flush()
    for ch, keys in plan.items():
        got = [e for c, e in events if c == ch]
        assert "".join(e.digit for e in got) == keys
        if keys:
            assert abs(got[0].start_s - (30 + 70 * ch) / 1000) <= 0.010
    with pytest.raises(ValueError, match=r"takes \(4, k\*80\)"):
        bank.feed(np.zeros((3, FRAME_SAMPLES)))
