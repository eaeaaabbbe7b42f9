"""The analogue phone: dialling, speaking, hearing and its caller-ID display, on a real port rig."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from centralino.hwsim.voices import hears
from centralino.media import dtmf
from centralino.media.callerid import CallerId
from centralino.media.frames import FRAME_SAMPLES

from tests.drivers.test_proslic_rig import Rig, with_rig


def test_dtmf_dialling_replaces_the_voice():
    async def body(rig: Rig):
        rig.phone.off_hook()
        await asyncio.sleep(0.1)
        dialling = asyncio.create_task(rig.phone.dial("12#", on_ms=80, off_ms=80))
        await asyncio.sleep(0)
        assert not rig.phone.speaking
        back = await rig.stream(3, np.zeros(30 * FRAME_SAMPLES, dtype=np.int16))
        await dialling
        assert rig.phone.speaking
        sent = np.concatenate(back)
        assert dtmf.detect_digits(sent) == "12#"
        assert not hears(sent[: 24 * FRAME_SAMPLES], 500)  # no voice under the tones
        after = await rig.stream(3, np.zeros(5 * FRAME_SAMPLES, dtype=np.int16))
        assert hears(np.concatenate(after[1:]), 500)
    with_rig(body, voice_hz=500)


def test_heard_keeps_timestamps():
    tone = np.round(6000 * np.sin(2 * np.pi * 1050 * np.arange(5 * FRAME_SAMPLES) / 8000)).astype(np.int16)

    async def body(rig: Rig):
        rig.phone.off_hook()
        await rig.stream(3, np.zeros(5 * FRAME_SAMPLES, dtype=np.int16))
        middle = rig.clock()
        await rig.stream(3, tone)
        assert rig.phone.heard().size == 10 * FRAME_SAMPLES
        later = rig.phone.heard(since_s=middle)
        assert later.size == 5 * FRAME_SAMPLES and hears(later, 1050)
        assert not hears(rig.phone.heard()[: 5 * FRAME_SAMPLES], 1050)
    with_rig(body)


def test_ringing_and_bursts_mirror_the_chip():
    async def body(rig: Rig):
        assert not rig.phone.ringing
        rig.driver.ring()
        await asyncio.sleep(0.5)
        assert rig.phone.ringing
        await asyncio.sleep(1.0)
        assert not rig.phone.ringing and len(rig.phone.ring_bursts) == 1
    with_rig(body)


def test_actions_that_need_the_handset_up():
    async def body(rig: Rig):
        with pytest.raises(RuntimeError, match="fxs1: cannot dial"):
            await rig.phone.dial("1")
        with pytest.raises(RuntimeError, match="cannot flash"):
            await rig.phone.flash()
        rig.phone.off_hook()
        with pytest.raises(ValueError, match="pulse dialling"):
            await rig.phone.dial("1*", mode="pulse")
        with pytest.raises(ValueError, match="DTMF key"):
            await rig.phone.dial("1X")
        with pytest.raises(ValueError, match="mode"):
            await rig.phone.dial("1", mode="rotary")
    with_rig(body)


def test_display_of_a_private_number():
    async def body(rig: Rig):
        assert rig.phone.display is None
        rig.phone.caller_ids.append(CallerId(number_absent="P"))
        assert rig.phone.display == "PRIVATO"
    with_rig(body)
