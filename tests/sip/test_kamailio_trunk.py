"""The trunk against kamailio as the municipal PBX (tests/sip/kamailio.cfg): digest registration,
re-registration before expiry, OPTIONS keepalive, health following the PBX going away and coming back,
a call from outside by DID through kamailio to an analog extension, and an extension's outside call
leaving through kamailio to the "PSTN" (a SIPp UAS). The switchboard has no trunk prefix yet (the
trunk's ``outbound_prefix`` is not in its dial plan): that call uses the outside prefix on a
configuration without PSTN lines, so the trunk is the only way out."""

from __future__ import annotations

import asyncio

from centralino.hwsim.clock import run
from centralino.hwsim.scenario import Scenario

from .helpers import DID_ANAGRAFE, HOST, SCENARIOS, free_port, need, run_tool, sip_config, sipp
from .kamailio import TRUNK_PASSWORD, TRUNK_USER, Kamailio

GRANTED_S = 4        # kamailio's max_expires here: centralino must re-register every ~2 s
KEEPALIVE_S = 5.0    # the shortest the configuration allows


def _play(tmp_path, story, no_fxo_lines: bool = False):
    need("kamailio", "sipp")
    sip_port, kamailio_port, pstn_port = free_port(), free_port(), free_port()
    trunk = {"username": TRUNK_USER, "password": TRUNK_PASSWORD, "keepalive_s": KEEPALIVE_S, "expires_s": 60}
    path = sip_config(tmp_path, sip_port, trunk_port=kamailio_port, register=True, trunk_extra=trunk)
    if no_fxo_lines:
        _drop_fxo_lines(path)

    async def main():
        pbx = Kamailio(tmp_path, kamailio_port, sip_port, pstn_port, max_expires_s=GRANTED_S)
        async with pbx:
            async with Scenario(path, tmp_path / "data") as s:
                trunk = s.daemon.sip.core.trunk
                await s.until(lambda: trunk.registered, "the trunk registers", timeout_s=5)
                return await story(s, trunk, pbx, sip_port, pstn_port)

    return run(main, virtual=False)


def _drop_fxo_lines(path) -> None:
    """The PSTN lines removed: an outside call can only take the trunk."""
    import yaml

    data = yaml.safe_load(path.read_text())
    data["lines"] = [line for line in data["lines"] if not line["port"].startswith("fxo")]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def test_registers_with_digest_reregisters_before_expiry_and_keepalives_are_answered(tmp_path):
    async def story(s, trunk, pbx, sip_port, pstn_port):
        first = trunk.registrations
        lapses = []
        deadline = s.clock() + 2.5 * GRANTED_S
        while s.clock() < deadline:  # never unregistered although each binding lasts only 4 s
            lapses += [] if trunk.registered else [s.clock()]
            await asyncio.sleep(0.1)
        await s.until(lambda: trunk.keepalives_answered >= 2, "two keepalives answered", timeout_s=2 * KEEPALIVE_S)
        return first, trunk.registrations, lapses, trunk.status(), s.daemon.sip.healthy

    first, later, lapses, status, healthy = _play(tmp_path, story)
    assert first >= 1 and later >= first + 3, status
    assert lapses == [] and healthy
    assert status["failures"] == 0 and status["problem"] is None
    assert 0 < status["registered_for_s"] <= GRANTED_S  # what kamailio granted, not the 60 s asked


def test_health_goes_false_when_kamailio_stops_and_true_when_it_returns(tmp_path):
    async def story(s, trunk, pbx, sip_port, pstn_port):
        service = s.daemon.sip
        line = s.switchboard.channels["trunk1"]
        before = (service.healthy, line.idle)
        await pbx.stop()
        stopped_at = s.clock()
        await s.until(lambda: not service.healthy, "unhealthy after kamailio stops", timeout_s=3 * KEEPALIVE_S)
        down_after_s = s.clock() - stopped_at
        down = (service.healthy, line.idle)
        await pbx.start()
        started_at = s.clock()
        await s.until(lambda: service.healthy, "healthy after kamailio returns", timeout_s=3 * KEEPALIVE_S)
        return before, down, down_after_s, s.clock() - started_at, line.idle

    before, down, down_after_s, up_after_s, idle_again = _play(tmp_path, story)
    assert before == (True, True)
    assert down == (False, False)  # an unhealthy trunk offers no line for outside calls
    assert down_after_s <= GRANTED_S + 1.0  # the binding lapses: not a minute of blind trust
    assert up_after_s <= KEEPALIVE_S + 1.0 and idle_again


def test_a_call_through_kamailio_to_a_did_rings_the_routed_analog_extension(tmp_path):
    async def story(s, trunk, pbx, sip_port, pstn_port):
        caller_port = free_port()
        command = sipp(pbx.port, caller_port, "-sf", str(SCENARIOS / "uac_via_proxy.xml"))
        tool = asyncio.ensure_future(run_tool(*command))
        phone = s.phone("201")
        await s.until(lambda: phone.ringing, "201 rings", timeout_s=10)
        await asyncio.sleep(0.3)
        phone.off_hook()
        rc, out = await tool
        await s.until(lambda: s.finished, "the call ends", timeout_s=5)
        row = s.records.last(1)[0]
        return rc, out, row.direction, row.called, row.caller, row.disposition, phone.off_hook

    rc, out, direction, called, caller, disposition, _ = _play(tmp_path, story)
    assert rc == 0, out
    assert (direction, called, caller, disposition) == ("inbound", DID_ANAGRAFE, "0551234567", "answered")


def test_an_extension_calls_outside_through_kamailio_to_the_pstn(tmp_path):
    number = "0612345678"

    async def story(s, trunk, pbx, sip_port, pstn_port):
        trace = tmp_path / "pstn_messages.log"
        uas = asyncio.ensure_future(run_tool(
            "sipp", "-sf", str(SCENARIOS / "pstn_uas.xml"), "-i", HOST, "-p", str(pstn_port), "-m", "1",
            "-nostdin", "-nr", "-timeout", "25s", "-timeout_error", "-trace_msg", "-message_file", str(trace)))
        await asyncio.sleep(0.5)  # SIPp binds its port
        phone = s.phone("201")
        phone.off_hook()
        await asyncio.sleep(0.3)
        await phone.dial("0" + number + "#")
        line = s.switchboard.channels["trunk1"]
        await s.until(lambda: line.state == "connected", "the PSTN answers", timeout_s=10)
        await asyncio.sleep(1.0)
        phone.on_hook()
        rc, out = await uas
        await s.until(lambda: s.finished, "the call ends", timeout_s=5)
        row = s.records.last(1)[0]
        return rc, out, trace.read_text(), row.direction, row.called, row.disposition

    rc, out, trace, direction, called, disposition = _play(tmp_path, story, no_fxo_lines=True)
    assert rc == 0, out
    invite = trace[trace.index("INVITE sip:"):]
    assert invite.startswith(f"INVITE sip:{number}@")
    assert "Proxy-Authorization" not in invite.split("\n\n")[0]  # kamailio checked and consumed it
    assert invite.split("\n\n")[0].count("Via: SIP/2.0/UDP") == 2  # it came through kamailio
    bye = trace[trace.index("BYE sip:"):]
    assert bye.split("\n\n")[0].count("Via: SIP/2.0/UDP") == 2  # the dialog stays routed through it
    assert (direction, called, disposition) == ("outbound", number, "answered")
