"""Whole sentences synthesised with espeak-ng when the configuration is applied, cached on disk.

The voice is espeak-ng's ``it`` at 150 words a minute, the one the shipped prompt set is built with
(tools/build_prompts.py explains why: the only Italian voice in Debian main), so a sentence
rendered here and a recorded word glued after it are the same voice. sox band-limits to the
telephone band and resamples to 8 kHz; the silence at the ends is trimmed, the active level set to
-16 dBm0, and any pause inside longer than ``MAX_GAP_S`` (espeak pauses at commas) is shortened,
so a sentence never sounds broken. Each sentence is cached as ``<sha256 of text and settings>.wav``
in the cache folder: the same text in the same voice is synthesised once, ever.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .frames import SAMPLE_RATE_HZ
from .levels import DBM0_RMS
from .wavfile import WavError, read_wav, write_wav

VOICE = "it"
SPEED_WPM = 150
PITCH = 50
BAND_HZ = (300, 3400)
TARGET_DBM0 = -16.0
PEAK_LIMIT = 0.89 * 32767
BLOCK_S = 0.010
SILENT_BELOW_DB = 40.0   # blocks this far under the loudest are silence
ACTIVE_WITHIN_DB = 25.0  # blocks this close to the loudest count for the speech level
MAX_GAP_S = 0.150        # no pause inside a sentence is longer than this...
KEPT_GAP_S = 0.110       # ...a longer one is shortened to this
SETTINGS = (f"espeak-ng -v {VOICE} -s {SPEED_WPM} -p {PITCH}; sinc {BAND_HZ[0]}-{BAND_HZ[1]}; "
            f"{TARGET_DBM0} dBm0; gaps <= {KEPT_GAP_S}")


class SynthesisError(RuntimeError):
    """A sentence that could not be synthesised (no espeak-ng, or it failed); names the text."""


def default_cache_dir() -> Path:
    """``$CENTRALINO_VOICE_CACHE``, else /var/cache/centralino/voice as root, else ~/.cache."""
    if os.environ.get("CENTRALINO_VOICE_CACHE"):
        return Path(os.environ["CENTRALINO_VOICE_CACHE"])
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/cache/centralino/voice")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "centralino" / "voice"


def available() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


class Synthesiser:
    def __init__(self, cache_dir: str | Path | None = None):
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    def cache_path(self, text: str) -> Path:
        digest = hashlib.sha256(f"{SETTINGS}\n{text}".encode()).hexdigest()[:32]
        return self.cache_dir / f"{digest}.wav"

    def cached(self, text: str) -> np.ndarray | None:
        path = self.cache_path(text)
        if not path.is_file():
            return None
        try:
            return read_wav(path)
        except WavError:
            return None  # a damaged cache file is made again

    def render(self, text: str) -> np.ndarray:
        """The sentence as 8 kHz int16, from the cache or synthesised now (and cached)."""
        samples = self.cached(text)
        if samples is not None:
            return samples
        samples = finish(synthesise(text), text)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path = self.cache_path(text)
        fd, tmp = tempfile.mkstemp(dir=self.cache_dir, suffix=".tmp")
        os.close(fd)
        try:
            write_wav(tmp, samples)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return samples


def synthesise(text: str) -> np.ndarray:
    """espeak-ng then sox: float samples at 8 kHz in the telephone band."""
    if not available():
        raise SynthesisError(f"cannot say {text!r}: espeak-ng and sox are needed to synthesise it "
                             "(apt-get install espeak-ng sox), or record it")
    with tempfile.TemporaryDirectory(prefix="centralino-tts-") as workdir:
        raw = Path(workdir) / "s.wav"
        speak = subprocess.run(["espeak-ng", "-v", VOICE, "-s", str(SPEED_WPM), "-p", str(PITCH), "--stdin",
                                "-w", str(raw)], input=text.encode(), capture_output=True)
        if speak.returncode or not raw.is_file():
            raise SynthesisError(f"cannot say {text!r}: espeak-ng failed: "
                                 f"{speak.stderr.decode(errors='replace').strip()}")
        convert = subprocess.run(["sox", "-D", str(raw), "-t", "raw", "-e", "signed-integer", "-b", "16", "-L",
                                  "-c", "1", "-", "sinc", "-t", "100", f"{BAND_HZ[0]}-{BAND_HZ[1]}", "rate", "-v",
                                  str(SAMPLE_RATE_HZ)], capture_output=True)
        if convert.returncode:
            raise SynthesisError(f"cannot say {text!r}: sox failed: "
                                 f"{convert.stderr.decode(errors='replace').strip()}")
    return np.frombuffer(convert.stdout, dtype="<i2").astype(np.float64)


def block_db(x: np.ndarray) -> np.ndarray:
    n = int(BLOCK_S * SAMPLE_RATE_HZ)
    blocks = np.asarray(x, dtype=np.float64)[: len(x) // n * n].reshape(-1, n)
    return 10 * np.log10(np.mean(blocks * blocks, axis=1) + 1e-9)


def longest_gap_s(samples: np.ndarray, below_db: float = SILENT_BELOW_DB) -> float:
    """The longest pause inside ``samples`` (blocks ``below_db`` under the loudest), in seconds."""
    db = block_db(samples)
    if len(db) == 0:
        return 0.0
    loud = db > db.max() - below_db
    inside = np.flatnonzero(loud)
    if len(inside) == 0:
        return 0.0
    longest = run = 0
    for is_loud in loud[inside[0]:inside[-1] + 1]:
        run = 0 if is_loud else run + 1
        longest = max(longest, run)
    return longest * BLOCK_S


def active_level_dbm0(samples: np.ndarray) -> float:
    """The speech level over the blocks within ``ACTIVE_WITHIN_DB`` of the loudest (roughly P.56)."""
    db = block_db(samples)
    active = db[db > db.max() - ACTIVE_WITHIN_DB]
    rms = np.sqrt(np.mean(10 ** (active / 10)))
    return float(20 * np.log10(rms / DBM0_RMS))


def _shorten_gaps(x: np.ndarray, db: np.ndarray) -> np.ndarray:
    n = int(BLOCK_S * SAMPLE_RATE_HZ)
    quiet = db <= db.max() - SILENT_BELOW_DB
    keep_blocks = int(KEPT_GAP_S / BLOCK_S)
    max_blocks = int(MAX_GAP_S / BLOCK_S)
    pieces, index, total = [], 0, len(db)
    while index < total:
        end = index
        while end < total and quiet[end] == quiet[index]:
            end += 1
        if quiet[index] and end - index > max_blocks:
            half = keep_blocks // 2  # keep the edges of the pause, drop its middle
            pieces.append(x[index * n:(index + half) * n])
            pieces.append(x[(end - (keep_blocks - half)) * n:end * n])
        else:
            pieces.append(x[index * n:end * n])
        index = end
    pieces.append(x[total * n:])
    return np.concatenate(pieces)


def finish(x: np.ndarray, text: str) -> np.ndarray:
    """Trim the ends, shorten long pauses inside, set the level: int16 ready to play."""
    db = block_db(x)
    if len(db) == 0 or db.max() < 0:
        raise SynthesisError(f"cannot say {text!r}: the synthesiser produced no sound")
    n = int(BLOCK_S * SAMPLE_RATE_HZ)
    loud = np.flatnonzero(db > db.max() - SILENT_BELOW_DB)
    x = x[loud[0] * n: (loud[-1] + 1) * n]
    x = _shorten_gaps(x, block_db(x))
    db = block_db(x)
    active = db[db > db.max() - ACTIVE_WITHIN_DB]
    gain = DBM0_RMS * 10 ** (TARGET_DBM0 / 20) / np.sqrt(np.mean(10 ** (active / 10)))
    gain = min(gain, PEAK_LIMIT / max(1.0, float(np.max(np.abs(x)))))
    ramp = np.sin(np.linspace(0, np.pi / 2, min(40, len(x) // 2))) ** 2
    x = x.copy()
    x[: len(ramp)] *= ramp
    x[len(x) - len(ramp):] *= ramp[::-1]
    return np.clip(np.rint(x * gain), -32768, 32767).astype(np.int16)
