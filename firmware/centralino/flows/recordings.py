"""Recordings made by phone, kept as WAV files in one folder with who made each and when.

A folder holds ``NAME.wav`` (what callers hear), and beside it, while a staff member is still
deciding, ``NAME.new.wav`` (recorded, not yet accepted: never played to callers) and, once a new
one is accepted, ``NAME.previous.wav`` (the one it replaced, so a technician can put it back).
``recordings.json`` in the same folder says, per name, who recorded it (the extension), when, how
many seconds, and for announcements whether it is on and until when. The files are the truth:
every reader reads them again (the metadata is tiny, the audio is cached by its modification
time), so a ``config reload`` or a restart finds exactly what was accepted.

Every write is a temporary file renamed into place (fsynced first), so a power cut leaves the
old file or the new one, never half of one; accepting copies the current file to
``.previous`` before the new one is renamed over it, so ``NAME.wav`` always exists.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from centralino.media.frames import SAMPLE_RATE_HZ
from centralino.media.wavfile import WavError, read_wav, write_wav

log = logging.getLogger("centralino.flows")

METADATA_NAME = "recordings.json"
PENDING = ".new"
PREVIOUS = ".previous"


class ShelfError(OSError):
    """A recording that cannot be written or read; the message names the file."""


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _atomic_write_wav(path: Path, samples: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write_wav(tmp, np.asarray(samples, dtype=np.int16))
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


class RecordingShelf:
    """One folder of recordings and their ``recordings.json``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._cache: dict[Path, tuple[int, np.ndarray]] = {}

    # -- paths
    def path(self, name: str) -> Path:
        return self.folder / f"{name}.wav"

    def pending_path(self, name: str) -> Path:
        return self.folder / f"{name}{PENDING}.wav"

    def previous_path(self, name: str) -> Path:
        return self.folder / f"{name}{PREVIOUS}.wav"

    def names(self) -> list[str]:
        """The accepted recordings, by name, sorted (``.new`` and ``.previous`` files are not names)."""
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.wav") if "." not in p.stem)

    # -- metadata
    def metadata(self) -> dict[str, dict]:
        path = self.folder / METADATA_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            log.error("%s cannot be read (%s); recordings are listed without who made them", path, err)
            return {}
        return data if isinstance(data, dict) else {}

    def info(self, name: str) -> dict:
        return dict(self.metadata().get(name, {}))

    def update(self, name: str, **fields) -> dict:
        """Change ``name``'s metadata (``enabled``, ``until`` ...) and write the file atomically."""
        return self._replace(name, {**self.info(name), **fields})

    def _replace(self, name: str, entry: dict) -> dict:
        data = self.metadata()
        self._keep_damaged()
        data[name] = entry
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            _atomic_write(self.folder / METADATA_NAME,
                          json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False).encode())
        except OSError as err:
            raise ShelfError(f"{self.folder / METADATA_NAME}: cannot write: {err.strerror or err}") from None
        return entry

    def _keep_damaged(self) -> None:
        """A metadata file that cannot be parsed is moved aside, not overwritten (nothing is lost)."""
        path = self.folder / METADATA_NAME
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            if path.is_file():
                os.replace(path, path.with_name(f"{METADATA_NAME}.damaged"))
                log.error("%s could not be read: moved aside to %s.damaged", path, METADATA_NAME)

    # -- audio
    def samples(self, name: str, pending: bool = False) -> np.ndarray | None:
        """The accepted (or pending) recording, None when there is none or it cannot be read."""
        path = self.pending_path(name) if pending else self.path(name)
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return None
        cached = self._cache.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            audio = read_wav(path)
        except (WavError, OSError) as err:
            log.error("recording %s cannot be read: %s", path, err)
            return None
        audio.setflags(write=False)
        self._cache[path] = (mtime, audio)
        return audio

    def write_pending(self, name: str, samples: np.ndarray, by: str, at: str) -> None:
        """The new recording beside the accepted one (not heard by callers until ``accept``)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            _atomic_write_wav(self.pending_path(name), samples)
        except OSError as err:
            raise ShelfError(f"{self.pending_path(name)}: cannot write: {err.strerror or err}") from None
        self.update(name, pending={"recorded_by": by, "recorded_at": at,
                                   "seconds": round(len(samples) / SAMPLE_RATE_HZ, 1)})

    def accept(self, name: str) -> dict:
        """The pending recording becomes ``NAME.wav``; the one it replaces is kept as ``.previous``."""
        new, current = self.pending_path(name), self.path(name)
        try:
            if current.is_file():
                tmp = self.previous_path(name).with_name(f".{self.previous_path(name).name}.tmp")
                shutil.copyfile(current, tmp)
                os.replace(tmp, self.previous_path(name))
            os.replace(new, current)
        except OSError as err:
            raise ShelfError(f"{current}: cannot accept the new recording: {err.strerror or err}") from None
        entry = self.info(name)
        made = entry.pop("pending", {})
        return self._replace(name, {**entry, **made})

    def discard(self, name: str) -> None:
        """A pending recording not accepted (the staff member hung up): the accepted one stays."""
        try:
            self.pending_path(name).unlink(missing_ok=True)
        except OSError as err:
            log.warning("%s: %s", self.pending_path(name), err)
