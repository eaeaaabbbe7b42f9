"""The GSM modem as a line: calls to its number, and the emergency path when no PSTN line is free."""

from __future__ import annotations

from centralino.hwsim.voices import Voice, hears

from .helpers import config_copy, finished, lift_and_dial, listen, play

MOBILE_CALLER = "3351112222"


def _with_gsm(data, lines=None):
    data["gsm"] = {"dialect": "sim7600", "incoming": "200"}
    if lines is not None:
        data["lines"] = lines


def test_a_call_to_the_modem_rings_the_operator_with_the_callers_number(tmp_path):
    config = config_copy(tmp_path, _with_gsm)

    async def story(s):
        await s.until(lambda: s.daemon.channels["gsm"].idle, "the modem is ready", timeout_s=30)
        caller = await s.modem.incoming_call(MOBILE_CALLER, Voice(2250))
        op = s.phone("200")
        await s.until(lambda: op.ringing, "the operator rings", timeout_s=20)
        await s.until(lambda: op.caller_ids, "the caller's number on the display", timeout_s=15)
        op.off_hook()
        await s.until(lambda: s.daemon.channels["gsm"].state == "connected" and caller.connected,
                      "the modem answers", timeout_s=10)
        since = await listen(s, 2.0)
        heard_op = hear_each_other_party(op, caller, since)
        op.on_hook()
        rows = await finished(s, 1)
        return op.caller_ids[-1].number, heard_op, rows[-1]

    number, heard, row = play(tmp_path, story, config=config)
    assert number == MOBILE_CALLER
    assert heard == (True, True)
    assert (row.direction, row.caller, row.disposition) == ("inbound", MOBILE_CALLER, "answered")
    assert "gsm" in row.ports


def hear_each_other_party(phone, party, since):
    """The phone heard the mobile caller's voice, and the caller heard the phone's."""
    return hears(phone.heard(since), party.voice.frequency_hz), hears(party.heard(), phone.voice.frequency_hz)


def test_emergency_goes_through_the_modem_when_no_line_works(tmp_path):
    config = config_copy(tmp_path, _with_gsm)

    async def story(s):
        await s.until(lambda: s.daemon.channels["gsm"].idle, "the modem is ready", timeout_s=30)
        carabinieri = s.mobile_network.add_party("112", Voice(2450), answer_after_s=1.0)
        phone = await lift_and_dial(s, "207", "112")
        await s.until(lambda: carabinieri.connected, "112 answers through the modem", timeout_s=20)
        since = await listen(s, 2.0)
        heard = (hears(phone.heard(since), 2450), hears(carabinieri.heard(), phone.voice.frequency_hz))
        phone.on_hook()
        rows = await finished(s, 1)
        return heard, rows[-1]

    faults = {port: "line_side_never_links" for port in ("fxo1", "fxo2", "fxo3", "fxo4")}
    heard, row = play(tmp_path, story, config=config, faults=faults)
    assert heard == (True, True)
    assert row.emergency and row.called == "112" and "line:gsm" in row.route
    assert row.disposition == "answered" and row.billable_s > 0


def test_emergency_through_a_modem_without_sim(tmp_path):
    config = config_copy(tmp_path, _with_gsm)

    async def story(s):
        await s.until(lambda: s.daemon.channels["gsm"].idle, "the modem is ready", timeout_s=30)
        s.modem.no_sim()
        gsm = s.daemon.channels["gsm"]
        await s.until(lambda: gsm.driver.state != "ready", "the modem loses its service", timeout_s=20)
        ordinary = not gsm.idle
        soccorso = s.mobile_network.add_party("112", Voice(2550), answer_after_s=1.0)  # NUE 112 takes it
        phone = await lift_and_dial(s, "205", "118")
        await s.until(lambda: soccorso.connected, "112 answers the 118 call through the modem", timeout_s=20)
        since = await listen(s, 2.0)
        heard = hears(phone.heard(since), 2550)
        phone.on_hook()
        rows = await finished(s, 1)
        return ordinary, heard, rows[-1]

    faults = {port: "line_side_never_links" for port in ("fxo1", "fxo2", "fxo3", "fxo4")}
    not_for_ordinary_calls, heard, row = play(tmp_path, story, config=config, faults=faults)
    assert not_for_ordinary_calls  # without a SIM the modem takes no ordinary call...
    assert heard and row.emergency and "line:gsm" in row.route  # ...but 118 goes through
