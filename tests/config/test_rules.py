"""Configurations that would make 112 unreachable are refused, naming both entries and lines."""

from __future__ import annotations

import pytest

from centralino.calls.dialplan import Dialplan
from centralino.config.loader import ConfigError
from centralino.config.schema import load_settings

from .test_config import EXAMPLE, _broken, _line_of

LIST = 'emergency_numbers: ["112", "113", "115", "118"]'
BLOCK = "emergency_numbers:\n    - \"112\"\n    - \"113\"\n    - \"115\"\n    - \"118\""


def _error(path) -> str:
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    return str(err.value)


def _engine_plan(s) -> Dialplan:
    """The dial plan the engine builds from these settings (as calls/switchboard.py does)."""
    trunk = s.sip.trunk.outbound_prefix if s.sip is not None and s.sip.trunk is not None else None
    features = {getattr(s.features, key): key for key in s.features.CODES if key != "pickup"}
    return Dialplan({e.number: e for e in s.extensions}, {g.number: g.name for g in s.groups if g.number},
                    s.dialplan.outside_prefix, s.dialplan.emergency_numbers, s.features.pickup, features,
                    trunk_prefix=trunk)


@pytest.mark.parametrize("numbers,missing", [
    ('["113", "115", "118"]', "112"), ('["999"]', "112, 113, 115, 118"), ('["0112"]', "112, 113, 115, 118"),
    ('["1"]', "112, 113, 115, 118"), ('["112", "118"]', "113, 115"),
])
def test_a_list_that_leaves_out_a_built_in_number_is_refused(tmp_path, numbers, missing):
    path = _broken(tmp_path, LIST, f"emergency_numbers: {numbers}")
    assert _error(path).startswith(f"{path}:{_line_of(path, 'emergency_numbers')}: dialplan.emergency_numbers: "
                                   f"{missing} missing: 112, 113, 115 and 118 are always emergency numbers")


def test_numbers_may_be_added_and_are_emergency_numbers_in_the_engine(tmp_path):
    path = _broken(tmp_path, LIST, 'emergency_numbers: ["112", "113", "115", "118", "1530", "1522"]')
    s = load_settings(path)
    assert s.dialplan.emergency_numbers == ("112", "113", "115", "118", "1530", "1522")
    plan = _engine_plan(s)
    for number in s.dialplan.emergency_numbers:
        assert all(not plan.classify(number[:n]).complete for n in range(1, len(number)))
        assert (plan.classify(number).kind, plan.classify("0" + number).kind) == ("emergency", "emergency")


@pytest.mark.parametrize("added,needle,message", [
    ('"0112"', '"0112"', "the emergency number 0112 begins with the outside prefix 0 (dialplan.outside_prefix, line "),
    ('"1"', '"1"', "the emergency number 1 is the beginning of the emergency number 112 "
                   "(dialplan.emergency_numbers[0], line {list}): dialling 112 would stop at 1"),
    ('"1120"', '"1120"', "the emergency number 1120 begins with the emergency number 112 "
                         "(dialplan.emergency_numbers[0], line {list}): dialling 1120 would stop at 112"),
    ('"20"', '"20"', "the emergency number 20 is the beginning of extension 200 (extensions[0].number, line {ext}): "
                     "dialling 200 would stop at 20"),
])
def test_an_added_number_that_collides_is_refused_at_its_line(tmp_path, added, needle, message):
    path = _broken(tmp_path, LIST, BLOCK + f"\n    - {added}")
    lines = {"list": _line_of(path, '- "112"'), "ext": _line_of(path, '{number: "200"')}
    index = 4
    text = _error(path)
    assert text.startswith(f"{path}:{_line_of(path, needle)}: dialplan.emergency_numbers[{index}]: "), text
    assert message.format(**lines) in text, text
    assert "no number, code or prefix may be the beginning of an emergency number, nor begin with one" in text


@pytest.mark.parametrize("old,new,needle,key,message", [
    ('{number: "207",', '{number: "11",', 'number: "11"', "extensions[7].number",
     "extension 11 is the beginning of the emergency number 112 (dialplan.emergency_numbers[0], line {e}): "
     "dialling 112 would stop at 11"),
    ('{number: "207",', '{number: "1180",', 'number: "1180"', "extensions[7].number",
     "extension 1180 begins with the emergency number 118 (dialplan.emergency_numbers[3], line {e}): "
     "dialling 1180 would stop at 118"),
    ('{name: anagrafe, number: "610"', '{name: anagrafe, number: "11"', 'number: "11"', "groups[0].number",
     "group anagrafe's number 11 is the beginning of the emergency number 112"),
    ('outside_prefix: "0"', 'outside_prefix: "1"', 'outside_prefix: "1"', "dialplan.outside_prefix",
     "the outside prefix 1 is the beginning of the emergency number 112 (dialplan.emergency_numbers[0], line {e})"),
])
def test_nothing_dialled_may_begin_an_emergency_number_nor_begin_with_one(tmp_path, old, new, needle, key, message):
    path = _broken(tmp_path, old, new)
    text = _error(path)
    assert text.startswith(f"{path}:{_line_of(path, needle)}: {key}: "), text
    assert message.format(e=_line_of(path, "emergency_numbers")) in text, text


def test_with_the_built_in_list_the_message_says_so(tmp_path):
    path = _broken(tmp_path, f"  {LIST}", "")
    path.write_text(path.read_text().replace('{number: "207",', '{number: "11",', 1))
    line = _line_of(path, 'number: "11"')
    assert _error(path).startswith(f"{path}:{line}: extensions[7].number: extension 11 "
                                   "is the beginning of the emergency number 112 (dialplan.emergency_numbers, "
                                   "built in): dialling 112 would stop at 11")


def test_a_trunk_prefix_that_begins_an_emergency_number_is_refused(tmp_path):
    path = tmp_path / "trunk.yaml"
    path.write_text(EXAMPLE.read_text() + "\nsip:\n  listen: 127.0.0.1\n  trunk:\n    proxy: 127.0.0.1:5070\n"
                                          "    register: false\n    outbound_prefix: \"11\"\n")
    assert _error(path).startswith(f"{path}:{_line_of(path, 'outbound_prefix')}: sip.trunk.outbound_prefix: "
                                   "the trunk prefix 11 is the beginning of the emergency number 112")


def without_lines() -> str:
    """The example with ``lines: []``: no PSTN line, and no GSM modem or trunk either."""
    head, rest = EXAMPLE.read_text().split("\nlines:\n", 1)
    return head + "\nlines: []\n" + rest[rest.index("\ndialplan:"):]


@pytest.mark.parametrize("extra,accepted", [
    ("", False),
    ("gsm: {dialect: sim7600}\n", True),
    ("sip:\n  listen: 127.0.0.1\n  trunk: {proxy: \"127.0.0.1:5070\", register: false}\n", True),
    ("sip:\n  listen: 127.0.0.1\n", False),  # SIP without a trunk is no way out
])
def test_a_configuration_needs_a_way_out(tmp_path, extra, accepted):
    path = tmp_path / "no-lines.yaml"
    path.write_text(without_lines() + extra)
    if accepted:
        assert load_settings(path).lines == ()
        return
    assert _error(path) == (f"{path}:{_line_of(path, 'lines: []')}: lines: no way out: no line, no GSM modem and "
                            "no SIP trunk, so 112 could not be called (expected at least one of: lines, gsm, sip.trunk)")
