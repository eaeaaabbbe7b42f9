"""112, 113, 115 and 118 through every path that still works, whatever single part has failed.

Each test breaks one thing the way it breaks on a real appliance (a line unplugged, every PSTN
line dead, a modem that lost RING lines, a database it cannot write or that is corrupt, a flow
that raises) and checks, by what both sides heard, that the emergency service answered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from centralino.hwsim.clock import run
from centralino.hwsim.emergency_drill import EMERGENCY_NUMBERS, EmergencyServices, dial_emergency
from centralino.hwsim.scenario import Scenario
from centralino.hwsim.voices import Voice

from ..flows.voce_helpers import call_voce_guida, press
from ..records.volumes import small_volume
from .helpers import EXAMPLE, config_copy, connect, hear_each_other, listen, play

LINES = ("fxo1", "fxo2", "fxo3", "fxo4")


def _with_gsm(data):
    data["gsm"] = {"dialect": "sim7600", "incoming": "200"}


async def _modem_ready(s):
    await s.until(lambda: s.daemon.channels["gsm"].idle, "the modem is ready", timeout_s=30)


def test_an_unplugged_line_is_passed_over_for_every_emergency_number(tmp_path):
    async def story(s):
        services = EmergencyServices(s)
        s.line("fxo1").unplug()
        return [await dial_emergency(s, services, "201", n) for n in EMERGENCY_NUMBERS]

    results = play(tmp_path, story)
    assert [r.connected and r.heard_both_ways for r in results] == [True] * 4
    assert all(r.answered_by == f"pstn:{r.number}" for r in results)
    assert all(r.path in ("fxo2", "fxo3", "fxo4") for r in results)  # never the dead line
    assert all(r.ringing_after_s is not None and r.ringing_after_s < 10 for r in results)


def test_with_every_pstn_line_dead_the_modem_carries_all_four(tmp_path):
    async def story(s):
        await _modem_ready(s)
        services = EmergencyServices(s)
        for port in LINES:
            s.line(port).unplug()
        results = [await dial_emergency(s, services, "207", n) for n in EMERGENCY_NUMBERS]
        rows = s.records.last(4)
        return results, rows

    results, rows = play(tmp_path, story, config=config_copy(tmp_path, _with_gsm))
    assert [r.connected and r.heard_both_ways for r in results] == [True] * 4
    assert [r.path for r in results] == ["gsm"] * 4
    assert [r.answered_by for r in results] == [f"mobile:{n}" for n in EMERGENCY_NUMBERS]
    assert all(row.emergency and "line:gsm" in row.route and row.disposition == "answered" for row in rows)


def test_a_modem_that_lost_its_ring_lines_still_places_112(tmp_path):
    """The modem holds a call the driver never heard ring (garbled RING lines) and refuses ATD
    with +CME ERROR: the driver clears it and dials again."""
    async def story(s):
        await _modem_ready(s)
        services = EmergencyServices(s)
        for port in LINES:
            s.line(port).unplug()
        s.modem.garble_next(50)  # every RING and +CLIP of the next call arrives garbled
        await s.modem.incoming_call("3389990000", Voice(2150))
        await s.wait(2.0)
        return await dial_emergency(s, services, "207", "112")

    result = play(tmp_path, story, config=config_copy(tmp_path, _with_gsm))
    assert result.connected and result.heard_both_ways and result.path == "gsm"


def test_a_full_disk_does_not_stand_in_front_of_112_and_the_record_is_written_later(tmp_path):
    async def main():
        with small_volume(tmp_path / "data") as volume:
            async with Scenario(EXAMPLE, tmp_path / "data") as s:
                await s.wait(0.5)
                volume.fill()  # the disk is full: nothing more can be written
                services = EmergencyServices(s)
                result = await dial_emergency(s, services, "201", "112")
                degraded = s.daemon.writer.status()["state"]
                volume.free()
                s.daemon.writer.retry_now()
                await s.until(lambda: any(e[1] == "records.restored" for e in s.log), "the records are written",
                              timeout_s=120)
                written = s.daemon.writer.flush(10)
                rows = s.records.last(5)
                return result, degraded, written, [e[1] for e in s.log], rows

    result, degraded, written, kinds, rows = run(main)
    assert result.connected and result.heard_both_ways
    assert degraded == "degraded" and "records.degraded" in kinds
    assert written and "records.restored" in kinds
    assert any(row.emergency and row.called == "112" and row.disposition == "answered" for row in rows)


def test_a_corrupt_database_at_start_is_moved_aside_and_112_goes_through(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "centralino.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000)

    async def story(s):
        services = EmergencyServices(s)
        result = await dial_emergency(s, services, "201", "118")
        return result, s.records.last(1)

    result, rows = play(tmp_path, story)
    assert result.connected and result.heard_both_ways
    moved = list(Path(data).glob("centralino.db.corrupt-*"))
    assert moved and moved[0].read_bytes().startswith(b"SQLite format 3\x00\xff")  # kept, not overwritten
    assert rows and rows[0].called == "118" and rows[0].emergency


def test_a_caller_in_the_voce_guida_who_keys_112_is_put_through(tmp_path):
    async def story(s):
        services = EmergencyServices(s)
        citizen = await call_voce_guida(s)
        await s.wait(1.0)
        await press(s, citizen, "112", settle_s=0.2)
        await s.until(lambda: services.answered(0.0) is not None, "112 answers", timeout_s=30)
        since = await listen(s)
        party = services.pstn["112"]
        return hear_each_other(citizen, party, since), s.events("emergency.ringing")

    talked, ringing = play(tmp_path, story)
    assert talked
    assert ringing and ringing[0][2]["number"] == "112"


def test_a_flow_that_raises_costs_only_its_own_call(tmp_path, monkeypatch):
    import centralino.flows.inbound as inbound

    async def broken_menu(flow, menu):
        raise RuntimeError("a bug in the voce guida")

    monkeypatch.setattr(inbound, "run_menu", broken_menu)

    async def story(s):
        services = EmergencyServices(s)
        a, b = await connect(s, "202", "203")
        citizen = await call_voce_guida(s)
        op = s.phone("200")
        await s.until(lambda: op.ringing, "the operator is rung for the caller the flow dropped")
        result = await dial_emergency(s, services, "201", "113")
        since = await listen(s)
        return result, hear_each_other(a, b, since), s.daemon.media.status()["tick_failures"]

    result, others_talk, tick_failures = play(tmp_path, story)
    assert result.connected and result.heard_both_ways
    assert others_talk and tick_failures == 0


@pytest.mark.parametrize("hour", [3])
def test_at_night_with_every_office_closed_112_still_connects(tmp_path, hour):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    async def story(s):
        services = EmergencyServices(s)
        return await dial_emergency(s, services, "204", "115")

    result = play(tmp_path, story, start_at=datetime(2026, 11, 29, hour, 0, tzinfo=ZoneInfo("Europe/Rome")))
    assert result.connected and result.heard_both_ways
