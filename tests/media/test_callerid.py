"""ETSI EN 300 659 caller ID: message bytes, V.23 FSK burst, and the decoder's limits.

Signals are built with seeded RNGs, so every run sees the same noise. The burst tests cover what
the FXO port meets on a real line: levels from -6 to -40 dBm0, any sample offset and carrier
phase, noise 20 dB below the FSK, with and without channel seizure.
"""

import datetime as dt

import numpy as np
import pytest

from centralino.media import callerid, g711, levels, v23
from centralino.media.callerid import CallerId, CallerIdError, CallTime

WHEN = CallTime(month=12, day=24, hour=18, minute=30)
FULL = CallerId(number="0612345678", name="Comune di Roma", when=WHEN)


def embed(burst, before=1600, after=1600, snr_db=None, seed=0, fractional_delay=0.0, noise_dbm0=None):
    """``burst`` between stretches of silence, optionally delayed by a fraction of a sample and
    with white noise over the whole signal, ``snr_db`` below the burst power (or at ``noise_dbm0``)."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([np.zeros(before), burst.astype(np.float64), np.zeros(after)])
    if fractional_delay:
        spectrum = np.fft.rfft(x)
        freqs = np.fft.rfftfreq(x.size)
        x = np.fft.irfft(spectrum * np.exp(-2j * np.pi * freqs * fractional_delay), x.size)
    if snr_db is not None:
        noise_dbm0 = levels.power_dbm0(burst) - snr_db
    if noise_dbm0 is not None:
        x = x + rng.normal(0.0, levels.DBM0_RMS * 10 ** (noise_dbm0 / 20), x.size)
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def burst_bits(cid, seizure_bits=300, mark_bits=180, tail_bits=2):
    return [i & 1 for i in range(seizure_bits)] + [1] * mark_bits + \
        v23.frame_bytes_8n1(callerid.encode_message(cid)) + [1] * tail_bits


def peak_hz(samples):
    x = samples.astype(np.float64) * np.hanning(samples.size)
    spectrum = np.abs(np.fft.rfft(x, 1 << 16))
    return float(np.fft.rfftfreq(1 << 16, 1 / 8000)[np.argmax(spectrum)])


# ---------------------------------------------------------------------------------------------
# Message layer


def test_checksum_of_a_hand_computed_message():
    # 0x80 + 0x03 + 0x04 + 0x01 + 0x50 ('P') = 128 + 3 + 4 + 1 + 80 = 216 = 0xD8; 256 - 216 = 40 = 0x28
    assert callerid.encode_message(CallerId(number_absent="P")) == bytes([0x80, 0x03, 0x04, 0x01, 0x50, 0x28])


def test_known_full_message_bytes():
    expected = (b"\x80\x26"
                b"\x01\x08" b"12241830"
                b"\x02\x0a" b"0612345678"
                b"\x07\x0e" b"Comune di Roma"
                b"\x8e")
    message = callerid.encode_message(FULL)
    assert message == expected
    assert len(message) == 2 + 0x26 + 1
    assert sum(message) % 256 == 0
    assert (sum(message[:-1]) + message[-1]) & 0xFF == 0


@pytest.mark.parametrize("cid", [
    FULL,
    CallerId(number="+390612345678", when=WHEN),
    CallerId(number="*31#0612345678", name="A" * 50),
    CallerId(number="1" * 20, name="Rossi Mario", when=CallTime(2, 29, 0, 0)),
    CallerId(number_absent="O", name_absent="O", when=WHEN),
    CallerId(number_absent="P", name_absent="P", when=WHEN),
    CallerId(number_absent="O", name="Centralino"),
    CallerId(number="0612345678", name_absent="P"),
    CallerId(when=WHEN),
    CallerId(number="0612345678", extra={0x11: b"\x01", 0xE0: b"0390010001"}),
    CallerId(message_type=0x82, extra={0x0B: b"\xff"}),
    CallerId(number="0612345678", when=WHEN, message_type=0x04),
    CallerId(number_absent="P", when=WHEN, message_type=0x04),
])
def test_message_round_trip(cid):
    message = callerid.encode_message(cid)
    assert sum(message) % 256 == 0
    assert callerid.decode_message(message) == cid


def test_datetime_is_kept_as_month_day_hour_minute():
    cid = CallerId(number="123", when=dt.datetime(2026, 3, 7, 9, 5, 42))
    assert cid.when == CallTime(3, 7, 9, 5)
    assert b"\x01\x0803070905" in callerid.encode_message(cid)
    assert cid.when.to_datetime(2026) == dt.datetime(2026, 3, 7, 9, 5)


def test_to_dict_is_json_ready():
    import json
    d = CallerId(number="0612345678", when=WHEN, name_absent="P", extra={0x11: b"\x01"}).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["number"] == "0612345678" and d["name"] is None and d["name_absent"] == "P"
    assert d["when"] == "12-24 18:30"
    assert d["extra"] == {"0x11": "01"}


def test_sdmf_decodes():
    body = b"12241830" + b"0612345678"
    head = bytes([0x04, len(body)]) + body
    message = head + bytes([-sum(head) & 0xFF])
    assert callerid.decode_message(message) == CallerId(number="0612345678", when=WHEN, message_type=0x04)


def test_unknown_parameters_are_skipped_not_fatal():
    body = b"\x11\x01\x01" + b"\x02\x03123" + b"\x99\x00"
    head = bytes([0x80, len(body)]) + body
    cid = callerid.decode_message(head + bytes([callerid.checksum(head)]))
    assert cid.number == "123"
    assert cid.extra == {0x11: b"\x01", 0x99: b""}


def reason_of(data):
    with pytest.raises(CallerIdError) as info:
        callerid.decode_message(data)
    assert isinstance(info.value, ValueError)
    return info.value.reason, str(info.value)


def with_checksum(head):
    return bytes(head) + bytes([-sum(head) & 0xFF])


def test_bad_checksum_is_rejected_with_both_values():
    message = bytearray(callerid.encode_message(FULL))
    message[-1] ^= 0x01
    reason, text = reason_of(bytes(message))
    assert reason == "bad_checksum"
    assert "expected 0x8E" in text and "found 0x8F" in text


def test_corrupted_payload_is_rejected():
    message = bytearray(callerid.encode_message(FULL))
    message[20] ^= 0x04  # a digit of the number
    assert reason_of(bytes(message))[0] == "bad_checksum"


@pytest.mark.parametrize("cut", [1, 2, 3, 10, 40])
def test_truncated_message_is_rejected(cut):
    message = callerid.encode_message(FULL)
    reason, text = reason_of(message[:cut])
    assert reason == "truncated"
    assert "truncated" in text


def test_truncated_message_says_how_much_is_missing():
    reason, text = reason_of(callerid.encode_message(FULL)[:20])
    assert "38 bytes of parameters" in text and "41 in all" in text and "only 20" in text


def test_empty_message_is_rejected():
    assert reason_of(b"")[0] == "truncated"


def test_parameter_overrunning_the_message_is_rejected():
    reason, text = reason_of(with_checksum(b"\x80\x05\x02\x09123"))
    assert reason == "overrun"
    assert "calling number" in text and "9 bytes" in text


def test_parameter_header_cut_by_the_checksum_is_rejected():
    assert reason_of(with_checksum(b"\x80\x04\x02\x01\x31\x07"))[0] == "overrun"


def test_unknown_message_type_is_rejected():
    reason, text = reason_of(with_checksum(b"\x81\x03\x02\x01\x31"))
    assert reason == "unknown_type" and "0x81" in text


def test_trailing_bytes_are_rejected():
    assert reason_of(callerid.encode_message(FULL) + b"\x00")[0] == "trailing_bytes"


@pytest.mark.parametrize("head, where", [
    (b"\x80\x05\x02\x0306A", "calling number"),
    (b"\x80\x05\x07\x03a\x07b", "calling name"),
    (b"\x80\x0a\x01\x081224183X", "date and time"),
    (b"\x80\x0a\x01\x0813241830", "date and time"),  # month 13
    (b"\x80\x0a\x01\x0802301830", "date and time"),  # 30 February
    (b"\x80\x03\x04\x01X", "reason for absence of number"),
    (b"\x80\x04\x08\x02OP", "reason for absence of name"),
    (b"\x80\x06\x02\x011\x02\x012", "calling number"),  # twice
])
def test_invalid_values_are_rejected(head, where):
    reason, text = reason_of(with_checksum(head))
    assert reason == "invalid_value"
    assert where in text


@pytest.mark.parametrize("kwargs, field", [
    (dict(number="1" * 21), "number"),
    (dict(number="06-1234"), "number"),
    (dict(number=""), "number"),
    (dict(name="x" * 51), "name"),
    (dict(name="Citt\u00e0"), "name"),
    (dict(name="a\nb"), "name"),
    (dict(number="1", number_absent="P"), "number"),
    (dict(name="a", name_absent="O"), "name"),
    (dict(number_absent="X"), "number_absent"),
    (dict(name_absent="private"), "name_absent"),
    (dict(extra={0x02: b"1"}), "extra"),
    (dict(message_type=0x81), "message_type"),
    (dict(number="1", message_type=0x04), "when"),
])
def test_encode_validates_and_names_the_field(kwargs, field):
    with pytest.raises(ValueError) as info:
        callerid.encode_message(CallerId(**kwargs))
    assert not isinstance(info.value, CallerIdError)
    assert str(info.value).startswith(field)


def test_call_time_validates():
    with pytest.raises(ValueError, match="month"):
        CallTime(13, 1, 0, 0)
    with pytest.raises(ValueError, match="minute"):
        CallTime(1, 1, 0, 60)


# ---------------------------------------------------------------------------------------------
# Modulation


def test_8n1_framing():
    assert v23.frame_bytes_8n1(b"\x55") == [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    assert v23.frame_bytes_8n1(b"\x80\x01") == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1] + [0, 1, 0, 0, 0, 0, 0, 0, 0, 1]


def test_seizure_is_what_0x55_characters_give():
    assert [i & 1 for i in range(300)] == v23.frame_bytes_8n1(b"\x55" * 30)


def test_burst_duration_is_exact_in_fractional_samples():
    n_bytes = len(callerid.encode_message(FULL))
    burst = callerid.encode_burst(FULL)
    seconds = (300 + 180 + 10 * n_bytes + 2) / 1200
    assert abs(burst.size - seconds * 8000) < 1
    assert burst.size == v23.bit_samples(300 + 180 + 10 * n_bytes + 2)
    assert callerid.encode_burst(FULL, seizure_bits=0, mark_bits=90).size == v23.bit_samples(90 + 10 * n_bytes + 2)


def test_mark_section_is_at_1300_hz_and_space_at_2100_hz():
    burst = callerid.encode_burst(FULL)
    mark = burst[v23.bit_samples(300) + 8: v23.bit_samples(480) - 8]
    assert abs(peak_hz(mark) - 1300) < 3
    space = v23.modulate_bits([0] * 240, -13)
    assert abs(peak_hz(space) - 2100) < 3


def test_seizure_alternates_at_600_hz():
    """Bits alternate at 1200 baud, so the demodulated seizure is a 600 Hz square wave."""
    burst = callerid.encode_burst(FULL)
    soft = v23.discriminate(burst).soft[40: v23.bit_samples(300) - 40]
    assert abs(peak_hz(soft - soft.mean()) - 600) < 5


def test_level_is_as_asked():
    mark = callerid.encode_burst(FULL, level_dbm0=-20)[v23.bit_samples(310): v23.bit_samples(470)]
    assert abs(levels.power_dbm0(mark) - -20) < 0.05


def test_modulation_is_phase_continuous():
    """No jumps: a sample never moves further than the 2100 Hz tone can move in one sample."""
    burst = callerid.encode_burst(FULL, level_dbm0=0).astype(np.float64)
    max_step = 2 * levels.sine_peak(0) * np.sin(np.pi * 2100 / 8000)
    assert np.abs(np.diff(burst)).max() <= max_step + 2
    a = v23.modulate_bits([1, 0, 1], -10)
    b = v23.modulate_bits([1, 0, 0, 1, 1, 0], -10, start_phase=v23.phase_after([1, 0, 1]))
    whole = v23.modulate_bits([1, 0, 1, 1, 0, 0, 1, 1, 0], -10)
    assert np.abs(np.concatenate([a, b]).astype(int) - whole).max() <= 1


def test_hard_bits_recover_what_was_sent():
    bits = np.random.default_rng(3).integers(0, 2, 500)
    soft = v23.discriminate(v23.modulate_bits(bits, -30, start_phase=1.0)).soft
    assert np.array_equal(v23.hard_bits(soft, 0.0, bits.size), bits)


def test_burst_with_nothing_around_it():
    for kwargs in (dict(), dict(tail_bits=0), dict(seizure_bits=0, mark_bits=0, tail_bits=0)):
        burst = callerid.encode_burst(FULL, **kwargs)
        assert callerid.decode_burst(burst) == FULL, kwargs


def test_characters_start_where_the_bit_clock_says():
    """Timing is kept in fractional samples: the 38th character still starts on time."""
    n_before = 777
    bursts = v23.demodulate(embed(callerid.encode_burst(FULL), before=n_before))
    message_chars = bursts[0].chars[30:]
    assert len(message_chars) == len(callerid.encode_message(FULL))
    for j, char in enumerate(message_chars):
        expected = n_before + (300 + 180 + 10 * j) * 8000 / 1200
        assert abs(char.start - expected) < 1.0, (j, char.start, expected)


# ---------------------------------------------------------------------------------------------
# Decoding bursts


@pytest.mark.parametrize("level", [-6.0, -20.0, -40.0])
def test_burst_round_trip_at_level(level):
    assert callerid.decode_burst(embed(callerid.encode_burst(FULL, level_dbm0=level))) == FULL


@pytest.mark.parametrize("k", range(8))
def test_burst_round_trip_at_any_offset_and_phase(k):
    bits = burst_bits(FULL)
    burst = v23.modulate_bits(bits, -20, start_phase=k * np.pi / 4 + 0.3)
    signal = embed(burst, before=1000 + 37 * k, after=900 + 11 * k, fractional_delay=k / 8)
    assert callerid.decode_burst(signal) == FULL


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("level", [-13.0, -40.0])
def test_burst_in_white_noise_at_20_db_snr(seed, level):
    signal = embed(callerid.encode_burst(FULL, level_dbm0=level), before=4000 + 123 * seed, after=4000,
                   snr_db=20, seed=seed)
    assert callerid.decode_burst(signal) == FULL


def test_burst_with_noise_before_and_silence_after():
    burst = callerid.encode_burst(FULL, level_dbm0=-30)
    noise = np.random.default_rng(5).normal(0, levels.DBM0_RMS * 10 ** (-50 / 20), 8000)
    signal = np.concatenate([noise, burst, np.zeros(8000)])
    assert callerid.decode_burst(np.rint(signal).astype(np.int16)) == FULL


def test_burst_through_a_law():
    signal = g711.alaw_decode(g711.alaw_encode(embed(callerid.encode_burst(FULL, level_dbm0=-40))))
    assert callerid.decode_burst(signal) == FULL


@pytest.mark.parametrize("seizure, mark", [(0, 180), (0, 20), (300, 20), (300, 180)])
def test_burst_with_or_without_seizure(seizure, mark):
    cid = CallerId(number_absent="P", when=WHEN)
    burst = callerid.encode_burst(cid, seizure_bits=seizure, mark_bits=mark)
    assert callerid.decode_burst(embed(burst, snr_db=20, seed=seizure + mark)) == cid


def test_filler_before_the_message_is_skipped():
    bits = [1] * 50 + v23.frame_bytes_8n1(b"\xff\x55\x55\xff" + callerid.encode_message(FULL)) + [1, 1]
    assert callerid.decode_burst(embed(v23.modulate_bits(bits, -13))) == FULL


def test_each_of_two_bursts_is_found():
    other = CallerId(number="0287654321", when=CallTime(1, 2, 3, 4))
    signal = np.concatenate([embed(callerid.encode_burst(FULL)), embed(callerid.encode_burst(other, -30))])
    bursts = callerid.find_bursts(signal)
    assert [b.cid for b in bursts] == [FULL, other]
    assert bursts[0].start_s < bursts[1].start_s
    assert abs(bursts[1].level_dbm0 - -30) < 1
    assert abs(bursts[0].baud - 1200) < 2


@pytest.mark.parametrize("byte_index", [3, 12, 20, 30, 40])
def test_flipped_bit_in_the_payload_is_rejected(byte_index):
    message = bytearray(callerid.encode_message(FULL))
    bits = burst_bits(FULL)
    bits[300 + 180 + 10 * byte_index + 3] ^= 1  # data bit 2 of that character: framing stays valid
    with pytest.raises(CallerIdError) as info:
        callerid.decode_burst(embed(v23.modulate_bits(bits, -13)))
    assert info.value.reason == "bad_checksum"
    message[byte_index] ^= 0x04  # what was received (index 40 is the checksum itself)
    assert f"expected 0x{callerid.checksum(message[:-1]):02X}, found 0x{message[-1]:02X}" in str(info.value)


def test_missing_stop_bit_is_a_framing_error():
    bits = burst_bits(FULL)
    bits[300 + 180 + 10 * 5 + 9] = 0  # stop bit of character 5 ('2', 0x32)
    with pytest.raises(CallerIdError) as info:
        callerid.decode_burst(embed(v23.modulate_bits(bits, -13)))
    assert info.value.reason == "framing"
    assert "character 5 (0x32)" in str(info.value)


def test_burst_cut_short_is_truncated():
    burst = callerid.encode_burst(FULL)
    with pytest.raises(CallerIdError) as info:
        callerid.decode_burst(embed(burst[: burst.size - 20 * 7], after=2000))
    assert info.value.reason == "truncated"


@pytest.mark.parametrize("signal", [
    np.zeros(0, dtype=np.int16),
    np.zeros(16000, dtype=np.int16),
    embed(np.zeros(8000), noise_dbm0=-20, seed=1),
    embed(np.zeros(8000), noise_dbm0=-50, seed=2),
    (levels.sine_peak(-10) * np.sin(2 * np.pi * 425 * np.arange(8000) / 8000)).astype(np.int16),  # dial tone
], ids=["empty", "silence", "noise", "quiet-noise", "425Hz"])
def test_no_burst(signal):
    with pytest.raises(CallerIdError) as info:
        callerid.decode_burst(signal)
    assert info.value.reason == "no_burst"
    assert "no FSK burst" in str(info.value)


def band_noise(seconds, low_hz, high_hz, dbm0, seed):
    rng = np.random.default_rng(seed)
    n = int(seconds * 8000)
    spectrum = np.fft.rfft(rng.normal(0, 1, n))
    freqs = np.fft.rfftfreq(n, 1 / 8000)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0
    x = np.fft.irfft(spectrum, n)
    return x * levels.DBM0_RMS * 10 ** (dbm0 / 20) / x.std()


@pytest.mark.parametrize("seed", range(3))
def test_telephone_band_noise_is_not_a_burst(seed):
    signal = np.rint(band_noise(3, 300, 3400, -20, seed)).astype(np.int16)
    with pytest.raises(CallerIdError) as info:
        callerid.decode_burst(signal)
    assert info.value.reason == "no_burst"


@pytest.mark.parametrize("seed", range(4))
def test_noise_in_the_fsk_band_never_decodes_as_a_caller(seed):
    """Noise shaped like FSK passes the carrier detector; the message checks must still refuse it."""
    signal = np.rint(band_noise(4, 1100, 2300, -20, seed)).astype(np.int16)
    with pytest.raises(CallerIdError) as info:
        callerid.decode_burst(signal)
    assert info.value.reason != "no_burst"


def test_dc_offset_and_mains_hum_do_not_hide_a_weak_burst():
    burst = embed(callerid.encode_burst(FULL, level_dbm0=-40), snr_db=25, seed=3).astype(np.float64)
    n = np.arange(burst.size)
    hum = levels.sine_peak(-25) * np.sin(2 * np.pi * 50 * n / 8000)
    assert callerid.decode_burst(np.rint(burst + 300 + hum).astype(np.int16)) == FULL


def test_uart_ignores_a_glitch_and_keeps_fractional_timing():
    spb = 7.3  # also shows the UART takes any bit length
    soft = np.ones(400)
    soft[20:22] = -1  # a two-sample glitch: space edge, but mark again by mid start bit
    bits = v23.frame_bytes_8n1(b"\xa5\x3c")
    start = 100.4
    t = np.arange(soft.size)
    for k, bit in enumerate(bits):
        soft[(t >= start + k * spb) & (t < start + (k + 1) * spb)] = 1 if bit else -1
    chars = v23.uart_8n1(soft, spb)
    assert [(c.value, c.framing_ok) for c in chars] == [(0xA5, True), (0x3C, True)]
    assert abs(chars[0].start - start) < 1 and abs(chars[1].start - (start + 10 * spb)) < 1


def test_steady_mark_tone_is_a_burst_without_message():
    with pytest.raises(CallerIdError) as info:
        callerid.decode_burst(embed(v23.modulate_bits([1] * 600, -13)))
    assert info.value.reason == "no_message"


def test_decoding_is_far_faster_than_real_time():
    import time
    signals = [embed(callerid.encode_burst(FULL, -20), before=8000, after=12000, snr_db=20, seed=s) for s in range(5)]
    start = time.process_time()
    for s in signals:
        callerid.decode_burst(s)
    cpu = time.process_time() - start
    audio = sum(s.size for s in signals) / 8000
    assert audio / cpu > 50  # the bench measures the real figure; this only catches a gross slowdown


# ---------------------------------------------------------------------------------------------
# Streaming receiver


def test_receiver_emits_each_caller_id_once_from_frames():
    other = CallerId(number_absent="O", when=CallTime(1, 2, 3, 4))
    signal = np.concatenate([embed(callerid.encode_burst(FULL), before=8000, after=4000, snr_db=25, seed=1),
                             embed(callerid.encode_burst(other), before=4000, after=8000, snr_db=25, seed=2)])
    receiver = callerid.CallerIdReceiver()
    assert list(receiver.feed_all(signal)) == [FULL, other]


def test_receiver_finds_a_weak_burst_in_noise_and_ignores_the_noise():
    signal = embed(callerid.encode_burst(FULL, level_dbm0=-40), before=16000, after=16000, snr_db=20, seed=9)
    receiver = callerid.CallerIdReceiver()
    assert list(receiver.feed_all(signal)) == [FULL]
    assert receiver.last_error is None


def test_receiver_stays_idle_on_line_noise():
    receiver = callerid.CallerIdReceiver()
    noise = embed(np.zeros(16000), noise_dbm0=-30, seed=4)
    assert list(receiver.feed_all(noise)) == []
    assert receiver.last_error is None and len(receiver._frames) <= receiver.pre_roll_frames


def test_receiver_keeps_the_error_of_a_bad_burst():
    bits = burst_bits(FULL)
    bits[300 + 180 + 10 * 20 + 2] ^= 1
    receiver = callerid.CallerIdReceiver()
    assert list(receiver.feed_all(embed(v23.modulate_bits(bits, -13), after=4000))) == []
    assert receiver.last_error is not None and receiver.last_error.reason == "bad_checksum"
