"""The voce guida's voice: whole sentences, the comune's own recordings, and the shipped words.

A ``Speech`` answers what the session plays: a prompt key of the shipped set ("segreteria"), a list
of words glued from recorded snippets (a telephone number read back), or a ``Sentence``
(flows/sentences.py) rendered whole. A sentence part with a recording of the comune's own plays
that recording; a text part is synthesised by ``media/tts.py`` and cached. ``prepare`` renders
every sentence of the configuration's ``book`` when the configuration is applied, so no call
waits for the synthesiser. Where espeak-ng is missing a text is glued from the shipped words
(the same voice) when the catalogue can say it, and the failure is logged once.
"""

from __future__ import annotations

import logging

import numpy as np

from centralino.media import tts
from centralino.media.frames import SAMPLE_RATE_HZ
from centralino.media.wavfile import WavError, read_wav

from .phrases import SHIPPED_DIR, PhraseError, PhraseLibrary
from .sentences import Sentence, book

log = logging.getLogger("centralino.flows")

PART_GAP_S = 0.060      # between a text part and a recording inside one sentence
SENTENCE_GAP_S = 0.350  # between two sentences


class RenderError(ValueError):
    """A sentence that neither a recording, the synthesiser nor the shipped words can say."""


class Speech:
    def __init__(self, phrases: PhraseLibrary | None = None, synthesiser: tts.Synthesiser | None = None,
                 comune_dir=None):
        self.phrases = phrases if phrases is not None else PhraseLibrary(comune_dir=comune_dir)
        self.synthesiser = synthesiser if synthesiser is not None else tts.Synthesiser()
        self._texts: dict[str, np.ndarray] = {}
        self._recordings: dict[str, np.ndarray] = {}
        self._warned = False

    @classmethod
    def for_settings(cls, settings) -> "Speech":
        return cls(comune_dir=settings.rules.prompts if settings.rules else None)

    # -- the shipped words, as PhraseLibrary gives them
    @property
    def vocabulary(self):
        return self.phrases.vocabulary

    def keys_for(self, words: list[str]) -> list[str]:
        return self.phrases.keys_for(words)

    def render(self, words: list[str]) -> np.ndarray:
        return self.phrases.render(words)

    def own(self, key: str) -> bool:
        """The comune recorded this prompt key itself (it is not the shipped one)."""
        source = self.phrases.sources.get(key)
        return source is not None and source.parent != SHIPPED_DIR

    def samples(self, key_or_text) -> np.ndarray:
        """A prompt key's recording; a sentence (or its text) rendered whole."""
        if isinstance(key_or_text, Sentence):
            return self.sentence(key_or_text)
        if key_or_text in self.phrases.vocabulary.keys:
            return self.phrases.samples(key_or_text)
        return self.text(key_or_text)

    # -- sentences
    def text(self, text: str, strict: bool = False) -> np.ndarray:
        """One text rendered whole: cached, synthesised, or (not ``strict``) glued from words."""
        if text in self._texts:
            return self._texts[text]
        try:
            audio = self.synthesiser.render(text)
        except (tts.SynthesisError, OSError) as err:
            if strict:
                raise RenderError(str(err)) from None
            audio = self._glued(text, err)
        audio.setflags(write=False)
        self._texts[text] = audio
        return audio

    def _glued(self, text: str, err: Exception) -> np.ndarray:
        if not self._warned:
            log.warning("sentences are glued from recorded words: %s", err)
            self._warned = True
        try:
            return self.phrases.render([text])
        except PhraseError:
            try:
                return self.phrases.render(text.replace("'", "' ").split())
            except PhraseError as why:
                raise RenderError(f"cannot say {text!r}: {err}; the shipped words cannot either ({why})") from None

    def recording(self, path: str) -> np.ndarray:
        if path not in self._recordings:
            try:
                audio = read_wav(path)
            except (WavError, OSError) as err:
                raise RenderError(f"missing recording: {err}") from None
            audio.setflags(write=False)
            self._recordings[path] = audio
        return self._recordings[path]

    def reload_recording(self, path) -> None:
        """A comune's recording was replaced (re-recorded by phone): the next use reads it anew."""
        self._recordings.pop(str(path), None)
        self.phrases.reload(path)

    def sentence(self, sentence: Sentence, strict: bool = False) -> np.ndarray:
        gap = np.zeros(round(PART_GAP_S * SAMPLE_RATE_HZ), dtype=np.int16)
        parts: list[np.ndarray] = []
        for part in sentence.parts:
            audio = self.recording(part.recording) if part.recording else self.text(part.text, strict)
            if parts:
                parts.append(gap)
            parts.append(audio)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def sentences(self, sentences: list[Sentence]) -> np.ndarray:
        gap = np.zeros(round(SENTENCE_GAP_S * SAMPLE_RATE_HZ), dtype=np.int16)
        parts: list[np.ndarray] = []
        for s in sentences:
            if parts:
                parts.append(gap)
            parts.append(self.sentence(s))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def prepare(self, settings) -> int:
        """Render every sentence the configuration can say (the configuration being applied)."""
        count = 0
        for s in book(settings):
            try:
                self.sentence(s)
                count += 1
            except RenderError as err:
                log.error("%s: %s", s.where, err)
        return count
