"""Transfer faults of one simulated bus device, settable and clearable while the switchboard runs.

A chip select on an SPI bus or an address on the I2C bus is one *device*; its ``TransferFaults``
says what the next transfers do instead of reaching the chip model:

- ``fail``: the transfer raises, as the kernel's ioctl does when a chip or its wiring dies
  (``periphery.SPIError`` for SPI, a plain ``OSError`` from smbus2 for I2C), with an errno;
- ``garbage``: the transfer reaches the chip (writes still land) but what comes back is noise,
  as with a floating MISO or SDA line.

Either lasts until ``clear()`` or for a given number of transfers. Every bus object opened on
the device shares the one ``TransferFaults``, so a fault set from the world's control face is
seen by the driver that already holds the bus. Randomness is seeded: a garbled run repeats.
"""

from __future__ import annotations

import errno as errnos
import random

FAIL = "fail"
GARBAGE = "garbage"
MODES = (FAIL, GARBAGE)


class TransferFaults:
    """What the transfers of one device do now: pass (``mode`` None), fail or return garbage."""

    def __init__(self, device: str, default_errno: int = errnos.EIO, seed: int = 0):
        self.device = device
        self.default_errno = default_errno
        self.mode: str | None = None
        self.errno = default_errno
        self.affected = 0  # transfers a fault changed, for tests and `bus PORT status`
        self._left: int | None = None  # transfers still affected; None: until cleared
        self._rng = random.Random(seed)

    # -- the backend face (scenarios, the world's control face)
    def fail(self, errno: int | None = None, transfers: int | None = None) -> None:
        """Every transfer (or the next ``transfers``) raises with ``errno`` (EIO by default)."""
        self._set(FAIL, transfers)
        self.errno = self.default_errno if errno is None else errno
        if self.errno not in errnos.errorcode:
            raise ValueError(f"{self.device}: {self.errno} is not an errno")

    def garble(self, transfers: int | None = None) -> None:
        """Every transfer (or the next ``transfers``) returns noise instead of the chip's answer."""
        self._set(GARBAGE, transfers)

    def clear(self) -> None:
        self.mode, self._left, self.errno = None, None, self.default_errno

    def _set(self, mode: str, transfers: int | None) -> None:
        if transfers is not None and transfers < 1:
            raise ValueError(f"{self.device}: a fault lasts at least one transfer, got {transfers}")
        self.mode, self._left = mode, transfers

    @property
    def active(self) -> str | None:
        return self.mode

    def status(self) -> dict:
        return {"device": self.device, "fault": self.mode, "errno": self.errno if self.mode == FAIL else None,
                "transfers_left": self._left, "affected": self.affected}

    # -- the bus face (called by the bus object once per transfer)
    def take(self) -> tuple[str, int] | None:
        """The fault that applies to this transfer, as (mode, errno), counted; None when healthy."""
        if self.mode is None:
            return None
        hit = (self.mode, self.errno)
        self.affected += 1
        if self._left is not None:
            self._left -= 1
            if self._left <= 0:
                self.clear()
        return hit

    def noise(self, length: int) -> list[int]:
        return [self._rng.randrange(256) for _ in range(length)]
