"""The HAT's pieces of the package and the image, checked without building either: the overlays
compile into the package tree, the image installs and names the reference HAT's overlay, and
systemd feeds the Pi's hardware watchdog within what the BCM2835 can count."""

from __future__ import annotations

import re
import subprocess

import pytest

from centralino.config.schema import load_settings

from .conftest import IMAGE_BUILD, ROOT, build_deb

import build_image  # noqa: E402  (image-build/ is on the path, see conftest)

BCM2835_WATCHDOG_MAX_S = 15  # PM_WDOG_TIME_SET 0xfffff >> 16 [V drivers/watchdog/bcm2835_wdt.c]


def test_the_package_carries_every_boards_overlay_compiled(tmp_path):
    built = build_deb.install_overlays(tmp_path)
    assert [p.name for p in built] == ["centralino-8fxs-4fxo.dtbo"]
    fragments = subprocess.run(["fdtget", "-l", str(built[0]), "/"], capture_output=True, text=True,
                               check=True).stdout.split()
    assert "__fixups__" in fragments and "fragment@2" in fragments  # an overlay with symbols (dtc -@)
    postinst = (IMAGE_BUILD / "deb" / "postinst.in").read_text()
    assert "cp /usr/share/centralino/overlays/*.dtbo /boot/firmware/overlays/" in postinst


def test_the_image_names_the_overlay_of_the_examples_board():
    board = load_settings(ROOT / "examples" / "comune.yaml").board
    assert board.overlay == build_image.HAT_OVERLAY
    config = (IMAGE_BUILD / "boot" / "config.txt").read_text().split()
    assert f"dtoverlay={board.overlay}" in config and "force_eeprom_read=0" in config
    assert f"dtoverlay={board.overlay}" in build_image.BOOT_SETTINGS["config.txt"]
    assert f"overlays/{board.overlay}.dtbo" in build_image.BOOT_FILES


def test_systemd_feeds_the_hardware_watchdog_within_its_range():
    text = build_image.WATCHDOG.read_text()
    assert re.search(r"^\[Manager\]$", text, re.M)
    seconds = int(re.search(r"^RuntimeWatchdogSec=(\d+)s$", text, re.M).group(1))
    assert 0 < seconds < BCM2835_WATCHDOG_MAX_S
    hooks = build_image.hooks(ROOT / "centralino.deb")
    assert any(str(build_image.WATCHDOG) in cmd and "system.conf.d" in cmd for _, cmd in hooks)


@pytest.mark.parametrize("line", ["dtc:device-tree-compiler"])
def test_dtc_is_among_the_tools_make_installs(line):
    makefile = (ROOT / "Makefile").read_text()
    assert makefile.count(line) == 2  # the tests' tools and the image's
