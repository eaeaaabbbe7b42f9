"""The reference HAT's device-tree overlay compiles with dtc, cleanly, and says what its board
definition says: the SPI devices behind their decoders, the chip selects, the interrupt lines,
the PCM and I2C buses, the LED chip, and a name for every GPIO the HAT uses."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from centralino.config.board_schema import BOARDS_DIR, pin_uses
from centralino.config.schema import load_settings

ROOT = Path(__file__).resolve().parents[2]
DTS = BOARDS_DIR / "centralino-8fxs-4fxo.dts"
SPI0 = "/fragment@2/__overlay__"
UNRESOLVED = 0xFFFFFFFF  # a phandle of the base tree (&gpio), fixed up when the firmware applies it
COMPATIBLE = {"Si3210": "silabs,si3210", "Si3215": "silabs,si3215", None: "silabs,si3050"}


def _require_dtc():
    if shutil.which("dtc") is None or shutil.which("fdtget") is None:
        pytest.fail("dtc/fdtget missing: make debs installs device-tree-compiler")


@pytest.fixture(scope="module")
def dtbo(tmp_path_factory) -> Path:
    _require_dtc()
    out = tmp_path_factory.mktemp("overlay") / "centralino-8fxs-4fxo.dtbo"
    result = subprocess.run(["dtc", "-@", "-I", "dts", "-O", "dtb", "-o", str(out), str(DTS)],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr  # not even a warning
    return out


@pytest.fixture(scope="module")
def board():
    return load_settings(ROOT / "examples" / "comune.yaml").board


def get(dtbo: Path, node: str, prop: str, kind: str = "u") -> list:
    result = subprocess.run(["fdtget", "-t", kind, str(dtbo), node, prop], capture_output=True, text=True)
    assert result.returncode == 0, f"{node} {prop}: {result.stderr}"
    values = result.stdout.split()
    return [int(v) for v in values] if kind == "u" else values


def children(dtbo: Path, node: str) -> list[str]:
    return subprocess.run(["fdtget", "-l", str(dtbo), node], capture_output=True, text=True,
                          check=True).stdout.split()


def test_each_decoder_is_a_bus_with_the_definitions_chips(dtbo, board):
    ports = {p.spi: p for p in board.ports}
    assert get(dtbo, SPI0, "status", "s") == ["okay"]
    for bus in board.spi.buses:
        mux = f"{SPI0}/spi@{bus.chip_select}"
        assert get(dtbo, mux, "compatible", "s") == ["spi-mux"] and get(dtbo, mux, "reg") == [bus.chip_select]
        assert get(dtbo, "/fragment@3/__overlay__", f"spi{bus.bus}", "s") == [f"/soc/spi@7e204000/spi@{bus.chip_select}"]
        nodes = children(dtbo, mux)
        assert len(nodes) == bus.devices
        for node in nodes:
            path = f"{mux}/{node}"
            (index,) = get(dtbo, path, "reg")
            port = ports.pop(f"/dev/spidev{bus.bus}.{index}")
            assert get(dtbo, path, "compatible", "s") == [COMPATIBLE[port.part]], port.name
            assert get(dtbo, path, "interrupts") == [port.irq_gpio, 8], port.name  # level low, wired-OR
            assert get(dtbo, path, "spi-max-frequency") == [board.spi_speed_hz]
    assert ports == {}  # every port of the definition is in the overlay


def test_chip_selects_and_decoder_address_lines(dtbo, board):
    cs = get(dtbo, SPI0, "cs-gpios")
    assert cs == [UNRESOLVED, 8, 1, UNRESOLVED, 7, 1]  # CE0 and CE1 of SPI0 as active-low GPIOs
    mux_gpios = get(dtbo, "/fragment@1/__overlay__/centralino-spi-decoder", "mux-gpios")
    assert mux_gpios[1::3] == list(board.spi.decoder_gpios) and set(mux_gpios[0::3]) == {UNRESOLVED}


def test_pins_buses_and_the_led_chip(dtbo, board):
    pins = {node: get(dtbo, f"/fragment@0/__overlay__/{node}", "brcm,pins")
            for node in ("centralino-spi0-pins", "centralino-spi0-cs-pins", "centralino-pcm-pins",
                         "centralino-i2c1-pins", "centralino-i2c0-pins")}
    assert pins == {"centralino-spi0-pins": [9, 10, 11], "centralino-spi0-cs-pins": [8, 7],
                    "centralino-pcm-pins": [18, 19, 20, 21], "centralino-i2c1-pins": [2, 3],
                    "centralino-i2c0-pins": [0, 1]}
    assert get(dtbo, "/fragment@4/__overlay__", "status", "s") == ["okay"]  # PCM/I2S
    (address,) = get(dtbo, "/fragment@5/__overlay__/leds@40", "reg")
    assert address == board.leds.address and get(dtbo, "/fragment@5/__overlay__/leds@40", "status", "s") == ["disabled"]
    (eeprom,) = get(dtbo, "/fragment@6/__overlay__/eeprom@50", "reg")
    assert eeprom == 0x50


def test_every_gpio_the_hat_uses_is_named_after_its_use(dtbo, board):
    names = get(dtbo, "/fragment@0/__overlay__", "gpio-line-names", "s")
    assert len(names) == 28
    uses = pin_uses(board)
    assert set(uses) == set(range(28))  # the reference HAT uses the whole header
    expected = {board.lifeline.relay_gpio: "LIFELINE_RELAY", board.lifeline.sense_gpio: "LIFELINE_SENSE",
                board.gsm_power_key_gpio: "GSM_PWRKEY", 4: "RESET_FXS", 27: "RESET_FXO", 26: "INT_FXO1_FXO4"}
    for index, gpio in enumerate(board.spi.decoder_gpios):
        expected[gpio] = f"SPI_DEC_A{index}"
    for port in board.ports:
        if port.kind == "fxs":
            assert port.name.upper() in names[port.irq_gpio], (port.name, names[port.irq_gpio])
    for gpio, name in expected.items():
        assert names[gpio] == name, gpio
