#!/usr/bin/env python3
"""Build the shipped Italian prompt set from its text catalogue (prompts/it/catalogue.tsv).

Each catalogue line becomes prompts/it/<key>.wav: espeak-ng speaks the text, sox band-limits it
to the telephone band (300-3400 Hz) and resamples it to 8 kHz, then this script trims the silence at
both ends, sets the active speech level to TARGET_DBM0, adds short fades and writes 8 kHz mono A-law,
the format the PCM bus carries, so nothing is converted while a call plays it.

Voice: espeak-ng's default Italian voice ``it`` (roa/it) with no variant, at 150 words per minute and
its own pitch. It is the only Italian voice usable from Debian main here: espeak-ng lists MBROLA
Italian voices (it1..it4), but the mbrola program and its databases have no installation candidate
in the configured sources, and Pico (libttspico, a better Italian voice) is in non-free. The variants
(+f1.., +m1..) only change pitch and formant settings of the same rules, so the plain voice is kept
as the one the Italian rules are written for. 150 wpm rather than espeak's 175 leaves each syllable
longer, which helps after G.711 and a noisy analogue line. The set is a working default: a comune
is expected to replace the sentences it cares about with human recordings.

Each file carries, after its audio, an INFO comment with a fingerprint of its text and of these
settings, so ``--check`` notices a file that no longer matches its catalogue line. Output is
deterministic: the same catalogue and tools give byte-identical files.

Usage: build_prompts.py [--catalogue FILE] [--only KEY ...] [--check] [--jobs N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
try:
    from centralino.flows.phrases import CATALOGUE_NAME, CatalogueError, Entry, read_catalogue
except ImportError:  # run with a Python that lacks the editable install: use the source tree
    sys.path.insert(0, str(REPO / "firmware"))
    from centralino.flows.phrases import CATALOGUE_NAME, CatalogueError, Entry, read_catalogue
from centralino.media.levels import DBM0_RMS
from centralino.media.wavfile import FORMAT_ALAW, WavError, read_info, read_wav, write_wav

DEFAULT_CATALOGUE = REPO / "prompts" / "it" / CATALOGUE_NAME
VOICE = "it"
SPEED_WPM = 150
PITCH = 50                  # espeak-ng's 0..99 scale; 50 is the voice's own pitch
BAND_HZ = (300, 3400)       # the telephone band
BAND_EDGE_HZ = 100          # sinc transition width: sox's default (5% of 11 kHz) lets 250 Hz through
SAMPLE_RATE_HZ = 8000
TARGET_DBM0 = -16.0         # active speech level, as ITU-T P.56 measures it (roughly)
PEAK_LIMIT = 0.89 * 32767   # keep 1 dB below A-law overload
BLOCK_S = 0.010             # analysis block for trimming and level
SILENT_BELOW_DB = 40.0      # blocks this far under the loudest one are silence, for trimming
ACTIVE_WITHIN_DB = 25.0     # blocks within this of the loudest one count towards the speech level
MARGIN_S = 0.010            # kept before the first and after the last sound
FADE_S = 0.005              # raised-cosine ramps at both ends: no click where a snippet starts or stops
SETTINGS = (f"espeak-ng -v {VOICE} -s {SPEED_WPM} -p {PITCH}; "
            f"sinc -t {BAND_EDGE_HZ} {BAND_HZ[0]}-{BAND_HZ[1]}; {TARGET_DBM0} dBm0")


class BuildError(RuntimeError):
    """A prompt that could not be built; the message names the catalogue line."""


def fingerprint(entry: Entry) -> str:
    """What a built file was made from: its text and the synthesis settings."""
    digest = hashlib.sha256(f"{entry.text}\n{SETTINGS}".encode()).hexdigest()[:16]
    return f"centralino-prompt {digest}"


def synthesise(entry: Entry, catalogue: Path, workdir: Path) -> np.ndarray:
    """espeak-ng then sox: int16 samples at 8 kHz, band-limited, not yet trimmed or levelled."""
    raw = workdir / f"{entry.key}.22k.wav"
    where = f"{catalogue}:{entry.line} ({entry.key})"
    speak = subprocess.run(["espeak-ng", "-v", VOICE, "-s", str(SPEED_WPM), "-p", str(PITCH),
                            "--stdin", "-w", str(raw)], input=entry.text.encode(), capture_output=True)
    if speak.returncode or not raw.is_file():
        raise BuildError(f"{where}: espeak-ng failed: {speak.stderr.decode(errors='replace').strip()}")
    convert = subprocess.run(["sox", "-D", str(raw), "-t", "raw", "-e", "signed-integer", "-b", "16", "-L",
                              "-c", "1", "-", "sinc", "-t", str(BAND_EDGE_HZ),
                              f"{BAND_HZ[0]}-{BAND_HZ[1]}", "rate", "-v",
                              str(SAMPLE_RATE_HZ)], capture_output=True)
    if convert.returncode:
        raise BuildError(f"{where}: sox failed: {convert.stderr.decode(errors='replace').strip()}")
    return np.frombuffer(convert.stdout, dtype="<i2").astype(np.float64)


def _block_db(x: np.ndarray) -> np.ndarray:
    n = int(BLOCK_S * SAMPLE_RATE_HZ)
    blocks = x[: len(x) // n * n].reshape(-1, n)
    return 10 * np.log10(np.mean(blocks * blocks, axis=1) + 1e-9)


def finish(x: np.ndarray, where: str) -> np.ndarray:
    """Trim silence at both ends and set the level: int16 ready to encode."""
    db = _block_db(x)
    if len(db) == 0 or db.max() < 0:
        raise BuildError(f"{where}: the synthesiser produced no sound")
    n = int(BLOCK_S * SAMPLE_RATE_HZ)
    loud = np.flatnonzero(db > db.max() - SILENT_BELOW_DB)
    margin = int(MARGIN_S * SAMPLE_RATE_HZ)
    x = x[max(0, loud[0] * n - margin): min(len(x), (loud[-1] + 1) * n + margin)]
    active = db[db > db.max() - ACTIVE_WITHIN_DB]
    active_rms = np.sqrt(np.mean(10 ** (active / 10)))
    gain = DBM0_RMS * 10 ** (TARGET_DBM0 / 20) / active_rms
    gain = min(gain, PEAK_LIMIT / np.max(np.abs(x)))
    ramp = np.sin(np.linspace(0, np.pi / 2, min(int(FADE_S * SAMPLE_RATE_HZ), len(x) // 2))) ** 2
    x = x.copy()
    x[: len(ramp)] *= ramp
    x[len(x) - len(ramp):] *= ramp[::-1]
    return np.clip(np.rint(x * gain), -32768, 32767).astype(np.int16)


def write_prompt(path: Path, samples: np.ndarray, comment: str) -> None:
    """A-law WAV with an INFO/ICMT chunk after the audio (players and read_wav skip it)."""
    write_wav(path, samples, "alaw")
    text = comment.encode("ascii") + b"\0"
    text += b"\0" * (len(text) & 1)
    info = b"INFO" + b"ICMT" + struct.pack("<I", len(text)) + text
    data = path.read_bytes() + b"LIST" + struct.pack("<I", len(info)) + info
    path.write_bytes(data[:4] + struct.pack("<I", len(data) - 8) + data[8:])


def read_comment(path: Path) -> str | None:
    data = path.read_bytes()
    at = data.rfind(b"ICMT")
    if at < 0:
        return None
    (size,) = struct.unpack_from("<I", data, at + 4)
    return data[at + 8: at + 8 + size].rstrip(b"\0").decode("ascii", errors="replace")


def build(entry: Entry, catalogue: Path, out: Path, workdir: Path) -> Path:
    where = f"{catalogue}:{entry.line} ({entry.key})"
    samples = finish(synthesise(entry, catalogue, workdir), where)
    path = out / f"{entry.key}.wav"
    write_prompt(path, samples, fingerprint(entry))
    return path


def check(entries: list[Entry], out: Path) -> list[str]:
    """Problems with the built set: missing, stray, unreadable or stale files."""
    problems = []
    expected = {f"{e.key}.wav" for e in entries}
    for path in sorted(out.iterdir()):
        if path.name != CATALOGUE_NAME and path.name not in expected:
            problems.append(f"{path}: stray file, no catalogue line names it")
    for entry in entries:
        path = out / f"{entry.key}.wav"
        if not path.is_file():
            problems.append(f"{path}: missing (catalogue line {entry.line}); run {Path(__file__).name} "
                            f"--only {entry.key}")
            continue
        try:
            info = read_info(path)
            if info.format_tag != FORMAT_ALAW or len(read_wav(path)) == 0:
                problems.append(f"{path}: {info.format_name} or empty, expected 8 kHz mono A-law speech")
        except WavError as err:
            problems.append(str(err))
            continue
        if read_comment(path) != fingerprint(entry):
            problems.append(f"{path}: stale, not built from catalogue line {entry.line} ({entry.text!r}); "
                            f"run {Path(__file__).name} --only {entry.key}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalogue", type=Path, default=DEFAULT_CATALOGUE,
                        help="catalogue file; the WAVs go next to it (default: prompts/it/catalogue.tsv)")
    parser.add_argument("--only", action="append", metavar="KEY", help="build only this key (repeatable)")
    parser.add_argument("--check", action="store_true", help="verify the built set matches the catalogue")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    try:
        entries = read_catalogue(args.catalogue)
    except CatalogueError as err:
        print(f"build_prompts: {err}", file=sys.stderr)
        return 2
    out = args.catalogue.parent
    if args.check:
        problems = check(entries, out)
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{len(entries)} prompts, {len(problems)} problems")
        return 1 if problems else 0
    for tool in ("espeak-ng", "sox"):
        if not shutil.which(tool):
            print(f"build_prompts: {tool} is not installed (apt-get install {tool})", file=sys.stderr)
            return 2
    if args.only:
        known = {e.key for e in entries}
        unknown = [k for k in args.only if k not in known]
        if unknown:
            print(f"build_prompts: {', '.join(unknown)}: no such key in {args.catalogue}", file=sys.stderr)
            return 2
        entries = [e for e in entries if e.key in args.only]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max(1, args.jobs)) as pool:
        try:
            paths = list(pool.map(lambda e: build(e, args.catalogue, out, Path(tmp)), entries))
        except BuildError as err:
            print(f"build_prompts: {err}", file=sys.stderr)
            return 1
    size = sum(p.stat().st_size for p in paths)
    print(f"built {len(paths)} prompts, {size / 1e6:.2f} MB, in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
