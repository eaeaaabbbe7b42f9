"""Caller-ID decoder speed and accuracy, printed as one JSON line.

Speed: 100 bursts, each somewhere inside 3 s of white noise 20 dB below the FSK, decoded one
by one; ``x_realtime`` is audio seconds per CPU second (``time.process_time``), so other load
on the machine does not flatter or spoil it. Accuracy: 200 seeded trials at -40 dBm0 with
20 dB S/N, counted correct only when every field matches what was sent.

Run from the repository root: ``python bench/callerid_speed.py``.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

try:
    import centralino  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "firmware"))

from centralino.media import callerid, levels  # noqa: E402
from centralino.media.callerid import CallerId, CallTime  # noqa: E402

SPEED_BURSTS = 100
SPEED_SECONDS = 3.0
ACCURACY_TRIALS = 200
ACCURACY_LEVEL_DBM0 = -40.0
SNR_DB = 20.0
SAMPLE_RATE_HZ = 8000


def caller(i: int) -> CallerId:
    """A different, valid caller for each trial: numbers, names and absence reasons vary."""
    when = CallTime(1 + i % 12, 1 + i % 28, i % 24, (7 * i) % 60)
    if i % 5 == 4:
        return CallerId(number_absent="PO"[i % 2], name_absent="P", when=when)
    name = None if i % 3 == 0 else f"Utente {i:04d}"
    return CallerId(number=f"06{(i * 7919) % 10**8:08d}", name=name, when=when)


def noisy_signal(cid: CallerId, level_dbm0: float, seconds: float, rng: np.random.Generator) -> np.ndarray:
    burst = callerid.encode_burst(cid, level_dbm0=level_dbm0).astype(np.float64)
    n = int(seconds * SAMPLE_RATE_HZ)
    n = max(n, burst.size + 800)
    start = int(rng.integers(200, n - burst.size - 200))
    x = np.zeros(n)
    x[start:start + burst.size] = burst
    noise_rms = levels.DBM0_RMS * 10 ** ((levels.power_dbm0(burst) - SNR_DB) / 20)
    x += rng.normal(0.0, noise_rms, n)
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def main() -> int:
    rng = np.random.default_rng(20261124)
    signals = [(caller(i), noisy_signal(caller(i), -13.0 - (i % 28), SPEED_SECONDS, rng)) for i in range(SPEED_BURSTS)]
    callerid.decode_burst(signals[0][1])  # warm up numpy's FFT plans and caches
    decoded_ok = 0
    start = time.process_time()
    for cid, signal in signals:
        try:
            decoded_ok += callerid.decode_burst(signal) == cid
        except callerid.CallerIdError:
            pass
    cpu = time.process_time() - start
    audio = sum(s.size for _, s in signals) / SAMPLE_RATE_HZ

    correct, errors = 0, {}
    for i in range(ACCURACY_TRIALS):
        cid = caller(i)
        signal = noisy_signal(cid, ACCURACY_LEVEL_DBM0, 1.5, np.random.default_rng(i))
        try:
            correct += callerid.decode_burst(signal) == cid
        except callerid.CallerIdError as err:
            errors[err.reason] = errors.get(err.reason, 0) + 1

    print(json.dumps({
        "bench": "callerid_decode",
        "x_realtime": round(audio / cpu, 1),
        "audio_seconds": round(audio, 3),
        "cpu_seconds": round(cpu, 4),
        "bursts": SPEED_BURSTS,
        "speed_decoded_ok": decoded_ok,
        "speed_snr_db": SNR_DB,
        "accuracy": correct / ACCURACY_TRIALS,
        "accuracy_trials": ACCURACY_TRIALS,
        "accuracy_level_dbm0": ACCURACY_LEVEL_DBM0,
        "accuracy_snr_db": SNR_DB,
        "accuracy_errors": errors,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
