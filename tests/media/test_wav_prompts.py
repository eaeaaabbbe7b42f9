"""WAV reading and writing, prompt loading, and the errors a technician sees for bad files."""

import struct

import numpy as np
import pytest

from centralino.media import prompts, tones, wavfile
from centralino.media.frames import FRAME_SAMPLES


@pytest.fixture
def signal():
    return tones.render(tones.ITALY["busy"], 0.73)


@pytest.mark.parametrize("encoding", ["pcm16", "alaw", "ulaw"])
def test_write_then_read_round_trip(tmp_path, signal, encoding):
    path = tmp_path / f"x-{encoding}.wav"
    wavfile.write_wav(path, signal, encoding)
    back = wavfile.read_wav(path)
    assert len(back) == len(signal)
    if encoding == "pcm16":
        assert np.array_equal(back, signal)
    else:
        assert np.max(np.abs(back.astype(int) - signal.astype(int))) < 0.04 * 32768
    info = wavfile.read_info(path)
    assert (info.sample_rate_hz, info.channels) == (8000, 1)


def test_alaw_file_is_readable_by_sox(tmp_path, signal):
    import shutil
    import subprocess
    if not shutil.which("soxi"):
        pytest.skip("sox is installed by `make test`")
    path = tmp_path / "a.wav"
    wavfile.write_wav(path, signal, "alaw")
    out = subprocess.run(["soxi", str(path)], capture_output=True, text=True, check=True).stdout
    assert "A-law" in out and "8000" in out


def wav_bytes(fmt=1, channels=1, rate=8000, bits=16, data=b"\0\0" * 10):
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    body = b"fmt " + struct.pack("<I", 16) + fmt_chunk + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


@pytest.mark.parametrize("content, message", [
    (wav_bytes(rate=22050), "sample rate 22050 Hz, expected 8000 Hz"),
    (wav_bytes(channels=2, data=b"\0" * 40), "2 channels, expected mono"),
    (wav_bytes(fmt=3, bits=32, data=b"\0" * 40), "IEEE float with 32 bits per sample, expected"),
    (wav_bytes(bits=8, data=b"\0" * 40), "PCM with 8 bits per sample"),
    (b"ID3\x03\x00\x00\x00\x00\x00\x00\x00\x00", "not a WAV file"),
    (b"RIFF\x24\x00", "truncated header"),
    (wav_bytes()[:30], "truncated header: fmt chunk"),
    (wav_bytes()[:36], "truncated file: no 'data' chunk"),
    (b"", "not a WAV file: 0 bytes"),
])
def test_bad_files_say_what_and_where(tmp_path, content, message):
    path = tmp_path / "prompt.wav"
    path.write_bytes(content)
    with pytest.raises(wavfile.WavError) as err:
        wavfile.read_wav(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(wavfile.WavError, match="no such file"):
        wavfile.read_wav(tmp_path / "absent.wav")
    with pytest.raises(wavfile.WavError, match="is a directory"):
        wavfile.read_wav(tmp_path)


def test_prompt_loads_into_padded_frames_and_plays(tmp_path, signal):
    path = tmp_path / "benvenuto.wav"
    wavfile.write_wav(path, signal, "alaw")
    prompt = prompts.load_prompt(path)
    assert prompt.name == "benvenuto"
    assert all(len(f) == FRAME_SAMPLES for f in prompt.frames)
    assert len(prompt.frames) == -(-len(signal) // FRAME_SAMPLES)
    assert not np.any(prompt.frames[-1][len(signal) % FRAME_SAMPLES:])
    player = prompts.PromptPlayer([prompt, prompt])
    played = [player.frame() for _ in range(2 * len(prompt.frames) + 3)]
    assert not player.playing
    assert np.array_equal(played[len(prompt.frames)], prompt.frames[0])
    assert not np.any(played[-1])


def test_prompt_player_barge_in_stops_at_once(tmp_path, signal):
    path = tmp_path / "menu.wav"
    wavfile.write_wav(path, signal)
    player = prompts.PromptPlayer([prompts.load_prompt(path)])
    assert np.any(player.frame())
    player.stop()
    assert not player.playing and not np.any(player.frame())


def test_empty_prompt_is_refused(tmp_path):
    path = tmp_path / "vuoto.wav"
    wavfile.write_wav(path, np.zeros(0, np.int16))
    with pytest.raises(wavfile.WavError, match="no audio"):
        prompts.load_prompt(path)
