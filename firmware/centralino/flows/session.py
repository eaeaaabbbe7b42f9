"""A conversation between the voce guida and one party: play, listen for keys, record.

A flow is written as a coroutine that reads like the script of the call ("say the greeting,
wait six seconds for a key, ..."). The session turns that into what the channel does each 20 ms
tick: it plays a ``SamplesSource`` on the channel, and wakes the coroutine when a key arrives
(barge-in: a key stops the prompt at once), when the prompt has finished or was replaced (the
channel calls the source's ``on_done``: nothing polls) or when its timeout expires. Time is the event loop's, so the same flows run
on the simulator's virtual clock and on the Pi.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import numpy as np

from centralino.channels.sources import SamplesSource, ToneSource
from centralino.media.frames import SAMPLE_RATE_HZ

from .sentences import Sentence

WORD_GAP_S = 0.12  # between the pieces of one phrase
SENTENCE_GAP_S = 0.35  # before a whole sentence
BEEP_HZ = 1000.0
BEEP_S = 0.4
TIME_EPSILON_S = 0.001


def beep() -> np.ndarray:
    """The signal before a recording starts."""
    t = np.arange(round(BEEP_S * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    return (6000 * np.sin(2 * np.pi * BEEP_HZ * t)).astype(np.int16)


class Session:
    def __init__(self, channel, phrases, clock: Callable[[], float]):
        self.channel = channel
        self.phrases = phrases
        self.clock = clock
        self.keys: deque[str] = deque()
        self._wake = asyncio.Event()
        self._playing: SamplesSource | None = None
        self._recording: list[np.ndarray] | None = None  # frames heard while recording
        self._recorded: list[np.ndarray] = []  # the frames of the last recording

    # -- fed by the engine (keys) and the channel (a prompt that ended)
    def key(self, digit: str) -> None:
        self.keys.append(digit)
        self._wake.set()

    def _prompt_done(self, source) -> None:
        if self._playing is source:
            self._playing = None
            self._wake.set()

    def heard(self, frame: np.ndarray) -> None:
        """The channel's tap: what the party says, kept while recording."""
        if self._recording is not None:
            self._recording.append(frame.copy())

    # -- building phrases
    def phrase(self, *pieces) -> np.ndarray:
        """Pieces are prompt keys ("segreteria"), lists of words (["dalle", "9"]) or whole sentences
        (``flows/sentences.Sentence``), said in order."""
        gap = np.zeros(round(WORD_GAP_S * SAMPLE_RATE_HZ), dtype=np.int16)
        pause = np.zeros(round(SENTENCE_GAP_S * SAMPLE_RATE_HZ), dtype=np.int16)
        parts: list[np.ndarray] = []
        for piece in pieces:
            if isinstance(piece, Sentence):
                audio = self.phrases.sentence(piece)
            elif isinstance(piece, str):
                audio = self.phrases.samples(piece)
            else:
                audio = self.phrases.render(list(piece))
            if len(audio):
                if parts:
                    parts.append(pause if isinstance(piece, Sentence) else gap)
                parts.append(audio)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    # -- what flows await
    async def _wait(self, timeout_s: float | None) -> None:
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout_s)
        except asyncio.TimeoutError:
            pass

    async def say(self, *pieces, barge_in: bool = True, name: str = "prompt") -> str | None:
        """Play a phrase to the end; with ``barge_in`` a key stops it and is returned (left queued)."""
        return await self.play(self.phrase(*pieces), barge_in=barge_in, name=name)

    async def play(self, samples: np.ndarray, barge_in: bool = True, name: str = "prompt") -> str | None:
        if barge_in and self.keys:
            return self.keys[0]
        source = SamplesSource(samples, name=name, on_done=self._prompt_done)
        self._playing = source
        self.channel.play(source)
        while self._playing is source:
            await self._wait(None)
            if barge_in and self.keys:
                if self.channel.source is source:
                    self.channel.play(None)
                self._playing = None
                return self.keys[0]
        return None

    async def get_key(self, timeout_s: float) -> str | None:
        """The next key pressed (or already pressed during a prompt), None after ``timeout_s``."""
        deadline = self.clock() + timeout_s
        while not self.keys:
            left = deadline - self.clock()
            if left <= TIME_EPSILON_S:  # a clock step smaller than this would never end the wait
                return None
            await self._wait(left)
        return self.keys.popleft()

    async def key_pressed(self) -> None:
        """Until a key is pressed (or one already waits); it stays queued."""
        while not self.keys:
            await self._wait(None)

    async def get_number(self, max_digits: int, timeout_s: float, end_key: str = "#") -> str:
        """Keys up to ``end_key``, ``max_digits`` or a pause of ``timeout_s``."""
        number = ""
        while len(number) < max_digits:
            key = await self.get_key(timeout_s)
            if key is None or key == end_key:
                break
            number += key
        return number

    def forget_keys(self) -> None:
        self.keys.clear()

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds`` whatever happens (keys stay queued)."""
        await asyncio.sleep(seconds)

    def hold_tone(self, spec: str) -> None:
        self._playing = None
        self.channel.play(ToneSource(spec))

    def silence(self) -> None:
        self._playing = None
        self.channel.play(None)

    async def record(self, max_s: float, end_key: str = "#", silence_s: float = 8.0,
                     on_progress: Callable[[float], None] | None = None) -> np.ndarray:
        """What the party says until ``end_key``, ``max_s`` or ``silence_s`` of silence.

        When the flow is cancelled (the caller hung up) ``self.recorded()`` still holds the audio."""
        self.forget_keys()
        self._recording = []
        started = self.clock()
        quiet_since = started
        try:
            while self.clock() - started < max_s:
                if end_key in self.keys:
                    break
                await self._wait(0.5)
                frames = self._recording
                if frames and np.abs(frames[-1]).max() > 300:
                    quiet_since = self.clock()
                if self.clock() - quiet_since >= silence_s:
                    break
                if on_progress is not None:
                    on_progress(len(frames) * 0.02)
            return self.recorded(trim_key=end_key in self.keys)
        finally:
            self._recorded, self._recording = self._recording, None

    def recorded(self, trim_key: bool = False) -> np.ndarray:
        """What the current (or the last) recording holds."""
        frames = self._recording if self._recording is not None else self._recorded
        if not frames:
            return np.zeros(0, dtype=np.int16)
        audio = np.concatenate(frames)
        if trim_key:  # the end key's tone is not part of the message
            audio = audio[:max(0, len(audio) - round(0.2 * SAMPLE_RATE_HZ))]
        return audio
