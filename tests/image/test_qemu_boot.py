"""The built SD card image boots and the technician's console says "ready" (make boot-test).

`make image` leaves the image and, beside it, its kernel and initrd. qemu-system-aarch64
(-M virt, cortex-a72) boots them directly with the image as its disk, 1 GiB bigger than built so
the first-boot expansion has room. The serial console is the one a technician uses: agetty logs
in `technician`, whose shell is `centralino console`; the test types `status` as a person would
until the daemon (the example configuration, simulated board) reports ready.
Only `make boot-test` selects this test (CENTRALINO_BOOT_TEST=1): it needs the image first.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import OUT, ROOT, require

READY_WITHIN_S = 180      # from power-on to "ready" in the console
STATUS_EVERY_S = 10
GROW_BY = "+1G"
pytestmark = [pytest.mark.image, pytest.mark.qemu_boot]


def built(suffix: str) -> Path:
    found = sorted((ROOT / "out").glob(f"centralino-*-arm64.{suffix}"))
    if not found:
        pytest.fail(f"no out/centralino-*-arm64.{suffix}: run make image first (make boot-test does)")
    return found[-1]


class Serial:
    """qemu's serial port on its stdio: what the machine printed, and keys typed into it."""

    def __init__(self, command: list[str], log: Path):
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)
        self.log = open(log, "wb")
        self.text = ""

    def read_for(self, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        fresh = b""
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if not ready:
                break
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                break
            fresh += chunk
        self.log.write(fresh)
        self.log.flush()
        text = fresh.decode(errors="replace")
        self.text += text
        return text

    def type(self, line: str) -> None:
        self.process.stdin.write(line.encode() + b"\r")
        self.process.stdin.flush()

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        self.log.close()


def test_image_boots_to_a_ready_console(tmp_path):
    require(shutil.which("qemu-system-aarch64") is None and "qemu-system-aarch64 is missing "
            "(apt-get install qemu-system-arm)")
    image, kernel, initrd = built("img.xz"), built("vmlinuz"), built("initrd.img")
    disk = tmp_path / "disk.img"
    with open(disk, "wb") as out:
        subprocess.run(["xz", "-dc", str(image)], stdout=out, check=True)
    subprocess.run(["truncate", "-s", GROW_BY, str(disk)], check=True)
    command = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-smp", "2", "-m", "1024",
               "-nographic", "-no-reboot", "-nic", "none",
               "-kernel", str(kernel), "-initrd", str(initrd),
               "-append", "root=LABEL=RASPIROOT rw rootwait console=ttyAMA0,115200 net.ifnames=0",
               "-drive", f"file={disk},format=raw,if=virtio"]
    OUT.mkdir(parents=True, exist_ok=True)
    serial = Serial(command, OUT / "qemu-serial.log")
    started = time.monotonic()
    status = None
    try:
        while time.monotonic() - started < READY_WITHIN_S:
            seen = serial.read_for(STATUS_EVERY_S)
            if "centralino> " in seen or serial.text.endswith("centralino> "):
                serial.type("status")
                answer = serial.read_for(STATUS_EVERY_S)
                match = re.search(r"centralino \S+ +(ready|NOT READY)", answer)
                if match and match.group(1) == "ready":
                    status = answer
                    break
    finally:
        elapsed = time.monotonic() - started
        serial.close()
        disk.unlink()
    print(f"qemu boot to a ready console: {elapsed:.0f} s (serial log: {OUT / 'qemu-serial.log'})")
    print(status)
    assert status, f"no ready status within {READY_WITHIN_S} s; serial log tail:\n{serial.text[-4000:]}"
    assert "board     sim" in status
    assert "expand-root: growing" in serial.text or "Expand the root file system" in serial.text
