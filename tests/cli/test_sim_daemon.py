"""``centralino sim`` driving the real daemon: ``centralino run --board sim`` as a process, real time.

Nothing here reaches into the daemon: the world is driven with ``centralino sim`` and the
switchboard observed with ``centralino console``, as a trainer or an outside test would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "comune.yaml"
CENTRALINO = Path(sys.executable).parent / "centralino"
SAFETY_TIMEOUT_S = 60.0  # only so a broken daemon fails the test instead of hanging it


@dataclass
class Daemon:
    proc: subprocess.Popen
    control: Path
    log: Path

    @property
    def sim_socket(self) -> Path:
        return self.control.parent / "sim.sock"  # the default: beside the control socket

    def log_has(self, text: str) -> bool:
        deadline = time.monotonic() + SAFETY_TIMEOUT_S
        while text not in self.log.read_text():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                return False
            time.sleep(0.1)
        return True


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    base = tmp_path_factory.mktemp("simd")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(base / "notify.sock"))
    notify.settimeout(SAFETY_TIMEOUT_S)
    env = dict(os.environ, NOTIFY_SOCKET=str(base / "notify.sock"))
    log = base / "daemon.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(CENTRALINO), "run", "--config", str(EXAMPLE), "--board", "sim",
                                 "--database", str(base / "centralino.db"), "--control", str(base / "control.sock")],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        while not notify.recv(4096).startswith(b"READY=1"):
            pass
        yield Daemon(proc, base / "control.sock", log)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(SAFETY_TIMEOUT_S)
        notify.close()


def sim(daemon: Daemon, *words, socket_path: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(CENTRALINO), "sim", "--socket", str(socket_path or daemon.sim_socket), *words],
                          capture_output=True, text=True, timeout=SAFETY_TIMEOUT_S + 60)


def said(daemon: Daemon, *words) -> str:
    """The one line a command printed; it must have worked."""
    r = sim(daemon, *words)
    assert r.returncode == 0, f"{' '.join(words)}: {r.stderr}"
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout
    return lines[0]


def console(daemon: Daemon, *words) -> subprocess.CompletedProcess:
    return subprocess.run([str(CENTRALINO), "console", "--socket", str(daemon.control), *words],
                          capture_output=True, text=True, timeout=SAFETY_TIMEOUT_S)


def back_in_service(daemon: Daemon, port: str, within_s: float = 40.0) -> None:
    """After ``bus PORT recover``: the daemon's port supervisor sets the chip up again by itself
    (retries 1, 2, 4 ... 10 s apart); wait until the console no longer lists the port's fault."""
    import time

    deadline = time.monotonic() + within_s
    while f"FAULT     {port}" in console(daemon, "status").stdout:
        assert time.monotonic() < deadline, f"{port} did not come back into service"
        time.sleep(0.5)


def test_two_extensions_call_each_other_and_the_console_sees_the_call(daemon):
    assert said(daemon, "phone", "201", "offhook") == "201 off hook"
    assert said(daemon, "phone", "201", "hears", "dial_tone", "--timeout", "5") == "201 hears dial_tone"
    assert said(daemon, "phone", "201", "dial", "203") == "201 dialled 203"
    assert said(daemon, "phone", "203", "rings") == "203 rings"
    assert said(daemon, "phone", "201", "hears", "ringback", "--timeout", "10") == "201 hears ringback"
    said(daemon, "phone", "203", "offhook")
    assert said(daemon, "phone", "201", "hears", "voice", "--from", "203") == "201 hears voice of 203"
    assert said(daemon, "phone", "203", "hears", "voice", "--from", "201") == "203 hears voice of 201"
    status = console(daemon, "status")
    assert status.returncode == 0 and "calls     1 in progress" in status.stdout
    said(daemon, "phone", "203", "onhook")
    assert said(daemon, "phone", "201", "hears", "busy", "--timeout", "5") == "201 hears busy"
    said(daemon, "phone", "201", "onhook")


def test_a_citizen_rings_a_line_and_the_operator_rings(daemon):
    assert said(daemon, "line", "fxo2", "ring", "--caller-id", "3331234567", "--name", "ROSSI MARIO") == \
        "fxo2 rings: 3331234567 calls 0558450100"
    assert said(daemon, "phone", "200", "rings", "--timeout", "10") .startswith("200 rings")
    assert said(daemon, "phone", "200", "shows", "3331234567", "--timeout", "10").startswith(
        "200 shows 3331234567 ROSSI MARIO")
    said(daemon, "phone", "200", "offhook")
    assert said(daemon, "line", "fxo2", "hears", "voice", "--from", "200") == "3331234567 on fxo2 hears voice of 200"
    assert said(daemon, "phone", "200", "hears", "voice", "--from", "3331234567") == \
        "200 hears voice of 3331234567"
    assert said(daemon, "line", "fxo2", "hangup") == "3331234567 hung up on fxo2"
    said(daemon, "phone", "200", "onhook")
    assert said(daemon, "world", "status").startswith("world: 8 phones (0 off hook")


def test_an_extension_dials_112_and_the_emergency_operator_answers(daemon):
    said(daemon, "phone", "205", "offhook")
    said(daemon, "phone", "205", "dial", "112")
    assert said(daemon, "phone", "205", "hears", "voice", "--from", "112", "--timeout", "20") == \
        "205 hears voice of 112"
    said(daemon, "phone", "205", "onhook")


@pytest.mark.parametrize("words,message", [
    (("phone", "299", "offhook"), "unknown phone '299'"),
    (("phone", "201", "dial", "2x3"), "bad digits '2x3'"),
    (("modem", "hang"), "this configuration has no GSM modem"),
    (("bus", "fxs9", "fail"), "unknown target 'fxs9'"),
    ((), "no command"),
])
def test_bad_commands_exit_2_with_one_clear_line(daemon, words, message):
    r = sim(daemon, *words)
    assert r.returncode == 2 and r.stdout == ""
    assert message in r.stderr and len(r.stderr.splitlines()) == 1


def test_no_daemon_listening_is_a_clear_error(daemon, tmp_path):
    r = sim(daemon, "world", "status", socket_path=tmp_path / "nobody.sock")
    assert r.returncode == 2
    assert "no simulated world at" in r.stderr and "centralino run --board sim" in r.stderr


def test_a_failing_bus_reaches_the_driver_and_the_port_works_again_after(daemon):
    try:
        assert said(daemon, "bus", "fxs3", "fail") == "fxs3: SPI transfers on /dev/spidev10.2 fail (EIO)"
        # what the driver layer sees: periphery's SPIError from the transfer, in the daemon's log
        assert daemon.log_has("SPIError: [Errno 5] SPI transfer: Input/output error")
        assert said(daemon, "bus", "fxs3", "status") == "fxs3: spi fail"
    finally:
        said(daemon, "bus", "fxs3", "recover")
    back_in_service(daemon, "fxs3")
    said(daemon, "phone", "201", "offhook")
    said(daemon, "phone", "201", "dial", "202")
    said(daemon, "phone", "202", "rings", "--timeout", "10")
    said(daemon, "phone", "202", "offhook")
    assert said(daemon, "phone", "201", "hears", "voice", "--from", "202") == "201 hears voice of 202"
    said(daemon, "phone", "202", "onhook")
    said(daemon, "phone", "201", "onhook")


def test_a_failing_bus_costs_only_its_own_port(daemon):
    try:
        said(daemon, "bus", "fxs3", "fail")
        assert daemon.log_has("SPIError")
        status = console(daemon, "status")
        assert status.returncode == 0 and "FAULT     fxs3" in status.stdout
        said(daemon, "phone", "201", "offhook")
        said(daemon, "phone", "201", "dial", "203")
        said(daemon, "phone", "203", "rings", "--timeout", "10")
        said(daemon, "phone", "203", "offhook")
        assert said(daemon, "phone", "201", "hears", "voice", "--from", "203") == "201 hears voice of 203"
    finally:
        for words in (("bus", "fxs3", "recover"), ("phone", "201", "onhook"), ("phone", "203", "onhook")):
            sim(daemon, *words)
        back_in_service(daemon, "fxs3")


def test_a_chip_dying_mid_call_does_not_stop_an_emergency_call(daemon):
    """202's chip dies while it talks with 203: only fxs3 goes out of service, 205 reaches 112."""
    try:
        said(daemon, "phone", "202", "offhook")
        said(daemon, "phone", "202", "dial", "203")
        said(daemon, "phone", "203", "rings", "--timeout", "10")
        said(daemon, "phone", "203", "offhook")
        said(daemon, "phone", "202", "hears", "voice", "--from", "203")
        said(daemon, "bus", "fxs3", "fail")  # 202's chip dies mid-call
        said(daemon, "phone", "205", "offhook")
        said(daemon, "phone", "205", "dial", "112")
        assert said(daemon, "phone", "205", "hears", "voice", "--from", "112", "--timeout", "20") == \
            "205 hears voice of 112"
    finally:
        for words in (("bus", "fxs3", "recover"), ("phone", "205", "onhook"), ("phone", "202", "onhook"),
                      ("phone", "203", "onhook")):
            sim(daemon, *words)
        back_in_service(daemon, "fxs3")
