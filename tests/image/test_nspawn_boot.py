"""centralino under a real systemd as PID 1: READY, then a frozen daemon restarted by the watchdog.

An amd64 Debian bookworm root filesystem (this host's architecture) gets the amd64 .deb and boots
with ``systemd-nspawn --register=no --keep-unit -b``. The service runs exactly as packaged
(Type=notify, WatchdogSec, the hardening) on the simulated board of the example configuration.
A probe unit inside the container waits for the unit to become active (READY=1), freezes the
daemon with SIGSTOP and waits for systemd to kill and restart it; the test reads the probe's
notes and the container's journal once it has powered off.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import CACHE, OUT, rootfs, require

HERE = Path(__file__).resolve().parent
BOOT_TIMEOUT_S = 420  # only so a container that never powers off fails the test
pytestmark = pytest.mark.image


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@pytest.fixture(scope="module")
def booted(deb_for):
    require(rootfs.environment_problem("amd64") or
            (rootfs.missing_tools(("systemd-nspawn", "journalctl")) and
             "systemd-nspawn is missing (apt-get install systemd-container)"))
    deb = deb_for("amd64")
    tree = OUT / "nspawn-rootfs"
    shutil.rmtree(tree, ignore_errors=True)
    run = rootfs.Rootfs(
        arch="amd64", target=str(tree), cache=CACHE, include=[*rootfs.DEB_DEPENDS, "systemd-sysv"],
        hooks=[("customize", f"upload {deb} /root/centralino.deb"),
               ("customize", 'chroot "$1" dpkg -i /root/centralino.deb'),
               ("customize", f'cp {HERE / "nspawn-probe.sh"} "$1"/usr/local/sbin/'),
               ("customize", f'cp {HERE / "nspawn-probe.service"} "$1"/etc/systemd/system/'),
               ("customize", 'chroot "$1" systemctl enable nspawn-probe.service'),
               ("customize", 'mkdir -p "$1"/var/log/journal')])
    started = time.monotonic()
    try:
        run.run(OUT / "nspawn-mmdebstrap.log")
    except rootfs.RootfsError as err:
        pytest.fail(str(err))
    built = time.monotonic()
    boot = subprocess.run(["systemd-nspawn", "--register=no", "--keep-unit", "--quiet", "-D", str(tree), "-b"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=BOOT_TIMEOUT_S)
    print(f"mmdebstrap amd64 + dpkg -i: {built - started:.1f} s; boot, probe and poweroff: "
          f"{time.monotonic() - built:.1f} s (nspawn exit {boot.returncode})")
    journal = subprocess.run(["journalctl", "-D", str(tree / "var/log/journal"), "-o", "short-monotonic",
                              "-u", "centralino.service", "--no-pager"], capture_output=True, text=True).stdout
    probe = tree / "var/log/probe"
    notes = {p.name: p.read_text() for p in probe.iterdir()} if probe.exists() else {}
    for line in journal.splitlines():
        if any(word in line for word in ("centralino ready", "Watchdog timeout", "Scheduled restart")):
            print(line)
    web_journal = subprocess.run(["journalctl", "-D", str(tree / "var/log/journal"), "-u", "centralino-web.service",
                                  "--no-pager"], capture_output=True, text=True).stdout
    notes["web-journal"] = web_journal
    yield notes, journal, boot.stdout[-3000:]
    shutil.rmtree(tree, ignore_errors=True)


def test_service_becomes_ready_on_the_simulated_board(booted):
    notes, journal, console = booted
    assert "ready" in notes, f"never ready: {notes.get('never-ready')}\n{journal[-3000:]}\n{console}"
    ready = properties(notes["ready"])
    assert (ready["ActiveState"], ready["SubState"], ready["NRestarts"]) == ("active", "running", "0")
    assert ready["StatusText"], "no STATUS= line from the daemon"
    assert "centralino ready: board sim" in journal


def test_frozen_daemon_is_restarted_by_the_watchdog(booted):
    notes, journal, _ = booted
    assert "restarted" in notes, journal[-3000:]
    restarted = properties(notes["restarted"])
    assert restarted["ActiveState"] == "active"
    assert int(restarted["NRestarts"]) >= 1
    assert restarted["MainPID"] != notes["frozen-pid"].strip()
    assert "Watchdog timeout" in journal
    frozen_for_s = int(notes["restarted-at"]) - int(notes["ready-at"])
    assert 10 <= frozen_for_s < 90  # WatchdogSec=10, then the kill and RestartSec=2


def test_the_web_interface_runs_as_its_own_user_and_answers_https(booted):
    notes, _, _ = booted
    assert "web" in notes, f"never up: {notes.get('web-never')}\n{notes['web-journal'][-3000:]}"
    web = properties(notes["web"])
    assert (web["ActiveState"], web["NRestarts"], web["User"]) == ("active", "0", "centralino-web")
    page, redirect = notes["web-http"].splitlines()[:2]
    assert page == "200 True"
    assert redirect == "301 https://centralino/stato"
    assert "Permission denied" in notes["web-db"] and "rc=1" in notes["web-db"]
    assert "One-time password:" in notes["web-journal"], "the first start's password is printed (console and journal)"
