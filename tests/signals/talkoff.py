"""The DTMF talk-off corpus: synthesised Italian speech and synthesised music, as 8 kHz int16.

A DTMF detector must stay silent on everything that is not a key. This module builds the signals
it is tested on:

- ``build_speech``: the original Italian text in ``talkoff_it.txt`` (switchboard phrases, office
  hours, numbers, addresses, dialogues, tongue twisters), spoken by espeak-ng with many voice
  variants, speeds and pitches, resampled to 8 kHz by sox and set to an active speech level
  (ITU-T P.56 method B) drawn between -30 and -10 dBm0. The text is cut into chunks of a few
  lines; the chunks are taken in a seeded shuffled order, each with the next voice of ``VOICES``
  and a seeded speed, pitch and level, until the clips add up to ``min_seconds``. Clip ``i`` is
  always the same, whatever ``min_seconds`` is, so a short corpus is a prefix of a long one.
  The result is cached under ``cache_dir`` keyed by every input, espeak-ng's and sox's versions.
- ``build_music``: numpy-synthesised pieces (organ, strings, piano, brass, guitar, accordion,
  electric piano, clarinet, flute) with equal-tempered melodies and 3-4 note chords whose
  fundamentals lie between 200 and 2000 Hz, harmonic timbres with envelopes, vibrato and
  percussion, at several tempi and at levels between -25 and -10 dBm0. Every note has harmonics
  (or partials) of real weight: a bare two-sine dyad on a DTMF row/column pair would be a key.

Labels are ``_``-separated fields: speech ``0007_c042_it+f2_s175_p40_-18.3dBm0`` (clip, text chunk,
voice, words per minute, pitch, target level); music ``m03_brass-march_112bpm_-14.0dBm0``.
``parse_label`` turns one into a dict.

CLI, from the repository root: ``python -m tests.signals.talkoff --out DIR`` writes every clip
as a WAV file and prints the durations.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from centralino.media.frames import SAMPLE_RATE_HZ, saturate
from centralino.media.levels import DBM0_RMS, SILENCE_DBM0, power_dbm0

TEXT_PATH = Path(__file__).with_name("talkoff_it.txt")
REPO_ROOT = Path(__file__).resolve().parents[2]

# Bump when anything below changes what is synthesised (it is part of the cache key).
CORPUS_FORMAT = 1

# espeak-ng voice/variant combinations. Chosen to spread the voice source over as many pitch
# registers and glottal/formant models as espeak-ng offers for Italian: the default voice, five
# male variants (m1, m3, m7, m8, Mario) and five female ones (f1-f5), two Klatt-synthesiser
# variants (a different voice source altogether) and two high, bright voices (Andrea, anika).
# With -p 20..80 the median f0 spans about 80 Hz (m8) to 330 Hz (Andrea).
# Left out: whisper variants (no voicing, so no harmonics: not a talk-off test), klatt6 (same
# samples as klatt), Marco (a formant at 10% of its normal frequency), croak (mostly unvoiced).
VOICES = (
    "it",
    "it+m1",
    "it+f2",
    "it+m3",
    "it+f1",
    "it+klatt",
    "it+m7",
    "it+f3",
    "it+m8",
    "it+f4",
    "it+klatt4",
    "it+f5",
    "it+Mario",
    "it+Andrea",
    "it+anika",
)
SPEED_WPM = (120, 220)
PITCH = (20, 80)
SPEECH_LEVEL_DBM0 = (-30.0, -10.0)
MUSIC_LEVEL_DBM0 = (-25.0, -10.0)
LINES_PER_CHUNK = 3
# espeak-ng's own amplitude: 100 (its default) clips inside espeak-ng for the louder variants
# (Andrea, antonio, Marco) at high pitch; the level is set afterwards anyway.
ESPEAK_AMPLITUDE = 50
WORKERS = max(1, min(4, os.cpu_count() or 1))
# Music fundamentals stay in 200-2000 Hz: MIDI 56 (207.7 Hz) to 95 (1975.5 Hz).
MIDI_LOW, MIDI_HIGH = 56, 95
NYQUIST_GUARD_HZ = 3800.0


# ----------------------------------------------------------------------------------------------
# Active speech level (ITU-T P.56, method B)


def active_level_dbm0(samples: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> float:
    """Active speech level in dBm0 after ITU-T P.56 method B (for 16-bit sample values).

    The envelope is |x| smoothed by two cascaded one-pole filters (30 ms); a sample is active
    while the envelope is above a threshold c or was within the last 200 ms (hangover). For the
    thresholds c = 1, 2, 4 ... 32768, A(c) is the mean square over the active samples; the active
    level is the A where A - 20 log10(c) falls to the margin of 15.9 dB (interpolated).
    """
    x = np.asarray(samples, dtype=np.float64)
    n = x.size
    energy = float(np.dot(x, x))
    if n == 0 or energy <= 0.0:
        return SILENCE_DBM0
    g = math.exp(-1.0 / (0.03 * sample_rate_hz))
    taps = int(20 * 0.03 * sample_rate_hz)  # g**taps = e**-20
    k = np.arange(taps)
    kernel = (1.0 - g) ** 2 * (k + 1) * g ** k  # impulse response of the two smoothers in cascade
    size = 1 << int(math.ceil(math.log2(n + taps)))
    envelope = np.fft.irfft(np.fft.rfft(np.abs(x), size) * np.fft.rfft(kernel, size), size)[:n]
    hangover = int(0.2 * sample_rate_hz)
    index = np.arange(n)
    margin_db = 15.9
    thresholds = 2.0 ** np.arange(16)
    prev = None
    for c in thresholds:
        above = np.where(envelope >= c, index, -hangover - 1)
        active = int(np.count_nonzero(index - np.maximum.accumulate(above) <= hangover))
        if active == 0:
            break
        a_db = 10.0 * math.log10(energy / active)
        diff = a_db - 20.0 * math.log10(c)
        if diff <= margin_db:
            if prev is None:
                level_db = a_db
            else:
                p_a, p_diff = prev
                t = (p_diff - margin_db) / (p_diff - diff) if p_diff != diff else 0.0
                level_db = p_a + t * (a_db - p_a)
            return level_db - 20.0 * math.log10(DBM0_RMS)
        prev = (a_db, diff)
    if prev is None:
        return SILENCE_DBM0
    return prev[0] - 20.0 * math.log10(DBM0_RMS)


def _set_level(x: np.ndarray, target_dbm0: float, measure) -> np.ndarray:
    """Scale float samples to ``target_dbm0`` as ``measure`` sees it, then saturate to int16."""
    y = saturate(x * 10.0 ** ((target_dbm0 - measure(x)) / 20.0))
    # clipping the loudest peaks (realistic at -10 dBm0) lowers the level a little: correct once
    error = target_dbm0 - measure(y)
    if abs(error) > 0.05:
        y = saturate(x * 10.0 ** ((target_dbm0 - measure(x) + error) / 20.0))
    return y


# ----------------------------------------------------------------------------------------------
# Speech


@dataclass(frozen=True)
class SpeechJob:
    """One espeak-ng run: a chunk of text with its voice settings and target level."""

    index: int
    chunk: int
    text: str
    voice: str
    speed_wpm: int
    pitch: int
    level_dbm0: float

    @property
    def label(self) -> str:
        return (f"{self.index:04d}_c{self.chunk:03d}_{self.voice}_s{self.speed_wpm}_p{self.pitch}"
                f"_{self.level_dbm0:.1f}dBm0")


def text_chunks(text: str | None = None, lines_per_chunk: int = LINES_PER_CHUNK) -> list[str]:
    """The corpus text cut into chunks of up to ``lines_per_chunk`` lines, never across a blank line."""
    if text is None:
        text = TEXT_PATH.read_text(encoding="utf-8")
    chunks: list[str] = []
    current: list[str] = []
    for raw in text.splitlines() + [""]:
        line = raw.strip()
        if line.startswith("#"):
            continue
        if line:
            current.append(line)
        if current and (not line or len(current) == lines_per_chunk):
            chunks.append("\n".join(current))
            current = []
    return chunks


def plan_speech(chunks: list[str], seed: int = 1):
    """Endless deterministic sequence of jobs: shuffled passes over the chunks, voices in turn."""
    rng = np.random.default_rng(seed)
    index = 0
    while True:
        for chunk in rng.permutation(len(chunks)).tolist():
            yield SpeechJob(
                index=index,
                chunk=chunk,
                text=chunks[chunk],
                voice=VOICES[index % len(VOICES)],
                speed_wpm=int(rng.integers(SPEED_WPM[0], SPEED_WPM[1] + 1)),
                pitch=int(rng.integers(PITCH[0], PITCH[1] + 1)),
                level_dbm0=round(float(rng.uniform(*SPEECH_LEVEL_DBM0)), 1),
            )
            index += 1


def _tool_versions() -> str:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"the talk-off speech corpus needs {' and '.join(missing)} "
                           "(Debian packages espeak-ng and sox; `make test` installs them)")
    espeak = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    sox = subprocess.run(["sox", "--version"], capture_output=True, text=True, check=True).stdout
    return espeak.strip() + "\n" + sox.strip()


def synthesise(job: SpeechJob) -> np.ndarray:
    """espeak-ng -> sox: the job's text as float64 samples at 8 kHz (int16 scale, level not set)."""
    espeak = subprocess.run(
        ["espeak-ng", "-v", job.voice, "-s", str(job.speed_wpm), "-p", str(job.pitch),
         "-a", str(ESPEAK_AMPLITUDE), "-b", "1", "--stdin", "--stdout"],
        input=job.text.encode("utf-8"), capture_output=True, check=True)
    # -R: repeatable, -D: no dither; float output so nothing clips before the level is set
    sox = subprocess.run(
        ["sox", "-R", "-D", "-q", "-t", "wav", "-", "-t", "raw", "-e", "floating-point", "-b", "32",
         "-c", "1", "-r", str(SAMPLE_RATE_HZ), "-", "rate", "-h"],
        input=espeak.stdout, capture_output=True, check=True)
    x = np.frombuffer(sox.stdout, dtype="<f4").astype(np.float64) * 32768.0
    if x.size == 0 or not np.any(x):
        raise RuntimeError(f"espeak-ng produced no audio for {job.label}: {espeak.stderr.decode()!r}")
    return x


def _render(job: SpeechJob) -> np.ndarray:
    return _set_level(synthesise(job), job.level_dbm0, active_level_dbm0)


def _estimate_seconds(job: SpeechJob) -> float:
    # espeak-ng at 160 wpm speaks this corpus at about 15 characters per second
    return len(job.text) / 15.0 * 160.0 / job.speed_wpm


def _cache_key(min_seconds: float, seed: int, text: str, versions: str) -> str:
    settings = {
        "format": CORPUS_FORMAT, "min_seconds": float(min_seconds), "seed": seed, "voices": VOICES,
        "speed": SPEED_WPM, "pitch": PITCH, "level": SPEECH_LEVEL_DBM0, "lines": LINES_PER_CHUNK,
        "amplitude": ESPEAK_AMPLITUDE, "rate": SAMPLE_RATE_HZ, "text": text, "tools": versions,
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()[:20]


def _save(path: Path, clips: list[tuple[str, np.ndarray]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lengths = np.array([len(s) for _, s in clips], dtype=np.int64)
    samples = np.concatenate([s for _, s in clips]) if clips else np.zeros(0, np.int16)
    buf = io.BytesIO()
    np.savez(buf, samples=samples, lengths=lengths, labels=np.array([label for label, _ in clips]))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(buf.getvalue())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)  # atomic: concurrent builders never see half a file


def _load(path: Path) -> list[tuple[str, np.ndarray]] | None:
    try:
        with np.load(path) as data:
            samples, lengths, labels = data["samples"], data["lengths"], data["labels"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # unreadable (e.g. a disk filled up mid-write): build it again
    ends = np.cumsum(lengths)
    return [(str(label), samples[end - n : end]) for label, n, end in zip(labels, lengths, ends)]


def build_speech(cache_dir: Path, min_seconds: float = 600.0, *, seed: int = 1,
                 workers: int = WORKERS) -> list[tuple[str, np.ndarray]]:
    """(label, int16 samples at 8 kHz) clips of Italian speech adding up to >= ``min_seconds``.

    Deterministic for given arguments, text and tool versions; cached in ``cache_dir``.
    """
    text = TEXT_PATH.read_text(encoding="utf-8")
    versions = _tool_versions()
    path = Path(cache_dir) / f"speech-{_cache_key(min_seconds, seed, text, versions)}.npz"
    if path.exists():
        clips = _load(path)
        if clips is not None:
            return clips

    plan = plan_speech(text_chunks(text), seed)
    clips: list[tuple[str, np.ndarray]] = []
    total = 0.0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while total < min_seconds:
            # a batch expected to finish the job (a little more: estimates are rough); the clips
            # kept are the shortest prefix of the plan that reaches min_seconds, batch or not
            batch, expected = [], 0.0
            while expected < 1.1 * (min_seconds - total) + 5.0:
                batch.append(next(plan))
                expected += _estimate_seconds(batch[-1])
            for job, samples in zip(batch, pool.map(_render, batch)):
                if total >= min_seconds:
                    break
                clips.append((job.label, samples))
                total += len(samples) / SAMPLE_RATE_HZ
    _save(path, clips)
    return clips


# ----------------------------------------------------------------------------------------------
# Music


@dataclass(frozen=True)
class Timbre:
    """A synthetic instrument: partials, envelope, decay, vibrato."""

    name: str
    partials: tuple[float, ...]  # amplitudes of harmonics 1, 2, 3 ...
    attack_s: float
    release_s: float
    decay_s: float = 0.0  # 0: sustained; else exponential decay time of the fundamental
    decay_exp: float = 0.5  # partial k decays k**decay_exp times faster
    vibrato_hz: float = 0.0
    vibrato_depth: float = 0.0  # relative frequency swing
    inharmonicity: float = 0.0  # piano-string B: partial k at k*f*sqrt(1 + B k^2)
    detune_cents: float = 0.0  # a second voice this far sharp (chorus, musette)
    tremolo_hz: float = 0.0
    tremolo_depth: float = 0.0
    brass_onset: float = 0.0  # upper partials come in later (s per partial)
    breath: float = 0.0  # breath-noise amplitude relative to the tone


TIMBRES = {
    "organ": Timbre("organ", (1.0, 0.8, 0.55, 0.5, 0.0, 0.35, 0.0, 0.3, 0.0, 0.0, 0.0, 0.15),
                    attack_s=0.015, release_s=0.06, tremolo_hz=6.2, tremolo_depth=0.12, vibrato_hz=6.2,
                    vibrato_depth=0.0015),
    "strings": Timbre("strings", tuple(1.0 / k for k in range(1, 16)), attack_s=0.12, release_s=0.25,
                      vibrato_hz=5.6, vibrato_depth=0.006, detune_cents=7.0),
    "piano": Timbre("piano", (1.0, 0.7, 0.45, 0.35, 0.25, 0.18, 0.12, 0.08, 0.05), attack_s=0.004,
                    release_s=0.15, decay_s=1.4, decay_exp=0.7, inharmonicity=0.0004),
    "brass": Timbre("brass", (1.0, 0.95, 0.8, 0.65, 0.5, 0.38, 0.28, 0.2, 0.14, 0.1), attack_s=0.05,
                    release_s=0.08, vibrato_hz=5.0, vibrato_depth=0.004, brass_onset=0.012),
    "guitar": Timbre("guitar", tuple(1.0 / k ** 1.1 for k in range(1, 16)), attack_s=0.003,
                     release_s=0.08, decay_s=0.9, decay_exp=0.6, inharmonicity=0.0001),
    "accordion": Timbre("accordion", tuple(1.0 / k ** 0.8 for k in range(1, 14)), attack_s=0.03,
                        release_s=0.05, detune_cents=14.0),
    # electric piano (tine): a bell-like decay with a tremolo; unlike a vibraphone, whose upper
    # partials (4x, 10x) leave the telephone band and its top notes as bare sines
    "epiano": Timbre("epiano", (1.0, 0.5, 0.3, 0.18, 0.1, 0.06), attack_s=0.003, release_s=0.3,
                     decay_s=1.6, decay_exp=0.8, tremolo_hz=5.0, tremolo_depth=0.3),
    "clarinet": Timbre("clarinet", (1.0, 0.2, 0.7, 0.12, 0.45, 0.08, 0.3, 0.05, 0.18, 0.03, 0.1),
                       attack_s=0.04, release_s=0.06, vibrato_hz=5.2, vibrato_depth=0.002),
    "flute": Timbre("flute", (1.0, 0.55, 0.35, 0.2, 0.1), attack_s=0.06, release_s=0.08,
                    vibrato_hz=5.3, vibrato_depth=0.005, breath=0.08),
}


@dataclass(frozen=True)
class Style:
    name: str
    tempo_bpm: int
    beats_per_bar: int
    chords: str  # chord instrument
    pattern: str  # block, arpeggio, oompah, strum, comp
    melody: str  # melody instrument
    drums: str  # none, rock, march, waltz, swing, shaker
    minor: bool = False
    sevenths: bool = False


STYLES = (
    Style("organ-chorale", 66, 4, "organ", "block", "organ", "none"),
    Style("string-quartet", 84, 4, "strings", "block", "strings", "none", minor=True),
    Style("piano-ballad", 72, 4, "piano", "arpeggio", "piano", "none"),
    Style("brass-march", 112, 4, "brass", "block", "brass", "march"),
    Style("pop-band", 124, 4, "guitar", "strum", "flute", "rock"),
    Style("accordion-waltz", 168, 3, "accordion", "oompah", "accordion", "waltz", minor=True),
    Style("hold-epiano", 96, 4, "strings", "block", "epiano", "shaker"),
    Style("clarinet-swing", 140, 4, "piano", "comp", "clarinet", "swing", sevenths=True),
)

_PROGRESSIONS_MAJOR = ((0, 4, 5, 3), (0, 5, 3, 4), (1, 4, 0, 5), (0, 3, 4, 0), (0, 2, 3, 4))
_PROGRESSIONS_MINOR = ((0, 3, 4, 0), (0, 5, 2, 4), (0, 3, 6, 2), (0, 6, 5, 4))
_SCALE_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_SCALE_MINOR = (0, 2, 3, 5, 7, 8, 11)  # harmonic minor: a leading tone for the dominant
_RHYTHMS = {4: ((1, 1, 1, 1), (2, 1, 1), (1, 0.5, 0.5, 1, 1), (0.5,) * 8, (3, 1), (1.5, 0.5, 2), (4,),
                (1, 1, 2), (0.5, 0.5, 1, 0.5, 0.5, 1)),
            3: ((1, 1, 1), (2, 1), (3,), (0.5, 0.5, 1, 1), (1.5, 0.5, 1))}


def midi_hz(note: float) -> float:
    """Equal temperament, A4 = MIDI 69 = 440 Hz."""
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def _in_range(note: int, low: int = MIDI_LOW, high: int = MIDI_HIGH) -> int:
    while note < low:
        note += 12
    while note > high:
        note -= 12
    return note


def _note(freq_hz: float, dur_s: float, timbre: Timbre, rng: np.random.Generator) -> np.ndarray:
    """One note (with its release tail) as float samples, peak about 1."""
    fs = SAMPLE_RATE_HZ
    n = int((dur_s + timbre.release_s) * fs)
    t = np.arange(n) / fs
    # frequency track: vibrato fading in over 0.3 s, with a random phase
    f = np.full(n, freq_hz)
    if timbre.vibrato_depth:
        ramp = np.minimum(1.0, t / 0.3)
        f = f * (1.0 + timbre.vibrato_depth * ramp * np.sin(2 * np.pi * timbre.vibrato_hz * t
                                                            + rng.uniform(0, 2 * np.pi)))
    phase = 2 * np.pi * np.cumsum(f) / fs + rng.uniform(0, 2 * np.pi)
    # amplitude envelope: attack, sustain or decay, release after dur_s
    env = np.minimum(1.0, t / timbre.attack_s)
    release = np.clip((dur_s + timbre.release_s - t) / timbre.release_s, 0.0, 1.0)
    env = env * np.where(t > dur_s, release, 1.0)
    if timbre.tremolo_depth:
        env = env * (1.0 - timbre.tremolo_depth * (0.5 + 0.5 * np.sin(2 * np.pi * timbre.tremolo_hz * t)))
    voices = [(1.0, 1.0)]
    if timbre.detune_cents:
        voices.append((2.0 ** (timbre.detune_cents / 1200.0), 0.7))
    out = np.zeros(n)
    for shift, gain in voices:
        for k, amp in enumerate(timbre.partials, start=1):
            if amp <= 0.0:
                continue
            ratio = k * math.sqrt(1.0 + timbre.inharmonicity * k * k)
            if ratio * freq_hz * shift * (1.0 + timbre.vibrato_depth) > NYQUIST_GUARD_HZ:
                continue
            a = amp * env
            if timbre.decay_s:
                a = a * np.exp(-t * ratio ** timbre.decay_exp / timbre.decay_s)
            if timbre.brass_onset:
                a = a * np.minimum(1.0, t / (timbre.attack_s + timbre.brass_onset * k))
            out += gain * a * np.sin(ratio * shift * phase + k * 0.7)
    if timbre.breath:
        noise = _band_noise(n, 1500.0, 3500.0, rng)
        out += timbre.breath * env * noise / (np.std(noise) + 1e-12)
    return out / len(voices)


def _band_noise(n: int, low_hz: float, high_hz: float, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE_HZ)
    # raised-cosine band edges, 200 Hz wide
    lo = np.clip((freqs - low_hz + 200.0) / 200.0, 0.0, 1.0)
    hi = np.clip((high_hz + 200.0 - freqs) / 200.0, 0.0, 1.0)
    return np.fft.irfft(spectrum * np.sin(0.5 * np.pi * lo) ** 2 * np.sin(0.5 * np.pi * hi) ** 2, n)


def _drum(kind: str, rng: np.random.Generator) -> np.ndarray:
    fs = SAMPLE_RATE_HZ
    if kind == "kick":
        n = int(0.35 * fs)
        t = np.arange(n) / fs
        f = 45.0 + 75.0 * np.exp(-t / 0.04)
        body = np.sin(2 * np.pi * np.cumsum(f) / fs) * np.exp(-t / 0.12)
        click = _band_noise(n, 1000.0, 3500.0, rng) * np.exp(-t / 0.004)
        return 1.2 * body + 0.3 * click / (np.std(click[:40]) + 1e-12)
    if kind == "snare":
        n = int(0.25 * fs)
        t = np.arange(n) / fs
        noise = _band_noise(n, 800.0, 3800.0, rng)
        return (0.6 * np.sin(2 * np.pi * 185.0 * t) * np.exp(-t / 0.04)
                + 0.8 * noise / (np.std(noise) + 1e-12) * np.exp(-t / 0.07))
    if kind in ("hihat", "openhat", "shaker"):
        decay, length, low = {"hihat": (0.03, 0.12, 2500.0), "openhat": (0.2, 0.5, 2500.0),
                              "shaker": (0.05, 0.15, 1800.0)}[kind]
        n = int(length * fs)
        t = np.arange(n) / fs
        noise = _band_noise(n, low, 3900.0, rng)
        attack = np.minimum(1.0, t / (0.02 if kind == "shaker" else 0.001))
        return 0.5 * noise / (np.std(noise) + 1e-12) * np.exp(-t / decay) * attack
    raise ValueError(kind)


def _drum_hits(drums: str, beats_per_bar: int) -> list[tuple[float, str, float]]:
    """(beat position in the bar, drum, gain) for one bar."""
    if drums == "rock":
        hits = [(b, "kick", 1.0) for b in (0, 2.5)] + [(b, "snare", 0.8) for b in (1, 3)]
        return hits + [(i * 0.5, "hihat", 0.5 if i % 2 else 0.7) for i in range(8)]
    if drums == "march":
        hits = [(0, "kick", 1.0), (2, "kick", 0.9), (1, "snare", 0.7), (3, "snare", 0.7)]
        return hits + [(3.5, "snare", 0.4), (3.75, "snare", 0.35)]
    if drums == "waltz":
        return [(0, "kick", 0.8), (1, "hihat", 0.6), (2, "hihat", 0.6)]
    if drums == "swing":
        hits = [(b, "openhat" if b in (1, 3) else "hihat", 0.45) for b in range(4)]
        return hits + [(b + 2 / 3, "hihat", 0.3) for b in (1, 3)] + [(0, "kick", 0.5)]
    if drums == "shaker":
        return [(i * 0.5, "shaker", 0.35 if i % 2 else 0.25) for i in range(2 * beats_per_bar)]
    return []


def _chord(root_degree: int, scale: tuple[int, ...], tonic: int, size: int) -> list[int]:
    """MIDI notes of the chord on a scale degree (stacked thirds), voiced around 220-660 Hz."""
    notes = []
    for i in range(size):
        d = root_degree + 2 * i
        notes.append(tonic + scale[d % 7] + 12 * (d // 7))
    return sorted(_in_range(m, 57, 77) for m in notes)


def _piece(style: Style, seconds: float, rng: np.random.Generator) -> np.ndarray:
    fs = SAMPLE_RATE_HZ
    n = int(round(seconds * fs))
    out = np.zeros(n + 2 * fs)
    beat_s = 60.0 / style.tempo_bpm
    bar_s = beat_s * style.beats_per_bar
    scale = _SCALE_MINOR if style.minor else _SCALE_MAJOR
    tonic = int(rng.integers(57, 69))  # A3 .. G#4
    progression = (_PROGRESSIONS_MINOR if style.minor else _PROGRESSIONS_MAJOR)[
        int(rng.integers(len(_PROGRESSIONS_MINOR if style.minor else _PROGRESSIONS_MAJOR)))]
    chord_t, melody_t = TIMBRES[style.chords], TIMBRES[style.melody]
    size = 4 if style.sevenths else 3
    double_root = style.pattern == "block" and not style.sevenths  # four voices: root an octave up
    melody_degree = int(rng.integers(7, 12))  # scale degree index, one octave up
    drums = _drum_hits(style.drums, style.beats_per_bar)

    def add(signal: np.ndarray, start_s: float, gain: float) -> None:
        i = max(0, int(round(start_s * fs)))
        if i < len(out):
            m = min(len(signal), len(out) - i)
            out[i : i + m] += gain * signal[:m]

    bar = 0
    while bar * bar_s < seconds:
        t0 = bar * bar_s
        chord = _chord(progression[bar % len(progression)], scale, tonic, size)
        if double_root:
            chord = chord + [_in_range(chord[0] + 12, chord[-1] + 1, MIDI_HIGH)]
        chord_gain = 0.22 * 10 ** (rng.uniform(-2, 2) / 20)
        # accompaniment
        if style.pattern == "block":
            for m in chord:
                add(_note(midi_hz(m), bar_s * 0.97, chord_t, rng), t0, chord_gain)
        elif style.pattern == "arpeggio":
            order = chord + [chord[1] + 12, chord[2]] + chord[:1] + [chord[1]]
            step = beat_s / 2
            for i in range(int(round(bar_s / step))):
                m = _in_range(order[i % len(order)])
                add(_note(midi_hz(m), step * 1.8, chord_t, rng), t0 + i * step, chord_gain * 0.9)
        elif style.pattern == "oompah":
            add(_note(midi_hz(_in_range(chord[0] - 12)), beat_s * 0.9, chord_t, rng), t0, chord_gain * 1.1)
            for b in range(1, style.beats_per_bar):
                for m in chord:
                    add(_note(midi_hz(m), beat_s * 0.6, chord_t, rng), t0 + b * beat_s, chord_gain * 0.6)
        elif style.pattern == "strum":
            for b, length in ((0, 1.5), (1.5, 1.0), (2.5, 0.5), (3, 1.0)):
                for j, m in enumerate(chord + [chord[0] + 12]):
                    add(_note(midi_hz(_in_range(m)), length * beat_s, chord_t, rng),
                        t0 + b * beat_s + 0.012 * j, chord_gain * 0.7)
        elif style.pattern == "comp":
            for b in (0, 1.67, 2.67):
                for m in chord:
                    add(_note(midi_hz(m), 0.6 * beat_s, chord_t, rng), t0 + b * beat_s, chord_gain * 0.75)
        # melody: a walk on the scale, landing on chord tones at the start of the bar
        rhythm = _RHYTHMS[style.beats_per_bar][int(rng.integers(len(_RHYTHMS[style.beats_per_bar])))]
        pos = 0.0
        for i, length in enumerate(rhythm):
            if i == 0:
                pcs = [(m - tonic) % 12 for m in chord]
                candidates = [d for d in range(melody_degree - 3, melody_degree + 4) if scale[d % 7] in pcs]
                if candidates:
                    melody_degree = candidates[int(rng.integers(len(candidates)))]
            else:
                melody_degree += int(rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]))
            melody_degree = int(np.clip(melody_degree, 5, 18))
            if rng.random() > 0.08:  # the odd rest
                m = _in_range(tonic + scale[melody_degree % 7] + 12 * (melody_degree // 7), 67, MIDI_HIGH)
                gain = 0.45 * 10 ** (rng.uniform(-3, 2) / 20)
                add(_note(midi_hz(m), length * beat_s * 0.92, melody_t, rng), t0 + pos * beat_s, gain)
            pos += length
        for beat, kind, gain in drums:
            add(_drum(kind, rng), t0 + beat * beat_s + rng.normal(0, 0.003), 0.5 * gain)
        bar += 1
    out = out[:n]
    fade = min(n // 2, int(0.05 * fs))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        out[:fade] *= ramp
        out[n - fade :] *= ramp[::-1]
    return out


def build_music(seed: int = 1, seconds: float = 150.0) -> list[tuple[str, np.ndarray]]:
    """(label, int16 samples at 8 kHz) music pieces adding up to ``seconds``, deterministic per seed.

    About 20 s per piece, styles in turn (``STYLES``), each at a level drawn in -25..-10 dBm0.
    """
    rng = np.random.default_rng(seed)
    total = int(round(seconds * SAMPLE_RATE_HZ))
    count = max(1, math.ceil(seconds / 20.0))
    bounds = [round(total * i / count) for i in range(count + 1)]
    pieces = []
    for i in range(count):
        style = STYLES[i % len(STYLES)]
        level = round(float(rng.uniform(*MUSIC_LEVEL_DBM0)), 1)
        x = _piece(style, (bounds[i + 1] - bounds[i]) / SAMPLE_RATE_HZ, rng)
        pieces.append((f"m{i:02d}_{style.name}_{style.tempo_bpm}bpm_{level:.1f}dBm0",
                       _set_level(x, level, power_dbm0)))
    return pieces


# ----------------------------------------------------------------------------------------------
# Labels, cache location, CLI


def parse_label(label: str) -> dict:
    """Fields of a speech or music label (see the module docstring)."""
    fields = label.split("_")
    level = float(fields[-1].removesuffix("dBm0"))
    if label.startswith("m"):
        return {"kind": "music", "index": int(fields[0][1:]), "style": fields[1],
                "tempo_bpm": int(fields[2].removesuffix("bpm")), "level_dbm0": level}
    return {"kind": "speech", "index": int(fields[0]), "chunk": int(fields[1][1:]), "voice": fields[2],
            "speed_wpm": int(fields[3][1:]), "pitch": int(fields[4][1:]), "level_dbm0": level}


def corpus_cache_dir() -> Path:
    """Where the corpus is cached: ``$CENTRALINO_CACHE`` if set, else ``<repo>/.cache/talkoff``."""
    env = os.environ.get("CENTRALINO_CACHE")
    return Path(env) if env else REPO_ROOT / ".cache" / "talkoff"


def main(argv: list[str] | None = None) -> int:
    from centralino.media.wavfile import write_wav

    parser = argparse.ArgumentParser(prog="python -m tests.signals.talkoff",
                                     description="Build the DTMF talk-off corpus and write it as WAV files.")
    parser.add_argument("--out", type=Path, required=True, help="directory for the WAV files")
    parser.add_argument("--min-seconds", type=float, default=600.0, help="speech, at least (default 600)")
    parser.add_argument("--music-seconds", type=float, default=150.0, help="music (default 150)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: $CENTRALINO_CACHE or .cache/talkoff")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    speech = build_speech(args.cache_dir or corpus_cache_dir(), args.min_seconds, seed=args.seed)
    speech_s = time.perf_counter() - start
    start = time.perf_counter()
    music = build_music(args.seed, args.music_seconds)
    music_s = time.perf_counter() - start
    for folder, clips in (("speech", speech), ("music", music)):
        (args.out / folder).mkdir(parents=True, exist_ok=True)
        for label, samples in clips:
            write_wav(args.out / folder / f"{label}.wav", samples)
    voices = sorted({parse_label(label)["voice"] for label, _ in speech})
    print(f"speech: {len(speech)} clips, {sum(len(s) for _, s in speech) / SAMPLE_RATE_HZ:.1f} s, "
          f"{len(voices)} voices ({', '.join(voices)}), built in {speech_s:.1f} s")
    print(f"music: {len(music)} pieces, {sum(len(s) for _, s in music) / SAMPLE_RATE_HZ:.1f} s, "
          f"built in {music_s:.1f} s")
    print(f"written to {args.out}/speech and {args.out}/music")
    return 0


if __name__ == "__main__":
    sys.exit(main())
