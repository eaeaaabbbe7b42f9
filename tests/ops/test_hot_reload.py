"""`config reload` takes a good file on without dropping a call: the call in progress goes on (both
parties still hear each other), an extension renumbered on its port answers to its new number at
once and no longer to the old one, a removed extension keeps its call until it hangs up, and the
answer says what changed. A change to what is built at start waits, whole, for a restart."""

from __future__ import annotations

import shutil

import yaml

from tests.engine.helpers import TONE_LISTEN_S, hear_each_other, lift_and_dial, listen, tones
from tests.ops.test_control import EXAMPLE, control_session


def _edit(config, change):
    data = yaml.safe_load(config.read_text())
    change(data)
    config.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _renumber(data):
    for ext in data["extensions"]:
        if ext["number"] == "203":
            ext["number"] = "213"
    data["extensions"] = [e for e in data["extensions"] if e["number"] != "202"]
    for group in data.get("groups", []):
        group["members"] = [{"203": "213"}.get(m, m) for m in group.get("members", []) if m != "202"]
    for office in data.get("offices", []):
        if "extension" in office and office["extension"] in ("202", "203"):
            office["extension"] = "213"


def test_a_good_reload_applies_to_new_calls_and_the_call_in_progress_goes_on(tmp_path):
    config = tmp_path / "centralino.yaml"
    shutil.copy(EXAMPLE, config)

    async def story(s, client, ctx):
        a = await lift_and_dial(s, "202", "203")  # 202 will be removed, 203 renumbered 213
        b = s.phone("fxs4")
        await s.until(lambda: b.ringing, "203 rings")
        b.off_hook()
        await s.until(lambda: s.station_state("203") == "talking", "203 talks")
        _edit(config, _renumber)
        await client.ask("service", "crisis")  # a crisis declared by hand outlives the reload
        reload = await client.ask("config reload")
        since = await listen(s)
        talking_on = hear_each_other(a, b, since)
        calls_during = len(s.switchboard.calls)
        a.on_hook()
        b.on_hook()
        await s.until(lambda: not s.switchboard.calls, "the call ends")
        # new calls follow the new numbers
        c = await lift_and_dial(s, "205", "213")
        await s.until(lambda: b.ringing, "213 rings on fxs4", timeout_s=10)
        c.on_hook()
        await s.until(lambda: not s.switchboard.calls, "the call ends")
        d = await lift_and_dial(s, "205", "203")
        since = s.clock()
        await s.wait(TONE_LISTEN_S)
        old_number = tones(d.heard(since)), b.ringing
        d.on_hook()
        status = await client.ask("status")
        return reload, talking_on, calls_during, old_number, status

    reload, talking_on, calls_during, (old_heard, old_rings), status = control_session(tmp_path, story, config=config)
    assert reload["ok"] and reload["result"]["applied"] is True, reload
    changed = reload["result"]["changed"]
    assert "extension 213 added" in changed and "extension 203 removed" in changed
    assert "extension 202 removed" in changed
    assert talking_on and calls_during == 1  # the call in progress was not dropped
    assert not old_rings and old_heard and old_heard[0] in ("congestion", "busy")  # 203 is no more
    assert status["result"]["config_pending_restart"] is False
    assert "'service_mode': 'crisis'" in str(status["result"])


def test_a_change_to_the_board_waits_for_a_restart_and_nothing_else_is_taken_on(tmp_path):
    config = tmp_path / "centralino.yaml"
    shutil.copy(EXAMPLE, config)

    def change(data):
        _renumber(data)
        data["records"]["database"] = str(tmp_path / "elsewhere.db")

    async def story(s, client, ctx):
        running = s.daemon.settings
        _edit(config, change)
        reload = await client.ask("config reload")
        c = await lift_and_dial(s, "205", "203")
        await s.until(lambda: s.phone("fxs4").ringing, "203 still rings", timeout_s=10)
        status = await client.ask("status")
        return reload, s.daemon.settings is running, status

    reload, same, status = control_session(tmp_path, story, config=config)
    assert reload["ok"] and reload["result"]["applied"] is False
    assert any(w.startswith("records") for w in reload["result"]["waiting_for_restart"])
    assert "next restart" in reload["result"]["message"]
    assert same and status["result"]["config_pending_restart"] is True
