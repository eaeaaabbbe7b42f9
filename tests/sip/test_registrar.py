"""The registrar and the desk phones: digest authentication per extension (sipsak, SIPp), calls from
a SIP phone to analog extensions only once authenticated, and calls to a registered SIP phone."""

from __future__ import annotations

import asyncio


from .helpers import HOST, PHONE_PASSWORD, PHONE_USER, SCENARIOS, free_port, play_on_sip, run_tool, sipp


def _play(tmp_path, story, *tools):
    return play_on_sip(tmp_path, story, *tools)


def _sipsak_register(sip_port: int, password: str, contact_port: int = 5099):
    return ("sipsak", "-U", "-i", "-s", f"sip:{PHONE_USER}@{HOST}:{sip_port}", "-u", PHONE_USER, "-a", password,
            "-C", f"sip:{PHONE_USER}@{HOST}:{contact_port}", "-x", "300")


def test_sipsak_registers_with_the_right_password_and_is_refused_with_a_wrong_one(tmp_path):
    async def story(s, sip_port):
        wrong_rc, _ = await run_tool(*_sipsak_register(sip_port, "not-the-password"))
        after_wrong = dict(s.daemon.sip.status()["registered"])
        phone_before = s.switchboard.stations["210"].free
        right_rc, out = await run_tool(*_sipsak_register(sip_port, PHONE_PASSWORD))
        return wrong_rc, after_wrong, phone_before, right_rc, out, s.daemon.sip.status()["registered"], \
            s.switchboard.stations["210"].free

    wrong_rc, after_wrong, free_before, right_rc, out, registered, free_after = _play(tmp_path, story, "sipsak")
    assert wrong_rc != 0 and after_wrong == {}
    assert right_rc == 0, out
    assert registered[PHONE_USER]["address"] == f"{HOST}:5099" and 250 <= registered[PHONE_USER]["expires_in_s"] <= 300
    assert not free_before and free_after  # unregistered, the phone cannot be rung


def test_an_authenticated_sip_phone_calls_an_analog_extension(tmp_path):
    async def story(s, sip_port):
        tool = asyncio.ensure_future(run_tool(*sipp(sip_port, free_port(), "-sf", str(SCENARIOS / "phone_call_with_auth.xml"),
                                                     "-au", PHONE_USER, "-ap", PHONE_PASSWORD,
                                                     # SIPp digests "remote_ip:port" unless told the request-URI
                                                     "-auth_uri", f"201@{HOST}:{sip_port}", service="201")))
        phone = s.phone("201")
        await s.until(lambda: phone.ringing, "201 rings", timeout_s=10)
        phone.off_hook()
        rc, out = await tool
        await s.until(lambda: s.finished, "the call ends", timeout_s=5)
        row = s.records.last(1)[0]
        return rc, out, row.direction, row.caller, row.called, row.disposition

    rc, out, *row = _play(tmp_path, story, "sipp")
    assert rc == 0, out
    assert row == ["internal", "210", "201", "answered"]


def test_without_credentials_no_call_is_placed_not_even_outside(tmp_path):
    async def story(s, sip_port):
        results = []
        for number in ("201", "00612345678"):
            results.append(await run_tool(*sipp(sip_port, free_port(), "-sn", "uac", service=number), timeout_s=20))
        await s.wait(0.5)
        seized = [p for p in ("fxo1", "fxo2", "fxo3", "fxo4") if s.switchboard.channels[p].state != "idle"]
        return results, s.records.last(10), seized, s.phone("201").ringing

    results, rows, seized, ringing = _play(tmp_path, story, "sipp")
    assert all(rc != 0 and "401" in out for rc, out in results)
    assert rows == [] and seized == [] and not ringing


def test_a_registered_sip_phone_rings_for_its_extension_and_answers(tmp_path):
    async def story(s, sip_port):
        uas_port = free_port()
        uas = asyncio.ensure_future(run_tool("sipp", "-sn", "uas", "-i", HOST, "-p", str(uas_port), "-m", "1",
                                             "-nostdin", "-nr", "-timeout", "20s", "-timeout_error"))
        await asyncio.sleep(0.3)
        rc, out = await run_tool(*_sipsak_register(sip_port, PHONE_PASSWORD, contact_port=uas_port))
        assert rc == 0, out
        caller = s.phone("201")
        caller.off_hook()
        await s.wait(0.5)
        await caller.dial("210")
        await s.until(lambda: s.station_state("210") == "talking", "210 answers", timeout_s=10)
        await s.wait(0.5)
        caller.on_hook()  # the analog caller hangs up: centralino sends the SIP phone a BYE
        uas_rc, uas_out = await uas
        await s.until(lambda: s.finished, "the call ends", timeout_s=5)
        return uas_rc, uas_out, s.records.last(1)[0].disposition

    rc, out, disposition = _play(tmp_path, story, "sipp", "sipsak")
    assert rc == 0, out
    assert disposition == "answered"
