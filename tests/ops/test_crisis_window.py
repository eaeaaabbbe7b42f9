"""The crisis service in a window: `service crisis until HH:MM` on the console opens the offices
with the crisis announcement and ends by itself at that time (then the hours apply again); an
operator's phone starts it with *53; a time that is no time, or already past, is refused.
A window ahead (`service crisis from ... until ...`) starts by itself, opens only the offices
``crisis.offices`` names, and outlives a config reload and a restart (crisis.json); the calls
made meanwhile are marked crisis in the records file."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from centralino.cli.console import format_result
from centralino.config.loader import ConfigError
from centralino.config.schema import load_settings
from centralino.flows import crisis_state, sentences
from centralino.flows.crisis_state import CrisisState

from tests.engine.helpers import config_copy, lift_and_dial
from tests.flows.voce_helpers import EARS, MENU, call_voce_guida, press
from tests.ops.test_control import control_session

ROME = ZoneInfo("Europe/Rome")
TUESDAY_0900 = datetime(2026, 11, 24, 9, 0, tzinfo=ROME)
TUESDAY_2200 = datetime(2026, 11, 24, 22, 0, tzinfo=ROME)


def _calls(tmp_path) -> list[tuple[str, int]]:
    """(caller, crisis) of every call, read back from the scenario's records file."""
    with sqlite3.connect(tmp_path / "data" / "centralino.db") as db:
        return db.execute("SELECT caller, crisis FROM calls WHERE direction = 'inbound' ORDER BY id").fetchall()


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
    assert "service   CRISIS (Protezione Civile) until 24/11/2026 09:05" in format_result(["status"], answers["during"])
    assert heard_in_crisis
    assert answers["after"] == {"service": "auto"}  # the window ended by itself
    assert not heard_after
    assert _calls(tmp_path) == [("3331234567", 1), ("3337654321", 0)]  # marked in the records file


def test_an_operator_starts_the_crisis_service_with_53(tmp_path):
    async def story(s, client, ctx):
        op = await lift_and_dial(s, "200", "*53")
        await s.wait(8.0)
        op.on_hook()
        return (await client.ask("service"))["result"]

    assert control_session(tmp_path, story, start_at=TUESDAY_0900)["service"] == "crisis"


def _only_anagrafe(data):
    data["crisis"] = {"offices": ["anagrafe"]}


def test_a_window_ahead_opens_the_named_offices_and_outlives_a_reload_and_a_restart(tmp_path):
    config = config_copy(tmp_path, _only_anagrafe)

    async def first_run(s, client, ctx):
        refused = [await client.ask("service", "crisis", "from", "2026-11-24T22:30", "until", "2026-11-24T22:10"),
                   await client.ask("service", "crisis", "from", "2026-11-24T21:00", "until", "23:00"),
                   await client.ask("service", "crisis", "from", "22:10")]
        ahead = await client.ask("service", "crisis", "from", "22:05", "until", "23:30")
        data = yaml.safe_load(config.read_text())
        data["offices"][0]["email"] = "anagrafe2@comune.borgofiorito.it"
        config.write_text(yaml.safe_dump(data, sort_keys=False))
        reload = await client.ask("config reload")
        status = await client.ask("status")
        await s.wait(360.0)  # 22:06: the window has started by itself
        during = await client.ask("service")
        citizen = await call_voce_guida(s)
        t0 = s.clock()
        await s.until(lambda: EARS.heard(citizen.heard(t0), MENU[0]), "the menu", timeout_s=30)
        announcement = sentences.crisis_announcement(s.settings)
        announced = announcement.text, EARS.heard(citizen.heard(t0), announcement)
        await press(s, citizen, "1")  # the Anagrafe, opened by the crisis at 22:06
        await s.until(lambda: s.phone("202").ringing, "the anagrafe desk rings at night", timeout_s=30)
        citizen.hang_up()
        await s.until(lambda: not s.switchboard.calls, "the line is free again", timeout_s=30)
        other = await call_voce_guida(s, "3339998877")
        t1 = s.clock()
        await s.until(lambda: EARS.heard(other.heard(t1), MENU[0]), "the menu", timeout_s=30)
        await press(s, other, "2")  # the Tributi: not named, it keeps its hours
        closed = sentences.closed_sentences(s.settings, s.settings.office("tributi"))[0]
        await s.until(lambda: EARS.heard(other.heard(t1), closed), "the tributi's closed message", timeout_s=60)
        other.hang_up()
        return refused, ahead, reload, status, during, announced

    refused, ahead, reload, status, during, announced = control_session(tmp_path, first_run, config=config,
                                                             start_at=TUESDAY_2200)
    assert "until: 2026-11-24T22:10 is not after the start (2026-11-24T22:30)" in refused[0]["error"]
    assert "from: 2026-11-24T21:00 is already past" in refused[1]["error"]
    assert "needs its end too" in refused[2]["error"]
    assert ahead["result"] == {"service": "auto", "scheduled": {"from": "2026-11-24T22:05:00+01:00",
                                                                "until": "2026-11-24T23:30:00+01:00"}}
    assert reload["ok"] and reload["result"]["applied"] is True
    shown = format_result(["status"], status["result"])
    assert "service   auto" in shown and "crisis    scheduled from 24/11/2026 22:05 until 24/11/2026 23:30" in shown
    assert during["result"] == {"service": "crisis", "until": "2026-11-24T23:30:00+01:00"}
    assert announced == ("Avviso della Protezione Civile: rispondono 24 ore su 24 l'Ufficio Anagrafe.", True)
    assert _calls(tmp_path) == [("3331234567", 1), ("3339998877", 1)]

    async def after_restart(s, client, ctx):
        return (await client.ask("service"))["result"], format_result(["status"], (await client.ask("status"))["result"])

    service, shown = control_session(tmp_path, after_restart, config=config, start_at=TUESDAY_2200 + timedelta(minutes=20))
    assert service == {"service": "crisis", "until": "2026-11-24T23:30:00+01:00"}  # the restart did not end it
    assert "open around the clock: Ufficio Anagrafe" in shown


def test_what_came_due_while_the_daemon_was_down_is_applied_at_start(tmp_path):
    window = CrisisState(starts=TUESDAY_2200, ends=TUESDAY_2200 + timedelta(hours=2))
    assert crisis_state.save(tmp_path, window) and crisis_state.load(tmp_path) == window
    assert window.at(TUESDAY_2200 + timedelta(hours=1)) == (CrisisState(True, window.ends), "started")
    assert window.at(TUESDAY_2200 + timedelta(hours=3))[0] == CrisisState()  # the whole window passed
    (tmp_path / crisis_state.FILE_NAME).write_text("{not json")
    assert crisis_state.load(tmp_path) == CrisisState()  # unreadable: automatic service, said in the log


def test_an_unknown_office_in_crisis_offices_is_refused_with_its_line(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings(config_copy(tmp_path, lambda d: d.update(crisis={"offices": ["anagrafe", "protocollo"]})))
    text = str(err.value)
    lines = (tmp_path / "centralino.yaml").read_text().splitlines()
    line = int(text.split(":")[1])
    assert lines[line - 1].strip() == "- protocollo"
    assert "crisis.offices[1]: no office 'protocollo' (expected one of anagrafe, tributi" in text
    with pytest.raises(ConfigError, match=r"centralino.yaml:\d+: crisis.offices: no offices listed"):
        load_settings(config_copy(tmp_path, lambda d: d.update(crisis={"offices": []})))
