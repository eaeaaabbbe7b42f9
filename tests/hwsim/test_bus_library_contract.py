"""The simulated buses against the real libraries: the same calls give the same answers and errors.

Where no hardware is needed, the real ``periphery``/``smbus2`` objects are asked too: their
argument checks run before they touch a device, and a real object on a descriptor of /dev/null
fails only at the ioctl, after those checks. A difference is a driver that would pass in CI and
break on the Pi.
"""

from __future__ import annotations

import errno
import os
import threading

import periphery
import pytest
import smbus2
from periphery.gpio_cdev2 import Cdev2GPIO

from centralino.hwsim.buses import EdgeEvent, GpioLine, SimGPIO, SimSMBus, SimSPI


class Loopback:
    def select(self):
        pass

    def exchange(self, byte):
        return byte

    def deselect(self):
        pass


def outcome(call):
    """What a call gives: ("ok", value) or (exception type, message)."""
    try:
        return "ok", call()
    except Exception as err:  # noqa: BLE001 - comparing whatever is raised is the point
        return type(err), str(err)


@pytest.fixture
def null_fd():
    fd = os.open(os.devnull, os.O_RDWR)
    yield fd
    os.close(fd)


def _own_fd(fd):
    """A descriptor of its own for a real object (its __del__ closes it)."""
    return None if fd is None else os.dup(fd)


def real_spi(fd):
    spi = object.__new__(periphery.SPI)
    spi._fd, spi._devpath = _own_fd(fd), "/dev/spidev0.0"
    return spi


def real_gpio(fd, direction="in", edge="none"):
    gpio = object.__new__(Cdev2GPIO)
    gpio._line_fd, gpio._chip_fd, gpio._direction, gpio._edge = _own_fd(fd), None, direction, edge
    return gpio


# ---------------------------------------------------------------------------------------- SPI

@pytest.mark.parametrize("args", [
    ("/dev/spidev0.0", 4, 1e6), ("/dev/spidev0.0", "3", 1e6), ("/dev/spidev0.0", 3, "fast"),
    ("/dev/spidev0.0", 3, 1e6, "middle"), ("/dev/spidev0.0", 3, 1e6, "msb", 256), (0, 3, 1e6),
])
def test_spi_refuses_the_settings_periphery_refuses(args):
    real = outcome(lambda: periphery.SPI(*args))
    sim = outcome(lambda: SimSPI(*args, chip=Loopback()))
    assert real[0] in (TypeError, ValueError)
    assert sim == real


@pytest.mark.parametrize("data", [(1, 2), [256], [-1], "ab", [1.5], None])
def test_spi_transfer_refuses_what_periphery_refuses(data, null_fd):
    real = outcome(lambda: real_spi(null_fd).transfer(data))
    sim = outcome(lambda: SimSPI("/dev/spidev0.0", 3, 1e6, chip=Loopback()).transfer(data))
    assert real[0] in (TypeError, ValueError)
    assert sim[0] is real[0]


def test_spi_answers_in_the_type_it_was_given_and_has_a_real_descriptor(null_fd):
    assert outcome(lambda: real_spi(null_fd).transfer([1]))[0] is periphery.SPIError  # only the ioctl fails
    spi = SimSPI("/dev/spidev0.0", 3, 1e6, chip=Loopback())
    assert spi.transfer([1, 2]) == [1, 2]
    assert spi.transfer(b"\x01") == b"\x01"
    back = spi.transfer(bytearray(b"\x07"))
    assert isinstance(back, bytearray) and back == bytearray(b"\x07")
    fd = spi.fd
    assert isinstance(fd, int) and os.fstat(fd)
    assert (spi.mode, spi.max_speed, spi.bit_order, spi.bits_per_word, spi.devpath) == (3, 1000000, "msb", 8,
                                                                                       "/dev/spidev0.0")
    spi.close()
    spi.close()  # twice is fine, as in periphery
    assert spi.fd is None
    with pytest.raises(OSError):
        os.fstat(fd)  # the descriptor really was closed
    closed_real = real_spi(None)
    assert outcome(lambda: spi.transfer([1]))[0] is outcome(lambda: closed_real.transfer([1]))[0] is TypeError


def test_spi_missing_device_is_periphery_spierror():
    with pytest.raises(periphery.SPIError) as err:
        SimSPI("/dev/spidev9.9", 3, 1e6, chip=None)
    assert err.value.errno == errno.ENOENT and "Opening SPI device" in str(err.value)


# --------------------------------------------------------------------------------------- GPIO

@pytest.mark.parametrize("args,kwargs", [
    (("/dev/gpiochip0", 5, "sideways"), {}), (("/dev/gpiochip0", 5.0, "in"), {}),
    (("/dev/gpiochip0", 5, "in"), {"edge": "up"}), (("/dev/gpiochip0", 5, "in"), {"bias": "weak"}),
    (("/dev/gpiochip0", 5, "in"), {"inverted": 1}), (("/dev/gpiochip0", 5, "in"), {"label": 3}),
    ((None, 5, "in"), {}),
])
def test_gpio_refuses_the_settings_periphery_refuses(args, kwargs):
    real = outcome(lambda: periphery.GPIO(*args, **kwargs))
    sim = outcome(lambda: SimGPIO(*args, wire=GpioLine("GPIO5", lambda: 0.0), **kwargs))
    assert real[0] in (TypeError, ValueError)
    assert sim == real


@pytest.mark.parametrize("value", [1, 0, None, "high"])
def test_gpio_write_of_a_non_bool_is_a_typeerror(value, null_fd):
    real = outcome(lambda: real_gpio(null_fd, "out").write(value))
    sim = outcome(lambda: SimGPIO("/dev/gpiochip0", 4, "out", wire=GpioLine("GPIO4", lambda: 0.0)).write(value))
    assert real[0] is sim[0] is TypeError and sim == real


@pytest.mark.parametrize("call", [
    lambda g: g.poll("1"), lambda g: g.write(True), lambda g: g.read_event(),
])
def test_gpio_misuse_of_an_input_fails_as_in_periphery(call, null_fd):
    real = outcome(lambda: call(real_gpio(null_fd, "in", "none")))
    sim = outcome(lambda: call(SimGPIO("/dev/gpiochip0", 5, "in", wire=GpioLine("GPIO5", lambda: 0.0))))
    assert sim == real and sim[0] in (TypeError, periphery.GPIOError)


def test_gpio_poll_and_read_event_of_an_output_fail_as_in_periphery(null_fd):
    for call in (lambda g: g.poll(0), lambda g: g.read_event()):
        real = outcome(lambda: call(real_gpio(null_fd, "out")))
        sim = outcome(lambda: call(SimGPIO("/dev/gpiochip0", 4, "low", wire=GpioLine("GPIO4", lambda: 0.0))))
        assert sim == real and sim[0] is periphery.GPIOError


def test_gpio_poll_none_blocks_until_an_edge_comes():
    wire = GpioLine("GPIO5", lambda: 2.0)
    gpio = SimGPIO("/dev/gpiochip0", 5, "in", edge="falling", wire=wire)
    made = threading.Event()

    def edge_later():
        made.set()
        wire.pull_low("slic", True)

    threading.Timer(0.1, edge_later).start()
    assert gpio.poll(None) is True
    assert made.is_set()  # it returned because of the edge, not before
    event = gpio.read_event()
    assert isinstance(event, periphery.EdgeEvent) and event == EdgeEvent("falling", 2_000_000_000)
    assert gpio.poll(0) is False and gpio.poll(0.01) is False
    threading.Timer(0.1, lambda: (made.clear(), wire.pull_low("slic", False), made.set())).start()
    gpio.edge = "both"
    assert gpio.read_event().edge == "rising"  # read_event blocks for the next edge too
    gpio.close()
    assert gpio.fd is None and gpio.chip_fd is None and gpio.line is None


def test_changing_a_gpio_setting_is_a_new_line_request():
    wire = GpioLine("GPIO5", lambda: 0.0)
    gpio = SimGPIO("/dev/gpiochip0", 5, "in", edge="falling", wire=wire)
    wire.pull_low("slic", True)
    assert gpio.poll(0)
    gpio.edge = "both"
    assert not gpio.poll(0)  # the event of the old request went with its descriptor
    gpio.direction = "out"
    assert gpio.edge == "none" and wire.level is False  # "out" starts low
    gpio.direction = "high"  # a new request, set high; the property says "out", as in periphery
    assert gpio.direction == "out" and wire.level is True
    gpio.write(False)
    assert wire.level is False and gpio.read() is False
    with pytest.raises(periphery.GPIOError):
        gpio.edge = "rising"
    gpio.close()


def test_inverted_lines_follow_periphery():
    wire = GpioLine("GPIO6", lambda: 0.0)
    out = SimGPIO("/dev/gpiochip0", 6, "high", inverted=True, wire=wire)
    assert wire.level is True and out.read() is False  # "high" is high on the wire either way
    out.write(True)
    assert wire.level is False
    out.close()


# ---------------------------------------------------------------------------------------- I2C

def test_smbus_descriptor_and_closing_follow_smbus2():
    bus = SimSMBus(1, chips={})
    assert isinstance(bus.fd, int) and os.fstat(bus.fd) and bus.funcs & smbus2.I2cFunc.I2C
    bus.close()
    assert bus.fd is None
    real = smbus2.SMBus()  # not opened: fd None, like a closed one
    assert outcome(lambda: bus.read_byte_data(0x50, 0))[0] is outcome(lambda: real.read_byte_data(0x50, 0))[0] \
        is TypeError
    assert outcome(lambda: SimSMBus(1.5))[0] is outcome(lambda: smbus2.SMBus(1.5))[0] is TypeError
    for call in (lambda b: b.read_i2c_block_data(0x50, 0, 33), lambda b: b.write_i2c_block_data(0x50, 0, [0] * 33)):
        assert outcome(lambda: call(SimSMBus(1, chips={}))) == outcome(lambda: call(real))


def test_smbus_nobody_at_the_address_is_eremoteio():
    with pytest.raises(OSError) as err:
        SimSMBus(1, chips={}).read_byte_data(0x20, 0)
    assert err.value.errno == errno.EREMOTEIO
