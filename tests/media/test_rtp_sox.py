"""Interop with sox, a G.711 implementation no one here wrote.

Out: sox synthesises a tone straight to A-law/u-law; sent through RtpSession, the packets'
payloads must be sox's bytes, byte for byte, in order. In: sox decodes the payloads our session
puts on the wire, and what it hears is the tone we spoke.
"""

import asyncio
import shutil
import socket
import subprocess

import numpy as np
import pytest

from centralino.hwsim.clock import run
from centralino.media import g711, tones
from centralino.media.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, saturate
from centralino.media.rtp import RtpSession
from centralino.media.rtp_packet import parse

pytestmark = pytest.mark.skipif(not shutil.which("sox"), reason="sox is installed by `make test`")

SOX_TYPE = {"alaw": "al", "ulaw": "ul"}


def sox_synth(law: str, seconds: float, freq_hz: int) -> bytes:
    cmd = ["sox", "-D", "-n", "-r", "8000", "-c", "1", "-t", SOX_TYPE[law], "-",
           "synth", str(seconds), "sine", str(freq_hz), "vol", "0.3"]
    return subprocess.run(cmd, capture_output=True, check=True).stdout


def sox_decode(law: str, data: bytes) -> np.ndarray:
    cmd = ["sox", "-D", "-t", SOX_TYPE[law], "-r", "8000", "-c", "1", "-", "-t", "s16", "-e", "signed", "-"]
    return np.frombuffer(subprocess.run(cmd, input=data, capture_output=True, check=True).stdout, "<i2")


def send_through_session(law: str, frames) -> list:
    """Send frames through an RtpSession to a plain socket; return the parsed packets."""
    async def main():
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", 0))
        sink.setblocking(False)
        s = RtpSession(law=law, clock=asyncio.get_running_loop().time)
        await s.start()
        s.remote = sink.getsockname()
        packets = []
        for f in frames:
            s.send_frame(f)
            await asyncio.sleep(0.02)
            while True:
                try:
                    packets.append(parse(sink.recv(2048)))
                except BlockingIOError:
                    break
        s.close(), sink.close()
        return packets

    return run(main)


@pytest.mark.parametrize("law", ["alaw", "ulaw"])
def test_payloads_are_sox_bytes_exactly(law):
    theirs = sox_synth(law, 0.5, 1000)
    assert len(theirs) == 4000
    _, decode = g711.codec(law)
    pcm = decode(theirs)
    frames = [pcm[k:k + FRAME_SAMPLES] for k in range(0, len(pcm), FRAME_SAMPLES)]
    packets = send_through_session(law, frames)
    assert len(packets) == 25
    assert {p.payload_type for p in packets} == {8 if law == "alaw" else 0}
    assert b"".join(p.payload for p in packets) == theirs


@pytest.mark.parametrize("law", ["alaw", "ulaw"])
def test_sox_decodes_our_packets_to_the_tone_we_spoke(law):
    spoken = saturate(tones.sine(1300, 0.4, -10.0))
    frames = [spoken[k:k + FRAME_SAMPLES] for k in range(0, len(spoken), FRAME_SAMPLES)]
    packets = send_through_session(law, frames)
    heard = sox_decode(law, b"".join(p.payload for p in packets)).astype(float)
    assert len(heard) == len(spoken)
    error = heard - spoken
    snr_db = 10 * np.log10(np.sum(spoken.astype(float) ** 2) / np.sum(error ** 2))
    assert snr_db > 30  # G.711 gives ~38 dB on a -10 dBm0 tone; a wrong law or byte order gives < 0
    spectrum = np.abs(np.fft.rfft(heard))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE_HZ / len(heard) - 1300) < 10
