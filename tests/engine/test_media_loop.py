"""The media clock under overload: late ticks are counted, and the rest of the daemon still runs."""

from __future__ import annotations

import asyncio
import time

import pytest

from centralino.calls.media_loop import MediaLoop
from centralino.media.frames import FRAME_SAMPLES

TICKS = 20


class Enough(BaseException):
    """Ends the media loop after TICKS transfers (a BaseException: the loop logs and survives
    ordinary exceptions of a tick)."""


class SlowPcm:
    """A PCM bus whose transfer takes longer than a whole 20 ms frame (an overloaded CPU)."""

    def __init__(self, slots: int):
        self.slots = slots
        self.transfers = 0

    def transfer(self, data: bytes) -> bytes:
        self.transfers += 1
        if self.transfers > TICKS:
            raise Enough
        time.sleep(0.03)
        return bytes(FRAME_SAMPLES * self.slots)


def test_an_overloaded_media_clock_still_lets_other_tasks_run():
    async def main():
        loop = asyncio.get_running_loop()
        media = MediaLoop(SlowPcm(slots=4), slots=4, ports=[], clock=loop.time)
        turns = 0

        async def other_task():  # the control socket, a port starting, a flow...
            nonlocal turns
            while True:
                await asyncio.sleep(0)
                turns += 1

        side = loop.create_task(other_task())
        with pytest.raises(Enough):
            await media.start()
        side.cancel()
        return turns, media.ticks, media.status()

    turns, ticks, status = asyncio.run(main())
    assert ticks == TICKS
    assert turns >= TICKS - 1  # the other task had a turn between ticks, late as they were
    assert status["lateness_max_ms"] > 0  # and the lateness is on record
