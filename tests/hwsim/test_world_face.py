"""The world's control face (the commands of ``centralino sim``) on a running switchboard.

On the virtual clock, through ``Scenario.face``: the same functions the socket serves. Each bad
command must say what was wrong and change nothing; each fault must reach what the drivers see.
"""

from __future__ import annotations

import json
import logging

import pytest

from centralino.hwsim.control import handle_request
from centralino.hwsim.face_base import WorldCommandError

from ..engine.helpers import EXAMPLE, config_copy, play


async def sim(s, line: str):
    return await s.face.run(line)


async def refused(s, line: str) -> str:
    with pytest.raises(WorldCommandError) as err:
        await s.face.run(line)
    return str(err.value)


def test_two_phones_call_each_other_and_every_step_is_heard(tmp_path):
    async def story(s):
        out = [await sim(s, "phone 201 offhook"),
               await sim(s, "phone 201 hears dial_tone --timeout 5"),
               await sim(s, "phone 201 dial 203"),
               await sim(s, "phone 203 rings"),
               await sim(s, "phone 201 hears ringback --timeout 8"),
               await sim(s, "phone 203 offhook"),
               await sim(s, "phone 201 hears voice --from 203 --timeout 5"),
               await sim(s, "phone 203 hears voice --from fxs2 --timeout 5")]
        status = await sim(s, "phone 201 status")
        await sim(s, "phone 203 onhook")
        out.append(await sim(s, "phone 201 hears busy --timeout 5"))
        await sim(s, "phone 201 onhook")
        out.append(await sim(s, "phone 201 hears"))
        return [r.text for r in out], status

    texts, status = play(tmp_path, story)
    assert texts == ["201 off hook", "201 hears dial_tone", "201 dialled 203", "203 rings", "201 hears ringback",
                     "203 off hook", "201 hears voice of 203", "203 hears voice of 201", "201 hears busy",
                     "201 hears silence (on hook)"]
    assert status.text.startswith("201 (fxs2): off hook, hears voice of 203")
    assert status.data["off_hook"] and status.data["faults"]["spi"] is None


def test_a_citizen_rings_a_line_and_talks_with_the_operator(tmp_path):
    async def story(s):
        ring = await sim(s, "line fxo1 ring --caller-id 3331234567 --name 'ROSSI MARIO'")
        busy = await refused(s, "line fxo1 ring --caller-id 3339999999")
        before = await sim(s, "line fxo1 hears")
        await sim(s, "phone 200 rings --timeout 15")
        shown = await sim(s, "phone 200 shows 3331234567 --timeout 15")
        await sim(s, "phone 200 offhook")
        heard = [await sim(s, "line fxo1 hears voice --from 200 --timeout 5"),
                 await sim(s, "line 3331234567 hears voice --timeout 5")]  # the line by its caller
        await sim(s, "line fxo1 press 5")
        gone = await sim(s, "line fxo1 hangup")
        again = await refused(s, "line fxo1 hangup")
        return ring.text, busy, before.text, shown.data["display"], [h.text for h in heard], gone.text, again

    ring, busy, before, display, heard, gone, again = play(tmp_path, story)
    assert ring == "fxo1 rings: 3331234567 calls 0558450100"
    assert busy == "line fxo1 is busy (ringing): it cannot ring now"
    assert before.startswith("3331234567 on fxo1 hears ringback")
    assert display.startswith("3331234567 ROSSI MARIO")
    assert heard == ["3331234567 on fxo1 hears voice of 200"] * 2
    assert gone == "3331234567 hung up on fxo1"
    assert again.startswith("line fxo1 has no call to hang up")


def test_an_office_calls_outside_and_the_far_end_answers_when_told(tmp_path):
    async def story(s):
        s.face.populate_outside_world()
        await sim(s, "phone 204 offhook")
        await sim(s, "phone 204 dial 0347111222#")
        ringing = await sim(s, "phone 204 hears ringback --timeout 15")
        answered = await sim(s, "line 347111222 answer")
        heard = await sim(s, "phone 204 hears voice --from 347111222 --timeout 5")
        await sim(s, "phone 204 onhook")
        await s.wait(2.0)
        await sim(s, "phone 205 offhook")
        await sim(s, "phone 205 dial 112")  # the NUE of the outside world answers by itself
        nue = await sim(s, "phone 205 hears voice --from 112 --timeout 15")
        return ringing.text, answered.text, heard.text, nue.text

    assert play(tmp_path, story) == ("204 hears ringback", "347111222 answered on fxo1",
                                     "204 hears voice of 347111222", "205 hears voice of 112")


@pytest.mark.parametrize("line,message", [
    ("phone 299 offhook", "unknown phone '299': the phones are 200 (fxs1), 201 (fxs2)"),
    ("phone 201 dial 203", "201 is on hook: it cannot dial (offhook first)"),
    ("phone 201 jump", "phone 201: unknown action 'jump' (expected offhook | onhook"),
    ("phone 201", "phone 201: what should it do?"),
    ("phone 201 hears music", "'music' is not something to hear (expected one of dial_tone"),
    ("phone 201 hears voice --from 999", "--from 999: nobody of that name speaks"),
    ("phone 201 rings --timeout 9999", "--timeout must be 0..300 seconds"),
    ("phone 201 rings --timeout soon", "--timeout 'soon' is not a number"),
    ("phone 201 rings --loud", "unknown option --loud (options: --timeout)"),
    ("phone 201 rings --timeout 0.2", "201 did not ring within 0.2 s (it is on hook and silent)"),
    ("line fxo9 ring", "unknown line 'fxo9': the lines are fxo1 (0558450100)"),
    ("line 0558450100 ring", "the number is on fxo1 and fxo2: name the port"),
    ("line fxo1 ring --caller-id 33a", "bad digits '33a'"),
    ("line fxo1 ring --caller-id 123456789012345678901", "at most 20 fit"),
    ("line fxo1 answer", "line fxo1: no call of the switchboard rings out on it (it is idle)"),
    ("line fxo1 press 1", "line fxo1 has no connected call"),
    ("modem hang", "this configuration has no GSM modem"),
    ("bus fxs9 fail", "bus: unknown target 'fxs9' (expected one of fxs1"),
    ("bus fxs1 fail --errno EWHATEVER", "--errno 'EWHATEVER' is no errno"),
    ("bus fxs1 irq sideways", "say low, high or free"),
    ("bus fxs1 pcm silent upwards", "direction 'upwards' is not one of both, to_host, to_chip"),
    ("dance", "unknown command 'dance' (expected one of phone, line, modem, bus, world, help)"),
    ("", "no command"),
])
def test_bad_commands_say_what_is_wrong_and_change_nothing(tmp_path, line, message):
    async def story(s):
        before = s.face.world_status()
        text = await refused(s, line)
        return text, before, s.face.world_status()

    text, before, after = play(tmp_path, story)
    assert message in text
    assert after == before


def test_faults_set_from_the_face_reach_the_drivers_and_clear(tmp_path, caplog):
    async def story(s):
        fail = await sim(s, "bus fxs3 fail")
        await s.wait(0.5)
        failing = [r for r in caplog.records if "port fxs3 out of service" in r.getMessage() and r.exc_info]
        error = failing[-1].exc_info[1] if failing else None
        status = await sim(s, "bus fxs3 status")
        world = await sim(s, "world status")
        await sim(s, "bus fxs3 recover")
        await sim(s, "bus fxs3 irq low")
        await sim(s, "bus fxs3 pcm silent to_host")
        several = await sim(s, "bus fxs3 status")
        await sim(s, "bus fxs3 recover")
        # the port supervisor sets the chip up again by itself; then 202 is heard again by a caller
        await s.until(lambda: s.daemon.channels["fxs3"].in_service, "fxs3 back in service", timeout_s=30)
        await sim(s, "phone 201 offhook")
        await sim(s, "phone 201 dial 202")
        await sim(s, "phone 202 rings")
        await sim(s, "phone 202 offhook")
        talk = await sim(s, "phone 201 hears voice --from 202 --timeout 5")
        reset = await sim(s, "bus fxs4 reset")
        eeprom = await sim(s, "bus eeprom fail")
        return fail.text, error, status.text, world.text, several.text, talk.text, reset, eeprom

    caplog.set_level(logging.ERROR, logger="centralino.channels")
    fail, error, status, world, several, talk, reset, eeprom = play(tmp_path, story)
    assert fail == "fxs3: SPI transfers on /dev/spidev10.2 fail (EIO)"
    assert error is not None and type(error).__name__ == "SPIError" and error.errno == 5  # what the driver raised
    assert status == "fxs3: spi fail" and "faults: fxs3 spi fail" in world
    assert several == "fxs3: irq stuck low, pcm silent (to host)"
    assert talk == "201 hears voice of 202"
    assert reset.data["chip_resets"] == 1
    assert eeprom.text == "eeprom: I2C transfers to 0x50 fail (EREMOTEIO)" and eeprom.data["fault"] == "fail"


def test_the_modem_faults_and_a_call_from_a_mobile(tmp_path):
    config = config_copy(tmp_path, lambda d: d.__setitem__("gsm", {"dialect": "sim7600", "incoming": "200"}))

    async def story(s):
        await s.until(lambda: s.daemon.channels["gsm"].idle, "the modem is ready", timeout_s=30)
        ready = await sim(s, "modem status")
        call = await sim(s, "modem call 3391234567")
        await sim(s, "phone 200 rings --timeout 15")
        await sim(s, "phone 200 offhook")
        heard = await sim(s, "phone 200 hears voice --from 3391234567 --timeout 8")
        await sim(s, "modem hangup")
        await sim(s, "phone 200 onhook")
        garbled = await sim(s, "modem garble on")
        await sim(s, "modem garble off")
        one_way = (await sim(s, "modem one-way on")).data["one_way_audio"]
        await sim(s, "modem one-way off")
        lost = (await sim(s, "modem lose-urcs 2")).data["urcs_to_lose"]
        refused_count = await refused(s, "modem lose-urcs many")
        await sim(s, "modem no-sim")
        no_sim = await sim(s, "modem status")
        await sim(s, "modem sim")
        await sim(s, "modem hang")
        hung = await sim(s, "modem status")
        gone = await sim(s, "modem gone")
        back = await sim(s, "modem back")
        return (ready.text, call.text, heard.text, garbled.data["garbling"], no_sim.text, hung.text, gone, back,
                (one_way, lost, refused_count))

    ready, call, heard, garbling, no_sim, hung, gone, back, more = play(tmp_path, story, config=config)
    assert more == (True, 2, "modem lose-urcs: say how many unsolicited lines to lose (1..1000)")
    assert ready == "modem: sim7600, answering, registered"
    assert call == "3391234567 calls the modem" and heard == "200 hears voice of 3391234567"
    assert garbling is True
    assert "not registered, no SIM" in no_sim and "hung" in hung
    assert gone.data["present"] is False and back.data["present"] is True


def test_the_socket_layer_answers_bad_requests_with_errors(tmp_path):
    async def story(s):
        return [await handle_request(s.face, line) for line in (
            b"not json", b'["phone"]', b'{"cmd": "phone", "args": "201"}', b'{"cmd": "world", "args": ["status"]}',
            b'{"cmd": "phone", "args": ["201", "offhook"]}')]

    bad_json, not_object, bad_args, world, ok = play(tmp_path, story, config=EXAMPLE)
    assert bad_json["ok"] is False and "not JSON" in bad_json["error"]
    assert not_object["ok"] is False and "a request is a JSON object" in not_object["error"]
    assert bad_args["ok"] is False and "args must be a list of words" in bad_args["error"]
    assert world["ok"] and world["result"].startswith("world: 8 phones")
    assert ok == {"ok": True, "result": "201 off hook", "data": {"off_hook": True}}
    json.dumps(world)  # what goes back on the socket is JSON
