"""A pseudo-terminal with a udev-like symlink, as the simulated modem's USB serial port.

The model writes and reads the master side; the driver opens the symlink (pointing at the
slave) with pyserial exactly as it opens ``/dev/gsm-at`` on the Pi. The model keeps its own
descriptor on the slave so that the driver closing and reopening the port does not hang it up,
and sets the slave raw at once (a fresh pty echoes and cooks lines until someone sets it raw).

``vanish()`` is what a USB modem re-enumerating looks like to the host: the tty goes away (reads
fail with EIO), the symlink disappears; a new pty under the same symlink stands for the modem
coming back.
"""

from __future__ import annotations

import os
import tty


class LinkedPty:
    """One pty pair whose slave is reachable through ``link_path`` while it is up."""

    def __init__(self, link_path: str):
        self.link_path = link_path
        self.master_fd: int | None = None
        self._slave_fd: int | None = None

    @property
    def is_up(self) -> bool:
        return self.master_fd is not None

    def open(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.master_fd, self._slave_fd = master, slave
        slave_name = os.ttyname(slave)
        tmp = self.link_path + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(slave_name, tmp)
        os.replace(tmp, self.link_path)

    def close(self) -> None:
        if os.path.lexists(self.link_path):
            os.unlink(self.link_path)
        for fd in (self.master_fd, self._slave_fd):
            if fd is not None:
                os.close(fd)
        self.master_fd = self._slave_fd = None

    def write(self, data: bytes) -> int:
        """Write what fits; a full buffer drops the rest (a real UART overruns the same way)."""
        if self.master_fd is None:
            return 0
        try:
            return os.write(self.master_fd, data)
        except (BlockingIOError, OSError):
            return 0

    def read(self) -> bytes:
        if self.master_fd is None:
            return b""
        try:
            return os.read(self.master_fd, 4096)
        except (BlockingIOError, OSError):
            return b""

    def fds(self) -> list[int]:
        """Descriptors whose readiness means data in flight in either direction."""
        return [fd for fd in (self.master_fd, self._slave_fd) if fd is not None]
