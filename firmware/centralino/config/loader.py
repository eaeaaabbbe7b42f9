"""Load one YAML file keeping every value's line, and read it with typed, bounded getters.

Klipper's way: a value is checked by the code that reads it (``get_int("pcm_slots", minval=1,
maxval=128)``), so the message for a bad value names its file, line and key without a separate
schema drifting away from the code. Keys nobody read are reported as unknown at the end, which
catches typos such as ``extentions:``.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REQUIRED = object()


class ConfigError(ValueError):
    """A configuration problem: ``FILE:LINE: key.path: message``."""

    def __init__(self, path, line: int | None, key: str, message: str):
        self.path, self.line, self.key, self.message = str(path), line, key, message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class ConfigNode:
    """A YAML node with its origin; mapping nodes offer the typed getters."""

    def __init__(self, node: yaml.Node, path: Path, key: str):
        self.node, self.path, self.key = node, path, key
        self._used: set[str] = set()
        self._children: list[ConfigNode] = []
        if isinstance(node, yaml.MappingNode):
            self._items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if name is None:
                    raise self.error("keys must be plain words", key_node)
                if name in self._items:
                    raise ConfigError(path, _line(key_node), self._join(name),
                                      f"given twice (first on line {_line(self._items[name][0])})")
                self._items[name] = (key_node, value_node)

    @property
    def line(self) -> int:
        return _line(self.node)

    def _join(self, name) -> str:
        if isinstance(name, int):
            return f"{self.key}[{name}]"
        return f"{self.key}.{name}" if self.key else name

    def error(self, message: str, node: yaml.Node | None = None, key: str | None = None) -> ConfigError:
        return ConfigError(self.path, _line(node or self.node), key or self.key, message)

    # -- structure
    def _require_mapping(self) -> None:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"expected a mapping of keys, found {_kind(self.node)}")

    def has(self, name: str) -> bool:
        self._require_mapping()
        return name in self._items

    def _value(self, name: str, default):
        self._require_mapping()
        if name not in self._items:
            if default is REQUIRED:
                raise self.error(f"missing required key '{name}'", key=self._join(name))
            return None
        self._used.add(name)
        return self._items[name][1]

    def get_section(self, name: str, default=REQUIRED) -> "ConfigNode | None":
        node = self._value(name, default)
        if node is None:
            if default is REQUIRED or default is None:
                return None
            node = yaml.compose("{}")
        child = ConfigNode(node, self.path, self._join(name))
        child._require_mapping()
        self._children.append(child)
        return child

    def get_list(self, name: str, default=REQUIRED) -> list["ConfigNode"]:
        node = self._value(name, default)
        if node is None:
            return list(default) if default is not REQUIRED and default is not None else []
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
            raise ConfigError(self.path, _line(node), self._join(name), f"expected a single value, found {_kind(node)}")
        return node.value, node

    def text(self) -> str:
        """The raw text of a scalar node (list elements such as member numbers)."""
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.error(f"expected a single value, found {_kind(self.node)}")
        return self.node.value

    def get_str(self, name: str, default=REQUIRED, pattern: str | None = None, expected: str = "") -> str | None:
        text, node = self._scalar(name, default)
        if node is None:
            return default
        if pattern and not re.fullmatch(pattern, text):
            raise ConfigError(self.path, _line(node), self._join(name),
                              f"'{text}' is not valid (expected {expected or 'to match ' + pattern})")
        return text

    def get_int(self, name: str, default=REQUIRED, minval: int | None = None, maxval: int | None = None) -> int | None:
        text, node = self._scalar(name, default)
        if node is None:
            return default
        try:
            value = int(text, 10)
        except ValueError:
            raise ConfigError(self.path, _line(node), self._join(name), f"'{text}' is not a whole number") from None
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
            raise ConfigError(self.path, _line(node), self._join(name), f"'{text}' is not a number") from None
        self._bounds(name, node, value, minval, maxval)
        return value

    def get_bool(self, name: str, default=REQUIRED) -> bool | None:
        text, node = self._scalar(name, default)
        if node is None:
            return default
        lowered = text.lower()
        if lowered in ("true", "yes", "on"):
            return True
        if lowered in ("false", "no", "off"):
            return False
        raise ConfigError(self.path, _line(node), self._join(name), f"'{text}' is not true or false")

    def get_choice(self, name: str, choices, default=REQUIRED) -> str | None:
        text, node = self._scalar(name, default)
        if node is None:
            return default
        if text not in choices:
            raise ConfigError(self.path, _line(node), self._join(name),
                              f"'{text}' is not one of {', '.join(choices)}")
        return text

    def _bounds(self, name, node, value, minval, maxval) -> None:
        if (minval is not None and value < minval) or (maxval is not None and value > maxval):
            raise ConfigError(self.path, _line(node), self._join(name),
                              f"{value} is out of range (expected {minval}..{maxval})")

    def key_line(self, name: str) -> int:
        return _line(self._items[name][0]) if name in self._items else self.line

    def check_unused(self) -> None:
        """Every key must have been read by someone: the rest are typos or misplaced keys."""
        if isinstance(self.node, yaml.MappingNode):
            for name, (key_node, _) in self._items.items():
                if name not in self._used:
                    known = ", ".join(sorted(self._used)) or "none"
                    raise ConfigError(self.path, _line(key_node), self._join(name),
                                      f"unknown key '{name}' (known here: {known})")
        for child in self._children:
            child.check_unused()


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"'{node.value}'" if node.value else "nothing"


def load_yaml(path) -> ConfigNode:
    """Parse ``path`` into a ConfigNode; syntax errors become ConfigError with the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, None, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(path, None, "", f"cannot read the file ({err})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(path, line, "", f"YAML syntax error: {err.problem or err.context}") from None
    except yaml.YAMLError as err:
        raise ConfigError(path, None, "", f"YAML error: {err}") from None
    if node is None:
        raise ConfigError(path, None, "", "the file is empty")
    root = ConfigNode(node, path, "")
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(path, _line(node), "", f"the top level must be a mapping of sections, found {_kind(node)}")
    return root
