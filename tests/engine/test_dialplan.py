"""What dialled digits mean, for the cases the scenarios found wrong."""

from __future__ import annotations

from centralino.calls.dialplan import Dialplan

EMERGENCY = ("112", "113", "115", "118")


def _plan() -> Dialplan:
    return Dialplan({"200": None, "201": None}, {"600": "sportello"}, "0", EMERGENCY, "*8")


def test_the_first_key_of_the_pickup_code_waits_for_the_rest():
    plan = _plan()
    assert not plan.classify("*").complete
    assert plan.classify("*8#").kind == "pickup"
    assert (plan.classify("*8201").kind, plan.classify("*8201").target) == ("pickup", "201")
    assert plan.classify("*#").kind == "invalid"


def test_emergency_number_after_the_outside_prefix_is_an_emergency_at_once():
    plan = _plan()
    for number in EMERGENCY:
        match = plan.classify("0" + number)
        assert (match.kind, match.target, match.complete) == ("emergency", number, True)
    assert not plan.classify("011").complete
