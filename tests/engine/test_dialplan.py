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


def test_the_trunk_prefix_sends_a_number_through_the_sip_trunk_but_never_an_emergency_call():
    plan = Dialplan({"200": None}, {}, "0", EMERGENCY, "*8", trunk_prefix="9")
    assert not plan.classify("90612345").complete  # outside numbers end with the timeout or #
    match = plan.classify("90612345#")
    assert (match.kind, match.target) == ("trunk", "0612345")
    assert plan.classify("9112").kind == "emergency"
    assert plan.classify("00612345", timed_out=True).kind == "outside"


def test_feature_codes_wait_for_their_last_key_and_do_not_hide_the_pickup():
    plan = Dialplan({"200": None, "201": None}, {}, "0", EMERGENCY, "*8", {"*61": "login", "*62": "logout"})
    assert not plan.classify("*6").complete
    assert (plan.classify("*61").kind, plan.classify("*61").target) == ("feature", "login")
    assert plan.classify("*8201").kind == "pickup"
    assert plan.classify("*69", timed_out=True).kind == "invalid"
