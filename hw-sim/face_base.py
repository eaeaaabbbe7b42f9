"""What every command group of the world's control face shares: the reply, the error, the options.

A command is words as a person types them (``phone 201 hears dial_tone --timeout 5``). Its reply
is one line of text for the terminal and a dict for programs (the demo, tests); a command the
world cannot do raises ``WorldCommandError`` with a message that says what was wrong and what
would be right, and changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

POLL_S = 0.05  # how often a waiting command looks again
DEFAULT_TIMEOUT_S = 10.0
MAX_TIMEOUT_S = 300.0
DTMF_KEYS = "0123456789*#ABCD"


class WorldCommandError(Exception):
    """A command the simulated world cannot carry out; the message says what and where."""


@dataclass
class Reply:
    text: str  # the one line `centralino sim` prints
    data: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text


class CommandGroup:
    """One word of the face (``phone``, ``line``...) and the verbs that follow it."""

    name = ""
    usage = ""

    def __init__(self, face):
        self.face = face

    async def run(self, words: list[str]) -> Reply:
        raise NotImplementedError

    def fail(self, message: str) -> WorldCommandError:
        return WorldCommandError(message)

    def need_verb(self, words: list[str], verbs: tuple[str, ...], subject: str) -> tuple[str, list[str]]:
        if not words:
            raise WorldCommandError(f"{self.name} {subject}: what should it do? ({' | '.join(verbs)})")
        verb, rest = words[0], words[1:]
        if verb not in verbs:
            raise WorldCommandError(f"{self.name} {subject}: unknown action {verb!r} (expected {' | '.join(verbs)})")
        return verb, rest


def parse_options(what: str, words: list[str], spec: dict[str, type | None]) -> tuple[list[str], dict]:
    """Split ``words`` into positional words and ``--options`` (``spec``: option -> type, None for
    a flag). Unknown options, missing or malformed values are errors naming the option."""
    positional: list[str] = []
    options: dict = {}
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("--"):
            positional.append(word)
            i += 1
            continue
        if word not in spec:
            known = ", ".join(spec) or "none"
            raise WorldCommandError(f"{what}: unknown option {word} (options: {known})")
        kind = spec[word]
        if kind is None:
            options[word] = True
            i += 1
            continue
        if i + 1 >= len(words):
            raise WorldCommandError(f"{what}: {word} needs a value")
        raw = words[i + 1]
        try:
            options[word] = kind(raw)
        except ValueError:
            raise WorldCommandError(f"{what}: {word} {raw!r} is not a {'number' if kind is float else 'value'}") from None
        i += 2
    return positional, options


def no_more(what: str, words: list[str]) -> None:
    if words:
        raise WorldCommandError(f"{what}: unexpected {' '.join(words)!r}")


def timeout_of(what: str, options: dict) -> float:
    timeout = options.get("--timeout", DEFAULT_TIMEOUT_S)
    if not 0 <= timeout <= MAX_TIMEOUT_S:
        raise WorldCommandError(f"{what}: --timeout must be 0..{MAX_TIMEOUT_S:g} seconds, got {timeout:g}")
    return timeout


def check_keys(what: str, digits: str, allowed: str = DTMF_KEYS) -> str:
    bad = [d for d in digits if d not in allowed]
    if not digits or bad:
        shown = repr(bad[0]) if bad else "nothing"
        raise WorldCommandError(f"{what}: bad digits {digits!r}: {shown} cannot be dialled "
                                f"(keys are {allowed})")
    return digits


async def wait_until(clock: Callable[[], float], condition: Callable[[], object], timeout_s: float):
    """``condition()`` as soon as it is true, or its last (false) value after ``timeout_s``."""
    deadline = clock() + timeout_s
    while True:
        value = condition()
        if value or clock() >= deadline:
            return value
        await asyncio.sleep(POLL_S)
