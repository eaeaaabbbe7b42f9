"""Calls, audio, DTMF and SMS: the real driver against the modem model through the ptys."""

import asyncio

import numpy as np
import pytest

from centralino.drivers.gsm_events import (CallAnswered, CallEnded, Dtmf, IncomingCall, ModemError,
                                           SmsReceived)
from centralino.hwsim.voices import Voice, hears
from tests.gsm.harness import scenario

CALLER_HZ, SWITCHBOARD_HZ = 575, 1550


@pytest.mark.parametrize("dialect", ["sim7600", "ec25"])
def test_incoming_call_answer_audio_and_dtmf_both_ways(dialect):
    async def body(rig):
        caller = await rig.sim.incoming_call("+393331234567", Voice(CALLER_HZ))
        incoming = await rig.wait_event(IncomingCall)
        await rig.modem.answer()
        await rig.wait_event(CallAnswered)
        ours = Voice(SWITCHBOARD_HZ)
        received = await rig.collect_audio(1.0, send=ours.frame)
        caller.press("5#")
        await rig.wait_event(Dtmf, count=2)
        await rig.modem.send_dtmf("12*")
        return incoming, received, caller, [d.digit for d in rig.of(Dtmf)], rig.sim.received

    incoming, received, caller, digits, commands = scenario(body, dialect=dialect)
    assert incoming.number == "+393331234567"
    assert len(received) >= 30
    assert hears(np.concatenate(received[-20:]), CALLER_HZ)
    assert hears(caller.heard(last_frames=20), SWITCHBOARD_HZ)
    assert digits == ["5", "#"]
    assert caller.digits_heard == ["1", "2", "*"]
    assert ("AT+CPCMREG=1" if dialect == "sim7600" else "AT+QPCMV=1,0") in commands


def test_withheld_number_and_far_end_hangup():
    async def body(rig):
        caller = await rig.sim.incoming_call(None, Voice(CALLER_HZ))
        incoming = await rig.wait_event(IncomingCall)
        await rig.modem.answer()
        await rig.wait_event(CallAnswered)
        caller.hang_up()
        ended = await rig.wait_event(CallEnded)
        return incoming, ended, rig.modem.status()

    incoming, ended, status = scenario(body)
    assert incoming.number is None
    assert ended.reason == "remote hangup"
    assert status["call"] is None


def test_outgoing_answered_then_local_hangup_disables_pcm():
    async def body(rig):
        mobile = rig.network.add_failover_mobile("+393470000001")
        await rig.modem.dial("+393470000001")
        await rig.wait_event(CallAnswered)
        received = await rig.collect_audio(0.6)
        await rig.modem.hangup()
        return received, mobile, rig.of(CallEnded), rig.sim.received, rig.sim.call

    received, mobile, ended, commands, sim_call = scenario(body)
    assert hears(np.concatenate(received[-10:]), 1050)  # the failover mobile's test tone
    assert [e.reason for e in ended] == ["local hangup"]
    assert commands.index("AT+CPCMREG=0") < commands.index("AT+CHUP")
    assert sim_call is None and not mobile.connected


@pytest.mark.parametrize("kind, reason", [("busy", "busy"), ("unreachable", "unreachable"),
                                          ("no_answer", "no answer")])
def test_outgoing_failures(kind, reason):
    async def body(rig):
        rig.network.add_party("0612345678", Voice(CALLER_HZ), busy=kind == "busy",
                              unreachable=kind == "unreachable",
                              answer_after_s=None if kind == "no_answer" else 1.0)
        await rig.modem.dial("0612345678")
        return await rig.wait_event(CallEnded, timeout_s=40), rig.of(CallAnswered)

    ended, answered = scenario(body)
    assert ended.reason == reason
    assert answered == []


def test_call_end_found_by_clcc_when_no_carrier_is_lost():
    async def body(rig):
        caller = await rig.sim.incoming_call("+393331234567", Voice(CALLER_HZ))
        await rig.wait_event(IncomingCall)
        await rig.modem.answer()
        await rig.wait_event(CallAnswered)
        rig.sim.lose_urcs(1)
        caller.hang_up()
        ended = await rig.wait_event(CallEnded, timeout_s=5)
        return ended, rig.sim.lost_urcs

    ended, lost = scenario(body)
    assert lost == 1  # NO CARRIER never reached the driver
    assert ended.reason == "remote hangup"


def test_sms_send_and_receive():
    async def body(rig):
        reference = await rig.modem.send_sms("+393479999999", "Failover attivo\ncentralino")
        rig.sim.deliver_sms("+393471111111", "STATO?")
        received = await rig.wait_event(SmsReceived)
        return reference, received, rig.network.sms_outbox, dict(rig.sim.sms_store)

    reference, received, outbox, store = scenario(body)
    assert reference == 1
    assert [(m.to, m.text) for m in outbox] == [("+393479999999", "Failover attivo\ncentralino")]
    assert (received.sender, received.text, received.index) == ("+393471111111", "STATO?", 1)
    assert store == {}  # read and deleted so the SIM store never fills


def test_garbled_lines_are_skipped_and_counted():
    async def body(rig):
        rig.sim.garble_next(2)  # the first RING and +CLIP
        await rig.sim.incoming_call("+393331234567", Voice(CALLER_HZ))
        incoming = await rig.wait_event(IncomingCall)
        return incoming, rig.modem.status()

    incoming, status = scenario(body)
    assert status["garbled_lines"] == 2
    assert incoming.number == "+393331234567"  # from the next RING/+CLIP, 3 s later


def test_command_timeout_names_the_command():
    async def body(rig):
        rig.sim.hang(reset_works=False)
        with pytest.raises(ModemError) as caught:
            await rig.modem.command("AT+CSQ", timeout_s=1.0)
        return str(caught.value), caught.value.command

    message, command = scenario(body)
    assert command == "AT+CSQ"
    assert "AT+CSQ" in message and "gsm" in message and "1 s" in message


def test_bad_input_rejected_with_clear_errors():
    async def body(rig):
        errors = []
        for call in (lambda: rig.modem.dial("06-1234"), lambda: rig.modem.send_dtmf("9x"),
                     lambda: rig.modem.send_sms("+39347", "x" * 161)):
            with pytest.raises(ValueError) as caught:
                await call()
            errors.append(str(caught.value))
        return errors

    errors = scenario(body)
    assert "06-1234" in errors[0] and "9x" in errors[1] and "160" in errors[2]


def test_one_way_audio_fault_is_silence_towards_the_switchboard():
    async def body(rig):
        caller = await rig.sim.incoming_call("+393331234567", Voice(CALLER_HZ))
        await rig.wait_event(IncomingCall)
        await rig.modem.answer()
        await rig.wait_event(CallAnswered)
        rig.sim.one_way_audio()
        received = await rig.collect_audio(0.6, send=Voice(SWITCHBOARD_HZ).frame)
        with pytest.raises(ValueError):
            rig.modem.write_frame(np.zeros(80, dtype=np.int16))
        return received, caller

    received, caller = scenario(body)
    assert len(received) >= 10  # frames keep coming: the fault is in the audio, not the stream
    assert not np.any(np.concatenate(received[-10:]))
    assert hears(caller.heard(last_frames=10), SWITCHBOARD_HZ)


def test_an_sms_in_flight_does_not_hold_an_emergency_call():
    """An SMS the network is slow to accept (25 s) must not delay 112: the driver stops waiting
    for it after a short grace and dials at once; the SMS is reported failed to its sender."""

    async def body(rig):
        loop = asyncio.get_running_loop()
        rig.sim.sms_submit_delay_s = 25.0
        operator_112 = rig.network.add_party("112")
        sms = asyncio.ensure_future(rig.modem.send_sms("+393479999999", "Comune: richiesta n. 12 presa in carico"))
        await rig.wait_until(lambda: rig.network.sms_outbox, what="the SMS handed to the network")
        began = loop.time()
        await rig.modem.dial("112", emergency=True)
        dialled_after = loop.time() - began
        try:
            await sms
            outcome = "sent"
        except ModemError as err:
            outcome = str(err)
        await rig.wait_event(CallAnswered)
        return dialled_after, outcome, operator_112.connected

    dialled_after, outcome, connected = scenario(body)
    assert dialled_after < 5.0  # on the virtual clock; the SMS alone would have held the modem 25 s
    assert "emergency" in outcome
    assert connected
