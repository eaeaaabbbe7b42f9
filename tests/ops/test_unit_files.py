"""The systemd unit checked by systemd itself, and the hardening it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CENTRALINO, ROOT

SYSTEMD = ROOT / "systemd"
MAX_EXPOSURE = 2.5


def _unit_for_here(tmp_path) -> Path:
    """The unit with ExecStart pointing at this checkout's centralino.

    ``systemd-analyze verify`` fails when the ExecStart binary does not exist, and
    /usr/bin/centralino exists only once the Debian package is installed; everything else in
    the unit is checked exactly as shipped.
    """
    text = (SYSTEMD / "centralino.service").read_text()
    assert "ExecStart=/usr/bin/centralino run --config /etc/centralino/centralino.yaml\n" in text
    unit = tmp_path / "centralino.service"
    unit.write_text(text.replace("ExecStart=/usr/bin/centralino ", f"ExecStart={CENTRALINO} "))
    return unit


def test_verify_prints_nothing(tmp_path):
    unit = _unit_for_here(tmp_path)
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                            cwd=tmp_path)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_security_exposure_is_low(tmp_path):
    unit = _unit_for_here(tmp_path)
    result = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)],
                            capture_output=True, text=True, cwd=tmp_path)
    match = re.search(r"Overall exposure level for centralino\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout[-500:] + result.stderr
    exposure = float(match.group(1))
    print(f"systemd-analyze security --offline=yes centralino.service: exposure {exposure}")
    assert exposure < MAX_EXPOSURE


def test_unit_is_a_watched_notify_service():
    text = (SYSTEMD / "centralino.service").read_text()
    for line in ("Type=notify", "WatchdogSec=10", "Restart=always", "RestartSec=2", "User=centralino",
                 "Group=centralino", "SupplementaryGroups=spi gpio i2c dialout audio",
                 "RuntimeDirectory=centralino", "StateDirectory=centralino", "MemoryDenyWriteExecute=yes",
                 "CapabilityBoundingSet=\n", "DevicePolicy=closed", "SystemCallFilter=@system-service"):
        assert line in text


MDWE_PROBE = """
import ctypes, sys
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit(77)
from centralino.hwsim.clock import run
from centralino.hwsim.scenario import Scenario
async def main():
    async with Scenario(sys.argv[1], sys.argv[2]) as s:
        await s.wait(1.0)
        return s.daemon.media.ticks, s.daemon.status()["ready"]
ticks, ready = run(main)
assert ready and ticks >= 45, (ticks, ready)
print("ok")
"""


def test_switchboard_runs_without_writable_executable_memory(tmp_path):
    """MemoryDenyWriteExecute=yes: the kernel's PR_SET_MDWE refuses W+X the same way; numpy,
    SQLite and the whole engine must run under it."""
    result = subprocess.run([sys.executable, "-c", MDWE_PROBE, str(ROOT / "examples" / "comune.yaml"),
                             str(tmp_path / "data")], capture_output=True, text=True, timeout=60)
    if result.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3)")
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr[-1000:]


def test_udev_rules_name_the_modem_ports():
    rules = (SYSTEMD / "99-centralino.rules").read_text()
    expected = {("1e0e", "9001", "02", "gsm-at"), ("1e0e", "9001", "04", "gsm-audio"),
                ("2c7c", "0125", "02", "gsm-at"), ("2c7c", "0125", "01", "gsm-audio")}
    found = set(re.findall(r'ENV\{ID_VENDOR_ID\}=="(\w+)", ENV\{ID_MODEL_ID\}=="(\w+)", '
                           r'ENV\{ID_USB_INTERFACE_NUM\}=="(\d+)", SYMLINK\+="([\w-]+)"', rules))
    assert found == expected
    for device in ("spidev", "gpiochip", "i2c-"):
        assert re.search(rf'KERNEL=="{device}[^"]*", GROUP="\w+", MODE="0660"', rules)


def test_sysusers_and_tmpfiles_match_the_unit():
    users = (SYSTEMD / "centralino.sysusers").read_text()
    assert re.search(r"^u centralino ", users, re.M)
    for group in ("spi", "gpio", "i2c", "dialout", "audio"):
        assert re.search(rf"^m centralino {group}$", users, re.M)
    tmpfiles = (SYSTEMD / "centralino.tmpfiles").read_text()
    assert re.search(r"^d\s+/run/centralino\s+0750\s+centralino\s+centralino", tmpfiles, re.M)
    assert re.search(r"^d\s+/var/lib/centralino\s+0750\s+centralino\s+centralino", tmpfiles, re.M)
