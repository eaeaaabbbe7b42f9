"""RTP media endpoint for one SIP call leg: G.711 in and out, jitter buffer, DTMF both ways.

Why our own small loop rather than sippy's RTP endpoint: sippy 2.5 does ship one
(``sippy.Rtp.EPoint``), but it encodes only PCMU (u-law; Italy's trunks and phones use A-law),
has no RFC 4733 telephone-events at all, and paces its output from its own worker threads on top
of rtpsynth's C server. centralino has one media clock: the engine ticks every 20 ms and moves one
frame per port, so an RTP leg must be pulled and pushed by that tick (``receive_frame`` and
``send_frame``) rather than run a clock of its own; and the rest of the daemon is asyncio. The
loop below is one ``asyncio.DatagramProtocol`` per call leg plus three small modules
(``rtp_packet``, ``jitter``, ``telephone_event``), and reuses media.g711 and media.dtmf.

Behaviour worth knowing:
- Sending: each ``send_frame`` is one 20 ms tick: one packet, timestamp +160, marker on the first
  packet of a talkspurt. ``send_frame(None)`` means "nothing to say" (no packet; the timestamp
  still advances so the peer's playout stays aligned).
- DTMF: ``send_digit`` queues a key; RFC 4733 events then ride on the following ticks instead of
  voice (end packet sent three times with the same timestamp). With no telephone-event payload
  type negotiated (``dtmf_payload_type=None``) the key is played in-band instead. Received events
  reach ``on_digit`` once each (deduplicated by SSRC and timestamp); in-band keys are detected
  with ``DtmfDetector`` when ``inband_dtmf`` is on (by default: when no telephone-event is
  negotiated), and reported the same way.
- Symmetric RTP: with ``remote`` unset, the source of the first valid packet becomes the remote
  (NAT'd phones). With ``symmetric=True`` the first valid packet after every ``remote``
  assignment re-latches it (the SDP address of a phone behind NAT is useless). Otherwise packets
  from anyone but ``remote`` are counted as foreign and dropped.
- Every datagram is parsed defensively: bad ones are counted in ``stats`` and logged once per
  source, never raised. No RTCP is sent or read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import dtmf, g711
from .frames import FRAME_SAMPLES, saturate, split_frames
from .jitter import DEFAULT_MAX_MS, DEFAULT_TARGET_MS, JitterBuffer, JitterStats
from .rtp_packet import RtpFormatError, build, parse
from .telephone_event import EventReceiver, EventSender, event_code

log = logging.getLogger("centralino.rtp")

STATIC_PAYLOAD_TYPES = {"ulaw": 0, "alaw": 8}
COMFORT_NOISE_PAYLOAD_TYPE = 13  # RFC 3389, static
DEFAULT_DTMF_PAYLOAD_TYPE = 101
EVEN_PORT_ATTEMPTS = 32
LOGGED_SOURCES_MAX = 256
INBAND_GAP_MS = 60  # silence after an in-band key, so two equal keys stay two
FULL_SCALE_RMS = 32767 / np.sqrt(2.0)  # 0 dBov, RFC 3389's reference


@dataclass
class RtpStats:
    """Session counters, plus the jitter buffer's (late, lost, duplicate, reordered, ...)."""

    jitter: JitterStats
    sent: int = 0  # voice packets
    sent_events: int = 0  # telephone-event packets
    unsent: int = 0  # ticks with no remote to send to
    send_errors: int = 0
    bad: int = 0  # malformed datagrams
    foreign: int = 0  # valid packets from a source other than the remote
    unknown_payload: int = 0  # payload type not negotiated
    comfort_noise: int = 0
    digits_received: int = 0
    interarrival_jitter_ms: float = 0.0  # RFC 3550 section 6.4.1 estimate

    @property
    def received(self) -> int:
        return self.jitter.received

    @property
    def late(self) -> int:
        return self.jitter.late

    @property
    def lost(self) -> int:
        return self.jitter.lost

    @property
    def duplicate(self) -> int:
        return self.jitter.duplicate

    @property
    def reordered(self) -> int:
        return self.jitter.reordered

    @property
    def concealed(self) -> int:
        return self.jitter.concealed


class _RtpProtocol(asyncio.DatagramProtocol):
    """Hands datagrams to the session; keeps asyncio's protocol surface out of RtpSession."""

    def __init__(self, session: "RtpSession"):
        self.session = session

    def datagram_received(self, data: bytes, addr) -> None:
        self.session._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable from the peer
        self.session._on_send_error(exc)


def _check_payload_type(pt: int, what: str) -> int:
    if not isinstance(pt, int) or not 0 <= pt <= 127:
        raise ValueError(f"RTP {what} payload type {pt!r} outside 0..127")
    return pt


class RtpSession:
    """One RTP stream pair (send and receive) on one UDP port."""

    def __init__(self, local_host: str = "127.0.0.1", local_port: int = 0, law: str = "alaw",
                 payload_type: int | None = None, dtmf_payload_type: int | None = DEFAULT_DTMF_PAYLOAD_TYPE,
                 clock: Callable[[], float] = time.monotonic, *, inband_dtmf: bool | None = None,
                 on_digit: Callable[[str], None] | None = None, symmetric: bool = False,
                 jitter_target_ms: int = DEFAULT_TARGET_MS, jitter_max_ms: int = DEFAULT_MAX_MS,
                 initial_sequence: int | None = None, initial_timestamp: int | None = None,
                 ssrc: int | None = None, name: str = "rtp"):
        if not 0 <= local_port <= 65535:
            raise ValueError(f"{name}: local port {local_port} outside 0..65535")
        self.name = name
        self.local_host = local_host
        self.local_port = local_port
        self.clock = clock
        self.on_digit = on_digit
        self.symmetric = symmetric
        self._inband_option = inband_dtmf
        self._jitter = JitterBuffer(jitter_target_ms, jitter_max_ms)
        self.stats = RtpStats(self._jitter.stats)
        self.set_codec(law, payload_type)
        self.dtmf_payload_type = dtmf_payload_type
        rnd = random.SystemRandom()
        self.ssrc = rnd.getrandbits(32) if ssrc is None else ssrc & 0xFFFFFFFF
        self._seq = rnd.getrandbits(16) if initial_sequence is None else initial_sequence & 0xFFFF
        self._ts = rnd.getrandbits(32) if initial_timestamp is None else initial_timestamp & 0xFFFFFFFF
        self._talkspurt = True
        self._events = EventSender()
        self._inband_out: deque[np.ndarray] = deque()
        self._event_rx = EventReceiver()
        self._detector: dtmf.DtmfDetector | None = None
        self._remote: tuple[str, int] | None = None
        self._latched = False
        self._rx_ssrc: int | None = None
        self._transit: float | None = None
        self._jitter_units = 0.0
        self._cn_rms: float | None = None
        self._noise = np.random.default_rng()
        self._logged: set = set()
        self._transport: asyncio.DatagramTransport | None = None

    # ---- set-up -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the UDP socket; port 0 picks a free even port (RFC 3550: RTP on even ports)."""
        loop = asyncio.get_running_loop()
        for _ in range(EVEN_PORT_ATTEMPTS):
            transport, _protocol = await loop.create_datagram_endpoint(
                lambda: _RtpProtocol(self), local_addr=(self.local_host, self.local_port))
            port = transport.get_extra_info("sockname")[1]
            if self.local_port or port % 2 == 0:
                self._transport, self.local_port = transport, port
                return
            transport.close()
        raise OSError(f"{self.name}: no free even UDP port on {self.local_host} after {EVEN_PORT_ATTEMPTS} tries")

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @property
    def remote(self) -> tuple[str, int] | None:
        return self._remote

    @remote.setter
    def remote(self, address: tuple[str, int] | None) -> None:
        if address is not None:
            try:
                host, port = address
                host = str(ipaddress.ip_address(host))
            except ValueError:
                raise ValueError(f"{self.name}: remote {address!r} is not (IP address, port)") from None
            if not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError(f"{self.name}: remote port {port!r} outside 1..65535")
            address = (host, port)
        self._remote = address
        self._latched = False

    def set_codec(self, law: str, payload_type: int | None = None) -> None:
        """Switch G.711 law (and payload type, default the static 8 for A-law, 0 for u-law)."""
        encode, decode = g711.codec(law)
        pt = STATIC_PAYLOAD_TYPES[law] if payload_type is None else _check_payload_type(payload_type, law)
        self.law, self.payload_type = law, pt
        self._encode, self._decode = encode, decode

    @property
    def dtmf_payload_type(self) -> int | None:
        return self._dtmf_pt

    @dtmf_payload_type.setter
    def dtmf_payload_type(self, pt: int | None) -> None:
        """telephone-event payload type as negotiated; None: the peer has none, DTMF goes in-band."""
        if pt is not None:
            _check_payload_type(pt, "telephone-event")
            if pt == self.payload_type:
                raise ValueError(f"{self.name}: telephone-event payload type {pt} equals the voice payload type")
        self._dtmf_pt = pt

    @property
    def inband_dtmf(self) -> bool:
        """Whether received audio is searched for DTMF tones."""
        return self._dtmf_pt is None if self._inband_option is None else self._inband_option

    # ---- sending ----------------------------------------------------------------------------

    def send_frame(self, samples: np.ndarray | None) -> None:
        """One 20 ms tick out: voice, or the DTMF in progress (voice pauses while it plays)."""
        ts = self._ts
        self._ts = (ts + FRAME_SAMPLES) & 0xFFFFFFFF
        if self._dtmf_pt is not None and self._events.busy:
            ticked = self._events.next(ts)
            if ticked is not None:
                start_ts, packets = ticked
                for p in packets:
                    self._send(self._dtmf_pt, start_ts, p.event.to_bytes(), p.marker)
                    self.stats.sent_events += 1
                self._talkspurt = True
                return
        if self._inband_out:
            samples = self._inband_out.popleft()
        if samples is None:
            self._talkspurt = True
            return
        if getattr(samples, "shape", None) != (FRAME_SAMPLES,) or samples.dtype != np.int16:
            raise ValueError(f"{self.name}: send_frame takes {FRAME_SAMPLES} int16 samples, got "
                             f"{getattr(samples, 'shape', type(samples).__name__)} {getattr(samples, 'dtype', '')}")
        if self._send(self.payload_type, ts, self._encode(samples).tobytes(), self._talkspurt):
            self.stats.sent += 1
        self._talkspurt = False

    def send_digit(self, digit: str, duration_ms: int = 100) -> None:
        """Queue one DTMF key: RFC 4733 events, or in-band tones when none is negotiated."""
        event_code(digit)  # validates the key
        if self._dtmf_pt is not None:
            self._events.queue(digit, duration_ms)
            return
        if not 40 <= duration_ms <= 5000:
            raise ValueError(f"{self.name}: DTMF duration {duration_ms} ms outside 40..5000 ms")
        tone = saturate(dtmf.generate(digit, on_ms=duration_ms, off_ms=INBAND_GAP_MS).astype(np.float64))
        self._inband_out.extend(split_frames(tone))

    @property
    def sending_digits(self) -> bool:
        """True while queued DTMF is still going out."""
        return self._events.busy or bool(self._inband_out)

    def _send(self, pt: int, ts: int, payload: bytes, marker: bool) -> bool:
        seq = self._seq
        self._seq = (seq + 1) & 0xFFFF
        if self._remote is None or self._transport is None:
            self.stats.unsent += 1
            return False
        self._transport.sendto(build(pt, seq, ts, self.ssrc, payload, marker), self._remote)
        return True

    # ---- receiving --------------------------------------------------------------------------

    def receive_frame(self) -> np.ndarray:
        """The next 20 ms frame from the jitter buffer (silence or comfort noise if none)."""
        frame = self._jitter.pop()
        if frame is None:
            frame = self._concealment()
        if self.inband_dtmf:
            if self._detector is None:
                self._detector = dtmf.DtmfDetector()
            for event in self._detector.feed(frame):
                self._report_digit(event.digit)
        return frame

    def _concealment(self) -> np.ndarray:
        if self._cn_rms is None:
            return np.zeros(FRAME_SAMPLES, dtype=np.int16)
        return saturate(self._noise.normal(0.0, self._cn_rms, FRAME_SAMPLES))

    def _on_datagram(self, data: bytes, addr) -> None:
        try:
            packet = parse(data)
        except RtpFormatError as e:
            self.stats.bad += 1
            self._log_once(addr, "bad", e)
            return
        pt = packet.payload_type
        if pt != self.payload_type and pt != self._dtmf_pt and pt != COMFORT_NOISE_PAYLOAD_TYPE:
            self.stats.unknown_payload += 1
            self._log_once(addr, "payload", f"payload type {pt} not negotiated")
            return
        source = (addr[0], addr[1])
        if self._remote is None or (self.symmetric and not self._latched):
            if self._remote != source:
                log.info("%s: media from %s:%d, sending there", self.name, *source)
            self._remote, self._latched = source, True
        elif source != self._remote:
            self.stats.foreign += 1
            self._log_once(addr, "foreign", f"packet from {source[0]}:{source[1]}, remote is "
                                            f"{self._remote[0]}:{self._remote[1]}")
            return
        if packet.ssrc != self._rx_ssrc:
            if self._rx_ssrc is not None:
                log.info("%s: new stream SSRC %08x (was %08x)", self.name, packet.ssrc, self._rx_ssrc)
                self._jitter.reset()
                self._event_rx.reset()
                self._transit = None
            self._rx_ssrc = packet.ssrc
        if pt == self.payload_type:
            self._on_voice(packet, addr)
        elif pt == self._dtmf_pt:
            self._on_event(packet, addr)
        else:
            self.stats.comfort_noise += 1
            self._jitter.note_sequence(packet.sequence)
            level = packet.payload[0] & 0x7F if packet.payload else 127
            self._cn_rms = FULL_SCALE_RMS * 10.0 ** (-level / 20.0)

    def _on_voice(self, packet, addr) -> None:
        payload = packet.payload
        n = len(payload)
        if n == 0 or n % FRAME_SAMPLES:
            self.stats.bad += 1
            self._log_once(addr, "ptime", f"voice payload of {n} bytes (only 20 ms multiples are supported)")
            return
        self._cn_rms = None
        samples = self._decode(payload)
        self._update_jitter_estimate(packet.timestamp)
        for k in range(n // FRAME_SAMPLES):
            frame = samples[k * FRAME_SAMPLES:(k + 1) * FRAME_SAMPLES]
            if k == 0:
                self._jitter.push(packet.sequence, packet.timestamp, frame)
            else:  # extra frames of a long packet: same packet, later timestamps
                self._jitter.push_frame((packet.timestamp + k * FRAME_SAMPLES) & 0xFFFFFFFF, frame)

    def _on_event(self, packet, addr) -> None:
        self._jitter.note_sequence(packet.sequence)
        try:
            digit = self._event_rx.feed(packet.ssrc, packet.timestamp, packet.payload)
        except ValueError as e:
            self.stats.bad += 1
            self._log_once(addr, "event", e)
            return
        if digit is not None:
            self._report_digit(digit)

    def _report_digit(self, digit: str) -> None:
        self.stats.digits_received += 1
        if self.on_digit is None:
            return
        try:
            self.on_digit(digit)
        except Exception:  # a fault in the listener must not stop the media
            log.exception("%s: on_digit(%r) failed", self.name, digit)

    def _update_jitter_estimate(self, timestamp: int) -> None:
        transit = self.clock() * 8000.0 - timestamp
        if self._transit is not None:
            d = abs(transit - self._transit)
            if d < 8000.0:  # a timestamp jump is not jitter
                self._jitter_units += (d - self._jitter_units) / 16.0
                self.stats.interarrival_jitter_ms = self._jitter_units / 8.0
        self._transit = transit

    def _on_send_error(self, exc: Exception) -> None:
        self.stats.send_errors += 1
        self._log_once(self._remote or ("?", 0), "send", exc)

    def _log_once(self, addr, kind: str, problem) -> None:
        """One warning per source address for the life of the session; the rest only counted."""
        key = (addr[0], addr[1])
        if key in self._logged or len(self._logged) >= LOGGED_SOURCES_MAX:
            return
        self._logged.add(key)
        log.warning("%s: dropping %s packet from %s:%s: %s (further drops from there only counted)",
                    self.name, kind, addr[0], addr[1], problem)

    # ---- status -----------------------------------------------------------------------------

    def status(self) -> dict:
        """Plain dict for the console and the supervisor."""
        s = self.stats
        return {
            "local": f"{self.local_host}:{self.local_port}",
            "remote": f"{self._remote[0]}:{self._remote[1]}" if self._remote else None,
            "law": self.law, "payload_type": self.payload_type, "dtmf_payload_type": self._dtmf_pt,
            "sent": s.sent, "received": s.received, "lost": s.lost, "late": s.late,
            "duplicate": s.duplicate, "reordered": s.reordered, "bad": s.bad, "foreign": s.foreign,
            "jitter_ms": round(s.interarrival_jitter_ms, 2), "buffer_ms": self._jitter.depth_ms,
            "buffer_target_ms": self._jitter.target_ms,
        }
