"""The board never imports the simulator, the simulator never imports a driver, and the simulator's
HAT EEPROM image, built from the format alone, is what the firmware's reader accepts."""

from __future__ import annotations

import ast
import random
import subprocess
import sys
from pathlib import Path

from centralino.drivers.hat_eeprom import crc16_arc, read_hat_info
from centralino.hwsim.buses import SimSMBus
from centralino.hwsim.eeprom import At24c32
from centralino.hwsim.hat_image import eepmake_crc as eepmake_crc16, hat_image

ROOT = Path(__file__).resolve().parents[2]


def test_opening_the_pi_board_imports_nothing_of_the_simulator():
    code = ("import sys, centralino.board as b; b.board_kinds(); "
            "print([m for m in sys.modules if m.startswith('centralino.hwsim')])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]" and "sim" in __import__("centralino.board").board.board_kinds()


def test_the_simulated_board_loads_no_driver_module():
    code = ("import sys; from centralino.config.schema import load_settings; "
            "from centralino.hwsim.board import SimBoard, open_sim_board; "
            f"s = load_settings({str(ROOT / 'examples' / 'comune.yaml')!r}); open_sim_board(s, sim=SimBoard(s)); "
            "print([m for m in sys.modules if m.startswith('centralino.drivers')])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_no_simulator_module_imports_driver_code():
    for source in sorted((ROOT / "hw-sim").glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(name.startswith("centralino.drivers") for name in names), source.name


def test_the_simulators_image_is_what_the_reader_accepts():
    rng = random.Random(7)
    for _ in range(50):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
        assert eepmake_crc16(data) == crc16_arc(data)  # two formulations of one CRC
    assert eepmake_crc16(b"123456789") == 0xBB3D
    image = hat_image("centralino project", "centralino-8fxs-4fxo", 0x0108, 2,
                      "6f1c5d2e-8a44-4a43-9e1f-3b2a71c0de01", dt_blob=b"centralino-8fxs-4fxo")
    info = read_hat_info(SimSMBus("/dev/i2c-0", chips={0x50: At24c32(image)}))
    assert (info.product, info.product_version, info.overlay_bytes) == ("centralino-8fxs-4fxo", 2, 20)
