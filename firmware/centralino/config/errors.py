"""The one error type of the configuration: ``FILE:LINE: key.path: message``, always one line.

A technician reads it on an 80-column serial console, and the control socket sends it as one
JSON string, so whatever the file holds (a value with a newline, a control character, a scalar of a
megabyte) it is shown escaped and cut, never as several lines or a screenful.
"""

from __future__ import annotations

import re

MAX_SHOWN_CHARS = 60  # a value quoted in a message
MAX_MESSAGE_CHARS = 400  # the whole message, a last resort for values other modules quote
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(char: re.Match) -> str:
    c = char.group()
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c, f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` with line breaks and control characters escaped, its middle cut if too long."""
    text = _UNPRINTABLE.sub(_escape, str(text))
    if len(text) <= limit:
        return text
    keep = limit - 5
    return f"{text[:keep - keep // 3]} ... {text[-(keep // 3):]}"


def shown(value) -> str:
    """A value from the file as a message quotes it: one line, at most ``MAX_SHOWN_CHARS``."""
    text = _UNPRINTABLE.sub(_escape, str(value))
    return text if len(text) <= MAX_SHOWN_CHARS else f"{text[:MAX_SHOWN_CHARS - 3]}..."


class ConfigError(ValueError):
    """A configuration problem: ``FILE:LINE: key.path: message``."""

    def __init__(self, path, line: int | None, key: str, message: str):
        self.path, self.line = str(path), line
        self.key, self.message = one_line(key, MAX_SHOWN_CHARS * 2), one_line(message)
        where = f"{one_line(self.path)}:{line}" if line else one_line(self.path)
        super().__init__(f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}")
