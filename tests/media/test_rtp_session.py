"""RtpSession over real UDP sockets on 127.0.0.1, driven tick by tick on the virtual clock.

Each party speaks its own test tone, so a test can prove who hears whom. Loopback delivery is
immediate, so after ``await tick()`` every datagram sent in the tick has been received.
"""

import asyncio
import logging
import socket

import numpy as np
import pytest

from centralino.hwsim.clock import run
from centralino.media import g711, tones
from centralino.media.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, saturate
from centralino.media.rtp import RtpSession
from centralino.media.rtp_packet import build, parse

TICK_S = 0.02
LOCAL = "127.0.0.1"


def voice(freq_hz, n_frames, level_dbm0=-12.0):
    sig = saturate(tones.sine(freq_hz, n_frames * FRAME_SAMPLES / SAMPLE_RATE_HZ, level_dbm0))
    return [sig[k * FRAME_SAMPLES:(k + 1) * FRAME_SAMPLES] for k in range(n_frames)]


def tone_power(samples, freq_hz):
    """Goertzel-style single-bin DFT magnitude, normalised per sample."""
    x = np.asarray(samples, dtype=float)
    n = np.arange(len(x))
    return abs(np.dot(x, np.exp(-2j * np.pi * freq_hz * n / SAMPLE_RATE_HZ))) / len(x)


async def tick():
    await asyncio.sleep(TICK_S)


async def started(**kw):
    kw.setdefault("clock", asyncio.get_running_loop().time)
    s = RtpSession(**kw)
    await s.start()
    return s


async def pair(**kw):
    a, b = await started(name="a", **kw), await started(name="b", **kw)
    a.remote, b.remote = (LOCAL, b.local_port), (LOCAL, a.local_port)
    return a, b


class Relay(asyncio.DatagramProtocol):
    """A UDP hop between two sessions that drops or holds chosen packets (by arrival index)."""

    def __init__(self, target, drop=(), hold=None):
        self.target, self.drop, self.hold = target, set(drop), dict(hold or {})
        self.index, self.waiting, self.transport = 0, [], None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        i, self.index = self.index, self.index + 1
        if i in self.drop:
            return
        self.waiting.append([self.hold.get(i, 0), data, i in self.hold])

    def step(self):
        """Called once per tick: forward what is due, fresh packets before held ones (so a held
        packet goes out after the one that overtook it); age the rest."""
        ready = sorted((w for w in self.waiting if w[0] <= 0), key=lambda w: w[2])
        self.waiting = [w for w in self.waiting if w[0] > 0]
        for w in self.waiting:
            w[0] -= 1
        for _, data, _held in ready:
            self.transport.sendto(data, self.target)


async def relay_between(sender, receiver, **plan):
    loop = asyncio.get_running_loop()
    transport, relay = await loop.create_datagram_endpoint(
        lambda: Relay((LOCAL, receiver.local_port), **plan), local_addr=(LOCAL, 0))
    sender.remote = transport.get_extra_info("sockname")[:2]
    return relay


def raw_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOCAL, 0))
    s.setblocking(False)
    return s


def drain(sock):
    out = []
    while True:
        try:
            out.append(sock.recv(2048))
        except BlockingIOError:
            return out


@pytest.mark.parametrize("law", ["alaw", "ulaw"])
def test_two_sessions_hear_each_others_tone_and_not_their_own(law):
    async def main():
        a, b = await pair(law=law)
        a_says, b_says = voice(1000, 50), voice(400, 50)
        heard_by_a, heard_by_b = [], []
        for k in range(50):
            a.send_frame(a_says[k])
            b.send_frame(b_says[k])
            await tick()
            heard_by_a.append(a.receive_frame())
            heard_by_b.append(b.receive_frame())
        a.close(), b.close()
        return np.concatenate(heard_by_a[5:]), np.concatenate(heard_by_b[5:]), a, b

    at_a, at_b, a, b = run(main)
    assert tone_power(at_b, 1000) > 1000 and tone_power(at_b, 400) < 20
    assert tone_power(at_a, 400) > 1000 and tone_power(at_a, 1000) < 20
    assert b.stats.lost == 0 and b.stats.received == 50 and a.stats.sent == 50
    assert a.payload_type == {"alaw": 8, "ulaw": 0}[law]


def test_packets_carry_rfc3550_fields_and_the_encoded_frame():
    async def main():
        sink = raw_socket()
        a = await started(name="a")
        a.remote = sink.getsockname()
        frames = voice(1000, 6)
        for f in frames[:3]:
            a.send_frame(f)
        a.send_frame(None)  # nothing to say: no packet, but time goes on
        for f in frames[3:]:
            a.send_frame(f)
        await tick()
        packets = [parse(d) for d in drain(sink)]
        a.close(), sink.close()
        return a, frames, packets

    a, frames, packets = run(main)
    assert len(packets) == 6
    assert {p.ssrc for p in packets} == {a.ssrc} and {p.payload_type for p in packets} == {8}
    seqs = [p.sequence for p in packets]
    assert all((s2 - s1) % 65536 == 1 for s1, s2 in zip(seqs, seqs[1:]))
    steps = [(p2.timestamp - p1.timestamp) % (1 << 32) for p1, p2 in zip(packets, packets[1:])]
    assert steps == [160, 160, 320, 160, 160]  # the silent tick still advanced the clock
    assert [p.marker for p in packets] == [True, False, False, True, False, False]  # talkspurts
    assert all(p.payload == g711.alaw_encode(f).tobytes() for p, f in zip(packets, frames))


def test_reordering_and_loss_through_a_relay_are_counted_and_the_tone_survives():
    async def main():
        a, b = await pair()
        drop = {10, 25, 40}
        relay = await relay_between(a, b, drop=drop, hold={12: 1, 30: 1})
        b.remote = None  # learn the relay as the source
        says = voice(1000, 60)
        heard = []
        for k in range(60):
            a.send_frame(says[k])
            await tick()
            relay.step()
            await tick()  # let the relayed datagrams land before the pull
            heard.append(b.receive_frame())
        a.close(), b.close(), relay.transport.close()
        return b, heard

    b, heard = run(main)
    assert b.stats.lost == 3
    assert b.stats.reordered == 2  # 13 overtook 12, 31 overtook 30
    assert b.stats.late == 0 and b.stats.duplicate == 0
    silent = [k for k, f in enumerate(heard) if not f.any()]
    assert len(silent) <= 3 + 2  # the three losses plus prefetch
    assert tone_power(np.concatenate(heard[5:]), 1000) > 900


def test_sequence_and_timestamp_wrap_over_udp():
    async def main():
        a = await started(name="a", initial_sequence=65530, initial_timestamp=(1 << 32) - 4 * 160)
        b = await started(name="b")
        a.remote = (LOCAL, b.local_port)
        heard = []
        for f in voice(1000, 30):
            a.send_frame(f)
            await tick()
            heard.append(b.receive_frame())
        a.close(), b.close()
        return b, heard

    b, heard = run(main)
    assert b.stats.received == 30 and b.stats.lost == 0 and b.stats.reordered == 0
    assert b.stats.concealed == 0 and b.stats.late == 0
    assert all(tone_power(f, 1000) > 1000 for f in heard[2:])  # no gap at the wrap


def test_rfc4733_digits_both_ways_each_reported_once():
    async def main():
        a, b = await pair()
        got_a, got_b = [], []
        a.on_digit, b.on_digit = got_a.append, got_b.append
        for d in "1#9":
            a.send_digit(d)
        b.send_digit("*", duration_ms=160)
        silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        while a.sending_digits or b.sending_digits:
            a.send_frame(silence)
            b.send_frame(silence)
            await tick()
            a.receive_frame(), b.receive_frame()
        a.close(), b.close()
        return a, b, got_a, got_b

    a, b, got_a, got_b = run(main)
    assert got_b == ["1", "#", "9"] and got_a == ["*"]
    assert a.stats.sent_events == 3 * (5 + 2)  # 5 ticks of 100 ms, end packet sent 3 times
    assert b.stats.sent_events == 8 + 2


def test_voice_pauses_during_an_event_and_resumes_with_a_marker():
    async def main():
        sink = raw_socket()
        a = await started(name="a")
        a.remote = sink.getsockname()
        for f in voice(1000, 3):
            a.send_frame(f)
        a.send_digit("5", duration_ms=60)
        for f in voice(1000, 6):
            a.send_frame(f)
        await tick()
        out = [parse(d) for d in drain(sink)]
        a.close(), sink.close()
        return out

    packets = run(main)
    kinds = [p.payload_type for p in packets]
    assert kinds == [8, 8, 8, 101, 101, 101, 101, 101, 8, 8, 8]
    events = [p for p in packets if p.payload_type == 101]
    assert len({p.timestamp for p in events}) == 1 and events[0].marker and not events[1].marker
    assert packets[8].marker and packets[8].timestamp - packets[2].timestamp == 4 * 160
    seqs = [p.sequence for p in packets]
    assert seqs == list(range(seqs[0], seqs[0] + 11))  # events share the sequence space


def test_inband_fallback_plays_and_detects_dtmf_when_no_event_type_is_negotiated():
    async def main():
        a, b = await pair(dtmf_payload_type=None)
        got = []
        b.on_digit = got.append
        a.send_digit("7")
        a.send_digit("0")
        silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        for _ in range(30):
            a.send_frame(silence)
            b.send_frame(silence)
            await tick()
            b.receive_frame()
        a.close(), b.close()
        return a, b, got

    a, b, got = run(main)
    assert got == ["7", "0"]
    assert a.stats.sent_events == 0 and a.stats.sent == 30  # tones inside voice packets
    assert b.inband_dtmf and not RtpSession().inband_dtmf


def test_garbage_datagrams_are_counted_dropped_and_logged_once_per_source(caplog):
    async def main():
        a, b = await pair()
        evil, evil2 = raw_socket(), raw_socket()
        target = (LOCAL, b.local_port)
        garbage = [b"", b"\x80", b"hello world, not rtp", bytes(range(256)), bytes([0x40]) + b"\x00" * 30,
                   bytes([0x80, 0xC8]) + b"\x00" * 26, build(96, 1, 1, 1, b"\xd5" * 160)]
        for g in garbage:
            evil.sendto(g, target)
        evil2.sendto(b"\xff" * 3, target)
        heard = []
        for f in voice(1000, 10):
            a.send_frame(f)
            await tick()
            heard.append(b.receive_frame())
        # a valid-looking voice packet from a stranger is not mixed in
        evil.sendto(build(8, 0, 0, 5, b"\x00" * 160), target)
        await tick()
        for s in (evil, evil2):
            s.close()
        a.close(), b.close()
        return b, heard

    with caplog.at_level(logging.WARNING, logger="centralino.rtp"):
        b, heard = run(main)
    assert b.stats.bad == 7  # six malformed from the first source, one from the second
    assert b.stats.unknown_payload == 1 and b.stats.foreign == 1
    assert b.stats.received == 10 and b.stats.lost == 0
    assert tone_power(np.concatenate(heard[2:]), 1000) > 1000
    warnings = [r for r in caplog.records if r.name == "centralino.rtp" and r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one per misbehaving source


def test_symmetric_rtp_learns_the_remote_from_the_first_valid_packet():
    async def main():
        phone = await started(name="phone")
        pbx = await started(name="pbx")  # remote unknown: the phone is behind NAT
        phone.remote = (LOCAL, pbx.local_port)
        pbx.send_frame(voice(400, 1)[0])  # nowhere to send yet
        heard_by_phone = []
        for a, b in zip(voice(1000, 20), voice(400, 20)):
            phone.send_frame(a)
            pbx.send_frame(b)
            await tick()
            heard_by_phone.append(phone.receive_frame())
            pbx.receive_frame()
        phone.close(), pbx.close()
        return phone, pbx, heard_by_phone

    phone, pbx, heard = run(main)
    assert pbx.remote == (LOCAL, phone.local_port)
    assert pbx.stats.unsent == 2 and pbx.stats.sent == 19  # the 2nd tick still had no packet in
    assert tone_power(np.concatenate(heard[3:]), 400) > 1000


def test_symmetric_option_relatches_after_the_sdp_address_and_strict_mode_does_not():
    async def main():
        out = {}
        for symmetric in (True, False):
            phone = await started(name="phone")
            pbx = await started(name="pbx", symmetric=symmetric)
            pbx.remote = (LOCAL, 9)  # what the NAT'd phone's SDP said: useless
            phone.remote = (LOCAL, pbx.local_port)
            for f in voice(1000, 5):
                phone.send_frame(f)
                await tick()
                pbx.receive_frame()
            out[symmetric] = (pbx.remote, phone.local_port, pbx.stats.foreign)
            phone.close(), pbx.close()
        return out

    out = run(main)
    remote, phone_port, foreign = out[True]
    assert remote == (LOCAL, phone_port) and foreign == 0
    remote, phone_port, foreign = out[False]
    assert remote == (LOCAL, 9) and foreign == 5


def test_remote_change_on_reinvite_moves_the_stream():
    async def main():
        a = await started(name="a")
        old, new = raw_socket(), raw_socket()
        a.remote = old.getsockname()
        a.send_frame(voice(1000, 1)[0])
        a.remote = new.getsockname()
        a.send_frame(voice(1000, 1)[0])
        await tick()
        got = len(drain(old)), len(drain(new))
        old.close(), new.close(), a.close()
        return got

    assert run(main) == (1, 1)


def test_ephemeral_ports_are_even_and_distinct():
    async def main():
        sessions = [await started() for _ in range(6)]
        ports = [s.local_port for s in sessions]
        for s in sessions:
            s.close()
        return ports

    ports = run(main)
    assert all(p % 2 == 0 for p in ports) and len(set(ports)) == 6


def test_bad_arguments_get_clear_errors():
    s = RtpSession(name="sip:trunk")
    with pytest.raises(ValueError, match=r"sip:trunk: send_frame takes 160 int16 samples, got \(80,\)"):
        s.send_frame(np.zeros(80, dtype=np.int16))
    with pytest.raises(ValueError, match="float64"):
        s.send_frame(np.zeros(160))
    with pytest.raises(ValueError, match="not a DTMF key"):
        s.send_digit("x")
    with pytest.raises(ValueError, match="not .IP address, port."):
        s.remote = ("pbx.example", 5004)
    with pytest.raises(ValueError, match="unknown G.711 law"):
        s.set_codec("g729")
    with pytest.raises(ValueError, match="equals the voice payload type"):
        s.dtmf_payload_type = 8
    s.set_codec("ulaw", 0)
    assert (s.law, s.payload_type) == ("ulaw", 0)


def test_a_failing_digit_listener_does_not_stop_the_media():
    async def main():
        a, b = await pair()

        def broken(digit):
            raise RuntimeError("listener bug")

        b.on_digit = broken
        a.send_digit("3", duration_ms=40)
        heard = []
        for f in voice(1000, 12):
            a.send_frame(f)
            await tick()
            heard.append(b.receive_frame())
        a.close(), b.close()
        return b, heard

    b, heard = run(main)
    assert b.stats.digits_received == 1
    assert tone_power(heard[-1], 1000) > 1000


def test_comfort_noise_fills_gaps_at_the_signalled_level():
    async def main():
        b = await started(name="b")
        peer = raw_socket()
        target = (LOCAL, b.local_port)
        frames = []
        for k in range(4):
            peer.sendto(build(8, k, k * 160, 77, g711.alaw_encode(voice(1000, 1)[0]).tobytes()), target)
            await tick()
            frames.append(b.receive_frame())
        peer.sendto(build(13, 4, 4 * 160, 77, bytes([40])), target)  # CN at -40 dBov
        for _ in range(8):
            await tick()
            frames.append(b.receive_frame())
        peer.close(), b.close()
        return b, frames

    b, frames = run(main)
    assert b.stats.comfort_noise == 1 and b.stats.lost == 0
    rms = np.sqrt(np.mean(np.concatenate(frames[-4:]).astype(float) ** 2))
    assert 100 < rms < 350  # -40 dBov of 23170 rms is 232
