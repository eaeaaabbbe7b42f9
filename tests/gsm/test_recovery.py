"""Faults: hang, spontaneous reset, vanishing device, no SIM, no network; the first call after."""

import asyncio

import pytest

from centralino.drivers.gsm_events import (CallAnswered, CallEnded, ModemError, ModemLost, ModemRecovered,
                                           RegistrationChanged)
from centralino.hwsim.voices import Voice
from tests.gsm.harness import scenario

MOBILE = "+393470000001"


async def first_call_succeeds(rig):
    """Dial right after recovery: the driver's readiness guard must make this call connect."""
    rig.network.add_failover_mobile(MOBILE)
    await rig.modem.dial(MOBILE)
    await rig.wait_event(CallAnswered)
    await rig.modem.hangup()


def test_hang_detected_within_10_s_and_reset_with_cfun():
    async def body(rig):
        loop = asyncio.get_running_loop()
        hung_at = loop.time()
        rig.sim.hang()
        lost = await rig.wait_event(ModemLost, timeout_s=15)
        recovered = await rig.wait_event(ModemRecovered, timeout_s=60)
        await first_call_succeeds(rig)
        return lost.at_s - hung_at, recovered, rig.sim.received, rig.modem.status()

    detect_s, recovered, commands, status = scenario(body)
    assert detect_s <= 10.0
    assert "AT+CFUN=1,1" in commands
    assert commands.count("ATE0") == 2  # re-initialised after the reboot
    assert recovered.recoveries == 1 and status["recoveries"] == 1
    assert status["last_recovery_s"] == recovered.recovery_s > 0
    assert status["state"] == "ready"


def test_hung_modem_deaf_to_commands_is_power_cycled_with_the_power_key():
    async def body(rig):
        rig.sim.hang(reset_works=False)
        await rig.wait_event(ModemRecovered, timeout_s=90)
        await first_call_succeeds(rig)
        return rig.sim.resets, rig.modem.status()

    resets, status = scenario(body, power_key=True)
    assert resets == 1
    assert status["state"] == "ready"


def test_spontaneous_reset_drops_call_and_reinitialises():
    async def body(rig):
        caller = await rig.sim.incoming_call("+393331234567", Voice(575))
        await rig.wait_until(lambda: rig.modem.status()["call"] == "incoming")
        await rig.modem.answer()
        await rig.wait_event(CallAnswered)
        rig.sim.reset()
        lost = await rig.wait_event(ModemLost, timeout_s=10)
        await rig.wait_event(ModemRecovered, timeout_s=30)
        await first_call_succeeds(rig)
        return lost, rig.of(CallEnded)[0], rig.sim.received, caller

    lost, ended, commands, caller = scenario(body)
    assert "restarted" in lost.reason
    assert ended.reason == "modem lost"
    assert "AT+CFUN=1,1" not in commands  # it already reset itself
    assert commands.count("AT+CLIP=1") == 2  # caller ID switched back on after the reboot
    assert not caller.connected


def test_vanish_and_reappear_through_the_symlink():
    async def body(rig):
        loop = asyncio.get_running_loop()
        rig.sim.vanish()
        gone_at = loop.time()
        lost = await rig.wait_event(ModemLost, timeout_s=10)
        loop.call_later(5.0, rig.sim.reappear)
        recovered = await rig.wait_event(ModemRecovered, timeout_s=60)
        await first_call_succeeds(rig)
        return lost.at_s - gone_at, recovered, rig.modem.status()

    detect_s, recovered, status = scenario(body)
    assert detect_s <= 10.0
    assert recovered.recovery_s >= 5.0  # it cannot be back before the device is
    assert status["state"] == "ready" and status["audio"]


def test_no_sim_status_and_112_still_dialled():
    async def body(rig):
        psap = rig.network.add_party("112", Voice(2250), answer_after_s=1.0)
        status = rig.modem.status()
        with pytest.raises(ModemError):
            await rig.modem.dial("+393470000001")  # not ready without a SIM: refused, bounded wait
        await rig.modem.dial("112", emergency=True)
        await rig.wait_event(CallAnswered)
        return status, psap

    status, psap = scenario(body, prepare=lambda sim, net: sim.no_sim())
    assert status["sim"] == "absent"
    assert status["state"] == "no_sim"
    assert status["registration"] == "none"
    assert psap.connected


def test_no_network_then_network_back():
    async def body(rig):
        first = rig.modem.status()
        rig.sim.restore_network()
        await rig.wait_until(lambda: rig.modem.status()["state"] == "ready", 30, "ready")
        return first, rig.modem.status(), [e.registration for e in rig.of(RegistrationChanged)]

    first, after, changes = scenario(body, prepare=lambda sim, net: sim.no_network(), ready_timeout_s=3.0)
    assert first["state"] == "no_service" and first["signal_dbm"] is None
    assert first["registration"] == "searching"
    assert after["registration"] == "home" and changes[-1] == "home"
