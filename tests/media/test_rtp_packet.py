"""RTP header and RFC 4733 payloads: exact bytes, every malformed case refused with a reason."""

import struct

import pytest

from centralino.media import rtp_packet, telephone_event
from centralino.media.rtp_packet import RtpFormatError, RtpPacket, build, parse
from centralino.media.telephone_event import EventReceiver, EventSender, TelephoneEvent, parse_event


def test_header_bytes_follow_rfc3550():
    data = build(8, 0x1234, 0xDEADBEEF, 0x01020304, b"\xd5" * 160, marker=True)
    assert data[:12] == bytes([0x80, 0x88, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4])
    assert len(data) == 172


def test_build_and_parse_round_trip_with_wrap_values():
    data = build(0, 65536 + 5, (1 << 32) + 7, 0xFFFFFFFF, b"abc")
    p = parse(data)
    assert (p.payload_type, p.sequence, p.timestamp, p.ssrc, p.payload, p.marker) == (0, 5, 7, 0xFFFFFFFF, b"abc", False)


def test_csrcs_extension_and_padding_are_skipped():
    header = bytes([0x80 | 0x20 | 0x10 | 2, 8]) + struct.pack("!HII", 1, 160, 42)
    csrcs = struct.pack("!II", 7, 9)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\x00\x00\x00\x00"
    data = header + csrcs + extension + b"PAYLOAD" + b"\x00\x00\x03"
    p = parse(data)
    assert p.payload == b"PAYLOAD" and p.csrcs == (7, 9)
    assert parse(RtpPacket(8, 1, 2, 3, b"x", csrcs=(5,)).to_bytes()).csrcs == (5,)


@pytest.mark.parametrize("data, problem", [
    (b"", "shorter"),
    (b"\x80\x08\x00", "shorter"),
    (bytes([0x40, 8]) + b"\x00" * 10, "version 1"),
    (bytes([0x0F, 8]) + b"\x00" * 10, "version 0"),
    (bytes([0x83, 8]) + b"\x00" * 10 + b"\x00" * 4, "CSRCs"),
    (bytes([0x90, 8]) + b"\x00" * 10 + b"\x00\x00", "extension truncated"),
    (bytes([0x90, 8]) + b"\x00" * 10 + b"\x00\x00\x00\x09", "does not fit"),
    (bytes([0xA0, 8]) + b"\x00" * 10 + b"\x00", "padding count 0"),
    (bytes([0xA0, 8]) + b"\x00" * 10 + b"\x40", "padding count 64"),
    (bytes([0x80, 0xC8]) + b"\x00" * 26, "RTCP"),  # an RTCP sender report on the RTP port
])
def test_malformed_datagrams_raise_a_format_error_naming_the_problem(data, problem):
    with pytest.raises(RtpFormatError, match=problem):
        parse(data)


def test_payload_type_out_of_range_is_refused_on_build():
    with pytest.raises(ValueError, match="payload type 128"):
        RtpPacket(128, 0, 0, 0, b"").to_bytes()


def test_event_payload_bytes_follow_rfc4733():
    assert TelephoneEvent(11, True, 10, 800).to_bytes() == bytes([11, 0x80 | 10, 0x03, 0x20])
    e = parse_event(bytes([5, 10, 0x01, 0x40]))
    assert (e.digit, e.end, e.volume, e.duration) == ("5", False, 10, 320)
    assert parse_event(bytes([16, 0, 0, 0])).digit is None  # flash is not a key
    with pytest.raises(ValueError, match="3 bytes"):
        parse_event(b"\x01\x02\x03")


def test_sender_emits_growing_durations_then_three_identical_end_packets():
    s = EventSender()
    s.queue("#", 100)
    out = []
    ts = 1000
    while True:
        r = s.next(ts)
        if r is None:
            break
        out.append(r)
        ts += 160
    assert all(start == 1000 for start, _ in out)  # every packet carries the event's start
    packets = [p for _, ticks in out for p in ticks]
    assert [p.event.duration for p in packets] == [160, 320, 480, 640, 800, 800, 800]
    assert [p.event.end for p in packets] == [False] * 4 + [True] * 3
    assert [p.marker for p in packets] == [True] + [False] * 6
    assert {p.event.code for p in packets} == {11}
    assert len(out) == 5  # five ticks: 100 ms


def test_sender_keeps_queued_digits_apart():
    s = EventSender()
    s.queue("1", 40)
    s.queue("1", 40)
    starts = []
    for tick in range(12):
        r = s.next(tick * 160)
        if r is not None and r[1][0].marker:
            starts.append(r[0])
    assert len(starts) == 2 and starts[1] - starts[0] >= 4 * 160  # 40 ms event + 40 ms gap
    assert not s.busy


@pytest.mark.parametrize("digit, duration", [("x", 100), ("12", 100), ("", 100), ("5", 10), ("5", 9000)])
def test_sender_refuses_bad_keys_and_durations(digit, duration):
    with pytest.raises(ValueError):
        EventSender().queue(digit, duration)


def test_receiver_reports_each_event_once_even_if_only_end_packets_arrive():
    r = EventReceiver()
    start = TelephoneEvent(7, False, 10, 160).to_bytes()
    end = TelephoneEvent(7, True, 10, 480).to_bytes()
    assert [r.feed(1, 5000, p) for p in (start, start, end, end, end)] == ["7", None, None, None, None]
    assert r.feed(1, 9000, end) == "7"  # a new timestamp is a new key even with the start lost
    assert r.feed(2, 9000, end) == "7"  # and so is a new stream
    assert telephone_event.event_code("d") == 15 and rtp_packet.HEADER_BYTES == 12
