"""kamailio (Debian's 5.6) as the municipal PBX in the trunk tests: kamailio.cfg filled in for the
test's ports, run in the foreground with its own run directory, stopped (and restarted) at will."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from .helpers import HOST, stop_process

CONFIG_TEMPLATE = Path(__file__).resolve().parent / "kamailio.cfg"
READY_TIMEOUT_S = 10.0
TRUNK_USER, TRUNK_PASSWORD = "centralino", "trunk-secret"
DID_PREFIX = "055845"


class Kamailio:
    def __init__(self, workdir: Path, port: int, centralino_port: int, pstn_port: int, max_expires_s: int = 4):
        self.port = port
        self.workdir = workdir
        self.rundir = workdir / "kamailio-run"
        self.config = workdir / "kamailio.cfg"
        self.log = workdir / "kamailio.log"
        values = {"KAMAILIO_PORT": port, "CENTRALINO_PORT": centralino_port, "PSTN_PORT": pstn_port,
                  "MAX_EXPIRES_S": max_expires_s, "TRUNK_PASSWORD": TRUNK_PASSWORD, "TRUNK_USER": TRUNK_USER,
                  "DID_PREFIX": DID_PREFIX}
        text = CONFIG_TEMPLATE.read_text()
        for key, value in values.items():
            text = text.replace(f"@{key}@", str(value))
        self.config.write_text(text)
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.rundir.mkdir(exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                "kamailio", "-DD", "-E", "-f", str(self.config), "-Y", str(self.rundir),
                stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL)
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        """Until it answers an OPTIONS (its listening socket is open and the workers run)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT_S
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((HOST, 0))
            s.setblocking(False)
            probe = _options(HOST, self.port, s.getsockname()[1])
            while loop.time() < deadline:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"kamailio exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}")
                s.sendto(probe, (HOST, self.port))
                await asyncio.sleep(0.1)
                try:
                    if s.recv(4096).startswith(b"SIP/2.0 200"):
                        return
                except BlockingIOError:
                    pass
        raise RuntimeError(f"kamailio did not answer within {READY_TIMEOUT_S:g} s: {self.log.read_text()[-2000:]}")

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        await stop_process(proc)

    async def __aenter__(self) -> "Kamailio":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()


def _options(host: str, port: int, local_port: int) -> bytes:
    return (f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{local_port};branch=z9hG4bK-probe{local_port}\r\n"
            f"From: <sip:probe@{host}:{local_port}>;tag=probe\r\nTo: <sip:{host}:{port}>\r\n"
            f"Call-ID: probe-{local_port}@{host}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            f"Content-Length: 0\r\n\r\n").encode()
