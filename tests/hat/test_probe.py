"""``centralino hat probe`` passes on the simulated reference HAT and reports each injected fault;
``centralino hat eeprom write`` programs a blank EEPROM and refuses what it must refuse."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from centralino.board import open_board
from centralino.config.schema import load_settings
from centralino.drivers.hat_eeprom import read_hat_info, write_image
from centralino.hwsim.board import SimBoard
from centralino.hwsim.clock import run
from centralino.ops.hat_image import board_image, device_tree_atom, gpio_map
from centralino.ops.hat_probe import failed, probe

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "comune.yaml"


def _probe(settings, faults=None, world=None, blank_eeprom=False):
    async def main():
        loop = asyncio.get_running_loop()
        sim = SimBoard(settings, clock=loop.time, faults=faults, blank_eeprom=blank_eeprom)
        if world is not None:
            world(sim)
        board = open_board(settings, "sim", clock=loop.time, sim=sim)
        try:
            return await probe(settings, board, loop.time)
        finally:
            await board.stop()
            await sim.close()

    return {check.name: check for check in run(main)}


@pytest.fixture(scope="module")
def settings():
    return load_settings(EXAMPLE)


def test_the_simulated_reference_hat_passes_every_check(settings):
    checks = _probe(settings)
    assert not failed(list(checks.values()))
    ports = [p.name for p in settings.board.ports]
    expected = {"eeprom", "relay", "modem"} | {f"{p} {what}" for p in ports for what in ("chip", "line", "loopback")} \
        | {f"{p} dc-dc" for p in ports if p.startswith("fxs")}
    assert set(checks) == expected
    assert checks["fxs5 chip"].detail.startswith("Si3215 revision 5")
    assert checks["fxs1 dc-dc"].detail == "battery -74.8 V, DC-DC calibration 0x08, no leakage"
    assert checks["fxo1 line"].detail == "48 V on hook, polarity normal"  # line 1 with the relay held
    assert checks["fxo4 loopback"].detail == "1004 Hz sent in slot 11 came back at +0.0 dB"
    assert checks["relay"].status == "OK" and "drops by itself 0.5" in checks["relay"].detail
    assert checks["modem"].status == "SKIP"


@pytest.mark.parametrize("faults,name,found", [
    ({"fxs3": "absent"}, "fxs3 chip", "no ProSLIC answers"),
    ({"fxs6": "no_battery"}, "fxs6 chip", "battery did not reach 72 V"),
    ({"fxs2": "power_leak"}, "fxs2 dc-dc", "excessive leakage"),
    ({"fxs4": "dcdc_miscalibrated"}, "fxs4 dc-dc", "DC-DC calibration read 0x00 in reg 107"),
    ({"fxs7": "pcm_dead"}, "fxs7 loopback", "nothing came back"),
    ({"fxo2": "absent"}, "fxo2 chip", "no Si3050 DAA answers"),
    ({"fxo3": "line_side_never_links"}, "fxo3 chip", "line side did not link"),
    ({"fxo2": "no_line"}, "fxo2 line", "no line voltage"),
    ({"fxo4": "pcm_dead"}, "fxo4 loopback", "nothing came back"),
    ({"lifeline": "stuck_released"}, "relay", "no line on fxo1 with the relay held"),
    ({"lifeline": "stuck_energised"}, "relay", "fxo1 has 48 V with the relay released"),
])
def test_each_injected_fault_is_reported_on_its_own_line(settings, faults, name, found):
    checks = _probe(settings, faults=faults)
    bad = {n: c for n, c in checks.items() if c.failed}
    assert set(bad) == {name} | ({"fxo1 line"} if faults == {"lifeline": "stuck_released"} else set())
    assert found in bad[name].detail and bad[name].advice  # what is wrong and what to do
    assert bad[name].line().startswith(f"FAIL  {name:<17} ")


def test_a_blank_eeprom_and_a_foreign_hat(settings):
    assert "blank or foreign EEPROM" in _probe(settings, blank_eeprom=True)["eeprom"].detail

    def other_hat(sim):
        from centralino.hwsim.eeprom import At24c32
        from centralino.hwsim.hat_image import hat_image
        sim.eeprom.__init__(hat_image("acme", "sense-hat", 1, 1, "6f1c5d2e-8a44-4a43-9e1f-3b2a71c0de02"))

    check = _probe(settings, world=other_hat)["eeprom"]
    assert check.failed and "the HAT says 'sense-hat'" in check.detail


def test_the_modem_checks(settings, tmp_path):
    data = yaml.safe_load(EXAMPLE.read_text())
    data["gsm"] = {"dialect": "sim7600"}
    path = tmp_path / "gsm.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with_modem = load_settings(path)
    checks = _probe(with_modem)
    assert [checks[n].status for n in ("modem AT", "modem SIM", "modem network", "modem signal")] == ["OK"] * 4
    checks = _probe(with_modem, world=lambda sim: sim.modem.no_sim())
    assert checks["modem SIM"].failed and checks["modem AT"].status == "OK"


def test_the_command_prints_one_line_per_check_and_exits_1_on_a_failure():
    command = [sys.executable, "-m", "centralino", "hat", "probe", "--config", str(EXAMPLE), "--board", "sim"]
    good = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert good.returncode == 0 and good.stdout.splitlines()[-1] == "47 checks, all passed"
    bad = subprocess.run(command + ["--sim-fault", "fxs3=absent", "--sim-fault", "lifeline=stuck_energised"],
                         capture_output=True, text=True, timeout=120)
    lines = bad.stdout.splitlines()
    assert bad.returncode == 1 and lines[-1] == "47 checks, 2 failed"
    assert sum(line.startswith("FAIL") for line in lines) == 2 and len(lines) == 48
    wrong = subprocess.run(command + ["--sim-fault", "fxs9=absent"], capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and "--sim-fault fxs9=...: no such part" in wrong.stderr


# ------------------------------------------------------------------------------ eeprom write
def test_the_gpio_map_says_how_each_pin_is_used(settings):
    pins = gpio_map(settings.board)[2:]
    assert pins[22] == 0x80 | 0x20 | 0  # an interrupt line: used, pull-up, input
    assert pins[16] == 0x80 | 0x40 | 1  # the relay's heartbeat: pull-down output, low from power-up
    assert pins[10] == 0x80 | 4 and pins[18] == 0x80 | 4  # MOSI and PCM_CLK: alt0
    assert pins[8] == 0x80 | 1  # CE0 drives a decoder's enable as a GPIO
    assert all(p & 0x80 for p in pins)  # the reference HAT uses the whole header


def test_a_blank_eeprom_is_programmed_and_read_back(settings):
    image = board_image(settings.board, device_tree_atom(settings.board, None),
                        uuid="0b7cf1a8-1111-4e5e-8f00-2a1b3c4d5e6f")

    async def main():
        loop = asyncio.get_running_loop()
        sim = SimBoard(settings, clock=loop.time, blank_eeprom=True)
        sim.eeprom.write_protected = False  # the WP jumper bridged
        board = open_board(settings, "sim", clock=loop.time, sim=sim)
        await write_image(board.hat_bus, image)
        info = read_hat_info(board.hat_bus)
        protected = SimBoard(settings, clock=loop.time, blank_eeprom=True)
        try:
            await write_image(open_board(settings, "sim", clock=loop.time, sim=protected).hat_bus, image)
        except Exception as err:  # noqa: BLE001 - the type is checked below
            refused = err
        return info, bytes(sim.eeprom.memory[:len(image)]), refused

    info, stored, refused = run(main)
    assert (info.product, info.uuid, info.overlay_bytes) == ("centralino-8fxs-4fxo",
                                                             "0b7cf1a8-1111-4e5e-8f00-2a1b3c4d5e6f", 20)
    assert stored == image and info.gpio_map == gpio_map(settings.board)
    assert "bridge its write-protect (WP) jumper" in str(refused)


def test_the_write_command_refuses_a_programmed_eeprom_and_a_protected_one(tmp_path):
    command = [sys.executable, "-m", "centralino", "hat", "eeprom", "write", "--config", str(EXAMPLE), "--board", "sim"]
    done = subprocess.run(command + ["--sim-fault", "eeprom=blank"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("EEPROM written and read back: centralino-8fxs-4fxo")
    programmed = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert programmed.returncode == 2 and "the EEPROM already holds centralino-8fxs-4fxo" in programmed.stderr
    protected = subprocess.run(command + ["--sim-fault", "eeprom=blank-protected"], capture_output=True, text=True,
                               timeout=60)
    assert protected.returncode == 1 and "write-protect (WP) jumper" in protected.stderr
    big = tmp_path / "big.dtbo"
    big.write_bytes(bytes(7000))
    too_big = subprocess.run(command + ["--sim-fault", "eeprom=blank", "--overlay", str(big)], capture_output=True,
                             text=True, timeout=60)
    assert too_big.returncode == 2 and "a 24C32 holds 4096" in too_big.stderr
