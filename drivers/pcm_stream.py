"""The HAT's PCM bus on the Pi: a TDM stream of A-law bytes, read and written in 20 ms frames.

On the Pi the I2S/PCM controller is an ALSA device; ``arecord``/``aplay`` with raw A-law and one
channel per timeslot give the interleaved byte stream the simulator's ``SimPcmBus`` also speaks
(sample 0 of every slot, then sample 1...). Reading a whole frame blocks until the hardware has
clocked it in, so on the Pi the PCM clock itself paces the media loop.
"""

from __future__ import annotations

import subprocess

from .errors import ChipError

FRAME_SAMPLES = 160
PORT_NAME = "pcm"


class PcmStream:
    """``transfer(bytes) -> bytes`` over ALSA, one frame of every slot per call."""

    def __init__(self, device: str, slots: int, rate_hz: int = 8000):
        self.slots = slots
        self.frame_bytes = FRAME_SAMPLES * slots
        common = ["-D", device, "-t", "raw", "-f", "A_LAW", "-r", str(rate_hz), "-c", str(slots),
                  "--period-size", str(FRAME_SAMPLES), "-q"]
        try:
            self._capture = subprocess.Popen(["arecord", *common], stdout=subprocess.PIPE)
            self._playback = subprocess.Popen(["aplay", *common], stdin=subprocess.PIPE)
        except OSError as err:
            raise ChipError(PORT_NAME, f"cannot start the ALSA stream on {device}: {err}") from err

    def transfer(self, data: bytes) -> bytes:
        if len(data) != self.frame_bytes:
            raise ValueError(f"PCM frame must be {self.frame_bytes} bytes, got {len(data)}")
        self._playback.stdin.write(data)
        self._playback.stdin.flush()
        received = self._capture.stdout.read(self.frame_bytes)
        if len(received) != self.frame_bytes:
            raise ChipError(PORT_NAME, "the ALSA capture stream ended (PCM clock stopped?)")
        return received

    def close(self) -> None:
        for process in (self._capture, self._playback):
            process.terminate()
