"""The RTP end of a SIP leg: ``media.rtp.RtpSession`` when it is there, else a silent stand-in.

The stand-in owns a real UDP port (so our SDP is truthful and the peer's packets have somewhere to
go) but plays and hears silence: signalling works even on a build without the RTP module.
"""

from __future__ import annotations

import logging
import socket

import numpy as np

from centralino.media.frames import silence

from . import sdp

log = logging.getLogger("centralino.sip.media")


class SilentMedia:
    def __init__(self, host: str, law: str = "alaw"):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, 0))
        self._sock.setblocking(False)
        self.local_port = self._sock.getsockname()[1]
        self.remote: tuple[str, int] | None = None
        self.on_digit = None

    def start(self) -> None:
        pass

    def set_payload(self, *args, **kwargs) -> None:
        pass

    def send_frame(self, frame: np.ndarray) -> None:
        pass

    def receive_frame(self) -> np.ndarray:
        return silence()

    def send_digit(self, digit: str) -> None:
        pass

    def close(self) -> None:
        self._sock.close()


async def open_media(host: str, law: str = "alaw", name: str = "rtp"):
    """A started RTP session bound to ``host`` on a free port."""
    try:
        from centralino.media.rtp import RtpSession
    except ImportError:
        return SilentMedia(host, law)
    session = RtpSession(host, 0, law=law, name=name)
    await session.start()
    return session


def local_port(session) -> int:
    return int(session.local_port)


def apply_remote(session, media: sdp.Media) -> None:
    """Point the session at the far end's address, law and telephone-event type (None: in-band)."""
    session.remote = (media.host, media.port)
    if hasattr(session, "set_codec"):
        session.set_codec(media.law or "alaw")
        session.dtmf_payload_type = media.event_pt
