"""Configurations that would make 112 unreachable are refused, naming both entries and lines;
an office's hours are always said; ``hours: always`` and ``hours: never`` mean what they say."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from centralino.calls.dialplan import Dialplan
from centralino.config.flows_schema import FixedHours
from centralino.config.loader import ConfigError
from centralino.config.schema import load_settings

from .test_config import EXAMPLE, _broken, _line_of

ROME = ZoneInfo("Europe/Rome")
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


@pytest.mark.parametrize("hours,message", [
    ("", "an office needs its phone hours"),
    ("    hours:\n", "an office needs its phone hours"),
    ("    hours: {}\n", "no window on any day: the office would never answer"),
    ("    hours: {lunedi: []}\n", "no window on any day: the office would never answer"),
    ("    hours: sempre\n", "'sempre' is not valid (expected weekday windows such as lunedi"),
    ("    hours: [always]\n", "expected a single value, found a list"),
])
def test_an_office_without_hours_is_refused(tmp_path, hours, message):
    text = EXAMPLE.read_text()
    start = text.index("  - name: polizia_locale")
    block = text[start:text.index("    on_failure: voicemail", start)]
    path = tmp_path / "police.yaml"
    path.write_text(text.replace(block, block[:block.index("    hours:")] + hours, 1))
    error = _error(path)
    office = _line_of(path, "  - name: polizia_locale")
    rows = path.read_text().splitlines()
    line = next(n for n in range(office, len(rows) + 1) if "hours:" in rows[n - 1]) if hours else office
    assert error.startswith(f"{path}:{line}: offices[4].hours: "), error
    assert message in error
    assert "or hours: always, or hours: never" in error or "found a list" in error


def _police(tmp_path, hours: str):
    text = EXAMPLE.read_text()
    start = text.index("  - name: polizia_locale")
    block = text[start:text.index("    on_failure: voicemail", start)]
    path = tmp_path / f"police-{hours}.yaml"
    path.write_text(text.replace(block, block[:block.index("    hours:")] + f"    hours: {hours}\n", 1))
    s = load_settings(path)
    return s.office("polizia_locale").hours, s.calendar()


def test_hours_always_is_open_at_night_on_holidays_and_in_night_service(tmp_path):
    hours, calendar = _police(tmp_path, "always")
    christmas_night = datetime(2026, 12, 25, 3, 0, tzinfo=ROME)
    assert isinstance(hours, FixedHours) and calendar.holiday(christmas_night.date())
    assert hours.is_open(christmas_night, calendar)
    calendar.override = "night"  # *52: the other offices close
    assert hours.is_open(christmas_night, calendar)
    assert hours.next_opening(christmas_night, calendar) == christmas_night
    with pytest.raises(ValueError):
        hours.is_open(datetime(2026, 12, 25, 3, 0))  # a time without its zone is still a bug


def test_hours_never_is_closed_even_in_day_service(tmp_path):
    hours, calendar = _police(tmp_path, "never")
    tuesday_morning = datetime(2026, 11, 24, 10, 0, tzinfo=ROME)
    assert not hours.is_open(tuesday_morning, calendar) and hours.windows == {}
    calendar.override = "day"  # *51: the other offices open
    assert not hours.is_open(tuesday_morning, calendar)
    assert hours.next_opening(tuesday_morning, calendar) is None
    other = load_settings(EXAMPLE).office("anagrafe").hours
    assert other.is_open(tuesday_morning, calendar)  # the day service applies to offices that keep hours
    assert hours != FixedHours("always") and hours == FixedHours("never")


def test_every_office_of_the_example_keeps_real_hours():
    s = load_settings(EXAMPLE)
    assert s.offices and all(not isinstance(o.hours, FixedHours) and o.hours.windows for o in s.offices)


def test_emergency_paths_set_the_order_and_every_kind_is_still_tried(tmp_path):
    import yaml

    from centralino.config.loader import ConfigError
    from centralino.config.schema import load_settings

    def with_paths(paths):
        data = yaml.safe_load(EXAMPLE_TEXT())
        data["dialplan"]["emergency_paths"] = paths
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    assert load_settings(with_paths(["gsm"])).dialplan.emergency_paths == ("gsm", "fxo", "sip")
    for bad, words in ((["fxo", "fxo"], "listed twice"), (["pstn"], "not a kind of path")):
        try:
            load_settings(with_paths(bad))
        except ConfigError as err:
            assert words in str(err) and "dialplan.emergency_paths[" in str(err)
        else:
            raise AssertionError(f"{bad} accepted")


def EXAMPLE_TEXT():
    from pathlib import Path

    return (Path(__file__).resolve().parents[2] / "examples" / "comune.yaml").read_text()
