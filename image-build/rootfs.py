"""mmdebstrap runs shared by the image build and the image tests: one place for the suite, the
mirrors and the package cache.

Always ``--mode=unshare``: no root on the host, no loop devices; foreign architectures run
through qemu-user binfmt (see ``binfmt_problem``). Downloaded .deb files are kept in
out/cache/apt/ARCH and handed back to the next run (mmdebstrap's sync-in/sync-out hooks), so a
rerun downloads only the package lists.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SUITE = "bookworm"
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main non-free-firmware",
    "deb http://deb.debian.org/debian bookworm-updates main non-free-firmware",
    "deb http://deb.debian.org/debian-security bookworm-security main non-free-firmware",
)
HOST_ARCHES = {"x86_64": "amd64", "aarch64": "arm64"}
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
BINFMT_NAMES = {"arm64": "qemu-aarch64", "amd64": "qemu-x86_64"}
# Packages the centralino .deb depends on, installed by mmdebstrap rather than by dpkg's
# resolver (dpkg -i does not fetch dependencies).
DEB_DEPENDS = ("python3.11", "systemd", "init-system-helpers", "udev")


class RootfsError(RuntimeError):
    """mmdebstrap failed; the message carries the end of its log."""


@dataclass
class Rootfs:
    """One mmdebstrap run: what goes in, what hooks run, where the result goes."""

    arch: str
    target: str                      # a directory, a tarball, or /dev/null (hooks only)
    cache: Path
    variant: str = "minbase"
    include: list[str] = field(default_factory=list)
    hooks: list[tuple[str, str]] = field(default_factory=list)   # (setup|extract|essential|customize, cmd)
    options: list[str] = field(default_factory=list)

    def command(self) -> list[str]:
        apt_cache = self.cache / "apt" / self.arch
        command = ["mmdebstrap", "--mode=unshare", f"--variant={self.variant}", f"--arch={self.arch}",
                   "--skip=essential/unlink", "--skip=download/empty",
                   "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
                   f"--setup-hook=sync-in {apt_cache} /var/cache/apt/archives/", *self.options]
        if self.include:
            command.append("--include=" + ",".join(self.include))
        # the downloaded packages go back to the cache first, before any of our hooks can fail
        command.append(f"--customize-hook=sync-out /var/cache/apt/archives {apt_cache}")
        command += [f"--{kind}-hook={hook}" for kind, hook in self.hooks]
        command.append("--customize-hook=rm -f \"$1\"/var/cache/apt/archives/*.deb")
        return [*command, SUITE, self.target, *MIRRORS]

    def run(self, log: Path) -> float:
        """Runs mmdebstrap, its output in ``log``; returns the seconds it took."""
        (self.cache / "apt" / self.arch).mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(log, "w", buffering=1) as out, subprocess.Popen(
                self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                text=True, errors="replace") as process:
            for line in process.stdout:   # each line stamped with the seconds since the start
                out.write(f"{time.monotonic() - started:7.1f} {line}")
        elapsed = time.monotonic() - started
        if process.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise RootfsError(f"mmdebstrap {self.arch} failed (exit {process.returncode}, log {log}):\n{tail}")
        return elapsed


def host_arch() -> str:
    return HOST_ARCHES.get(platform.machine(), platform.machine())


def missing_tools(tools: tuple[str, ...]) -> list[str]:
    return [tool for tool in tools if shutil.which(tool) is None]


def binfmt_problem(arch: str) -> str | None:
    """Why ``arch`` binaries cannot run here, or None when they can (natively or via qemu-user)."""
    if arch == host_arch():
        return None
    if not (BINFMT_DIR / "status").exists():
        return (f"binfmt_misc is not mounted at {BINFMT_DIR} (as root: mount -t binfmt_misc binfmt_misc "
                f"{BINFMT_DIR}; then apt-get install qemu-user-static binfmt-support)")
    entry = BINFMT_DIR / BINFMT_NAMES.get(arch, f"qemu-{arch}")
    if not entry.exists():
        return f"no binfmt handler {entry.name} registered (apt-get install qemu-user-static binfmt-support)"
    if "enabled" not in entry.read_text():
        return f"binfmt handler {entry.name} is disabled (update-binfmts --enable {entry.name})"
    return None


def environment_problem(arch: str) -> str | None:
    """Why an mmdebstrap run for ``arch`` cannot work on this machine, or None."""
    missing = missing_tools(("mmdebstrap", "dpkg-deb"))
    if missing:
        return f"missing tools: {', '.join(missing)} (make debs installs them)"
    if os.geteuid() != 0 and not Path("/etc/subuid").exists():
        return "unshare mode as a user needs /etc/subuid and /etc/subgid ranges for that user"
    return binfmt_problem(arch)
