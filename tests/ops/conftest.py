"""A real ``centralino run --board sim`` process, shared by the tests that need one.

It runs in real time with NOTIFY_SOCKET pointing at a datagram socket the tests bound, so they
see what systemd would see, and with its control socket in the test's directory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "comune.yaml"
CENTRALINO = Path(sys.executable).parent / "centralino"
SAFETY_TIMEOUT_S = 30.0  # only so a broken daemon fails the test instead of hanging it


@dataclass
class DaemonProcess:
    proc: subprocess.Popen
    control: Path
    notify: socket.socket
    messages: list[str] = field(default_factory=list)
    startup: list[str] = field(default_factory=list)  # sd_notify messages up to READY
    status_at_ready: dict = field(default_factory=dict)  # `status` asked right after READY

    def next_message(self) -> str:
        """The next sd_notify datagram (waits for it)."""
        data = self.notify.recv(4096)
        self.messages.append(data.decode())
        return self.messages[-1]

    def wait_for(self, predicate) -> str:
        while True:
            message = self.next_message()
            if predicate(message):
                return message


@pytest.fixture(scope="session")
def daemon_process(tmp_path_factory):
    base = tmp_path_factory.mktemp("daemon")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(base / "notify.sock"))
    notify.settimeout(SAFETY_TIMEOUT_S)
    control = base / "control.sock"
    env = dict(os.environ, NOTIFY_SOCKET=str(base / "notify.sock"), WATCHDOG_USEC="2000000")
    env.pop("WATCHDOG_PID", None)
    log = open(base / "daemon.log", "w")
    proc = subprocess.Popen([str(CENTRALINO), "run", "--config", str(EXAMPLE), "--board", "sim",
                             "--database", str(base / "centralino.db"), "--control", str(control)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    daemon = DaemonProcess(proc, control, notify)
    daemon.wait_for(lambda m: m.startswith("READY=1"))
    daemon.startup = list(daemon.messages)
    from centralino.cli.console import Connection
    connection = Connection(control)
    daemon.status_at_ready = connection.ask(["status"])["result"]
    connection.close()
    yield daemon
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(SAFETY_TIMEOUT_S)
    log.close()
    notify.close()
