"""The crisis service in a window: `service crisis until HH:MM` on the console opens the offices
with the crisis announcement and ends by itself at that time (then the hours apply again); an
operator's phone starts it with *53; a time that is no time, or already past, is refused."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from centralino.flows import sentences

from tests.engine.helpers import lift_and_dial
from tests.flows.voce_helpers import EARS, call_voce_guida
from tests.ops.test_control import control_session

TUESDAY_0900 = datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Europe/Rome"))


def test_a_crisis_window_ends_by_itself_and_bad_ends_are_refused(tmp_path):
    async def story(s, client, ctx):
        answers = {"bad": await client.ask("service", "crisis", "until", "25:99"),
                   "past": await client.ask("service", "crisis", "until", "2026-11-24T08:00"),
                   "usage": await client.ask("service", "night", "until", "10:00")}
        answers["start"] = await client.ask("service", "crisis", "until", "09:05")
        citizen = await call_voce_guida(s, "3331234567")
        t0 = s.clock()
        await s.wait(12.0)
        heard_in_crisis = EARS.heard(citizen.heard(t0), sentences.crisis_announcement(s.settings))
        citizen.hang_up()
        answers["during"] = (await client.ask("status"))["result"]
        await s.wait(300.0)  # past 09:05
        answers["after"] = (await client.ask("service"))["result"]
        later = await call_voce_guida(s, "3337654321")
        t1 = s.clock()
        await s.wait(12.0)
        heard_after = EARS.heard(later.heard(t1), sentences.crisis_announcement(s.settings))
        later.hang_up()
        return answers, heard_in_crisis, heard_after

    answers, heard_in_crisis, heard_after = control_session(tmp_path, story, start_at=TUESDAY_0900)
    assert answers["bad"]["ok"] is False and "'25:99' is not a time" in answers["bad"]["error"]
    assert answers["past"]["ok"] is False and "already past" in answers["past"]["error"]
    assert answers["usage"]["ok"] is False and answers["usage"]["error"].startswith("service: usage:")
    assert answers["start"]["result"] == {"service": "crisis", "until": "2026-11-24T09:05:00+01:00"}
    assert "'service_mode': 'crisis'" in str(answers["during"])
    assert heard_in_crisis
    assert answers["after"] == {"service": "auto"}  # the window ended by itself
    assert not heard_after


def test_an_operator_starts_the_crisis_service_with_53(tmp_path):
    async def story(s, client, ctx):
        op = await lift_and_dial(s, "200", "*53")
        await s.wait(8.0)
        op.on_hook()
        return (await client.ask("service"))["result"]

    assert control_session(tmp_path, story, start_at=TUESDAY_0900)["service"] == "crisis"
