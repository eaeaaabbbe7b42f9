"""SIPp (from Debian's sip-tester) calls the town hall through the trunk: the DID rings an analog
extension on the simulated board; basic call, CANCEL while ringing, BYE from either side, re-INVITE."""

from __future__ import annotations

import asyncio

from centralino.hwsim.clock import run
from centralino.hwsim.scenario import Scenario

from .helpers import DID_ANAGRAFE, DID_DEFAULT, SCENARIOS, free_port, need, run_tool, sip_config, sipp


def _play(tmp_path, story, **config):
    need("sipp")
    sip_port, sipp_port = free_port(), free_port()
    path = sip_config(tmp_path, sip_port, trunk_port=sipp_port, **config)

    async def main():
        async with Scenario(path, tmp_path / "data") as s:
            return await story(s, sip_port, sipp_port)

    return run(main, virtual=False)


async def _answer_when_ringing(s, extension: str, after_s: float = 0.3):
    phone = s.phone(extension)
    await s.until(lambda: phone.ringing, f"{extension} rings", timeout_s=10)
    await asyncio.sleep(after_s)
    phone.off_hook()
    return phone


def test_basic_call_by_did_rings_the_routed_extension_and_sipp_hangs_up(tmp_path):
    async def story(s, sip_port, sipp_port):
        tool = asyncio.ensure_future(run_tool(*sipp(sip_port, sipp_port, "-d", "1500")))
        phone = await _answer_when_ringing(s, "201")
        rc, out = await tool
        await s.until(lambda: s.finished, "the call ends", timeout_s=5)
        row = s.records.last(1)[0]
        return rc, out, row.disposition, row.called, phone.off_hook

    rc, out, disposition, called, _ = _play(tmp_path, story)
    assert rc == 0, out
    assert (disposition, called) == ("answered", DID_ANAGRAFE)


def test_a_did_without_route_rings_the_operator(tmp_path):
    async def story(s, sip_port, sipp_port):
        tool = asyncio.ensure_future(run_tool(*sipp(sip_port, sipp_port, "-d", "500", service=DID_DEFAULT)))
        await _answer_when_ringing(s, "200")
        rc, out = await tool
        return rc, out

    rc, out = _play(tmp_path, story)
    assert rc == 0, out


def test_cancel_while_ringing_stops_the_ringing_and_records_a_missed_call(tmp_path):
    async def story(s, sip_port, sipp_port):
        tool = asyncio.ensure_future(run_tool(*sipp(sip_port, sipp_port, "-sf", str(SCENARIOS / "cancel_while_ringing.xml"))))
        phone = s.phone("201")
        await s.until(lambda: phone.ringing, "201 rings", timeout_s=10)
        rc, out = await tool
        await s.until(lambda: s.finished, "the call ends", timeout_s=5)
        await s.wait(0.5)
        row = s.records.last(1)[0]
        line_idle = s.switchboard.channels["trunk1"].idle
        return rc, out, row.disposition, row.caller, phone.ringing, line_idle

    rc, out, disposition, caller, still_ringing, line_idle = _play(tmp_path, story)
    assert rc == 0, out
    assert disposition != "answered" and caller == "0551234567"
    assert not still_ringing and line_idle


def test_the_extension_hangs_up_first_and_centralino_sends_bye(tmp_path):
    async def story(s, sip_port, sipp_port):
        tool = asyncio.ensure_future(run_tool(*sipp(sip_port, sipp_port, "-sf", str(SCENARIOS / "bye_from_centralino.xml"))))
        phone = await _answer_when_ringing(s, "201")
        await s.until(lambda: s.station_state("201") == "talking", "201 talks", timeout_s=5)
        await s.wait(0.5)
        phone.on_hook()
        rc, out = await tool
        await s.until(lambda: s.finished, "the call ends", timeout_s=5)
        return rc, out, s.records.last(1)[0].disposition

    rc, out, disposition = _play(tmp_path, story)
    assert rc == 0, out
    assert disposition == "answered"


def test_a_reinvite_in_an_answered_call_is_accepted_and_moves_the_media(tmp_path):
    async def story(s, sip_port, sipp_port):
        tool = asyncio.ensure_future(run_tool(*sipp(sip_port, sipp_port, "-sf", str(SCENARIOS / "reinvite.xml"))))
        await _answer_when_ringing(s, "201")
        line = s.switchboard.channels["trunk1"]
        await s.until(lambda: line.remote is not None and line.remote.port == 40000, "the media moves", timeout_s=10)
        rc, out = await tool
        await s.until(lambda: s.finished, "the call ends", timeout_s=5)
        return rc, out, s.records.last(1)[0].disposition

    rc, out, disposition = _play(tmp_path, story)
    assert rc == 0, out
    assert disposition == "answered"
