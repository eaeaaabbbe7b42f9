"""The virtual clock and the simulated buses behave like time and the real libraries."""

from __future__ import annotations

import asyncio
import errno
import os

import numpy as np
import pytest

from centralino.hwsim.buses import GpioLine, SimGPIO, SimPcmBus, SimSMBus, SimSPI
from centralino.hwsim.clock import run
from centralino.media import g711
from centralino.media.frames import FRAME_SAMPLES


def test_virtual_clock_skips_waiting_but_keeps_order():
    order = []

    async def sleeper(name, seconds):
        await asyncio.sleep(seconds)
        order.append((name, asyncio.get_running_loop().time()))

    async def main():
        start = asyncio.get_running_loop().time()
        await asyncio.gather(sleeper("hour", 3600), sleeper("minute", 60), sleeper("second", 1))
        return start

    start = run(main)
    assert [name for name, _ in order] == ["second", "minute", "hour"]
    assert [round(t - start, 6) for _, t in order] == [1, 60, 3600]


def test_virtual_clock_still_sees_real_io():
    async def main():
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        got = loop.create_future()
        loop.add_reader(r, lambda: got.set_result(os.read(r, 10)))
        loop.call_later(5.0, os.write, w, b"ring")
        data = await got
        loop.remove_reader(r)
        os.close(r), os.close(w)
        return data, loop.time()

    data, at = run(main)
    assert data == b"ring"
    assert at == pytest.approx(1005.0)  # the write came at 5 s of virtual time


class Echo:
    """A chip that answers each byte with its complement and logs the chip-select windows."""

    def __init__(self):
        self.windows = []

    def select(self):
        self.windows.append([])

    def exchange(self, byte):
        self.windows[-1].append(byte)
        return byte ^ 0xFF

    def deselect(self):
        pass


def test_a_thread_pools_job_takes_no_virtual_time():
    """A file synced or a sentence synthesised in a worker thread: the media ticks wait for it
    instead of racing ahead (a slow disk once let a test's "until 09:05" pass during one fsync)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    async def main():
        loop = asyncio.get_running_loop()

        async def ticks():  # the media clock's 20 ms ticks
            while True:
                await asyncio.sleep(0.02)

        ticking = asyncio.create_task(ticks())
        t0 = loop.time()
        await asyncio.to_thread(time.sleep, 0.2)  # real work in the default pool
        after_to_thread = loop.time() - t0
        with ThreadPoolExecutor(max_workers=1) as pool:  # a pool of its own, awaited as a future
            t1 = loop.time()
            await asyncio.wrap_future(pool.submit(time.sleep, 0.2))
            after_pool = loop.time() - t1
        await asyncio.sleep(1.0)  # and with nothing running in a thread, time jumps again
        ticking.cancel()
        return after_to_thread, after_pool, loop.time() - t0

    after_to_thread, after_pool, total = run(main)
    assert after_to_thread < 0.05 and after_pool < 0.05  # a tick or two, not the ~0.2 s x thousands
    assert total >= 0.999


def test_spi_transfer_is_one_chip_select_window():
    chip = Echo()
    spi = SimSPI("/dev/spidev0.0", 3, 1e6, chip=chip)
    assert spi.transfer([0x12, 0x34]) == [0xED, 0xCB]
    assert spi.transfer(b"\x01") == b"\xfe"
    assert chip.windows == [[0x12, 0x34], [0x01]]
    with pytest.raises(IOError):
        SimSPI("/dev/spidev9.9", 3, 1e6, chip=None)


def test_gpio_edges_carry_timestamps_and_wake_the_descriptor():
    now = [1.5]
    wire = GpioLine("GPIO5", lambda: now[0])
    gpio = SimGPIO("/dev/gpiochip0", 5, "in", edge="falling", wire=wire)
    assert gpio.read() is True and not gpio.poll(0)
    wire.pull_low("slic", True)
    now[0] = 1.7
    wire.pull_low("slic", False)  # rising: not asked for
    assert gpio.poll(0)
    event = gpio.read_event()
    assert (event.edge, event.timestamp) == ("falling", 1_500_000_000)
    assert not gpio.poll(0)
    out = SimGPIO("/dev/gpiochip0", 4, "high", wire=GpioLine("GPIO4", lambda: 0.0))
    out.write(False)
    assert out.read() is False
    gpio.close(), out.close()


def test_smbus_unknown_address_is_remote_io_error():
    with pytest.raises(OSError) as err:
        SimSMBus(1, chips={}).read_byte_data(0x20, 0)
    assert err.value.errno == errno.EREMOTEIO


class Loopback:
    """A PCM chip on slot 3 that returns what it received, louder by nothing."""

    def __init__(self, law="alaw", tx=3, rx=3):
        self.fmt = (law, tx, rx)
        self.got = None

    def pcm_format(self):
        return self.fmt

    def pcm_exchange(self, frame):
        self.got = frame
        return frame


def test_pcm_bus_carries_each_slot_in_its_law():
    chip = Loopback()
    bus = SimPcmBus(8, [chip])
    frame = np.round(8000 * np.sin(np.arange(FRAME_SAMPLES) / 5)).astype(np.int16)
    out = np.full((FRAME_SAMPLES, 8), 0xD5, dtype=np.uint8)
    out[:, 3] = g711.alaw_encode(frame)
    back = np.frombuffer(bus.transfer(out.tobytes()), dtype=np.uint8).reshape(FRAME_SAMPLES, 8)
    assert np.array_equal(chip.got, g711.alaw_decode(g711.alaw_encode(frame)))
    assert np.array_equal(back[:, 3], out[:, 3])
    assert (back[:, [0, 1, 2, 4, 5, 6, 7]] == 0xD5).all()
    with pytest.raises(ValueError, match="PCM frame must be 1280 bytes"):
        bus.transfer(b"\x00" * 10)


def test_two_chips_on_one_slot_collide():
    bus = SimPcmBus(4, [Loopback(tx=1, rx=1), Loopback(tx=1, rx=2)])
    bus.transfer(bytes(FRAME_SAMPLES * 4))
    assert bus.collisions == 1
