"""docs/hardware.md still tells the truth about the reference HAT: its pin table and its header
drawing are those of the overlay's GPIO line names and of the board definition."""

from __future__ import annotations

import re
from pathlib import Path

from centralino import pi_header
from centralino.config.board_schema import BOARDS_DIR

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "hardware.md").read_text()


def _line_names() -> dict[int, str]:
    text = (BOARDS_DIR / "centralino-8fxs-4fxo.dts").read_text()
    names = re.findall(r'"([^"]+)"', re.search(r"gpio-line-names =(.*?);", text, re.S).group(1))
    return dict(enumerate(names))


def test_the_pin_table_is_the_overlays():
    rows = re.findall(r"^\| (\d+) \| (\d+) \| (\w+) \|", DOC, re.M)
    table = {int(gpio): (int(pin), name) for gpio, pin, name in rows}
    names = _line_names()
    assert set(table) == set(names) == set(range(28))
    for gpio, (pin, name) in table.items():
        assert (pin, name) == (pi_header.header_pin(gpio), names[gpio]), gpio


def test_the_header_drawing_is_the_overlays():
    drawing = re.search(r"### The 40-pin header\n\n```\n(.*?)\n```", DOC, re.S).group(1)
    assert drawing == pi_header.ascii_header(_line_names())
