"""Failover: during a migration window or a main-path outage, line calls reach the mobile."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from centralino.config.loader import ConfigError
from centralino.config.schema import load_settings
from centralino.hwsim.voices import hears
from centralino.media.callerid import CallerId
from centralino.media.levels import power_dbm0

from .helpers import config_copy, finished, play

MOBILE = "3471234567"
TECHNICIAN = "3330000000"
CITIZEN = "3331234567"


def _failover(window=True, healthy_for_s=10):
    def change(data):
        data["gsm"] = {"dialect": "sim7600"}
        data["failover"] = {"mobile_number": MOBILE, "technician_sms": TECHNICIAN,
                            "down_after_s": 5, "healthy_for_s": healthy_for_s}
        if window:
            data["failover"]["windows"] = [{"from": "2026-11-24 08:00", "to": "2026-11-24 12:00"}]
    return change


def _speech_seconds(samples) -> float:
    """How much of what was heard is loud enough to be speech or tone (in 20 ms frames)."""
    frames = np.asarray(samples)[: len(samples) // 160 * 160].reshape(-1, 160)
    return sum(power_dbm0(f) > -35 for f in frames) * 0.02


async def _modem_ready(s):
    await s.until(lambda: s.daemon.channels["gsm"].idle, "the modem is ready", timeout_s=30)


def test_a_line_call_in_a_migration_window_reaches_the_mobile(tmp_path):
    async def story(s):
        await _modem_ready(s)
        mobile = s.mobile_network.add_failover_mobile(MOBILE)
        citizen = s.remote(CITIZEN)
        await s.until(lambda: s.failover.active, "failover starts")
        await s.exchange.call_in(citizen, CallerId(number=CITIZEN, when=datetime(2026, 11, 24, 9, 0)), line="fxo1")
        t0 = s.clock()
        await s.until(lambda: mobile.connected, "the mobile answers", timeout_s=30)
        await s.until(lambda: s.events("forwarded"), "the call is bridged to the mobile", timeout_s=10)
        await s.wait(2.0)
        announced = _speech_seconds(citizen.heard(t0))
        heard = (hears(citizen.heard(s.clock() - 1.5), mobile.voice.frequency_hz),
                 hears(mobile.heard(), citizen.voice.frequency_hz))
        operator_rang = bool(s.phone("200").ring_bursts)
        status = s.switchboard.status()["failover"]
        citizen.hang_up()
        rows = await finished(s, 1)
        return announced, heard, operator_rang, status, rows[-1], list(s.mobile_network.sms_outbox)

    announced, heard, operator_rang, status, row, sms = play(tmp_path, story, config=config_copy(tmp_path, _failover()))
    assert announced > 1.0  # the caller heard the announcement before the mobile
    assert heard == (True, True)
    assert not operator_rang
    assert status["active"] and status["reason"] == "migration window"
    assert (row.caller, row.disposition) == (CITIZEN, "failover")
    assert "failover" in row.route and f"gsm:{MOBILE}" in row.route
    assert [m.to for m in sms] == [TECHNICIAN] and MOBILE in sms[0].text


def test_when_the_mobile_does_not_answer_the_caller_hears_its_number(tmp_path):
    async def story(s):
        await _modem_ready(s)
        s.mobile_network.add_party(MOBILE, busy=True)
        citizen = s.remote(CITIZEN)
        await s.until(lambda: s.failover.active, "failover starts")
        await s.exchange.call_in(citizen, CallerId(number=CITIZEN, when=datetime(2026, 11, 24, 9, 0)), line="fxo1")
        t0 = s.clock()
        rows = await finished(s, 1, timeout_s=90)
        return _speech_seconds(citizen.heard(t0)), rows[-1], citizen.call.ended if citizen.call else None

    spoken, row, ended = play(tmp_path, story, config=config_copy(tmp_path, _failover()))
    assert spoken > 5.0  # the announcement and the number, digit by digit
    assert row.disposition == "failover" and "announced-number" in row.route
    assert ended


def test_main_path_down_starts_and_ends_failover_with_hysteresis(tmp_path):
    async def story(s):
        await _modem_ready(s)
        lines = [s.line(p) for p in ("fxo1", "fxo2", "fxo3", "fxo4")]
        for line in lines:
            line.unplug()
        down_at = s.clock()
        await s.until(lambda: s.failover.active, "failover starts", timeout_s=20)
        started_after = s.clock() - down_at
        reason = s.failover.reason
        for line in lines:
            line.plug()
        up_at = s.clock()
        await s.until(lambda: not s.failover.active, "failover ends", timeout_s=30)
        ended_after = s.clock() - up_at
        await s.until(lambda: len(s.mobile_network.sms_outbox) >= 2, "both SMS sent", timeout_s=20)
        return started_after, reason, ended_after, [m.text for m in s.mobile_network.sms_outbox]

    started_after, reason, ended_after, texts = play(tmp_path, story,
                                                     config=config_copy(tmp_path, _failover(window=False)))
    assert reason == "main path down"
    assert 4.5 <= started_after <= 6.0  # down_after_s, counted from the last check (every 0.5 s) that saw a line
    assert 10.0 <= ended_after <= 12.0  # healthy_for_s, checked every 0.5 s (plus the modem pty pacing)
    assert "attivo" in texts[0] and "terminato" in texts[1]


def test_failover_needs_the_modem(tmp_path):
    def change(data):
        data["failover"] = {"mobile_number": MOBILE}
    with pytest.raises(ConfigError, match="failover: failover forwards calls through the GSM modem"):
        load_settings(config_copy(tmp_path, change))


def test_console_starts_and_stops_a_migration(tmp_path):
    from centralino.ops.commands import CommandError, ControlContext, resolve

    async def story(s):
        await _modem_ready(s)
        ctx = ControlContext(daemon=s.daemon)

        def run(text):
            cmd, args = resolve(text, [])
            return cmd.audited, cmd.handler(ctx, args)

        before = run("failover")[1]
        audited, started = run("failover start")
        await s.wait(1.0)
        _, stopped = run("failover stop")
        await s.until(lambda: len(s.mobile_network.sms_outbox) >= 2, "both SMS sent", timeout_s=20)
        try:
            resolve("failover sideways", [])
        except CommandError as err:
            error = str(err)
        return before, audited, started, stopped, error

    before, audited, started, stopped, error = play(tmp_path, story,
                                                    config=config_copy(tmp_path, _failover(window=False)))
    assert before["active"] is False and audited
    assert started["active"] and started["reason"] == "migration started from the console"
    assert stopped["active"] is False
    assert "failover: too many arguments 'sideways'" in error


def test_the_technician_hears_when_the_modem_needed_recovery(tmp_path):
    async def story(s):
        await _modem_ready(s)
        s.modem.hang()
        gsm = s.daemon.channels["gsm"]
        await s.until(lambda: not gsm.in_service, "the modem is found lost", timeout_s=20)
        await s.until(lambda: gsm.in_service and gsm.idle, "the modem is back", timeout_s=60)
        await s.until(lambda: s.mobile_network.sms_outbox, "the SMS is sent", timeout_s=20)
        return [(m.to, m.text) for m in s.mobile_network.sms_outbox], gsm.driver.status()["recoveries"]

    sms, recoveries = play(tmp_path, story, config=config_copy(tmp_path, _failover(window=False)))
    assert recoveries == 1
    assert sms[0][0] == TECHNICIAN and "ripristinato" in sms[0][1]


def test_failover_starts_when_no_operator_can_answer(tmp_path):
    async def story(s):
        await _modem_ready(s)
        await s.until(lambda: s.failover.active, "failover starts", timeout_s=20)
        return s.failover.active, s.failover.reason

    # the only operator's port (fxs1) does not answer at start-up: nobody can take the calls
    active, reason = play(tmp_path, story, config=config_copy(tmp_path, _failover(window=False)),
                          faults={"fxs1": "absent"})
    assert active and reason == "main path down"
