"""baresip (Debian's 1.0) as a desk phone or an outside caller in the media tests: headless, driven
through ctrl_tcp (JSON netstrings), speaking a test tone from a WAV file (aufile) and recording what
it hears (the sndfile filter dumps the decoded audio of each call to a WAV file)."""

from __future__ import annotations

import asyncio
import json
import wave
from pathlib import Path

import numpy as np

from centralino.media.frames import SAMPLE_RATE_HZ

from .helpers import HOST, stop_process

READY_TIMEOUT_S = 10.0
TONE_LEVEL = 6000  # peak, about -14 dBm0: a voice's level


def write_tone(path: Path, frequency_hz: float, seconds: float) -> None:
    """An 8 kHz 16-bit mono WAV of one sine (aufile ends the call at the end of the file: make it long)."""
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    samples = (TONE_LEVEL * np.sin(2 * np.pi * frequency_hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE_HZ)
        w.writeframes(samples.tobytes())


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)


class Baresip:
    def __init__(self, workdir: Path, sip_port: int, ctrl_port: int, tone_hz: float, account: str,
                 tone_s: float = 30.0):
        self.dir = workdir / "baresip"
        self.dumps = self.dir / "dumps"
        self.dumps.mkdir(parents=True, exist_ok=True)
        self.ctrl_port = ctrl_port
        self.log = self.dir / "baresip.log"
        tone = self.dir / "tone.wav"
        write_tone(tone, tone_hz, tone_s)
        (self.dir / "config").write_text("\n".join([
            f"sip_listen {HOST}:{sip_port}",
            f"ctrl_tcp_listen {HOST}:{ctrl_port}",
            f"audio_source aufile,{tone}",
            "audio_player aubridge,nil",
            "audio_alert aubridge,nil",
            "audio_srate 8000",
            "audio_channels 1",
            f"snd_path {self.dumps}",
            "module_path /usr/lib/baresip/modules",
            "module g711.so", "module aufile.so", "module aubridge.so", "module sndfile.so",
            "module_app account.so", "module_app menu.so", "module_app ctrl_tcp.so",
            f"net_interface {HOST}", ""]))
        (self.dir / "accounts").write_text(account + "\n")
        (self.dir / "contacts").write_text("")
        self.proc: asyncio.subprocess.Process | None = None
        self.events: list[dict] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._listen_task: asyncio.Task | None = None

    async def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                "baresip", "-f", str(self.dir), stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT_S
        while True:
            try:
                self._reader, self._writer = await asyncio.open_connection(HOST, self.ctrl_port)
                break
            except OSError:
                if loop.time() > deadline or self.proc.returncode is not None:
                    raise RuntimeError(f"baresip's ctrl_tcp did not open: {self.log.read_text()[-2000:]}")
                await asyncio.sleep(0.1)
        self._listen_task = asyncio.ensure_future(self._listen())

    async def _listen(self) -> None:
        while True:
            length = await self._reader.readuntil(b":")
            data = await self._reader.readexactly(int(length[:-1]) + 1)
            try:
                self.events.append(json.loads(data[:-1]))
            except ValueError:
                pass

    def command(self, command: str, params: str = "") -> None:
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        self._writer.write(b"%d:%s," % (len(body), body))

    def saw(self, kind: str) -> bool:
        return any(e.get("type") == kind for e in self.events)

    def heard(self) -> np.ndarray:
        """What baresip decoded from the call (the sndfile dump of the received audio)."""
        files = sorted(self.dumps.glob("*-dec.wav"))
        return read_wav(files[-1]) if files else np.zeros(0, dtype=np.int16)

    async def stop(self) -> None:
        if self._listen_task is not None:
            self._listen_task.cancel()
        if self._writer is not None:
            self._writer.close()
        proc, self.proc = self.proc, None
        await stop_process(proc)

    async def __aenter__(self) -> "Baresip":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()
