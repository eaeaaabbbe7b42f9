"""Cross-check against an independent V.23 modem: minimodem sends, we decode; we send, it decodes.

What minimodem 0.24 does, checked here rather than assumed:
- ``--tx -R 8000`` writes a 16-bit PCM mono WAV at 8000 Hz at full scale (peak 32767, about
  +3 dBm0), so no conversion is needed; ``--volume`` scales it.
- at 8000 Hz it rounds each bit to 7 whole samples, so it really sends 8000 / 7 = 1142.9 baud,
  4.8 % slow: the decoder has to measure the bit rate, not assume 1200 baud.
- it sends only about 2 bits of mark before the first start bit and after the last stop bit.
- ``--rx -q`` writes the received 8N1 characters, raw, to stdout.
"""

import shutil
import subprocess

import numpy as np
import pytest

from centralino.media import callerid, levels, wavfile
from centralino.media.callerid import CallerId, CallTime

pytestmark = pytest.mark.skipif(not shutil.which("minimodem"), reason="minimodem is not installed "
                                 "(the test setup installs it: apt-get install minimodem)")

V23 = ["--mark", "1300", "--space", "2100", "1200"]
WHEN = CallTime(11, 24, 9, 30)
CASES = [
    CallerId(number="0612345678", name="Comune di Roma", when=WHEN),
    CallerId(number_absent="P", name_absent="P", when=WHEN),
    CallerId(number="+393331234567", name_absent="O"),
    CallerId(number="0612345678", when=WHEN, message_type=0x04),
]


def minimodem_tx(tmp_path, data: bytes, rate: int = 8000, volume: float = 0.5) -> np.ndarray:
    """minimodem's FSK for ``data`` as 8 kHz int16 samples (via sox when sent at another rate)."""
    out = tmp_path / f"tx{rate}.wav"
    subprocess.run(["minimodem", "--tx", "-q", "-f", str(out), "-R", str(rate), "--volume", str(volume), *V23],
                   input=data, check=True, capture_output=True)
    if rate != 8000:
        if not shutil.which("sox"):
            pytest.skip("sox is not installed")
        converted = tmp_path / "tx8000.wav"
        subprocess.run(["sox", str(out), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed", str(converted)],
                       check=True, capture_output=True)
        out = converted
    return wavfile.read_wav(out)


def minimodem_rx(tmp_path, samples: np.ndarray) -> bytes:
    path = tmp_path / "rx.wav"
    wavfile.write_wav(path, samples)
    return subprocess.run(["minimodem", "--rx", "-q", "-f", str(path), *V23],
                          check=True, capture_output=True, timeout=30).stdout


def padded(x: np.ndarray, noise_snr_db: float | None = None, seed: int = 0) -> np.ndarray:
    y = np.concatenate([np.zeros(1203), x.astype(np.float64), np.zeros(1597)])
    if noise_snr_db is not None:
        rms = levels.DBM0_RMS * 10 ** ((levels.power_dbm0(x) - noise_snr_db) / 20)
        y += np.random.default_rng(seed).normal(0, rms, y.size)
    return np.clip(np.rint(y), -32768, 32767).astype(np.int16)


def test_minimodem_writes_8khz_16bit_pcm(tmp_path):
    minimodem_tx(tmp_path, b"\x55", volume=1.0)
    info = wavfile.read_info(tmp_path / "tx8000.wav")
    assert (info.format_name, info.channels, info.sample_rate_hz, info.bits_per_sample) == ("PCM", 1, 8000, 16)
    x = wavfile.read_wav(tmp_path / "tx8000.wav")
    assert np.abs(x).max() > 32000  # full scale at --volume 1.0
    assert x.size == (2 + 10 + 2) * 7  # 2 bits of leader, one character, 2 of trailer, 7 samples a bit


@pytest.mark.parametrize("cid", CASES, ids=["full", "private", "no-date", "sdmf"])
@pytest.mark.parametrize("seizure", [0, 30], ids=["mark-only", "seizure"])
def test_we_decode_minimodem_at_8khz(tmp_path, cid, seizure):
    samples = minimodem_tx(tmp_path, b"\x55" * seizure + callerid.encode_message(cid))
    assert callerid.decode_burst(padded(samples)) == cid


def test_minimodem_at_8khz_is_measured_at_1143_baud(tmp_path):
    samples = minimodem_tx(tmp_path, b"\x55" * 30 + callerid.encode_message(CASES[0]))
    (burst,) = callerid.find_bursts(padded(samples))
    assert burst.cid == CASES[0]
    assert abs(burst.baud - 8000 / 7) < 2


@pytest.mark.parametrize("seed", range(3))
def test_we_decode_minimodem_resampled_from_48khz_in_noise(tmp_path, seed):
    cid = CASES[seed % len(CASES)]
    samples = minimodem_tx(tmp_path, callerid.encode_message(cid), rate=48000, volume=0.1)
    (burst,) = callerid.find_bursts(padded(samples, noise_snr_db=20, seed=seed))
    assert burst.cid == cid
    assert abs(burst.baud - 1200) < 3


def test_we_reject_minimodem_sending_a_bad_checksum(tmp_path):
    message = bytearray(callerid.encode_message(CASES[0]))
    message[-1] ^= 0xFF
    with pytest.raises(callerid.CallerIdError) as info:
        callerid.decode_burst(padded(minimodem_tx(tmp_path, bytes(message))))
    assert info.value.reason == "bad_checksum"


@pytest.mark.parametrize("level", [-6.0, -20.0, -40.0])
def test_minimodem_decodes_our_burst(tmp_path, level):
    cid = CASES[0]
    received = minimodem_rx(tmp_path, padded(callerid.encode_burst(cid, level_dbm0=level)))
    assert callerid.encode_message(cid) in received
    assert received.count(b"\x55") >= 25  # most of the seizure, as 0x55 characters


@pytest.mark.parametrize("cid", CASES[1:], ids=["private", "no-date", "sdmf"])
def test_minimodem_decodes_our_burst_without_seizure_in_noise(tmp_path, cid):
    burst = callerid.encode_burst(cid, level_dbm0=-13, seizure_bits=0)
    assert callerid.encode_message(cid) in minimodem_rx(tmp_path, padded(burst, noise_snr_db=20, seed=4))


def test_receiver_takes_minimodem_frame_by_frame(tmp_path):
    cid = CASES[0]
    samples = padded(minimodem_tx(tmp_path, callerid.encode_message(cid), volume=0.05), noise_snr_db=20, seed=7)
    assert list(callerid.CallerIdReceiver().feed_all(samples)) == [cid]
