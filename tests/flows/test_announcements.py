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
import yaml

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
        phone.on_hook()
        await s.wait(1.0)
        answers["listed"] = (await client.ask("announcements"))["result"]
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
    assert "none is recorded yet" in answers["on_unrecorded"]["error"]
    [row] = answers["listed"]["announcements"]
    assert (row["name"], row["enabled"], row["recorded_by"]) == ("avviso", True, STAFF)
    assert row["until"] == "2026-11-24T09:05+01:00" and 2.0 <= row["seconds"] <= 4.5
    assert row["recorded_at"].startswith("2026-11-24T09:00") and not row["pending"]
    assert answers["status_on"] == {"enabled": True, "until": "2026-11-24T09:05+01:00", "recorded": True}
    assert _avviso_then_menu(during, voice_hz) == (True, True)
    assert answers["status_ended"] == {"enabled": False, "until": None, "recorded": True}
    assert not hears(ended[:round(2.5 * SAMPLE_RATE_HZ)], voice_hz, min_share=0.1) and EARS.heard(ended, MENU[0])
    assert answers["unknown"]["ok"] is False and "no announcement 'meteo'; announcements: avviso" \
        in answers["unknown"]["error"]
    assert answers["on"]["announcements"][0]["enabled"] is True
    assert answers["off"]["announcements"][0]["enabled"] is False
