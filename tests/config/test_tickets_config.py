"""Deadline classes per office and subject, and wrap-up per group: read from the file, refused clearly."""

from __future__ import annotations

import pytest

from centralino.config.loader import ConfigError
from centralino.config.schema import load_settings

from tests.engine.helpers import config_copy


def _with(change_office=None, change_group=None):
    def change(data):
        office = next(o for o in data["offices"] if o["name"] == "tributi")
        office["deadline"] = "same_day"
        office["subjects"] = {1: "IMU", 2: {"name": "TARI", "deadline": "40_days"}}
        if change_office:
            change_office(office)
        if change_group:
            change_group(data["groups"][0])
    return change


def test_offices_say_their_deadlines_and_subjects_and_groups_their_wrap_up(tmp_path):
    settings = load_settings(config_copy(tmp_path, _with(change_group=lambda g: g.update(wrap_up_s=45))))
    rules = settings.office("tributi").tickets
    assert (rules.deadline_for(), rules.deadline_for("1"), rules.deadline_for("2"), rules.deadline_for("9")) == \
        ("same_day", "same_day", "40_days", "same_day")
    assert [(s.code, s.name) for s in rules.subjects] == [("1", "IMU"), ("2", "TARI")]
    assert settings.office("anagrafe").tickets.deadline_for() == "7_days"  # the default
    assert settings.groups[0].wrap_up_s == 45 and settings.groups[1].wrap_up_s == 0


@pytest.mark.parametrize("change, message", [
    (lambda o: o.update(deadline="3_days"), r"offices\[1\]\.deadline: '3_days' is not valid \(expected one of "
                                            r"same_day, 7_days, 40_days\)"),
    (lambda o: o.update(subjects={"a": "IMU"}), r"offices\[1\]\.subjects\.a: 'a' is not a subject code"),
    (lambda o: o.update(subjects={1: {"name": "IMU", "deadline": "2_days"}}), r"offices\[1\]\.subjects\.1\.deadline: '2_days'"),
    (lambda o: o.update(subjects={1: {"nome": "IMU"}}), r"offices\[1\]\.subjects\.1\.name: missing required key 'name'"),
    (lambda o: o.update(subjects=["IMU"]), r"offices\[1\]\.subjects: expected a mapping of codes"),
])
def test_bad_ticket_rules_are_refused_with_file_line_and_key(tmp_path, change, message):
    with pytest.raises(ConfigError, match=r"centralino\.yaml:\d+: " + message):
        load_settings(config_copy(tmp_path, _with(change)))


def test_a_wrap_up_out_of_range_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"centralino\.yaml:\d+: groups\[0\]\.wrap_up_s: 900 is out of range"):
        load_settings(config_copy(tmp_path, _with(change_group=lambda g: g.update(wrap_up_s=900))))
