"""Defensive parsing: garbage from the line or from a file gives the defined error, never a crash."""

import struct

import numpy as np
import pytest

from centralino.media import callerid, dtmf, wavfile


def mutations(seed: int, base: bytes, count: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        data = bytearray(base)
        for _ in range(int(rng.integers(1, 6))):
            op = rng.integers(0, 3)
            if op == 0 and data:
                data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
            elif op == 1 and data:
                del data[int(rng.integers(0, len(data))):]
            else:
                data[int(rng.integers(0, len(data) + 1)):0] = bytes(rng.integers(0, 256, int(rng.integers(1, 8))).tolist())
        yield bytes(data)


def test_caller_id_messages_with_garbage_decode_or_say_why():
    good = callerid.encode_message(callerid.CallerId(number="0577123456", name="ROSSI MARIA",
                                                     when=callerid.CallTime(11, 24, 9, 30)))
    outcomes = {"decoded": 0, "rejected": 0}
    for data in mutations(1, good, 3000):
        try:
            cid = callerid.decode_message(data)
        except callerid.CallerIdError as err:
            assert str(err)  # a reason a technician can read
            outcomes["rejected"] += 1
        else:
            assert sum(data[: callerid.message_length(data)]) % 256 == 0  # only checksummed data passes
            assert isinstance(cid, callerid.CallerId)
            outcomes["decoded"] += 1
    assert outcomes["rejected"] > 2500


def test_random_bytes_as_caller_id_message():
    rng = np.random.default_rng(2)
    for _ in range(3000):
        data = bytes(rng.integers(0, 256, int(rng.integers(0, 40))).tolist())
        try:
            callerid.decode_message(data)
        except callerid.CallerIdError:
            pass


def test_caller_id_decoder_on_noise_and_clipped_audio():
    rng = np.random.default_rng(3)
    for kind in range(20):
        x = rng.normal(0, 10 ** (rng.uniform(1, 4.5)), 8000 * 2)
        if kind % 2:
            x = np.clip(x * 50, -32768, 32767)
        with pytest.raises(callerid.CallerIdError):
            callerid.decode_burst(np.clip(x, -32768, 32767).astype(np.int16))


def test_wav_files_with_garbage_give_wav_error(tmp_path):
    path = tmp_path / "prompt.wav"
    wavfile.write_wav(path, dtmf.generate("1"), "alaw")
    good = path.read_bytes()
    for i, data in enumerate(mutations(4, good[:80], 1500)):
        path.write_bytes(data + good[80:] if i % 2 else data)
        try:
            samples = wavfile.read_wav(path)
        except wavfile.WavError as err:
            assert str(path) in str(err)
        else:
            assert samples.dtype == np.int16


def test_huge_declared_chunk_sizes_do_not_crash(tmp_path):
    path = tmp_path / "lying.wav"
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    path.write_bytes(b"RIFF" + struct.pack("<I", 0xFFFFFFF0) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
                     + b"data" + struct.pack("<I", 0xFFFFFFF0) + b"\x01\x00" * 10)
    assert len(wavfile.read_wav(path)) == 10
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVE" + b"fmt " + struct.pack("<I", 0xFFFFFF00) + fmt)
    with pytest.raises(wavfile.WavError):
        wavfile.read_wav(path)


def test_dtmf_detector_takes_any_int16_without_error():
    rng = np.random.default_rng(5)
    det = dtmf.DtmfDetector()
    for n in (0, 1, 79, 80, 81, 160, 1000):
        det.feed(rng.integers(-32768, 32768, n).astype(np.int16))
    det.feed(np.full(800, 32767, np.int16))
    det.feed(np.full(800, -32768, np.int16))
    det.flush()
