"""The talk-off corpus itself: long enough, varied enough, at telephone levels, reproducible.

The speech is built once into the shared cache (``corpus_cache_dir()``), so after the first run
these tests take about a second.
"""

import shutil
import time

import numpy as np
import pytest

from centralino.media.frames import SAMPLE_RATE_HZ
from centralino.media.levels import power_dbm0
from centralino.media.wavfile import read_info, read_wav
from tests.signals import talkoff

needs_tools = pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                 reason="espeak-ng and sox are installed by `make test`")

MIN_SPEECH_S = 600.0
MIN_MUSIC_S = 120.0
LEVEL_TOLERANCE_DB = 1.0


@pytest.fixture(scope="module")
def speech():
    return talkoff.build_speech(talkoff.corpus_cache_dir(), MIN_SPEECH_S)


@pytest.fixture(scope="module")
def music():
    return talkoff.build_music()


def seconds(clips) -> float:
    return sum(len(samples) for _, samples in clips) / SAMPLE_RATE_HZ


def test_text_is_a_large_varied_italian_corpus():
    text = talkoff.TEXT_PATH.read_text(encoding="utf-8")
    assert len(text.split()) >= 2500
    for phrase in ("Ufficio Tributi", "Anagrafe", "Servizi Sociali", "Polizia Municipale", "Protocollo",
                   "Edilizia", "Sportello Cittadini", "chiocciola", "buongiorno"):
        assert phrase.lower() in text.lower(), phrase
    chunks = talkoff.text_chunks(text)
    assert len(chunks) >= 60
    assert all(1 <= len(chunk.splitlines()) <= talkoff.LINES_PER_CHUNK for chunk in chunks)


@needs_tools
@pytest.mark.slow
def test_speech_is_long_enough_and_uses_many_voices(speech):
    assert seconds(speech) >= MIN_SPEECH_S
    fields = [talkoff.parse_label(label) for label, _ in speech]
    assert len({f["voice"] for f in fields}) >= 6
    assert len({f["chunk"] for f in fields}) == len(fields)  # 10 minutes use no chunk twice
    speeds = [f["speed_wpm"] for f in fields]
    pitches = [f["pitch"] for f in fields]
    assert talkoff.SPEED_WPM[0] <= min(speeds) and max(speeds) <= talkoff.SPEED_WPM[1]
    assert max(speeds) - min(speeds) >= 50 and max(pitches) - min(pitches) >= 30


@needs_tools
@pytest.mark.slow
def test_speech_clips_are_8khz_int16_at_telephone_levels(speech):
    low, high = talkoff.SPEECH_LEVEL_DBM0
    levels = []
    for label, samples in speech:
        assert samples.dtype == np.int16 and samples.ndim == 1, label
        assert len(samples) >= SAMPLE_RATE_HZ, label  # every chunk is several words long
        level = talkoff.active_level_dbm0(samples)
        target = talkoff.parse_label(label)["level_dbm0"]
        assert low - LEVEL_TOLERANCE_DB <= level <= high + LEVEL_TOLERANCE_DB, (label, level)
        assert abs(level - target) <= LEVEL_TOLERANCE_DB, (label, level, target)
        assert np.max(np.abs(samples.astype(np.int32))) > 1000, label  # not silent
        levels.append(level)
    assert max(levels) - min(levels) >= 10.0  # the levels really are spread over the range
    # the samples are at 8 kHz: the speaking rate comes out near what espeak-ng was asked for
    # (clips read as 22,050 Hz audio would be 2.8 times too slow)
    chunks = talkoff.text_chunks()
    fields = [talkoff.parse_label(label) for label, _ in speech]
    words = sum(len(chunks[f["chunk"]].split()) for f in fields)
    asked = np.average([f["speed_wpm"] for f in fields], weights=[len(s) for _, s in speech])
    assert 0.6 <= words / (seconds(speech) / 60.0) / asked <= 1.2


@needs_tools
def test_speech_is_deterministic_and_cached(tmp_path, speech):
    first = talkoff.build_speech(tmp_path / "a", 30.0)
    start = time.perf_counter()
    again = talkoff.build_speech(tmp_path / "a", 30.0)
    assert time.perf_counter() - start < 1.0  # from the cache
    fresh = talkoff.build_speech(tmp_path / "b", 30.0)  # built again from nothing
    assert seconds(first) >= 30.0
    for clips in (again, fresh, speech[: len(first)]):  # a short corpus is a prefix of a long one
        assert [label for label, _ in clips] == [label for label, _ in first]
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(clips, first))


def test_music_is_long_enough_at_music_levels(music):
    assert seconds(music) >= MIN_MUSIC_S
    low, high = talkoff.MUSIC_LEVEL_DBM0
    for label, samples in music:
        assert samples.dtype == np.int16 and samples.ndim == 1, label
        level = power_dbm0(samples)
        assert low - LEVEL_TOLERANCE_DB <= level <= high + LEVEL_TOLERANCE_DB, (label, level)
        assert abs(level - talkoff.parse_label(label)["level_dbm0"]) <= LEVEL_TOLERANCE_DB, label
        # music plays throughout: no 1 s stretch is silent
        seconds_power = [power_dbm0(samples[i : i + SAMPLE_RATE_HZ]) for i in range(0, len(samples), SAMPLE_RATE_HZ)]
        assert min(seconds_power) > level - 20.0, label
    assert len({talkoff.parse_label(label)["tempo_bpm"] for label, _ in music}) >= 4


def test_music_is_deterministic(music):
    again = talkoff.build_music()
    assert [label for label, _ in again] == [label for label, _ in music]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(again, music))
    other = talkoff.build_music(seed=2, seconds=20.0)
    assert not np.array_equal(other[0][1], music[0][1][: len(other[0][1])])


@needs_tools
def test_cli_writes_8khz_wav_files(tmp_path, capsys):
    out = tmp_path / "out"
    assert talkoff.main(["--out", str(out), "--min-seconds", "10", "--music-seconds", "20",
                         "--cache-dir", str(tmp_path / "cache")]) == 0
    files = sorted(out.glob("*/*.wav"))
    assert {f.parent.name for f in files} == {"speech", "music"}
    for f in files:
        info = read_info(f)
        assert (info.sample_rate_hz, info.channels, info.bits_per_sample) == (SAMPLE_RATE_HZ, 1, 16)
        assert len(read_wav(f)) == info.n_frames > 0
    printed = capsys.readouterr().out
    assert "speech:" in printed and "music:" in printed
