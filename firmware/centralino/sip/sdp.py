"""SDP offers and answers (RFC 4566 / RFC 3264) for one G.711 audio stream with RFC 4733 events.

Only what a telephone leg needs: where the far end wants RTP, which G.711 law it takes, its
telephone-event payload type, and whether it put us on hold. Anything else in an offer is ignored;
an offer without G.711 audio is refused (``SdpError``, answered 488 by the caller of ``answer``).
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass

PCMU, PCMA = 0, 8
LAW_OF_PT = {PCMA: "alaw", PCMU: "ulaw"}
PT_OF_LAW = {"alaw": PCMA, "ulaw": PCMU}
EVENT_PT = 101  # our telephone-event payload type when we make the offer
PTIME_MS = 20
MAX_SDP_CHARS = 8192
_HOST_NAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?")


def _number(text: str, low: int, high: int) -> int | None:
    """An ASCII decimal number in range, else None (``"²".isdigit()`` is True: not good enough)."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > 6:
        return None
    value = int(text)
    return value if low <= value <= high else None


def _connection_host(value: str) -> str:
    """The address of a c= line: an IPv4 or IPv6 address, or a host name (legal, resolved later)."""
    parts = value.split()
    if len(parts) < 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"unusable connection line c={value!r}")
    host = parts[2].split("/")[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if address.version != 4:
            raise SdpError(f"IPv6 media address {host!r}: centralino's RTP is IPv4 only")
        return host
    if parts[1] == "IP4" and _HOST_NAME.fullmatch(host) and not host.replace(".", "").isdigit():
        return host.rstrip(".")
    raise SdpError(f"bad connection address {host[:64]!r} in c=")


def is_address(host: str) -> bool:
    """Whether ``host`` is an IP address already (else a host name to resolve)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


class SdpError(ValueError):
    """An SDP body we cannot use: says what is wrong with it."""


@dataclass(frozen=True)
class Media:
    host: str
    port: int
    law: str | None  # the first G.711 law the far end lists (its preference)
    event_pt: int | None
    direction: str = "sendrecv"  # sendrecv, sendonly, recvonly, inactive (on hold)

    @property
    def on_hold(self) -> bool:
        return self.direction in ("sendonly", "inactive") or self.host == "0.0.0.0"


def parse(text: str) -> Media:
    """The audio stream an SDP body describes; SdpError when it has none we can use."""
    if not isinstance(text, str) or "m=" not in text:
        raise SdpError("no media line (m=) in the SDP body")
    if len(text) > MAX_SDP_CHARS:
        raise SdpError(f"SDP body of {len(text)} characters (at most {MAX_SDP_CHARS})")
    host, port, formats, declined = None, None, [], False
    rtpmap: dict[int, str] = {}
    direction = "sendrecv"
    in_audio = False
    for raw in text.replace("\r", "").split("\n"):
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        key, value = line[0], line[2:]
        if key == "m":
            parts = value.split()
            in_audio = len(parts) >= 4 and parts[0] == "audio" and port is None
            if in_audio:
                number = _number(parts[1].split("/")[0], 0, 65535)
                if number is None:
                    raise SdpError(f"bad audio port {parts[1][:16]!r} in the m= line")
                if number == 0:  # RFC 3264: a declined stream; look for another one
                    declined, in_audio = True, False
                    continue
                port = number
                formats = [f for f in (_number(t, 0, 127) for t in parts[3:]) if f is not None]
        elif key == "c" and (in_audio or (host is None and port is None)):
            host = _connection_host(value)
        elif key == "a" and in_audio:
            if value.startswith("rtpmap:"):
                pt_text, _, name = value[7:].partition(" ")
                pt = _number(pt_text, 0, 127)
                if pt is not None:
                    rtpmap[pt] = name.split("/")[0].lower()
            elif value in ("sendrecv", "sendonly", "recvonly", "inactive"):
                direction = value
    if port is None and declined:
        raise SdpError("the audio stream is declined (port 0 in the m= line)")
    if port is None:
        raise SdpError("no audio stream in the SDP body")
    if host is None:
        raise SdpError("no connection address (c=) for the audio stream")
    law = next((LAW_OF_PT[f] for f in formats if f in LAW_OF_PT), None)
    if law is None:
        names = {pt: name for pt, name in rtpmap.items()}
        law = next((("alaw" if names[f] == "pcma" else "ulaw") for f in formats
                    if names.get(f) in ("pcma", "pcmu")), None)
    event_pt = next((f for f in formats if rtpmap.get(f) == "telephone-event"), None)
    return Media(host=host, port=port, law=law, event_pt=event_pt, direction=direction)


def build(host: str, port: int, law: str = "alaw", event_pt: int | None = EVENT_PT,
          session_id: int | None = None, direction: str = "sendrecv", offer_both: bool = False) -> str:
    """Our SDP: one audio stream at ``host:port``. An offer lists both laws (A-law first)."""
    sid = session_id if session_id is not None else int(time.time())
    first = PT_OF_LAW[law]
    formats = [first] + ([PT_OF_LAW["ulaw" if law == "alaw" else "alaw"]] if offer_both else [])
    if event_pt is not None:
        formats.append(event_pt)
    lines = ["v=0", f"o=centralino {sid} {sid} IN IP4 {host}", "s=centralino", f"c=IN IP4 {host}",
             "t=0 0", f"m=audio {port} RTP/AVP {' '.join(str(f) for f in formats)}"]
    for pt in formats:
        if pt in LAW_OF_PT:
            lines.append(f"a=rtpmap:{pt} {'PCMA' if pt == PCMA else 'PCMU'}/8000")
    if event_pt is not None:
        lines += [f"a=rtpmap:{event_pt} telephone-event/8000", f"a=fmtp:{event_pt} 0-15"]
    lines += [f"a=ptime:{PTIME_MS}", f"a={direction}"]
    return "\r\n".join(lines) + "\r\n"


def answer(offer: Media, host: str, port: int, session_id: int | None = None) -> str:
    """Our answer to ``offer``: its G.711 law, its telephone-event type, the mirrored direction."""
    if offer.law is None:
        raise SdpError("the offer has no G.711 audio (PCMA or PCMU)")
    mirrored = {"sendonly": "recvonly", "recvonly": "sendonly"}.get(offer.direction, offer.direction)
    return build(host, port, offer.law, offer.event_pt, session_id, mirrored)
