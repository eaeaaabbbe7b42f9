"""Real file-system faults for the records tests: a tiny tmpfs that fills up, or is remounted read-only.

Mounting needs root (CI and the development VMs run the suite as root); elsewhere the tests that
need it are skipped with the reason. Every mount is undone when the block ends, lazily if a
connection still holds a file on it, so a failing test cannot leave a mount behind.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

FILLER = ".filler"


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


class Volume:
    def __init__(self, path: Path):
        self.path = path

    def read_only(self) -> None:
        self._remount("ro")

    def writable(self) -> None:
        self._remount("rw")

    def _remount(self, mode: str) -> None:
        done = _mount("-o", f"remount,{mode}", str(self.path))
        assert done.returncode == 0, done.stderr

    def fill(self) -> int:
        """Write a filler file until the volume is full; returns the bytes it took."""
        written = 0
        fd = os.open(self.path / FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while True:
                written += os.write(fd, b"\0" * 4096)
        except OSError as err:
            assert err.errno == errno.ENOSPC, err
        finally:
            os.close(fd)
        return written

    def free(self) -> None:
        (self.path / FILLER).unlink(missing_ok=True)


@contextmanager
def small_volume(path: Path, size_kb: int = 512):
    """A tmpfs of ``size_kb`` at ``path`` (created), unmounted afterwards."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs (a real full or read-only file system)")
    path.mkdir(parents=True, exist_ok=True)
    done = _mount("-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(path))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield Volume(path)
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
