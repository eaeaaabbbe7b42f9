"""``centralino config check`` on files built to break it: exit 2 and one line on stderr naming
the file and the problem, fast, for each."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.config.test_bombs import alias_bomb
from tests.config.test_config import EXAMPLE
from tests.config.test_rules import without_lines

SAFETY_TIMEOUT_S = 60.0  # only so a regression fails instead of hanging the run

CASES = {
    "alias-bomb.yaml": (alias_bomb(), ":5: the aliases stand for more than 20000 values (an alias bomb?)"),
    "recursive.yaml": ("comune: &c {name: *c}\n", ":1: the alias *c is inside its own anchor &c"),
    "deep.yaml": ("comune: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", ":1: nested more than 32 levels deep"),
    "timezone.yaml": (EXAMPLE.read_text().replace("timezone: Europe/Rome", "timezone: " + "Z" * 4000),
                      ": comune.timezone: unknown time zone 'ZZZZ"),
    "empty.yaml": (b"", ": the file is empty"),
    "nul.yaml": (b"\x00" * 64, ":1: a NUL character at column 1 (a binary file, not a YAML text)"),
    "no-way-out.yaml": (without_lines(), ": lines: no way out: no line, no GSM modem and no SIP trunk"),
}


def _check(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "centralino", "config", "check", str(path)],
                          capture_output=True, text=True, timeout=SAFETY_TIMEOUT_S)


@pytest.mark.parametrize("name", list(CASES))
def test_config_check_refuses_with_one_line_and_exit_2(tmp_path, name):
    content, expected = CASES[name]
    path = tmp_path / name
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    result = _check(path)
    assert result.returncode == 2 and result.stdout == "", result
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"centralino: {path}"), result.stderr
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
