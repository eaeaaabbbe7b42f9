"""Spoken phrases from recorded snippets: the words of ``italian`` turned into prompt keys and audio.

The voce guida never synthesises speech on the appliance. Each word or group of words that
``centralino.flows.italian`` produces ("dalle", "9", "C'è", "in attesa prima di Lei") is one
recording in the prompt set, named by a key in ``prompts/it/catalogue.tsv``. A word is found by the
catalogue *text*, not by the key, so the catalogue stays the single place that says what each file
contains. Numbers up to the largest recorded one are said as one word ("23" -> n23); longer digit
strings and numbers with leading zeros (telephone numbers) are said digit by digit; a word with no
recording (an e-mail part such as "borgofiorito") is spelled letter by letter.

A comune replaces any snippet with its own recording by putting ``<key>.wav`` in its own prompt
folder, which is searched before the shipped set; a file there whose name is not a key adds a word
(``borgofiorito.wav`` makes the address "tributi@borgofiorito.it" sound natural).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..media.frames import SAMPLE_RATE_HZ, split_frames
from ..media.prompts import Prompt
from ..media.wavfile import WavError, read_wav

SHIPPED_DIR = Path(__file__).resolve().parents[3] / "prompts" / "it"
CATALOGUE_NAME = "catalogue.tsv"
WORD_GAP_S = 0.060   # between two snippets: keeps words apart without sounding halting
PAUSE_S = 0.250      # for "," and ";" in a phrase (a list of days, a timetable of several days)
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
PAUSE_WORDS = frozenset({",", ";", ".", ":"})
_RUNS = re.compile(r"[^\W\d_]+|\d+|\S")  # letter runs, digit runs, any other single character


class CatalogueError(ValueError):
    """A catalogue line that cannot be used; the message names the file and line."""

    def __init__(self, path: str | Path, line: int, problem: str):
        super().__init__(f"{path}:{line}: {problem}")
        self.path = str(path)
        self.line = line
        self.problem = problem


class PhraseError(ValueError):
    """A phrase word that no recording can say."""


@dataclass(frozen=True)
class Entry:
    """One catalogue line: the file key, the text spoken, and where it was written."""

    key: str
    text: str
    line: int


def normalise(text: str) -> str:
    """The form words are matched in: case, typographic apostrophes and final stops ignored."""
    text = unicodedata.normalize("NFC", text).replace("\u2019", "'").lower()
    return " ".join(text.split()).strip(".,;:!? ")


def read_catalogue(path: str | Path) -> list[Entry]:
    """Parse ``key<TAB>text`` lines (``#`` comments, blank lines); errors name the line."""
    entries: list[Entry] = []
    first_line: dict[str, int] = {}
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise CatalogueError(path, 0, f"cannot read the catalogue: {err.strerror}") from None
    for number, raw_line in enumerate(raw.split(b"\n"), start=1):
        try:
            line = raw_line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise CatalogueError(path, number, "not UTF-8 text") from None
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, tab, text = line.partition("\t")
        key, text = key.strip(), text.strip()
        if not tab:
            raise CatalogueError(path, number, f"expected key<TAB>text, found no tab in {line!r}")
        if not KEY_PATTERN.fullmatch(key):
            raise CatalogueError(path, number, f"bad key {key!r}: use lower-case ASCII letters, digits "
                                               "and '_', starting with a letter (it is a file name)")
        if key in first_line:
            raise CatalogueError(path, number, f"duplicate key {key!r} (first on line {first_line[key]})")
        if not text:
            raise CatalogueError(path, number, f"empty text for key {key!r}")
        first_line[key] = number
        entries.append(Entry(key, text, number))
    return entries


class Vocabulary:
    """Catalogue keys indexed by their text: turns phrase words into the keys that say them."""

    def __init__(self, entries: list[Entry]):
        self.keys = frozenset(e.key for e in entries)
        self._by_text: dict[str, str] = {}
        for e in entries:
            self._by_text.setdefault(normalise(e.text), e.key)  # the first entry of a text wins

    def keys_for(self, words: list[str]) -> list[str]:
        """Keys for a phrase; punctuation words are dropped (``PhraseLibrary.render`` pauses)."""
        keys: list[str] = []
        for word in words:
            if word.strip() in PAUSE_WORDS:
                continue
            try:
                keys += self._word(word)
            except PhraseError as err:
                raise PhraseError(f"cannot say {word!r}: {err}") from None
        return keys

    def _word(self, word: str) -> list[str]:
        text = normalise(word)
        if not text:
            raise PhraseError("it is empty")
        if text in self._by_text:
            return [self._by_text[text]]
        if " " in text:
            return [key for piece in text.split() for key in self._word(piece)]
        runs = _RUNS.findall(text)
        if len(runs) > 1:
            return [key for run in runs for key in self._word(run)]
        if text.isdigit():
            return self._number(text)
        return self._spell(text)

    def _number(self, digits: str) -> list[str]:
        if (digits == "0" or not digits.startswith("0")) and f"n{int(digits)}" in self.keys:
            return [f"n{int(digits)}"]
        return [f"n{d}" for d in digits]

    def _spell(self, text: str) -> list[str]:
        keys = []
        for char in text:
            base = unicodedata.normalize("NFD", char)[0]  # è -> e: spelled as its letter
            key = f"lettera_{base}"
            if key not in self.keys:
                raise PhraseError(f"no recording for {char!r} and no letter to spell it")
            keys.append(key)
        return keys


def keys_for(words: list[str], catalogue: str | Path | None = None) -> list[str]:
    """The prompt keys that say ``words`` with the shipped catalogue (or the one given)."""
    return Vocabulary(read_catalogue(catalogue or SHIPPED_DIR / CATALOGUE_NAME)).keys_for(words)


class PhraseLibrary:
    """Every snippet of a prompt set, loaded once; renders phrases as 8 kHz int16 audio.

    ``directory`` holds the shipped set (catalogue.tsv and one WAV per key); ``comune_dir``, when
    given, is searched first for each key, so a comune's own recordings win. A missing or bad file
    raises ``WavError`` naming it, at start-up rather than during a call.
    """

    def __init__(self, directory: str | Path = SHIPPED_DIR, comune_dir: str | Path | None = None):
        directory = Path(directory)
        entries = read_catalogue(directory / CATALOGUE_NAME)
        comune = Path(comune_dir) if comune_dir is not None else None
        if comune is not None:
            if not comune.is_dir():
                raise WavError(comune, "the comune prompt folder does not exist")
            entries += self._comune_words(comune, {e.key for e in entries})
        self.vocabulary = Vocabulary(entries)
        self.sources: dict[str, Path] = {}
        self._samples: dict[str, np.ndarray] = {}
        for entry in entries:
            path = directory / f"{entry.key}.wav"
            if comune is not None and (comune / f"{entry.key}.wav").is_file():
                path = comune / f"{entry.key}.wav"
            samples = read_wav(path)
            if len(samples) == 0:
                raise WavError(path, "no audio: the data chunk is empty")
            samples.setflags(write=False)
            self.sources[entry.key] = path
            self._samples[entry.key] = samples

    @staticmethod
    def _comune_words(comune: Path, known: set[str]) -> list[Entry]:
        """Recordings in the comune folder that are not catalogue keys become words of their own."""
        return [Entry(p.stem, p.stem.replace("_", " "), 0) for p in sorted(comune.glob("*.wav"))
                if p.stem not in known and KEY_PATTERN.fullmatch(p.stem)]

    def reload(self, path: str | Path) -> None:
        """Read again the key that ``path`` (a comune's recording) says, if it is one of ours."""
        path = Path(path)
        if self.sources.get(path.stem) == path:
            samples = read_wav(path)
            samples.setflags(write=False)
            self._samples[path.stem] = samples

    def keys_for(self, words: list[str]) -> list[str]:
        return self.vocabulary.keys_for(words)

    def samples(self, key: str) -> np.ndarray:
        """The recording of one key (read-only int16)."""
        try:
            return self._samples[key]
        except KeyError:
            raise PhraseError(f"no prompt {key!r} in the prompt set") from None

    def render(self, words: list[str]) -> np.ndarray:
        """The phrase as one int16 signal: snippets joined by ``WORD_GAP_S`` (``PAUSE_S`` at , ;)."""
        gap = np.zeros(round(WORD_GAP_S * SAMPLE_RATE_HZ), dtype=np.int16)
        pause = np.zeros(round(PAUSE_S * SAMPLE_RATE_HZ), dtype=np.int16)
        parts: list[np.ndarray] = []
        pending = gap
        for word in words:
            if word.strip() in PAUSE_WORDS:
                pending = pause
                continue
            for key in self.vocabulary.keys_for([word]):
                if parts:
                    parts.append(pending)
                parts.append(self.samples(key))
                pending = gap
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def prompt(self, words: list[str], name: str | None = None) -> Prompt:
        """The phrase as a ``Prompt`` for ``PromptPlayer`` (named by its text unless ``name``)."""
        samples = self.render(words)
        if len(samples) == 0:
            raise PhraseError("an empty phrase cannot be played")
        frames = tuple(split_frames(samples))
        for frame in frames:
            frame.setflags(write=False)
        return Prompt(name or " ".join(words), "", frames)
