"""The shipped Italian prompt set and the phrases built from it: what a caller hears must exist,
sound like telephone speech, and say the words the voce guida means."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import time
from pathlib import Path

import numpy as np
import pytest

from centralino.flows import phrases
from centralino.flows.hours import OfficeHours
from centralino.flows.italian import (callers_words, days_words, email_words, hours_words, number_words,
                                      waiting_words, window_words)
from centralino.media import tones
from centralino.media.levels import power_dbm0
from centralino.media.wavfile import FORMAT_ALAW, WavError, read_info, read_wav, write_wav

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "prompts" / "it"
TOOL = REPO / "tools" / "build_prompts.py"
ENTRIES = phrases.read_catalogue(SHIPPED / "catalogue.tsv")
KEYS = {e.key for e in ENTRIES}


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def library():
    return phrases.PhraseLibrary(SHIPPED)


@pytest.fixture
def shipped_copy(tmp_path):
    copy = tmp_path / "it"
    shutil.copytree(SHIPPED, copy)
    return copy


# --- the shipped set ---------------------------------------------------------------------------

def test_shipped_set_matches_catalogue():
    result = run_tool("--check")
    assert result.returncode == 0, result.stderr
    assert f"{len(ENTRIES)} prompts, 0 problems" in result.stdout


def test_check_names_stray_missing_and_stale_files(shipped_copy):
    (shipped_copy / "vecchio.wav").write_bytes((shipped_copy / "e.wav").read_bytes())
    (shipped_copy / "dalle.wav").unlink()
    shutil.copy(shipped_copy / "alle.wav", shipped_copy / "al.wav")  # audio of another line
    result = run_tool("--check", "--catalogue", str(shipped_copy / "catalogue.tsv"))
    assert result.returncode == 1
    line = next(e.line for e in ENTRIES if e.key == "dalle")
    assert "vecchio.wav: stray file" in result.stderr
    assert f"dalle.wav: missing (catalogue line {line})" in result.stderr
    assert "al.wav: stale" in result.stderr
    assert "/alle.wav" not in result.stderr


def test_every_prompt_is_telephone_speech():
    for entry in ENTRIES:
        path = SHIPPED / f"{entry.key}.wav"
        info = read_info(path)
        assert (info.format_tag, info.sample_rate_hz, info.channels) == (FORMAT_ALAW, 8000, 1), path
        x = read_wav(path).astype(np.float64)
        assert 0.15 <= len(x) / 8000 <= 8.0, f"{path}: {len(x) / 8000:.2f} s"
        spectrum = np.abs(np.fft.rfft(x)) ** 2
        freq = np.fft.rfftfreq(len(x), 1 / 8000)
        in_band = spectrum[(freq >= 300) & (freq <= 3400)].sum() / spectrum.sum()
        assert in_band > 0.9, f"{path}: only {in_band:.0%} of the energy in 300-3400 Hz"
        assert -24.0 < power_dbm0(x) < -12.0, f"{path}: {power_dbm0(x):.1f} dBm0"
        assert np.abs(x).max() < 32000, f"{path}: clipped"
        assert np.abs(x[:8]).max() < 2000 and np.abs(x[-8:]).max() < 2000, f"{path}: starts or ends with a click"


def test_set_size_stays_small():
    size = sum(p.stat().st_size for p in SHIPPED.glob("*.wav"))
    assert size < 3_000_000


def test_number_entries_say_their_number():
    by_key = {e.key: e.text for e in ENTRIES}
    for n in range(60):
        assert by_key[f"n{n}"] == number_words(n)


# --- catalogue errors ----------------------------------------------------------------------------

@pytest.mark.parametrize("body, line, message", [
    ("# prompts\nuno\tuno\ndue\tdue\nuno\tancora\n", 4, "duplicate key 'uno' (first on line 2)"),
    ("ok\tbene\nBad-Key\ttesto\n", 2, "bad key 'Bad-Key'"),
    ("ok\tbene\n\nvuoto\t  \n", 3, "empty text for key 'vuoto'"),
    ("ok\tbene\nsenza tab\n", 2, "expected key<TAB>text, found no tab"),
    ("ok\tbene\nperch\xe8\tx\n".encode("latin-1"), 2, "not UTF-8"),
])
def test_catalogue_errors_name_the_line(tmp_path, body, line, message):
    path = tmp_path / "catalogue.tsv"
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    with pytest.raises(phrases.CatalogueError) as err:
        phrases.read_catalogue(path)
    assert str(err.value).startswith(f"{path}:{line}: ") and message in str(err.value)
    result = run_tool("--check", "--catalogue", str(path))
    assert result.returncode == 2 and f"{path}:{line}: " in result.stderr


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                    reason="espeak-ng and sox are installed by `make test`")
def test_rebuilding_one_entry(tmp_path):
    entry = next(e for e in ENTRIES if e.key == "in_attesa_prima_di_lei")
    catalogue = tmp_path / "catalogue.tsv"
    catalogue.write_text(f"# one line\nlunedi\tlunedì\n{entry.key}\t{entry.text}\n", encoding="utf-8")
    assert run_tool("--only", "nessuna", "--catalogue", str(catalogue)).returncode == 2
    result = run_tool("--only", entry.key, "--catalogue", str(catalogue))
    assert result.returncode == 0, result.stderr
    built = tmp_path / f"{entry.key}.wav"
    first = built.read_bytes()
    assert not (tmp_path / "lunedi.wav").exists()
    assert run_tool("--only", entry.key, "--catalogue", str(catalogue)).returncode == 0
    assert built.read_bytes() == first, "the build is not deterministic"
    shipped = read_wav(SHIPPED / f"{entry.key}.wav")
    assert abs(len(read_wav(built)) - len(shipped)) < 0.1 * len(shipped)
    assert "lunedi.wav: missing" in run_tool("--check", "--catalogue", str(catalogue)).stderr


# --- words to keys ------------------------------------------------------------------------------

def everyday_phrases():
    """Every phrase italian.py builds for hours, days, queues and staff announcements."""
    times = [time(h, m) for h in range(24) for m in range(0, 60, 5)]
    for start, end in zip(times, times[1:] + times[:1]):
        yield window_words(start, end)
    for day in range(7):
        yield days_words([day])
    yield days_words(list(range(5)))
    yield days_words([0, 2, 4])
    yield hours_words(OfficeHours.from_spec({"lunedi": ["09:00-12:30", "15:00-17:00"], "giovedi": ["01:05-13:00"],
                                             "sabato": ["08:30-12:00"]}))
    for n in range(60):
        yield waiting_words(n)
        yield callers_words(n)


def test_keys_cover_every_everyday_word_without_spelling():
    vocabulary = phrases.Vocabulary(ENTRIES)
    for words in everyday_phrases():
        keys = vocabulary.keys_for(words)
        assert set(keys) <= KEYS
        assert not [k for k in keys if k.startswith("lettera_")], f"{words} would be spelled: {keys}"
        assert len(keys) == len([w for w in words if w not in (",", ";")])


def test_keys_for_the_words_italian_says():
    assert phrases.keys_for(window_words(time(9), time(12, 30))) == ["dalle", "n9", "alle", "n12", "e", "n30"]
    assert phrases.keys_for(window_words(time(1, 15), time(13))) == ["dall_una", "e", "n15", "alle", "n13"]
    assert phrases.keys_for(window_words(time(0), time(1))) == ["dalle", "n0", "all_una"]
    assert phrases.keys_for(days_words([0, 3])) == ["il", "lunedi", "e", "il", "giovedi"]
    assert phrases.keys_for(days_words([6])) == ["la", "domenica"]
    assert phrases.keys_for(waiting_words(1)) == ["c_e", "una_persona", "in_attesa_prima_di_lei"]
    assert phrases.keys_for(waiting_words(3)) == ["ci_sono", "n3", "persone", "in_attesa_prima_di_lei"]
    assert phrases.keys_for(waiting_words(0)) == ["lei_e_il_primo"]
    assert phrases.keys_for(callers_words(1)) == ["un_chiamante"]


def test_email_address_spells_only_unknown_parts():
    keys = phrases.keys_for(email_words("ufficio-tributi@Comune.Borgo_Fiorito2.it"))
    assert keys == (["ufficio", "trattino", "tributi", "chiocciola", "comune", "punto"]
                    + [f"lettera_{c}" for c in "borgo"] + ["trattino", "basso"]
                    + [f"lettera_{c}" for c in "fiorito"] + ["n2", "punto", "it"])


def test_telephone_numbers_are_said_digit_by_digit():
    assert phrases.keys_for(["0551234"]) == ["n0", "n5", "n5", "n1", "n2", "n3", "n4"]
    assert phrases.keys_for(["59"]) == ["n59"]
    assert phrases.keys_for(["75"]) == ["n7", "n5"]  # beyond the recorded numbers


def test_unsayable_word_is_refused_by_name():
    with pytest.raises(phrases.PhraseError, match="'a\\+b'.*'\\+'"):
        phrases.keys_for(["a+b"])


# --- the library ---------------------------------------------------------------------------------

def test_render_joins_snippets_with_gaps(library):
    words = window_words(time(9), time(12, 30))
    audio = library.render(words)
    keys = ["dalle", "n9", "alle", "n12", "e", "n30"]
    gap = round(phrases.WORD_GAP_S * 8000)
    assert len(audio) == sum(len(library.samples(k)) for k in keys) + gap * (len(keys) - 1)
    start = 0
    for key in keys:  # each snippet sits where it should, gaps are silent
        snippet = library.samples(key)
        assert np.array_equal(audio[start:start + len(snippet)], snippet)
        start += len(snippet)
        assert not audio[start:start + gap].any() if key != keys[-1] else start == len(audio)
        start += gap


def test_punctuation_is_a_longer_pause(library):
    words = days_words([0, 2, 4])  # il lunedì, il mercoledì e il venerdì
    assert "," in words
    keys = library.keys_for(words)
    expected = (sum(len(library.samples(k)) for k in keys) + round(phrases.WORD_GAP_S * 8000) * (len(keys) - 2)
                + round(phrases.PAUSE_S * 8000))
    assert len(library.render(words)) == expected
    prompt = library.prompt(words)
    assert prompt.name == " ".join(words) and prompt.seconds >= expected / 8000


def test_comune_recording_wins_and_adds_words(tmp_path, library):
    comune = tmp_path / "comune"
    comune.mkdir()
    own = tones.render(tones.ITALY["busy"], 0.4)
    write_wav(comune / "dalle.wav", own, "alaw")
    write_wav(comune / "borgofiorito.wav", own[:800], "pcm16")
    mine = phrases.PhraseLibrary(SHIPPED, comune)
    assert mine.sources["dalle"] == comune / "dalle.wav"
    assert mine.sources["alle"] == SHIPPED / "alle.wav"
    audio = mine.render(["dalle", "9"])
    assert np.array_equal(audio[: len(own)], read_wav(comune / "dalle.wav"))
    assert not np.array_equal(mine.samples("dalle"), library.samples("dalle"))
    assert mine.keys_for(email_words("info@borgofiorito.it")) == ["info", "chiocciola", "borgofiorito", "punto", "it"]


def test_missing_or_bad_file_is_named(shipped_copy, tmp_path):
    (shipped_copy / "venerdi.wav").unlink()
    with pytest.raises(WavError, match="venerdi.wav: no such file"):
        phrases.PhraseLibrary(shipped_copy)
    comune = tmp_path / "comune"
    comune.mkdir()
    write_wav(comune / "venerdi.wav", np.zeros(100, dtype=np.int16), "pcm16", sample_rate_hz=16000)
    with pytest.raises(WavError, match="comune/venerdi.wav: sample rate 16000 Hz"):
        phrases.PhraseLibrary(shipped_copy, comune)
    write_wav(comune / "venerdi.wav", np.zeros(0, dtype=np.int16), "alaw")
    with pytest.raises(WavError, match="venerdi.wav: no audio"):
        phrases.PhraseLibrary(shipped_copy, comune)
    with pytest.raises(WavError, match="does not exist"):
        phrases.PhraseLibrary(SHIPPED, tmp_path / "assente")
