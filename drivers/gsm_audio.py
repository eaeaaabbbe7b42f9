"""The modem's voice port: 8 kHz 16-bit little-endian mono PCM, 320 bytes per 20 ms each way.

SIM7600 (``AT+CPCMREG=1``) and EC25 (``AT+QPCMV=1,0``) stream voice over a second USB serial port
(reference/hardware.md [V]). The engine's media tick calls ``read_frame``/``write_frame``; both
are non-blocking so a stalled modem can never stall the tick. The receive buffer is capped, so a
tick that falls behind loses old audio instead of adding delay.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import serial

FRAME_SAMPLES = 160
FRAME_BYTES = 2 * FRAME_SAMPLES
MAX_BUFFERED_FRAMES = 10

log = logging.getLogger(__name__)


class GsmAudioPort:
    """One open voice port; ``close()`` releases it (also when the device vanished)."""

    def __init__(self, path: str, serial_factory, name: str):
        self.name = name
        self._serial = serial_factory(path, baudrate=115200, timeout=0, write_timeout=0)
        self._buffer = bytearray()
        self._loop = asyncio.get_running_loop()
        self._fd = self._serial.fileno()
        self._loop.add_reader(self._fd, self._on_readable)
        self.dropped_frames = 0
        self.lost = False

    def _on_readable(self) -> None:
        try:
            data = self._serial.read(max(1, self._serial.in_waiting))
        except (OSError, serial.SerialException) as err:
            log.warning("%s: voice port read failed: %s", self.name, err)
            self.lost = True
            self._loop.remove_reader(self._fd)
            return
        self._buffer += data
        excess = len(self._buffer) - MAX_BUFFERED_FRAMES * FRAME_BYTES
        if excess > 0:
            excess += (-excess) % FRAME_BYTES
            del self._buffer[:excess]
            self.dropped_frames += excess // FRAME_BYTES

    def flush(self) -> None:
        self._buffer.clear()

    def read_frame(self) -> np.ndarray | None:
        if len(self._buffer) < FRAME_BYTES:
            return None
        frame = np.frombuffer(bytes(self._buffer[:FRAME_BYTES]), dtype="<i2").astype(np.int16)
        del self._buffer[:FRAME_BYTES]
        return frame

    def write_frame(self, frame: np.ndarray) -> None:
        samples = np.asarray(frame)
        if samples.shape != (FRAME_SAMPLES,):
            raise ValueError(f"{self.name}: a voice frame is {FRAME_SAMPLES} samples, got shape {samples.shape}")
        if self.lost:
            return
        try:
            self._serial.write(samples.astype("<i2").tobytes())
        except serial.SerialTimeoutException:
            self.dropped_frames += 1
        except (OSError, serial.SerialException):
            self.lost = True

    def close(self) -> None:
        if not self.lost:
            try:
                self._loop.remove_reader(self._fd)
            except (ValueError, OSError):
                pass
        try:
            self._serial.close()
        except (OSError, serial.SerialException):
            pass
