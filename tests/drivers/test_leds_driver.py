"""The LED drivers against the simulated RPi.GPIO and the PCA9633/PCA9685 register models."""

from __future__ import annotations

import asyncio

import pytest

from centralino.drivers.errors import ChipError
from centralino.drivers.leds import GpioLeds, Pca9633Leds, Pca9685Leds
from centralino.hwsim.buses import SimSMBus
from centralino.hwsim.clock import run
from centralino.hwsim.eeprom import At24c32
from centralino.hwsim.leds import OSCILLATOR_START_S, Pca9633, Pca9685, SimRpiGpio

PCA9633_ADDRESS, PCA9685_ADDRESS = 0x62, 0x40


class Clock:
    """A hand-turned clock for model tests that need no event loop."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _started(driver):
    async def main():
        await driver.start()
        return asyncio.get_running_loop().time()
    return run(main)


# ------------------------------------------------------------------------------ RPi.GPIO
def test_gpio_leds_light_the_configured_lines_and_give_them_back():
    clock = Clock()
    gpio = SimRpiGpio(clock)
    leds = GpioLeds(gpio, {"ready": 20, "fault": 21})
    _started(leds)
    assert gpio.getmode() == gpio.BCM and not gpio.lit(20) and not gpio.lit(21)
    leds.set("ready", True)
    clock.now += 1.0
    leds.set("fault", True)
    leds.set("fault", False)
    assert gpio.lit(20) and not gpio.lit(21)
    assert [lit for _, lit in gpio.traces[21].changes] == [False, True, False]
    leds.close()
    assert not gpio.lit(20)
    with pytest.raises(RuntimeError, match="has not been set up as an OUTPUT"):
        gpio.output(20, gpio.HIGH)  # cleanup gave the lines back, as RPi.GPIO does


def test_active_low_leds_are_driven_low_to_light():
    gpio = SimRpiGpio(Clock(), active_low={20: True})
    leds = GpioLeds(gpio, {"ready": 20}, active_low=True)
    _started(leds)
    assert not gpio.lit(20) and gpio.input(20) == gpio.HIGH  # dark after start: the line is high
    leds.set("ready", True)
    assert gpio.lit(20) and gpio.input(20) == gpio.LOW


def test_a_steady_led_costs_no_bus_writes():
    gpio = SimRpiGpio(Clock())
    leds = GpioLeds(gpio, {"ready": 20})
    _started(leds)
    writes = []
    real_output = gpio.output
    gpio.output = lambda pin, level: (writes.append(level), real_output(pin, level))
    for _ in range(50):
        leds.set("ready", True)
    assert writes == [gpio.HIGH]


def test_the_rpi_gpio_stand_in_refuses_what_the_real_module_refuses():
    gpio = SimRpiGpio(Clock())
    with pytest.raises(RuntimeError, match="set pin numbering mode"):
        gpio.setup(20, gpio.OUT)
    gpio.setmode(gpio.BCM)
    with pytest.raises(ValueError, match="different mode"):
        gpio.setmode(gpio.BOARD)
    with pytest.raises(ValueError, match="channel sent is invalid"):
        gpio.setup(54, gpio.OUT)
    with pytest.raises(RuntimeError, match="has not been set up as an OUTPUT"):
        gpio.output(20, 1)
    with pytest.raises(RuntimeError, match="setup\\(\\) the GPIO channel first"):
        gpio.input(20)


def test_a_module_already_in_board_numbering_is_a_chip_error_naming_the_port():
    gpio = SimRpiGpio(Clock())
    gpio.setmode(gpio.BOARD)
    with pytest.raises(ChipError, match="port leds: RPi.GPIO is already set to BOARD numbering"):
        _started(GpioLeds(gpio, {"ready": 20}))


def test_an_invalid_line_is_a_chip_error_naming_the_led_and_line():
    gpio = SimRpiGpio(Clock())
    with pytest.raises(ChipError, match="register 60: LED fault: cannot set up GPIO 60") as err:
        _started(GpioLeds(gpio, {"ready": 20, "fault": 60}))
    assert err.value.port == "leds" and err.value.register == 60


# ------------------------------------------------------------------------------ PCA9633
def _pca9633(clock=None):
    clock = clock or Clock()
    chip = Pca9633(clock)
    return chip, SimSMBus(1, chips={PCA9633_ADDRESS: chip})


def _on_loop(story):
    """Run ``story(clock)`` on the virtual clock; models and drivers share ``clock``."""
    async def main():
        return await story(asyncio.get_running_loop().time)
    return run(main)


def test_pca9633_lights_only_after_the_driver_wakes_it():
    async def story(clock):
        chip = Pca9633(clock)
        bus = SimSMBus(1, chips={PCA9633_ADDRESS: chip})
        bus.write_byte_data(PCA9633_ADDRESS, 0x08, 0x55)  # every output fully on, but asleep
        asleep = [chip.lit(n) for n in range(4)]
        leds = Pca9633Leds(bus, PCA9633_ADDRESS, {"ready": 0, "fault": 3})
        await leds.start()
        leds.set("fault", True)
        started = ([chip.lit(n) for n in range(4)], bus.read_byte_data(PCA9633_ADDRESS, 0x00),
                   bus.read_byte_data(PCA9633_ADDRESS, 0x08))
        leds.set("fault", False)
        leds.set("ready", True)
        swapped = [chip.lit(n) for n in range(4)]
        leds.close()
        return asleep, started, swapped, [chip.lit(n) for n in range(4)], bus.read_byte_data(PCA9633_ADDRESS, 0x00)

    asleep, (lit, mode1, ledout), swapped, closed, mode1_closed = _on_loop(story)
    assert asleep == [False] * 4
    assert lit == [False, False, False, True]
    assert mode1 & 0x10 == 0 and ledout == 0b01 << 6  # awake; LEDOUT: output 3 fully on
    assert swapped == [True, False, False, False]
    assert closed == [False] * 4 and mode1_closed & 0x10  # dark and asleep again


def test_pca9633_model_keeps_outputs_dark_until_the_oscillator_runs():
    clock = Clock()
    chip, bus = _pca9633(clock)
    bus.write_byte_data(PCA9633_ADDRESS, 0x00, 0x00)  # wake
    bus.write_byte_data(PCA9633_ADDRESS, 0x08, 0x01)  # output 0 on at once: too early
    assert not chip.lit(0)
    woke = clock.now
    clock.now += 2 * OSCILLATOR_START_S
    assert chip.lit(0)
    assert chip.trace(0).changes[-1] == (pytest.approx(woke + OSCILLATOR_START_S), True)


def test_pca9633_model_auto_increment_is_chosen_by_the_control_byte():
    chip, bus = _pca9633()
    bus.write_i2c_block_data(PCA9633_ADDRESS, 0x02, [1, 2, 3, 4])  # no auto-increment: all into PWM0
    assert list(chip.regs[2:6]) == [4, 0, 0, 0]
    bus.write_i2c_block_data(PCA9633_ADDRESS, 0x80 | 0x02, [1, 2, 3, 4])  # AI = 100: every register
    assert list(chip.regs[2:6]) == [1, 2, 3, 4]
    assert bus.read_byte_data(PCA9633_ADDRESS, 0x80) >> 5 == 0b100  # MODE1 reads back the AI flags
    bus.write_byte_data(PCA9633_ADDRESS, 0x00, 0xE0)
    assert chip.regs[0] == 0x00  # ... which cannot be written


def test_pca9633_missing_or_wrong_chip_is_a_chip_error():
    empty = SimSMBus(1, chips={})
    with pytest.raises(ChipError, match="writing the pca9633 at I2C 0x62 failed: Remote I/O error") as err:
        _started(Pca9633Leds(empty, PCA9633_ADDRESS, {"ready": 0}))
    assert err.value.port == "leds" and err.value.register == 0x00
    # a 24C32 EEPROM where the LED chip should be: MODE1 does not keep what was written
    eeprom = SimSMBus(1, chips={PCA9633_ADDRESS: At24c32(bytes(range(64)))})
    with pytest.raises(ChipError, match="MODE1 does not keep what was written"):
        _started(Pca9633Leds(eeprom, PCA9633_ADDRESS, {"ready": 0}))
    with pytest.raises(ValueError, match="channel 4 does not exist on a pca9633"):
        Pca9633Leds(empty, PCA9633_ADDRESS, {"ready": 4})


def test_pca9633_set_before_start_is_refused():
    chip, bus = _pca9633()
    with pytest.raises(ChipError, match="not started"):
        Pca9633Leds(bus, PCA9633_ADDRESS, {"ready": 0}).set("ready", True)


# ------------------------------------------------------------------------------ PCA9685
def test_pca9685_full_on_and_full_off_bits():
    async def story(clock):
        chip = Pca9685(clock)
        bus = SimSMBus(1, chips={PCA9685_ADDRESS: chip})
        leds = Pca9685Leds(bus, PCA9685_ADDRESS, {"ready": 0, "gsm": 15})
        await leds.start()
        seen = [(chip.lit(0), chip.lit(15))]
        leds.set("gsm", True)
        seen.append((chip.lit(0), chip.lit(15)))
        on_h, off_h = (bus.read_byte_data(PCA9685_ADDRESS, 0x06 + 4 * 15 + k) for k in (1, 3))
        leds.set("gsm", False)
        seen.append((chip.lit(0), chip.lit(15)))
        return seen, on_h, off_h, bus.read_byte_data(PCA9685_ADDRESS, 0x06 + 4 * 15 + 1)

    seen, on_h, off_h, on_h_after = _on_loop(story)
    assert seen == [(False, False), (False, True), (False, False)]
    assert (on_h, off_h) == (0x10, 0x00)  # LED15_ON_H full on, LED15_OFF_H cleared
    assert on_h_after == 0x10  # off again with full on still set: full off wins, as the datasheet says


def test_pca9685_model_resets_full_off_and_guards_the_prescaler():
    clock = Clock()
    chip = Pca9685(clock)
    bus = SimSMBus(1, chips={PCA9685_ADDRESS: chip})
    assert bus.read_byte_data(PCA9685_ADDRESS, 0x09) == 0x10  # LED0_OFF_H: full off after reset
    bus.write_byte_data(PCA9685_ADDRESS, 0xFE, 0x05)  # asleep: the prescaler takes it
    bus.write_byte_data(PCA9685_ADDRESS, 0x00, 0x00)
    bus.write_byte_data(PCA9685_ADDRESS, 0xFE, 0x79)  # awake: ignored
    assert bus.read_byte_data(PCA9685_ADDRESS, 0xFE) == 0x05
    bus.write_byte_data(PCA9685_ADDRESS, 0x07, 0x10)  # LED0 full on, full off still set
    clock.now += 1.0
    assert not chip.lit(0)
