"""Files built to hang, exhaust or crash a YAML loader, and files that are not YAML text at all:
each gets one line naming the file (and the line where there is one), within milliseconds.

Each case goes through ``check_file`` with a generous deadline, so a regression shows as a wrong
message ("took longer than"), not as a test run that never ends.
"""

from __future__ import annotations

import os
import re

import pytest

from centralino.config.checker import check_file
from centralino.config.errors import MAX_MESSAGE_CHARS
from centralino.config.loader import load_yaml
from centralino.config.schema import load_settings
from centralino.config.yaml_reader import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES

from .test_config import EXAMPLE, _broken, _line_of

DEADLINE_S = 20.0  # far beyond what any of these needs; only so a regression cannot hang the run


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The billion laughs: each level is a list of nine aliases of the one before."""
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        rows.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(rows) + "\n"


def _refusal(path) -> str:
    verdict = check_file(path, time_limit_s=DEADLINE_S)
    assert not verdict.ok
    message = verdict.error
    assert "\n" not in message and "\r" not in message, message
    assert len(message) <= len(str(path)) + MAX_MESSAGE_CHARS + 20, message
    assert "took longer than" not in message, message
    return message


def _write(tmp_path, name: str, content) -> os.PathLike:
    path = tmp_path / name
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


@pytest.mark.parametrize("name,content,line,message", [
    ("alias-bomb.yaml", alias_bomb(), 5, f"the aliases stand for more than {MAX_VALUES} values (an alias bomb?)"),
    ("recursive-list.yaml", "comune: &c [a, *c]\n", 1, "the alias *c is inside its own anchor &c"),
    ("recursive-map.yaml", "x: 1\ncomune: &c\n  name: *c\n", 3, "the alias *c is inside its own anchor &c"),
    ("deep-flow.yaml", "comune: " + "[" * 5000 + "]" * 5000 + "\n", 1, f"nested more than {MAX_DEPTH} levels deep"),
    ("deep-block.yaml", "".join(f"{'  ' * i}k{i}:\n" for i in range(200)), MAX_DEPTH,
     f"nested more than {MAX_DEPTH} levels deep"),
    ("undefined-alias.yaml", "comune: *nowhere\n", 1, "YAML syntax error: found undefined alias 'nowhere'"),
    ("nul.yaml", b"comune:\n  name: Prova\x00\x00\n", 2, "a NUL character at column 14 (a binary file, not a YAML text)"),
    ("binary.yaml", b"comune: {name: Prova}\nboard: \x89PNG\r\n", 2,
     "not UTF-8 text: byte 0x89 at column 8 (expected UTF-8: save the file as UTF-8)"),
    ("bell.yaml", "comune:\n  name: \x07Prova\n", 2, "the character U+0007 at column 9 (not allowed in a YAML file)"),
    ("non-scalar-key.yaml", "comune:\n  [a, b]: 1\n", 2, "keys must be plain words, found a list"),
    ("many-values.yaml", "extensions: [" + ", ".join(["x"] * MAX_VALUES) + "]\n", 1,
     f"more than {MAX_VALUES} values: far more than a switchboard's configuration holds"),
])
def test_a_bomb_gets_one_line_with_file_and_line(tmp_path, name, content, line, message):
    path = _write(tmp_path, name, content)
    text = _refusal(path)
    assert text.startswith(f"{path}:{line}: "), text
    assert message in text, text


@pytest.mark.parametrize("name,content,message", [
    ("empty.yaml", b"", "the file is empty"),
    ("blank.yaml", b"  \n\n\t\n", "the file is empty"),
    ("comments.yaml", b"# only a comment\n", "the file has only comments"),
    ("utf16.yaml", "comune: {name: Prova}\n".encode("utf-16"), "UTF-16 text (expected UTF-8: save the file as UTF-8)"),
    ("huge.yaml", b"# " + b"x" * MAX_FILE_BYTES + b"\n", f"the file is larger than {MAX_FILE_BYTES // 1024} kB"),
])
def test_files_that_are_not_a_configuration_name_the_file(tmp_path, name, content, message):
    path = _write(tmp_path, name, content)
    assert _refusal(path).startswith(f"{path}: {message}")


def test_a_fifo_a_device_and_a_folder_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    assert _refusal(fifo) == f"{fifo}: not a regular file (a device, pipe or socket): expected a YAML text file"
    assert _refusal("/dev/zero") == "/dev/zero: not a regular file (a device, pipe or socket): expected a YAML text file"
    assert _refusal(tmp_path) == f"{tmp_path}: cannot read the file: it is a folder (expected a YAML file)"


@pytest.mark.parametrize("zone,needle", [
    ("Europe/" + "Roma" * 100, "unknown time zone 'Europe/RomaRoma"),  # the OS refuses the name (ENAMETOOLONG)
    ("Europe", "unknown time zone 'Europe'"),  # a folder of the zone database
    ("../../etc/passwd", "unknown time zone '../../etc/passwd'"),
    ("Europe/Roma", "unknown time zone 'Europe/Roma'"),
])
def test_a_bad_time_zone_is_a_clean_error(tmp_path, zone, needle):
    path = _broken(tmp_path, "timezone: Europe/Rome", f"timezone: {zone}")
    text = _refusal(path)
    assert text.startswith(f"{path}:{_line_of(path, 'timezone:')}: comune.timezone: {needle}"), text


def test_values_are_quoted_on_one_line_and_cut(tmp_path):
    # a block scalar with line breaks, and a megabyte-long word, where a number is expected
    line = next(row for row in EXAMPLE.read_text().splitlines() if row.startswith("  ring_timeout_s: 60"))
    path = _broken(tmp_path, line, "  ring_timeout_s: |\n    32\n    33")
    assert "features.ring_timeout_s: '32\\n33\\n' is not" in _refusal(path)
    path = _broken(tmp_path, line, "  ring_timeout_s: " + "9" * 500_000)
    text = _refusal(path)
    assert text.startswith(f"{path}:{_line_of(path, 'ring_timeout_s')}: features.ring_timeout_s: '9999") \
        and len(text) < 300, text


def test_aliases_are_counted_as_the_copies_they_stand_for(tmp_path):
    """Anchors are welcome (the example shares one timetable between three offices); what is
    counted is what the checks will walk: here 250 copies of a 100-value list."""
    values = ", ".join(f"v{i}" for i in range(99))
    path = _write(tmp_path, "copies.yaml", f"a: &a [{values}]\nb: [" + ", ".join(["*a"] * 250) + "]\n")
    assert _refusal(path).startswith(f"{path}:2: the aliases stand for more than {MAX_VALUES} values")
    assert len(load_yaml(path, max_values=30_000).get_list("b")) == 250  # the same file within a larger budget
    example = load_settings(EXAMPLE)  # three offices share &mattine
    assert example.office("sportello").hours == example.office("anagrafe").hours


def test_a_bomb_with_the_budget_lifted_is_stopped_by_the_deadline(tmp_path):
    """The time limit is the last line of defence: the old loader's walk over the bomb, stopped."""
    path = _write(tmp_path, "alias-bomb.yaml", alias_bomb())
    verdict = check_file(path, max_values=10**12, time_limit_s=0.5)
    assert not verdict.ok
    assert verdict.error == (f"{path}: checking took longer than 0.5 s: refused (no configuration needs that long; "
                             "is the file very large or full of aliases?)")


def test_a_good_file_still_loads_and_nothing_is_left_behind(tmp_path):
    verdict = check_file(EXAMPLE, time_limit_s=DEADLINE_S)
    assert verdict.ok and verdict.summary == {"ports": 12, "extensions": 8, "groups": 6, "lines": 4,
                                              "operator": "200", "operators": ["200"]}
    import signal
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # the deadline's timer is cleared
    assert re.fullmatch(r"\d+ ports, 8 extensions, 6 groups, 4 lines", verdict.summary_text())
