"""The web service's systemd unit and users, checked by systemd itself and against the design:
its own user, no device group, no way into the daemon's data, only the capability to bind 443."""

from __future__ import annotations

import re
import subprocess

from tests.ops.conftest import CENTRALINO, ROOT

SYSTEMD = ROOT / "systemd"
MAX_EXPOSURE = 2.5


def _unit_for_here(tmp_path):
    text = (SYSTEMD / "centralino-web.service").read_text()
    assert "ExecStart=/usr/bin/centralino web " in text
    unit = tmp_path / "centralino-web.service"
    unit.write_text(text.replace("ExecStart=/usr/bin/centralino ", f"ExecStart={CENTRALINO} "))
    return unit


def test_verify_prints_nothing_and_the_exposure_is_low(tmp_path):
    unit = _unit_for_here(tmp_path)
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, cwd=tmp_path)
    assert (verify.returncode, verify.stdout + verify.stderr) == (0, "")
    security = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)], capture_output=True,
                              text=True, cwd=tmp_path)
    exposure = float(re.search(r"Overall exposure level for centralino-web\.service: (\d+\.\d+)", security.stdout).group(1))
    print(f"systemd-analyze security --offline=yes centralino-web.service: exposure {exposure}")
    assert exposure < MAX_EXPOSURE


def test_its_own_user_without_devices_or_the_daemons_files():
    unit = (SYSTEMD / "centralino-web.service").read_text()
    for line in ("User=centralino-web\n", "SupplementaryGroups=centralino\n", "PrivateDevices=yes\n",
                 "InaccessiblePaths=-/var/lib/centralino\n", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n",
                 "StandardOutput=journal+console\n", "StateDirectory=centralino-web\n"):
        assert line in unit
    assert "DeviceAllow" not in unit
    users = (SYSTEMD / "centralino-web.sysusers").read_text()
    memberships = re.findall(r"^m centralino-web (\S+)$", users, re.M)
    assert memberships == ["centralino"], "the control socket's group and no device group"
    assert "0700 centralino-web centralino-web" in (SYSTEMD / "centralino-web.tmpfiles").read_text()
