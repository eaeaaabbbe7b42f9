"""A planned migration window, added to the configuration text where a person would write it.

The Configurazione page's form gives a start and an end; this module writes one more item in
``failover.windows`` of the file's own text (comments and layout kept, unlike a YAML dump), and
the page then shows the result through the usual check and diff before anyone applies it. Only
the block style the example uses is edited; anything else is refused with a pointer to the editor.
"""

from __future__ import annotations

from datetime import datetime

import yaml

TIME_FORMAT = "%Y-%m-%d %H:%M"  # what failover.windows reads, local time


class WindowError(ValueError):
    """The window or the file cannot be edited this way; the message is for the page."""


def _parse(text: str, what: str) -> datetime:
    try:
        return datetime.strptime(text.replace("T", " "), TIME_FORMAT)
    except ValueError:
        raise WindowError(f"{what}: data e ora non valide ({text!r}, atteso AAAA-MM-GG HH:MM)") from None


def add_window(config_text: str, start: str, end: str) -> str:
    """``config_text`` with the window [start, end) added to ``failover.windows``."""
    first, last = _parse(start, "inizio"), _parse(end, "fine")
    if last <= first:
        raise WindowError("la fine della finestra deve essere dopo l'inizio")
    item = f'{{from: "{first:{TIME_FORMAT}}", to: "{last:{TIME_FORMAT}}"}}'
    try:
        root = yaml.compose(config_text)
    except yaml.YAMLError as err:
        raise WindowError(f"il file attuale non è YAML leggibile ({err})") from None
    failover = _value(root, "failover")
    if not isinstance(failover, yaml.MappingNode):
        raise WindowError("nel file non c'è la sezione failover: la aggiunga nell'editor (serve anche gsm)")
    lines = config_text.split("\n")
    windows = _value(failover, "windows")
    if windows is None:
        key = failover.value[0][0]
        indent = " " * key.start_mark.column
        at = _end_line(failover)
        lines[at:at] = [f"{indent}windows:", f"{indent}  - {item}"]
    elif isinstance(windows, yaml.SequenceNode) and not windows.flow_style and windows.value:
        last_item = windows.value[-1]
        indent = " " * (last_item.start_mark.column - 2)
        at = _end_line(windows)
        lines[at:at] = [f"{indent}- {item}"]
    else:
        raise WindowError("failover.windows non è un elenco a righe (- {from: ..., to: ...}): lo modifichi nell'editor")
    return "\n".join(lines)


def _value(mapping, key: str):
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _end_line(node) -> int:
    """The index of the line after ``node``'s last line of content (before trailing comments)."""
    last = node
    while isinstance(last, (yaml.MappingNode, yaml.SequenceNode)) and last.value:
        last = last.value[-1][1] if isinstance(last, yaml.MappingNode) else last.value[-1]
    mark = last.end_mark
    return mark.line + 1 if mark.column > 0 else mark.line
