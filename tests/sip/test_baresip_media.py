"""baresip, a SIP phone no one here wrote, against centralino with real RTP on 127.0.0.1.

- As the desk phone 210 (digest registration) it calls the analog extension 201: each side hears the
  other's test tone (what the simulated phone received, and what baresip decoded), and a key it sends
  as an RFC 4733 event reaches the switchboard as a digit.
- As a caller from outside, arriving by the trunk on the voce guida's DID: it hears the greeting,
  presses 1 (RFC 4733), reaches the anagrafe's first desk (analog 202), and both hear each other.
"""

from __future__ import annotations

import asyncio

from centralino.channels import events as ev
from centralino.flows.speech import Speech
from centralino.hwsim.clock import run
from centralino.hwsim.ears import PromptEars
from centralino.hwsim.scenario import Scenario
from centralino.hwsim.voices import hears

from .baresip import Baresip
from .helpers import HOST, PHONE_PASSWORD, PHONE_USER, free_port, need, sip_config

BARESIP_TONE_HZ = 1650.0  # no simulated phone's voice, no DTMF frequency
DID_VOCE_GUIDA = "0558450150"
EARS = PromptEars(Speech())


def _free_tcp_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def test_baresip_registers_calls_an_analog_extension_and_both_hear_each_other(tmp_path):
    need("baresip")
    sip_port, baresip_port = free_port(), free_port()
    path = sip_config(tmp_path, sip_port)
    account = (f"<sip:{PHONE_USER}@{HOST}:{sip_port}>;auth_pass={PHONE_PASSWORD};regint=300;"
               f"audio_codecs=PCMA;ptime=20")

    async def main():
        async with Scenario(path, tmp_path / "data") as s:
            desk = s.switchboard.channels["sip210"]
            digits: list[str] = []
            switchboard_listener = desk.listener

            def listener(channel, event):  # the digits the switchboard gets from the connected phone
                if isinstance(event, ev.Digit) and desk.state == "connected":
                    digits.append(event.digit)
                switchboard_listener(channel, event)

            desk.listener = listener
            async with Baresip(tmp_path, baresip_port, _free_tcp_port(), BARESIP_TONE_HZ, account) as phone:
                await s.until(lambda: s.switchboard.stations["210"].free, "baresip registers", timeout_s=10)
                phone.command("dial", f"sip:201@{HOST}:{sip_port}")
                analog = s.phone("201")
                await s.until(lambda: analog.ringing, "201 rings", timeout_s=10)
                analog.off_hook()
                await s.until(lambda: desk.state == "connected", "the call is connected", timeout_s=5)
                talk_from = s.clock()
                await asyncio.sleep(2.0)
                phone.command("sndcode", "5")
                await asyncio.sleep(0.5)
                phone.command("sndcode", "")
                await asyncio.sleep(0.5)
                analog_heard = analog.heard(since_s=talk_from + 0.5)
                rfc4733 = (desk.media.dtmf_payload_type is not None and not desk.media.inband_dtmf,
                           desk.media.stats.digits_received)
                phone.command("hangup")
                await s.until(lambda: s.finished, "the call ends", timeout_s=5)
                await asyncio.sleep(0.3)
                baresip_heard = phone.heard()
                row = s.records.last(1)[0]
                return analog.voice.frequency_hz, analog_heard, baresip_heard, digits, rfc4733, row

    voice_hz, analog_heard, baresip_heard, digits, rfc4733, row = run(main, virtual=False)
    assert (row.caller, row.called, row.disposition) == ("210", "201", "answered")
    assert hears(analog_heard, BARESIP_TONE_HZ) and not hears(analog_heard, voice_hz)
    assert baresip_heard.size > 8000, "baresip recorded no audio"
    assert hears(baresip_heard[-8000 * 2:], voice_hz)
    assert digits == ["5"] and rfc4733 == (True, 1)  # as a telephone-event, not detected in the audio


def test_baresip_calls_the_voce_guida_did_presses_1_and_talks_with_the_anagrafe(tmp_path):
    need("baresip")
    sip_port, baresip_port = free_port(), free_port()
    path = sip_config(tmp_path, sip_port, trunk_port=baresip_port, register=False, phones=False,
                      trunk_extra={"routes": {DID_VOCE_GUIDA: "menu:principale"}})
    account = f"<sip:0551234567@{HOST}>;regint=0;audio_codecs=PCMA;ptime=20"

    async def main():
        async with Scenario(path, tmp_path / "data") as s:
            line = s.switchboard.channels["trunk1"]
            async with Baresip(tmp_path, baresip_port, _free_tcp_port(), BARESIP_TONE_HZ, account) as caller:
                caller.command("dial", f"sip:{DID_VOCE_GUIDA}@{HOST}:{sip_port}")
                await s.until(lambda: line.state == "connected", "the voce guida answers", timeout_s=10)
                await asyncio.sleep(2.5)  # the greeting
                caller.command("sndcode", "1")
                await asyncio.sleep(0.3)
                caller.command("sndcode", "")
                desk = s.phone("202")
                await s.until(lambda: desk.ringing, "the anagrafe's first desk rings", timeout_s=10)
                desk.off_hook()
                await s.until(lambda: s.station_state("202") == "talking", "202 talks", timeout_s=5)
                talk_from = s.clock()
                await asyncio.sleep(2.0)
                desk_heard = desk.heard(since_s=talk_from + 0.5)
                talked_s = s.clock() - talk_from
                caller.command("hangup")
                await s.until(lambda: s.finished, "the call ends", timeout_s=5)
                await asyncio.sleep(0.3)
                row = s.records.last(1)[0]
                return desk.voice.frequency_hz, desk_heard, caller.heard(), talked_s, row

    voice_hz, desk_heard, caller_heard, talked_s, row = run(main, virtual=False)
    assert (row.called, row.caller, row.office, row.disposition) == (DID_VOCE_GUIDA, "0551234567", "anagrafe",
                                                                     "answered")
    assert "menu:principale>office:anagrafe" in row.route
    # baresip heard the voce guida's greeting
    assert EARS.heard(caller_heard, "Grazie per aver chiamato il Comune di Borgo Fiorito.")
    assert hears(desk_heard, BARESIP_TONE_HZ) and not hears(desk_heard, voice_hz)
    talk = caller_heard[-int((talked_s - 0.5) * 8000):]  # the call's last seconds: the desk's voice
    assert hears(talk, voice_hz)
