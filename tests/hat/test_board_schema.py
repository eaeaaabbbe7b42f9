"""The board section: the reference HAT definition, and the pin maps a Pi cannot wire, each refused
with the line and both users of the pin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from centralino.config.board_schema import BOARDS_DIR, Board
from centralino.config.loader import ConfigError
from centralino.config.schema import load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "comune.yaml"
DEFINITION = BOARDS_DIR / "centralino-8fxs-4fxo.yaml"

# the example's board before issue 18: twelve chips on spidev0-6 and fxo4's interrupt on the UART
OLD_BOARD = """\
board:
  kind: KIND
  hat: centralino-8fxs-4fxo
  ports:
    - {name: fxs1, kind: fxs, spi: /dev/spidev0.0, irq_gpio: 5,  reset_gpio: 4, timeslot: 0}
    - {name: fxs2, kind: fxs, spi: /dev/spidev0.1, irq_gpio: 6,  reset_gpio: 4, timeslot: 1}
    - {name: fxs3, kind: fxs, spi: /dev/spidev1.0, irq_gpio: 12, reset_gpio: 4, timeslot: 2}
    - {name: fxs4, kind: fxs, spi: /dev/spidev1.1, irq_gpio: 13, reset_gpio: 4, timeslot: 3}
    - {name: fxs5, kind: fxs, spi: /dev/spidev1.2, irq_gpio: 16, reset_gpio: 4, timeslot: 4}
    - {name: fxs6, kind: fxs, spi: /dev/spidev3.0, irq_gpio: 17, reset_gpio: 4, timeslot: 5}
    - {name: fxs7, kind: fxs, spi: /dev/spidev3.1, irq_gpio: 22, reset_gpio: 4, timeslot: 6}
    - {name: fxs8, kind: fxs, spi: /dev/spidev4.0, irq_gpio: 23, reset_gpio: 4, timeslot: 7}
    - {name: fxo1, kind: fxo, spi: /dev/spidev4.1, irq_gpio: 24, reset_gpio: 27, timeslot: 8}
    - {name: fxo2, kind: fxo, spi: /dev/spidev5.0, irq_gpio: 25, reset_gpio: 27, timeslot: 9}
    - {name: fxo3, kind: fxo, spi: /dev/spidev5.1, irq_gpio: 26, reset_gpio: 27, timeslot: 10}
    - {name: fxo4, kind: fxo, spi: /dev/spidev6.0, irq_gpio: 14, reset_gpio: 27, timeslot: 11}

"""


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _with_board(tmp_path: Path, board_text: str) -> Path:
    text = EXAMPLE.read_text()
    start, end = text.index("board:\n"), text.index("extensions:\n")
    path = tmp_path / "centralino.yaml"
    path.write_text(text[:start] + board_text + text[end:])
    return path


def _with_definition(tmp_path: Path, old: str, new: str, kind: str = "pi-hat", extra: str = "") -> tuple[Path, Path]:
    """The example on a copy of the reference HAT's definition with ``old`` replaced by ``new``."""
    text = DEFINITION.read_text()
    assert old in text, old
    definition = tmp_path / "my-hat.yaml"
    definition.write_text(text.replace(old, new, 1))
    config = _with_board(tmp_path, f"board:\n  kind: {kind}\n  definition: my-hat.yaml\n\n")
    config.write_text(config.read_text() + extra)
    return config, definition


def _refusal(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    return str(err.value)


def test_the_example_runs_the_reference_hat_and_is_held_to_the_header():
    s = load_settings(EXAMPLE)
    board = s.board
    assert (board.kind, board.hat, board.definition) == ("sim", "centralino-8fxs-4fxo", str(DEFINITION))
    assert board.header_checked and board.overlay == "centralino-8fxs-4fxo"
    assert [p.spi for p in board.ports] == [f"/dev/spidev10.{i}" for i in range(8)] + \
        [f"/dev/spidev11.{i}" for i in range(4)]
    assert (board.lifeline.phone, board.lifeline.line, board.lifeline.relay_gpio) == ("fxs1", "fxo1", 16)
    assert (board.eeprom_bus, board.i2c_bus, board.gsm_power_key_gpio) == ("/dev/i2c-0", "/dev/i2c-1", 17)
    assert board.leds.names[-1] == "lifeline"


def test_the_old_example_board_is_refused_on_the_pi_and_each_of_its_faults_named(tmp_path):
    path = _with_board(tmp_path, OLD_BOARD.replace("KIND", "pi-hat"))
    text = _refusal(path)
    assert text == (f"{path}:{_line_of(path, 'name: fxo4')}: board.ports[11].irq_gpio: GPIO 14 (header pin 8) "
                    "is TXD of the serial console UART (enabled by config.txt); the interrupt line of fxo4 "
                    "cannot use it (free GPIOs: none left)")
    path.write_text(path.read_text().replace("irq_gpio: 14,", "irq_gpio: 26,"))  # shared with fxo3 now
    # with the pins fixed, the SPI devices are what is left: spidev1-6 are not what SPI0 makes
    assert _refusal(path).endswith("board.ports[2].spi: /dev/spidev1.0 is not a device the board's overlay "
                                   "creates for fxs3 (it creates /dev/spidev0.0-0.1)")


def test_an_inline_simulated_board_is_the_simulators_own(tmp_path):
    # the benches' boards of 64 ports on made-up buses: not held to the Pi's header
    s = load_settings(_with_board(tmp_path, OLD_BOARD.replace("KIND", "sim")))
    assert not s.board.header_checked and s.board.spi.devices() == {"/dev/spidev0.0": "CE0 of SPI0",
                                                                    "/dev/spidev0.1": "CE1 of SPI0"}


@pytest.mark.parametrize("old,new,needle,key,message", [
    # a GPIO used twice, for two different things: both users and both lines named
    ("gsm_power_key_gpio: 17", "gsm_power_key_gpio: 16", "gsm_power_key_gpio", "board.gsm_power_key_gpio",
     "GPIO 16 (header pin 36) is already the lifeline relay's heartbeat (board.lifeline.relay_gpio on line "
     "{relay_gpio} of my-hat.yaml); the GSM modem's power key needs a GPIO of its own"),
    ("sense_gpio: 12", "sense_gpio: 22", "sense_gpio", "board.lifeline.sense_gpio",
     "GPIO 22 (header pin 15) is already the interrupt line of fxs1 (board.ports[0].irq_gpio on line "
     "{fxs1} of my-hat.yaml)"),
    ("spi: /dev/spidev10.2, irq_gpio: 23,", "spi: /dev/spidev10.2, irq_gpio: 4,", "name: fxs3",
     "board.ports[2].irq_gpio", "GPIO 4 is already the reset line of fxs1 (board.ports[0].reset_gpio on line {fxs1}"),
    # a GPIO of an enabled bus
    ("decoder_gpios: [5, 6, 13]", "decoder_gpios: [5, 6, 19]", "decoder_gpios", "board.spi.decoder_gpios",
     "GPIO 19 (header pin 35) is PCM_FS of the PCM/I2S bus (enabled by config.txt); address line A2 of the "
     "SPI chip-select decoders cannot use it"),
    ("sense_gpio: 12", "sense_gpio: 3", "sense_gpio", "board.lifeline.sense_gpio",
     "GPIO 3 (header pin 5) is SCL1 of I2C1 (enabled by config.txt)"),
    ("gsm_power_key_gpio: 17", "gsm_power_key_gpio: 9", "gsm_power_key_gpio", "board.gsm_power_key_gpio",
     "GPIO 9 (header pin 21) is MISO of SPI0 (enabled by config.txt)"),
    ("relay_gpio: 16", "relay_gpio: 0", "relay_gpio", "board.lifeline.relay_gpio",
     "GPIO 0 (header pin 27) is ID_SD of the HAT ID EEPROM bus (ID_SD/ID_SC)"),
    ("relay_gpio: 16", "relay_gpio: 30", "relay_gpio", "board.lifeline.relay_gpio",
     "GPIO 30 is not on the 40-pin header (expected 0..27)"),
    ("spi: /dev/spidev11.3, irq_gpio: 26,", "spi: /dev/spidev11.3, irq_gpio: 15,", "name: fxo4",
     "board.ports[11].irq_gpio", "GPIO 15 (header pin 10) is RXD of the serial console UART"),
    # an SPI device the overlay does not create
    ("spi: /dev/spidev10.2,", "spi: /dev/spidev1.0,", "name: fxs3", "board.ports[2].spi",
     "/dev/spidev1.0 is not a device the board's overlay creates for fxs3 (it creates /dev/spidev10.0-10.7, "
     "/dev/spidev11.0-11.3)"),
    ("spi: /dev/spidev11.3,", "spi: /dev/spidev11.4,", "name: fxo4", "board.ports[11].spi",
     "/dev/spidev11.4 is not a device the board's overlay creates for fxo4"),
    # a timeslot used twice, or beyond the PCM frame
    ("timeslot: 11}", "timeslot: 10}", "name: fxo4", "board.ports[11].timeslot",
     "PCM timeslot 10 is already used by fxo3 (board.ports[10].timeslot on line {fxo3} of my-hat.yaml)"),
    ("timeslot: 11}", "timeslot: 32}", "name: fxo4", "board.ports[11].timeslot",
     "timeslot 32 does not exist: the PCM frame has 32 slots of 8 bits (expected 0..31"),
    ("- {chip_select: 1, bus: 11, devices: 4}", "- {chip_select: 0, bus: 11, devices: 4}", "  buses:",
     "board.spi.buses", "chip_select 0 is listed twice"),
    ("  phone: fxs1", "  phone: fxo2", "phone: fxo2", "board.lifeline.phone",
     "'fxo2' is not an fxs port of this board (expected one of fxs1, fxs2"),
])
def test_pin_maps_a_pi_cannot_wire_are_refused(tmp_path, old, new, needle, key, message):
    config, definition = _with_definition(tmp_path, old, new)
    lines = {name: _line_of(definition, f"name: {name},") for name in ("fxs1", "fxo3")}
    lines["relay_gpio"] = _line_of(definition, "relay_gpio:")
    text = _refusal(config)
    assert text.startswith(f"{definition}:{_line_of(definition, needle)}: {key}: "), text
    assert message.format(**lines) in text, text


def test_the_gsm_sections_power_key_is_checked_against_the_board(tmp_path):
    config, definition = _with_definition(tmp_path, "hat:", "hat:", kind="sim",
                                          extra="\ngsm:\n  dialect: sim7600\n  power_key_gpio: 22\n")
    text = _refusal(config)
    assert text.startswith(f"{config}:{_line_of(config, 'power_key_gpio')}: gsm.power_key_gpio: GPIO 22 "
                           "(header pin 15) is already the interrupt line of fxs1 (board.ports[0].irq_gpio on "
                           f"line {_line_of(definition, 'name: fxs1,')} of my-hat.yaml)"), text
    config.write_text(config.read_text().replace("power_key_gpio: 22", "power_key_gpio: 17"))  # the HAT's own
    assert load_settings(config).gsm.power_key_gpio == 17


def test_configuration_keys_replace_the_definitions_and_a_pi_hat_cannot_opt_out(tmp_path):
    path = _with_board(tmp_path, "board:\n  kind: sim\n  definition: centralino-8fxs-4fxo\n  pcm_slots: 64\n"
                                 "  leds: none\n\n")
    s = load_settings(path)
    assert s.board.pcm_slots == 64 and s.board.leds is None and len(s.board.ports) == 12
    path = _with_board(tmp_path, "board:\n  kind: pi-hat\n  definition: centralino-8fxs-4fxo\n  header: none\n\n")
    assert _refusal(path).endswith("board.header: a pi-hat board is always held to the Pi's header "
                                   "(expected raspberry-pi-40, or kind: sim)")
    path = _with_board(tmp_path, "board:\n  kind: sim\n  definition: centralino-8fxs-4fxo\n"
                                 "  leds: {kind: gpio, lights: [{name: ready, gpio: 18}]}\n\n")
    assert "board.leds.lights: GPIO 18 (header pin 12) is PCM_CLK of the PCM/I2S bus" in _refusal(path)


def test_definitions_are_hardware_and_their_mistakes_name_their_own_file(tmp_path):
    path = _with_board(tmp_path, "board:\n  kind: sim\n  definition: no-such-hat\n\n")
    assert _refusal(path).endswith("board.definition: no board definition 'no-such-hat' "
                                   "(shipped: centralino-8fxs-4fxo; or give the path of a .yaml file)")
    config, definition = _with_definition(tmp_path, "hat: centralino-8fxs-4fxo", "kind: sim  # oops\nhat: x")
    assert _refusal(config) == (f"{definition}:{_line_of(definition, 'kind: sim  # oops')}: kind: a board definition "
                                "describes hardware: 'kind' belongs in the configuration's board section")
    config, definition = _with_definition(tmp_path, "pcm_slots: 32", "pcm_slot: 32")
    assert f"{definition}:{_line_of(definition, 'pcm_slot:')}: board.pcm_slot: unknown key" in _refusal(config)


def test_config_check_prints_the_refusal_and_exits_2(tmp_path):
    config, definition = _with_definition(tmp_path, "timeslot: 11}", "timeslot: 10}")
    result = subprocess.run([sys.executable, "-m", "centralino", "config", "check", str(config)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"centralino: {definition}:") and "PCM timeslot 10 is already used by fxo3" \
        in result.stderr


def test_board_records_compare_on_hardware_only():
    one = load_settings(EXAMPLE).board
    assert isinstance(one, Board) and one == load_settings(EXAMPLE).board
