"""Read a configuration file and compose its YAML within limits, so that no file can hang the
checker, exhaust its memory or crash it.

PyYAML composes an alias as a second reference to the anchored node, so a file of ten lines can
stand for a billion values (an alias bomb), an alias inside its own anchor makes a cycle, and
thousands of nested brackets recurse through the composer until Python gives up. Everything after
the composer (the duplicate-key check, the getters) walks the tree as if aliases were copies, so
the composer here counts values the way they will be walked and stops at ``MAX_VALUES``; it
refuses cycles and nesting deeper than ``MAX_DEPTH``. Each refusal names the line.

Before YAML sees the text: only a regular file is read (a FIFO would block, ``/dev/zero`` never
ends), at most ``MAX_FILE_BYTES`` of it, and it must be UTF-8 without the control characters YAML
forbids (a NUL means a binary file).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import yaml

from .errors import ConfigError, shown

MAX_FILE_BYTES = 1 << 20  # 1 MiB; the example comune's file is 11 kB
MAX_VALUES = 20_000  # keys, values and lists, aliases counted as copies; the example has 638
MAX_DEPTH = 32  # levels of nesting; the example goes 5 deep
# the characters YAML 1.1 does not allow in a stream (PyYAML's Reader refuses them without a line)
_NOT_YAML = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CONTROL_NAMES = {0: "a NUL character", 0x1b: "an escape character (ESC)", 0x7f: "a delete character (DEL)"}


def _column(text, index: int, newline) -> tuple[int, int]:
    """(line, column), both from 1, of position ``index`` in ``text`` (bytes or str)."""
    return text.count(newline, 0, index) + 1, index - (text.rfind(newline, 0, index) + 1) + 1


def read_text(path: Path) -> str:
    """The file's text; ConfigError (with the line where there is one) for anything that is not
    a readable UTF-8 YAML text of sensible size."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError(path, None, "", "file not found") from None
    except (OSError, ValueError) as err:  # ValueError: a NUL in the path itself
        raise ConfigError(path, None, "", f"cannot read the file ({getattr(err, 'strerror', None) or err})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ConfigError(path, None, "", "cannot read the file: it is a folder (expected a YAML file)")
        if not stat.S_ISREG(mode):
            raise ConfigError(path, None, "", "not a regular file (a device, pipe or socket): "
                                              "expected a YAML text file")
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ConfigError(path, None, "", f"cannot read the file ({err.strerror or err})") from None
    finally:
        os.close(fd)
    return _decode(path, data)


def _decode(path: Path, data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(path, None, "", f"the file is larger than {MAX_FILE_BYTES // 1024} kB "
                                          "(a switchboard's configuration is a few tens of kB)")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ConfigError(path, None, "", "UTF-16 text (expected UTF-8: save the file as UTF-8)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line, column = _column(data, err.start, b"\n")
        raise ConfigError(path, line, "", f"not UTF-8 text: byte 0x{data[err.start]:02x} at column {column} "
                                          "(expected UTF-8: save the file as UTF-8)") from None
    bad = _NOT_YAML.search(text)
    if bad:
        line, column = _column(text, bad.start(), "\n")
        code = ord(bad.group())
        what = _CONTROL_NAMES.get(code, f"the character U+{code:04X}")
        hint = " (a binary file, not a YAML text)" if code == 0 else " (not allowed in a YAML file)"
        raise ConfigError(path, line, "", f"{what} at column {column}{hint}")
    if not text.strip():
        raise ConfigError(path, None, "", "the file is empty (expected the sections comune, board, extensions...)")
    return text


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe composer, counting values as they will be walked and refusing cycles and
    nesting too deep."""

    def __init__(self, text: str, path: Path, max_values: int, max_depth: int):
        super().__init__(text)
        self.path, self.max_values, self.max_depth = path, max_values, max_depth
        self.values = 0  # values composed so far, an alias counted as the copy it stands for
        self.aliased = False
        self._weight: dict[str, int] = {}  # anchor -> values its node stands for
        self._open: set[str] = set()  # anchors whose node is still being composed
        self._depth = 0

    def _refuse(self, event, message: str) -> ConfigError:
        return ConfigError(self.path, event.start_mark.line + 1, "", message)

    def _count(self, values: int, event) -> None:
        self.values += values
        if self.values > self.max_values:
            if self.aliased:
                raise self._refuse(event, f"the aliases stand for more than {self.max_values} values "
                                          "(an alias bomb?): write the values out, or use fewer aliases")
            raise self._refuse(event, f"more than {self.max_values} values: far more than a "
                                      "switchboard's configuration holds")

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise self._refuse(event, f"the alias *{shown(event.anchor)} is inside its own anchor "
                                          f"&{shown(event.anchor)}: a value cannot contain itself")
            node = super().compose_node(parent, index)  # refuses an undefined alias
            self.aliased = True
            self._count(self._weight[event.anchor], event)
            return node
        if self._depth >= self.max_depth:
            raise self._refuse(event, f"nested more than {self.max_depth} levels deep "
                                      "(a configuration needs fewer than 10)")
        anchor = getattr(event, "anchor", None)
        before = self.values
        self._count(1, event)
        self._depth += 1
        if anchor is not None:
            self._open.add(anchor)
        node = super().compose_node(parent, index)
        self._depth -= 1
        if anchor is not None:
            self._open.discard(anchor)
            self._weight[anchor] = self.values - before
        return node


def compose(text: str, path: Path, max_values: int = MAX_VALUES, max_depth: int = MAX_DEPTH) -> yaml.Node | None:
    """The YAML node tree of ``text`` (None for a file of comments only); syntax errors and
    refused files become ConfigError with the line."""
    loader = _BoundedLoader(text, path, max_values, max_depth)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context
        if "'\\t'" in str(problem):
            problem += " (indent with spaces, not tabs)"
        raise ConfigError(path, mark.line + 1 if mark else None, "", f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as err:
        raise ConfigError(path, None, "", f"YAML error: {err}") from None
    finally:
        loader.dispose()
