"""``centralino console`` against the real daemon process, typed through a pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time

import pytest

from .conftest import CENTRALINO, SAFETY_TIMEOUT_S

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r|\x00")  # escapes, CR, vt100 padding


class Terminal:
    """A person at an 80-column terminal: types keys, reads the screen's text."""

    def __init__(self, argv, env):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # 80 columns
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.seen = b""

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def expect(self, text: str) -> str:
        """Read until ``text`` shows (the deadline only stops a hung test)."""
        deadline = time.monotonic() + SAFETY_TIMEOUT_S
        start = len(self.screen())
        while text not in self.screen()[start:]:
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {text!r}; the screen: {self.screen()[-800:]!r}")
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:  # the console exited and closed the terminal
                    break
        return self.screen()[start:]

    def screen(self) -> str:
        return ANSI.sub(b"", self.seen).decode(errors="replace")

    def close(self) -> None:
        """End the session: the program is killed if a failed test left it running."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def daemon(daemon_process):
    return daemon_process  # started and READY


def test_a_technician_at_the_prompt(daemon, tmp_path):
    env = dict(os.environ, TERM="vt100", HOME=str(tmp_path))
    t = Terminal([str(CENTRALINO), "console", "--socket", str(daemon.control)], env)
    try:
        t.expect("centralino> ")
        t.type("sta\t")  # Tab completes the command name
        t.expect("status")
        t.type("\r")
        out = t.expect("centralino> ")
        assert "ready" in out and "ports     12/12 in service" in out and "board     sim" in out
        t.type("help line\r")
        out = t.expect("centralino> ")
        assert "usage: line test PORT" in out and "FXS (a phone)" in out
        t.type("config re\t\r")  # the second word completes too
        out = t.expect("centralino> ")
        assert "no change" in out.replace("\n", " ")  # the same file again: nothing to take on
        t.type("\x1b[A\x1b[A\r")  # history: two lines up is `help line` again
        out = t.expect("centralino> ")
        assert "usage: line test PORT" in out
        t.type("line test fxs42\r")
        out = t.expect("centralino> ")
        assert "error: line test: no port 'fxs42'" in out
        t.type("quit\r")
        assert t.proc.wait(SAFETY_TIMEOUT_S) == 0
        # the daemon's answers fit the screen (the prompt lines are readline's own redrawing)
        long_lines = [line for line in t.screen().splitlines()
                      if len(line) > 80 and not line.startswith("centralino> ")]
        assert long_lines == []
        assert "status" in (tmp_path / ".centralino_history").read_text()
    finally:
        t.close()


def _console(daemon, *words, socket_path=None):
    return subprocess.run([str(CENTRALINO), "console", "--socket", str(socket_path or daemon.control), *words],
                          capture_output=True, text=True, timeout=SAFETY_TIMEOUT_S)


def test_one_command_and_exit(daemon):
    ok = _console(daemon, "lines")
    assert ok.returncode == 0
    assert ok.stdout.splitlines()[0].split() == ["port", "kind", "ext", "state", "with", "fault"]
    assert len(ok.stdout.splitlines()) == 13 and all(len(l) <= 80 for l in ok.stdout.splitlines())
    bad = _console(daemon, "cdr", "-3")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("centralino: cdr: N must be 1..1000, got -3")


def test_missing_socket_is_explained(daemon, tmp_path):
    missing = _console(daemon, "status", socket_path=tmp_path / "nothing.sock")
    assert missing.returncode == 1
    assert "no control socket at" in missing.stderr and "is centralino running?" in missing.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the console as another user")
def test_permission_denied_is_explained(daemon):
    """A user outside the service's group: the 0660 socket refuses and the console says why."""
    os.chmod(daemon.control.parent, 0o755)
    denied = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                             str(CENTRALINO), "console", "--socket", str(daemon.control), "status"],
                            capture_output=True, text=True, timeout=SAFETY_TIMEOUT_S,
                            env=dict(os.environ, HOME="/nonexistent"))
    assert denied.returncode == 1, denied.stderr
    assert "permission denied on" in denied.stderr and "centralino group" in denied.stderr
