"""Load one YAML file keeping every value's line, and read it with typed, bounded getters.

Klipper's way: a value is checked by the code that reads it (``get_int("pcm_slots", minval=1,
maxval=128)``), so the message for a bad value names its file, line and key without a separate
schema drifting away from the code. Keys nobody asked for are reported as unknown at the end, which
catches typos such as ``extentions:``.

Values are read from the scalar's raw text, never from PyYAML's own typing: ``number: 0550`` stays
the digits ``0550`` (YAML 1.1 would make it the octal 360) and ``spi_speed_hz: 1_000_000`` is
parsed by ``int``. An empty value (``key:``, ``~``, ``null``) counts as not given. Reading the file
and composing its YAML within limits (size, aliases, depth) is ``yaml_reader``'s job.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import ConfigError, shown
from .yaml_reader import MAX_DEPTH, MAX_VALUES, compose, read_text

__all__ = ["ConfigError", "ConfigNode", "Origin", "load_yaml", "shown"]

REQUIRED = object()
NULL_TAG = "tag:yaml.org,2002:null"
TRUE_WORDS = ("true", "yes", "on")
FALSE_WORDS = ("false", "no", "off")


@dataclass(frozen=True)
class Origin:
    """Where a parsed section came from, kept so cross-section checks can point at a line."""

    path: str
    key: str
    line: int
    key_lines: dict = field(default_factory=dict)

    def error(self, name: str | None, message: str) -> ConfigError:
        """An error about this section's key ``name`` (or the section itself when None)."""
        key = (f"{self.key}.{name}" if self.key else name) if name else self.key
        return ConfigError(self.path, self.key_lines.get(name, self.line), key, message)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


class ConfigNode:
    """A YAML node with its origin; mapping nodes offer the typed getters."""

    def __init__(self, node: yaml.Node, path: Path, key: str):
        self.node, self.path, self.key = node, path, key
        self._asked: set[str] = set()
        self._children: list[ConfigNode] = []
        self._items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.error("keys must be plain words", key_node)
                self._items.setdefault(key_node.value, (key_node, value_node))

    @property
    def line(self) -> int:
        return _line(self.node)

    def _join(self, name) -> str:
        if isinstance(name, int):
            return f"{self.key}[{name}]"
        return f"{self.key}.{name}" if self.key else name

    def error(self, message: str, node: yaml.Node | None = None, key: str | None = None) -> ConfigError:
        return ConfigError(self.path, _line(node or self.node), key or self.key, message)

    def origin(self) -> Origin:
        """This section's file, key path and the line of each of its keys."""
        return Origin(str(self.path), self.key, self.line,
                      {name: _line(key_node) for name, (key_node, _) in self._items.items()})

    # -- structure
    def _require_mapping(self) -> None:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"expected a mapping of keys, found {_kind(self.node)}")

    def has(self, name: str) -> bool:
        self._require_mapping()
        return name in self._items and not _is_null(self._items[name][1])

    def has_section(self, name: str) -> bool:
        """``name`` is given as a mapping (for keys that take either a word or a section)."""
        return self.has(name) and isinstance(self._items[name][1], yaml.MappingNode)

    def _value(self, name: str, default):
        """The value node of ``name``, or None when it is absent or empty and has a default."""
        self._require_mapping()
        self._asked.add(name)
        if name not in self._items or _is_null(self._items[name][1]):
            if default is REQUIRED:
                if name in self._items:
                    raise ConfigError(self.path, _line(self._items[name][0]), self._join(name), "no value given")
                raise self.error(f"missing required key '{name}'", key=self._join(name))
            return None
        return self._items[name][1]

    def keys(self) -> list[str]:
        """The keys of a mapping whose keys are data (weekdays, menu keys), in file order."""
        self._require_mapping()
        self._asked.update(self._items)
        return list(self._items)

    def get_section(self, name: str, default=REQUIRED) -> "ConfigNode | None":
        """A mapping below this one; ``default={}`` gives an empty section when absent."""
        node = self._value(name, default)
        if node is None:
            if default is None:
                return None
            node = yaml.compose("{}")
            node.start_mark = self.node.start_mark
        child = ConfigNode(node, self.path, self._join(name))
        child._require_mapping()
        self._children.append(child)
        return child

    def get_list(self, name: str, default=REQUIRED) -> list["ConfigNode"]:
        """The elements of a list; absent with ``default=None`` gives an empty list."""
        node = self._value(name, default)
        if node is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise ConfigError(self.path, _line(node), self._join(name), f"expected a list, found {_kind(node)}")
        items = [ConfigNode(item, self.path, f"{self._join(name)}[{i}]") for i, item in enumerate(node.value)]
        self._children.extend(items)
        return items

    def items(self) -> list["ConfigNode"]:
        """Elements of a list node."""
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error(f"expected a list, found {_kind(self.node)}")
        items = [ConfigNode(item, self.path, f"{self.key}[{i}]") for i, item in enumerate(self.node.value)]
        self._children.extend(items)
        return items

    # -- scalars
    def _scalar(self, name: str, default) -> tuple[str | None, yaml.Node | None]:
        node = self._value(name, default)
        if node is None:
            return None, None
        if not isinstance(node, yaml.ScalarNode):
            raise ConfigError(self.path, _line(node), self._join(name),
                              f"expected a single value, found {_kind(node)}")
        return node.value, node

    def _fail(self, name: str, node: yaml.Node, message: str) -> ConfigError:
        return ConfigError(self.path, _line(node), self._join(name), message)

    def text(self) -> str:
        """The raw text of a scalar node (list elements such as member numbers)."""
        if not isinstance(self.node, yaml.ScalarNode) or _is_null(self.node):
            raise self.error(f"expected a single value, found {_kind(self.node)}")
        return self.node.value

    def get_str(self, name: str, default=REQUIRED, pattern: str | None = None, expected: str = "") -> str | None:
        text, node = self._scalar(name, default)
        if node is None:
            return default
        if pattern and not re.fullmatch(pattern, text):
            raise self._fail(name, node, f"'{shown(text)}' is not valid (expected {expected or 'to match ' + pattern})")
        return text

    def get_int(self, name: str, default=REQUIRED, minval: int | None = None, maxval: int | None = None) -> int | None:
        text, node = self._scalar(name, default)
        if node is None:
            return default
        try:
            value = int(text, 10)
        except ValueError:
            raise self._fail(name, node, f"'{shown(text)}' is not a whole number{_range(minval, maxval)}") from None
        self._bounds(name, node, value, minval, maxval)
        return value

    def get_float(self, name: str, default=REQUIRED, minval: float | None = None,
                  maxval: float | None = None) -> float | None:
        text, node = self._scalar(name, default)
        if node is None:
            return default
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise self._fail(name, node, f"'{shown(text)}' is not a number{_range(minval, maxval)}")
        self._bounds(name, node, value, minval, maxval)
        return value

    def get_bool(self, name: str, default=REQUIRED) -> bool | None:
        text, node = self._scalar(name, default)
        if node is None:
            return default
        lowered = text.lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        raise self._fail(name, node, f"'{shown(text)}' is not true or false (expected true or false)")

    def get_choice(self, name: str, choices, default=REQUIRED) -> str | None:
        text, node = self._scalar(name, default)
        if node is None:
            return default
        if text not in choices:
            raise self._fail(name, node, f"'{shown(text)}' is not valid (expected one of {', '.join(choices)})")
        return text

    def _bounds(self, name, node, value, minval, maxval) -> None:
        if (minval is not None and value < minval) or (maxval is not None and value > maxval):
            raise self._fail(name, node, f"{text_number(value)} is out of range{_range(minval, maxval)}")

    def key_line(self, name: str) -> int:
        return _line(self._items[name][0]) if name in self._items else self.line

    def key_error(self, name: str, message: str) -> ConfigError:
        """An error about the value of key ``name`` of this section (for checks made after reading)."""
        return ConfigError(self.path, self.key_line(name), self._join(name), message)

    def check_unused(self) -> None:
        """Every key must have been asked for by someone: the rest are typos or misplaced keys."""
        for name, (key_node, _) in self._items.items():
            if name not in self._asked:
                known = ", ".join(sorted(self._asked)) or "none"
                raise ConfigError(self.path, _line(key_node), self._join(name),
                                  f"unknown key '{shown(name)}' (known: {known})")
        for child in self._children:
            child.check_unused()


def text_number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _range(minval, maxval) -> str:
    if minval is not None and maxval is not None:
        return f" (expected {text_number(minval)}..{text_number(maxval)})"
    if minval is not None:
        return f" (expected at least {text_number(minval)})"
    if maxval is not None:
        return f" (expected at most {text_number(maxval)})"
    return ""


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"'{shown(node.value)}'" if node.value and not _is_null(node) else "nothing"


def _check_duplicates(node: yaml.Node, path: Path, key: str = "") -> None:
    """PyYAML keeps the last of two equal keys without a word: refuse them, in file order. The
    walk sees aliases as copies, which the composer has already bounded (``MAX_VALUES``)."""
    if isinstance(node, yaml.MappingNode):
        first: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(path, _line(key_node), key, f"keys must be plain words, found {_kind(key_node)}")
            name = key_node.value
            where = f"{key}.{name}" if key else name
            if name in first:
                raise ConfigError(path, _line(key_node), where,
                                  f"given twice (first on line {_line(first[name])})")
            first[name] = key_node
            _check_duplicates(value_node, path, where)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_duplicates(item, path, f"{key}[{i}]")


def load_yaml(path, max_values: int = MAX_VALUES, max_depth: int = MAX_DEPTH) -> ConfigNode:
    """Parse ``path`` into a ConfigNode; every problem (unreadable, binary, syntax, a bomb, a
    duplicate key) becomes one ConfigError with the file and, where there is one, the line."""
    path = Path(path)
    node = compose(read_text(path), path, max_values, max_depth)
    if node is None:
        raise ConfigError(path, None, "", "the file has only comments (expected the sections comune, board, "
                                          "extensions...)")
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(path, _line(node), "", f"the top level must be a mapping of sections, found {_kind(node)}")
    _check_duplicates(node, path)
    return ConfigNode(node, path, "")
