"""The serial console: the getty drop-in checked by systemd, the technician user built by
systemd-sysusers, and the login shell typed at through a pseudo-terminal as on the UART."""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import shutil
import select
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from .conftest import CENTRALINO, ROOT, SAFETY_TIMEOUT_S
from .test_console import Terminal

SYSTEMD = ROOT / "systemd"
DROP_IN = SYSTEMD / "serial-getty@ttyAMA0.service.d" / "centralino-console.conf"
SHELL_INSTALLED = "/usr/lib/centralino/console-shell"
SHELL_HERE = SYSTEMD / "console-shell"
TEMPLATE = next((p for p in (Path("/usr/lib/systemd/system/serial-getty@.service"),
                             Path("/lib/systemd/system/serial-getty@.service")) if p.exists()), None)


def _verify(tmp_path: Path, drop_in_text: str) -> tuple[int, str]:
    """``systemd-analyze verify`` of serial-getty@ttyAMA0 (systemd's own template) with ``drop_in_text``."""
    unit = tmp_path / "serial-getty@ttyAMA0.service"
    shutil.copy(TEMPLATE, unit)
    drop_dir = tmp_path / "serial-getty@ttyAMA0.service.d"
    drop_dir.mkdir(exist_ok=True)
    (drop_dir / "centralino-console.conf").write_text(drop_in_text)
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, cwd=tmp_path)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.skipif(TEMPLATE is None, reason="systemd's serial-getty@.service is not installed here")
def test_getty_drop_in_verifies_without_a_word(tmp_path):
    text = DROP_IN.read_text()
    (tmp_path / "ours").mkdir()
    assert _verify(tmp_path / "ours", text) == (0, "")
    # the check is not vacuous: the same drop-in with a typo is read and reported
    (tmp_path / "typo").mkdir()
    _, output = _verify(tmp_path / "typo", text + "ExecStrat=/bin/true\n")
    assert "Unknown key 'ExecStrat'" in output


def _exec_start() -> list[str]:
    lines = [line for line in DROP_IN.read_text().splitlines() if line.startswith("ExecStart=")]
    assert lines[0] == "ExecStart=", "the template's ExecStart must be reset first"
    return shlex.split(lines[-1].removeprefix("ExecStart=-"))


def test_agetty_logs_the_technician_in_on_the_uart():
    argv = _exec_start()
    assert argv[0] == "/sbin/agetty"
    assert argv[argv.index("--autologin") + 1] == "technician"
    assert "-f" in argv[argv.index("-o") + 1].split()  # login -f: no password prompt
    assert "115200" in argv[argv.index("--keep-baud") + 1]  # the Pi UART's usual speed first


def test_sysusers_make_a_technician_in_the_control_sockets_group(tmp_path):
    if shutil.which("systemd-sysusers") is None:
        pytest.skip("systemd-sysusers is not installed")
    (tmp_path / "etc").mkdir()
    result = subprocess.run(["systemd-sysusers", f"--root={tmp_path}", str(SYSTEMD / "centralino.sysusers"),
                             str(SYSTEMD / "centralino-console.sysusers")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    passwd = {line.split(":")[0]: line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: line.split(":") for line in (tmp_path / "etc/group").read_text().splitlines()}
    technician = passwd["technician"]
    assert technician[6] == SHELL_INSTALLED
    assert "technician" in groups["centralino"][3].split(",")  # may open /run/centralino/control.sock
    assert "technician" not in groups["spi"][3].split(",")  # but no hardware of its own
    home = technician[5]
    tmpfiles = (SYSTEMD / "centralino-console.tmpfiles").read_text()
    assert re.search(rf"^d\s+{re.escape(home)}\s+0700\s+technician\s+technician", tmpfiles, re.M)


def test_the_login_shell_script_is_the_one_installed():
    text = SHELL_HERE.read_text()
    assert text.startswith("#!/bin/sh\n") and os.access(SHELL_HERE, os.X_OK)
    assert f"installed as {SHELL_INSTALLED}" in text
    subprocess.run(["sh", "-n", str(SHELL_HERE)], check=True)  # syntax


class LoginSession(Terminal):
    """What login(1) does after agetty's autologin: exec the user's shell as a login shell
    (argv[0] starting with '-') on the terminal, with HOME, USER, SHELL and TERM set."""

    def __init__(self, home: Path, control: Path):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = {"HOME": str(home), "USER": "technician", "LOGNAME": "technician", "SHELL": SHELL_INSTALLED,
               "TERM": "vt220", "PATH": "/usr/local/bin:/usr/bin:/bin",
               "CENTRALINO": str(CENTRALINO), "CENTRALINO_CONTROL": str(control)}
        self.proc = subprocess.Popen(["-console-shell"], executable=str(SHELL_HERE), stdin=slave, stdout=slave,
                                     stderr=slave, env=env, cwd=home, start_new_session=True)
        os.close(slave)
        self.seen = b""


@pytest.fixture
def daemon(daemon_process):
    """The shared daemon with its sd_notify datagrams read first. Nobody reads them while other
    tests run, and a full datagram queue (net.unix.max_dgram_qlen, 10 here) blocks the daemon in
    sendto: reading them lets it answer again."""
    notify = daemon_process.notify
    while select.select([notify], [], [], 0)[0]:
        daemon_process.messages.append(notify.recv(4096).decode())
    return daemon_process


def test_a_technician_at_the_serial_console(daemon, tmp_path):
    t = LoginSession(tmp_path, daemon.control)
    try:
        t.expect("centralino> ")
        t.type("status\r")
        out = t.expect("centralino> ")
        assert "ready" in out and "board     sim" in out and "ports     12/12 in service" in out
        t.type("help gsm\r")
        out = t.expect("centralino> ")
        assert "usage: gsm" in out and "signal, operator, SIM, registration, recoveries" in out
        t.type("gsm\r")
        out = t.expect("centralino> ")
        assert "error: gsm: there is no GSM modem" in out  # the example board has none
        t.type("quit\r")
        assert t.proc.wait(SAFETY_TIMEOUT_S) == 0  # the session ends; agetty would log in again
        assert all(len(line) <= 80 for line in t.screen().splitlines() if not line.startswith("centralino> "))
    finally:
        t.close()


def test_one_command_through_the_shell(daemon, tmp_path):
    """``ssh technician@pi status`` runs ``console-shell -c status``: one answer, then exit."""
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "CENTRALINO": str(CENTRALINO),
           "CENTRALINO_CONTROL": str(daemon.control)}
    ok = subprocess.run([str(SHELL_HERE), "-c", "help led test"], capture_output=True, text=True, env=env,
                        timeout=SAFETY_TIMEOUT_S)
    assert ok.returncode == 0 and ok.stdout.startswith("usage: led test")
    bad = subprocess.run([str(SHELL_HERE), "-c", "gsm"], capture_output=True, text=True, env=env,
                         timeout=SAFETY_TIMEOUT_S)
    assert bad.returncode == 1 and "there is no GSM modem" in bad.stderr


def test_login_during_boot_waits_for_the_daemon(daemon, tmp_path):
    """At boot agetty can log in before the daemon listens: the shell says so and waits, and
    the console opens once the socket appears (here a link to the running daemon's socket)."""
    pending = tmp_path / "run" / "control.sock"
    pending.parent.mkdir()
    t = LoginSession(tmp_path, pending)
    try:
        assert "is not listening yet" in t.expect("Ctrl-C to stop")
        pending.symlink_to(daemon.control)
        t.expect("centralino> ")
        t.type("status\r")
        assert "ready" in t.expect("centralino> ")
        t.type("quit\r")
        assert t.proc.wait(SAFETY_TIMEOUT_S) == 0
    finally:
        t.close()
