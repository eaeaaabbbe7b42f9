"""Announcements recorded by phone (issue 15): a staff phone records the avviso with *55 and the
PIN, accepts and enables it; citizens then hear that recording (the staff phone's own voice)
before the menu, until its end time turns it off. Wrong PINs and phones not allowed are refused;
a re-recorded prompt leaves the accepted file alone until the new one is accepted; the console
lists and switches announcements; all of it is read back from the files after a reload or a
restart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from centralino.cli.console import format_result
from centralino.config.schema import load_settings
from centralino.flows.recordings import RecordingShelf
from centralino.flows.sentences import recording_dialog
from centralino.hwsim.voices import hears
from centralino.media.frames import SAMPLE_RATE_HZ
from centralino.media.wavfile import read_wav, write_wav

from tests.engine.helpers import TONE_LISTEN_S, config_copy, lift_and_dial, play, tones
from tests.flows.voce_helpers import EARS, GREETING, MENU, call_voce_guida
from tests.ops.test_control import control_session

PIN = "4821"
STAFF = "202"
OLD_PROMPT_HZ = 700.0  # the comune's prompt before it is re-recorded: no party's voice


def _config(tmp_path: Path, prompts: Path | None = None) -> Path:
    def change(data):
        data["announcements"] = {"staff": [STAFF], "pin": PIN}
        if prompts is not None:
            data["switchboard"]["prompts"] = str(prompts)
    return config_copy(tmp_path, change)


def _tone(hz: float, seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    return (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


async def _staff_menu(s, extension: str = STAFF, pin: str = PIN):
    """``extension`` dials *55 and keys the PIN; returns the phone once the menu can be keyed."""
    phone = await lift_and_dial(s, extension, "*55")
    await s.wait(1.0)
    await phone.dial(pin + "#")
    await s.wait(1.0)
    return phone


async def _record(s, phone, speak_s: float = 3.0):
    """From the menu (or the review): 1, speak after the beep for ``speak_s``, then #."""
    await phone.dial("1")
    await s.wait(5.0)  # "Parli dopo il segnale ..." and the beep
    await s.wait(speak_s)  # the phone speaks its own test tone all along
    await phone.dial("#")
    await s.wait(1.0)


async def _citizen_hears(s, number: str, seconds: float = 14.0):
    citizen = await call_voce_guida(s, number)
    t0 = s.clock()
    await s.wait(seconds)
    heard = citizen.heard(t0)
    citizen.hang_up()
    await s.wait(1.0)
    return heard


def _avviso_then_menu(heard: np.ndarray, voice_hz: float) -> tuple[bool, bool]:
    """(the staff voice is heard in the first seconds, the greeting and the menu come after it)."""
    first = heard[:round(2.5 * SAMPLE_RATE_HZ)]
    greeting_at = EARS.times(heard, GREETING)
    return hears(first, voice_hz, min_share=0.5), bool(greeting_at) and greeting_at[0] > 2.5 \
        and EARS.heard(heard, MENU[0])


def test_an_avviso_recorded_by_phone_is_heard_before_the_menu_until_its_end_time(tmp_path):
    config = _config(tmp_path)

    async def story(s, client, ctx):
        answers = {"empty": (await client.ask("announcements"))["result"],
                   "on_unrecorded": await client.ask("announcements on")}
        t0 = s.clock()
        phone = await _staff_menu(s)
        await _record(s, phone)
        await phone.dial("2")  # accept
        await s.wait(3.0)
        await phone.dial("3")  # on
        await s.wait(2.5)
        await phone.dial("5")  # an end time ...
        await s.wait(1.0)
        await phone.dial("0905")  # ... 09:05 today
        await s.wait(4.0)
        answers["staff_heard"] = phone.heard(t0)
        answers["failed"] = [e for e in s.log if e[1] == "feature-failed"]
        phone.on_hook()
        await s.wait(1.0)
        answers["listed"] = (await client.ask("announcements"))["result"]
        answers["status_text"] = format_result(["status"], (await client.ask("status"))["result"])
        answers["status_on"] = (await client.ask("status"))["result"]["switchboard"]["avviso"]
        during = await _citizen_hears(s, "3331234567")
        await s.wait(300.0)  # past 09:05: the avviso turns itself off
        answers["status_ended"] = (await client.ask("status"))["result"]["switchboard"]["avviso"]
        ended = await _citizen_hears(s, "3331234568")
        answers["unknown"] = await client.ask("announcements off", "meteo")
        answers["on"] = (await client.ask("announcements on"))["result"]
        answers["off"] = (await client.ask("announcements off", "avviso"))["result"]
        return answers, phone.voice.frequency_hz, during, ended

    answers, voice_hz, during, ended = control_session(tmp_path, story, config=config)
    assert answers["empty"]["announcements"] == []
    staff_heard = answers["staff_heard"]
    assert not answers["failed"]  # the prompts keyed through are cut short; these play whole:
    assert EARS.sequence(staff_heard, [recording_dialog(w) for w in ("speak", "accepted", "on")])
    assert EARS.heard(staff_heard, recording_dialog("end_set"))
    assert "none is recorded yet" in answers["on_unrecorded"]["error"]
    [row] = answers["listed"]["announcements"]
    assert (row["name"], row["enabled"], row["recorded_by"]) == ("avviso", True, STAFF)
    assert row["until"] == "2026-11-24T09:05+01:00" and 2.0 <= row["seconds"] <= 4.5
    assert row["recorded_at"].startswith("2026-11-24T09:00") and not row["pending"]
    assert answers["status_on"] == {"enabled": True, "until": "2026-11-24T09:05+01:00", "recorded": True}
    assert "avviso    on until 2026-11-24T09:05+01:00" in answers["status_text"]
    table = format_result(["announcements"], answers["listed"]).splitlines()
    assert table[1].split()[:6] == ["1", "avviso", "on", "24/11", "09:05", STAFF]
    assert _avviso_then_menu(during, voice_hz) == (True, True)
    assert answers["status_ended"] == {"enabled": False, "until": None, "recorded": True}
    assert not hears(ended[:round(2.5 * SAMPLE_RATE_HZ)], voice_hz, min_share=0.1) and EARS.heard(ended, MENU[0])
    assert answers["unknown"]["ok"] is False and "no announcement 'meteo'; announcements: avviso" \
        in answers["unknown"]["error"]
    assert answers["on"]["announcements"][0]["enabled"] is True
    assert answers["off"]["announcements"][0]["enabled"] is False


def test_a_phone_not_listed_and_a_wrong_pin_are_refused(tmp_path):
    config = _config(tmp_path)

    async def story(s):
        t0 = s.clock()
        other = await lift_and_dial(s, "203", "*55")  # not in announcements.staff
        await s.wait(2.0 + TONE_LISTEN_S)
        not_listed = other.heard(t0)
        other.on_hook()
        t1 = s.clock()
        phone = await lift_and_dial(s, STAFF, "*55")
        for wrong in ("1111", "4812", PIN[:3]):
            await s.wait(1.0)
            await phone.dial(wrong + "#")
            await s.wait(1.2)  # "PIN errato." before the next try
        await s.wait(2.0 + TONE_LISTEN_S)
        wrong_pin = phone.heard(t1)
        phone.on_hook()
        await s.wait(0.5)
        return not_listed, wrong_pin, s.daemon.status()["switchboard"]["avviso"]

    not_listed, wrong_pin, avviso = play(tmp_path, story, config=config)
    refused, menu = recording_dialog("refused"), recording_dialog("menu")
    assert EARS.heard(not_listed, refused) and "busy" in tones(not_listed)
    assert not EARS.heard(not_listed, recording_dialog("pin"))  # not even asked
    assert EARS.count(wrong_pin, recording_dialog("pin_wrong")) == 2 and EARS.heard(wrong_pin, refused)
    assert "busy" in tones(wrong_pin) and not EARS.heard(wrong_pin, menu)
    assert avviso == {"enabled": False, "until": None, "recorded": False}


def test_a_re_recorded_prompt_keeps_the_accepted_file_until_the_new_one_is_accepted(tmp_path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    write_wav(prompts / "borgofiorito.wav", _tone(OLD_PROMPT_HZ, 1.0))  # number 1
    write_wav(prompts / "oggetti_smarriti.wav", _tone(OLD_PROMPT_HZ, 1.5))  # number 2
    config = _config(tmp_path, prompts)

    async def story(s, client, ctx):
        phone = await _staff_menu(s)
        await phone.dial("9")
        await s.wait(1.0)
        t0 = s.clock()
        await phone.dial("2#")
        await s.wait(2.0)
        played_first = phone.heard(t0)  # the prompt as it is now
        await s.wait(3.5)  # "Parli dopo il segnale ..." and the beep
        await s.wait(3.0)
        await phone.dial("#")
        await s.wait(1.0)
        before = {p.name: read_wav(p) for p in sorted(prompts.glob("*.wav"))}
        await phone.dial("2")  # accept
        await s.wait(3.0)
        phone.on_hook()
        await s.wait(0.5)
        after = {p.name: read_wav(p) for p in sorted(prompts.glob("*.wav"))}
        listed = (await client.ask("announcements prompts"))["result"]["prompts"]
        voice_now = s.daemon.flows.phrases.samples("oggetti_smarriti")
        return phone.voice.frequency_hz, played_first, before, after, listed, voice_now

    voice_hz, played_first, before, after, listed, voice_now = control_session(tmp_path, story, config=config)
    assert hears(played_first, OLD_PROMPT_HZ)  # number 2 is oggetti_smarriti, played before recording
    assert sorted(before) == ["borgofiorito.wav", "oggetti_smarriti.new.wav", "oggetti_smarriti.wav"]
    assert hears(before["oggetti_smarriti.wav"], OLD_PROMPT_HZ, 0.9)  # not replaced yet
    assert hears(before["oggetti_smarriti.new.wav"], voice_hz, 0.9)
    assert sorted(after) == ["borgofiorito.wav", "oggetti_smarriti.previous.wav", "oggetti_smarriti.wav"]
    assert hears(after["oggetti_smarriti.wav"], voice_hz, 0.9)
    assert hears(after["oggetti_smarriti.previous.wav"], OLD_PROMPT_HZ, 0.9)
    assert hears(after["borgofiorito.wav"], OLD_PROMPT_HZ, 0.9)
    meta = json.loads((prompts / "recordings.json").read_text())
    assert meta["oggetti_smarriti"]["recorded_by"] == STAFF and "pending" not in meta["oggetti_smarriti"]
    assert [(p["index"], p["name"], p["recorded_by"]) for p in listed] == \
        [(1, "borgofiorito", None), (2, "oggetti_smarriti", STAFF)]
    assert hears(voice_now, voice_hz, 0.9)  # the voce guida says the new recording from now on


def test_the_avviso_outlives_a_reload_and_a_restart(tmp_path):
    config = _config(tmp_path)
    (tmp_path / "later").mkdir()
    reloaded = config_copy(tmp_path / "later", lambda d: (d.update(announcements={"staff": [STAFF], "pin": PIN}),
                                                           d["features"].update(ring_timeout_s=45)))

    async def record_and_reload(s):
        phone = await _staff_menu(s)
        await _record(s, phone)
        await phone.dial("2")
        await s.wait(3.0)
        await phone.dial("3")
        await s.wait(2.5)
        phone.on_hook()
        await s.wait(0.5)
        outcome = await s.daemon.reconfigure(load_settings(reloaded))
        heard = await _citizen_hears(s, "3331234567")
        return phone.voice.frequency_hz, outcome["applied"], heard

    async def after_restart(s):
        return s.daemon.status()["switchboard"]["avviso"], await _citizen_hears(s, "3331234568")

    voice_hz, applied, after_reload = play(tmp_path, record_and_reload, config=config)
    status, after_start = play(tmp_path, after_restart, config=config)  # the same data folder
    assert applied and _avviso_then_menu(after_reload, voice_hz) == (True, True)
    assert status == {"enabled": True, "until": None, "recorded": True}
    assert _avviso_then_menu(after_start, voice_hz) == (True, True)
    meta = RecordingShelf(tmp_path / "data" / "announcements").info("avviso")
    assert (meta["enabled"], meta["recorded_by"]) == (True, STAFF)


def test_bad_announcement_settings_name_the_file_line_and_key_and_never_echo_the_pin(tmp_path):
    def error(change) -> str:
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        try:
            load_settings(config_copy(folder, change))
        except ValueError as err:
            return str(err)
        return "accepted"

    bad_pin = error(lambda d: d.update(announcements={"staff": [STAFF], "pin": "48a1x"}))
    short_pin = error(lambda d: d.update(announcements={"staff": [STAFF], "pin": "482"}))
    unknown = error(lambda d: d.update(announcements={"staff": ["999"], "pin": PIN}))
    same_code = error(lambda d: d["features"].update(announcements="*61"))
    assert "centralino.yaml:" in bad_pin and "announcements.pin: the PIN is not valid" in bad_pin
    assert "48a1x" not in bad_pin and "482" not in short_pin.split(": ", 2)[-1]
    assert "3 character(s) (expected 4 to 8 digits" in short_pin and "not all digits" in bad_pin
    assert "announcements.staff[0]: '999' is not an extension number" in unknown
    assert "features.announcements: *61 is already the code for login" in same_code


def test_an_end_time_is_four_digits_of_a_real_time():
    from datetime import time

    from centralino.flows.announcements import parse_hhmm

    assert parse_hhmm("1830") == time(18, 30) and parse_hhmm("0005") == time(0, 5)
    assert [parse_hhmm(k) for k in ("", "930", "2460", "1875", "18300", "18*0")] == [None] * 6
