"""The segreteria's messages: one WAV file each, indexed in the SQLite database.

A message is stored file first: the WAV is written under a temporary name, fsynced and renamed
into place before the index row is committed, so a power cut never leaves a row pointing at a
half-written recording (at worst a complete file with no row, which is harmless). Deleting goes
the other way round: the row first, then the file once the deletion is committed. Inside a larger
transaction (a message and its mail, ``Stores.run``) a file whose row is rolled back is removed.

Files live under ``directory/<office>/`` and are named by the time received (UTC) and the row
number, e.g. ``anagrafe/20261124T080000Z-17.wav``: a technician can find a message by hand, and
two messages never share a name. Samples are 16-bit PCM at 8 kHz, mono: what every player opens.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import peewee

from centralino.media.frames import SAMPLE_RATE_HZ
from centralino.media.wavfile import WavError, read_wav, write_wav

from .database import BaseModel, RecordNotFound, RecordsError, StorageError, parse_time, to_text
from .store import Store

UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")
FILE_TIME_FORMAT = "%Y%m%dT%H%M%SZ"


class VoicemailMessage(BaseModel):
    call_id = peewee.CharField(default="")
    office = peewee.CharField(index=True)
    caller = peewee.CharField(default="")
    received_at = peewee.CharField(index=True)
    duration_s = peewee.FloatField(default=0.0)
    path = peewee.CharField(default="")
    heard_at = peewee.CharField(null=True)
    heard_by = peewee.CharField(default="")
    mailed_at = peewee.CharField(null=True)

    class Meta:
        table_name = "voicemails"

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in FIELDS}


FIELDS = tuple(VoicemailMessage._meta.sorted_field_names)


def message_id(value) -> int:
    """A message number from code or a console word; anything else is a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"a voicemail message number is a whole number, got {value!r}")
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"a voicemail message number is a whole number from 1, got {value!r}")
    return int(text)


def _check_samples(samples) -> np.ndarray:
    samples = np.asarray(samples)
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError(f"a recording is a 1-D array of int16 samples at {SAMPLE_RATE_HZ} Hz, "
                         f"got {samples.ndim}-D {samples.dtype}")
    return samples


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path) -> None:
    if path:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError:
            pass  # a file that cannot be removed is an orphan, never a reason to keep the row


class VoicemailStore(Store):
    """Messages of every office: files under ``directory``, index in the database at ``database_path``."""

    MODELS = (VoicemailMessage,)

    def __init__(self, database_path, directory, **shared):
        super().__init__(database_path, **shared)
        self.directory = Path(directory)

    # -- writing
    def save(self, call_id: str, office: str, caller: str, received_at: datetime, samples) -> VoicemailMessage:
        """Store a recording and its index row; returns the row once both are on disk."""
        samples = _check_samples(samples)
        if not office:
            raise ValueError("a voicemail message needs the office it was left for")
        folder = self.directory / (UNSAFE_NAME.sub("_", office))
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StorageError(f"{folder}: cannot create the voicemail folder ({err.strerror or err})") from None
        stamp = to_text(received_at)
        written = None
        try:
            with self._write():
                row = VoicemailMessage.create(call_id=call_id or "", office=office, caller=caller or "",
                                              received_at=stamp, duration_s=round(len(samples) / SAMPLE_RATE_HZ, 3))
                name = f"{parse_time(stamp).strftime(FILE_TIME_FORMAT)}-{row.id}.wav"
                row.path = str(folder / name)
                self._write_file(Path(row.path), samples)
                written = row.path
                row.save()
        except BaseException:
            _remove(written)  # the row is not there: neither is its file
            raise
        self._on_rollback(lambda: _remove(written))
        return row

    @staticmethod
    def _write_file(path: Path, samples: np.ndarray) -> None:
        """Write, fsync and rename into place, then fsync the folder so the name survives too."""
        partial = path.with_name(path.name + ".part")
        try:
            write_wav(partial, samples)
            with open(partial, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(partial, path)
            _fsync_dir(path.parent)
        except OSError as err:
            partial.unlink(missing_ok=True)
            raise StorageError(f"{path}: cannot write the recording ({err.strerror or err})") from None

    def mark_heard(self, id, by: str, at: datetime) -> VoicemailMessage:
        """Record who listened first and when; hearing it again changes nothing."""
        with self._write():
            row = self._get(id)
            if row.heard_at is None:
                row.heard_at, row.heard_by = to_text(at), by or ""
                row.save()
        return row

    def mark_mailed(self, id, at: datetime) -> VoicemailMessage:
        """Record when the message was handed to the outbox for the office's e-mail."""
        with self._write():
            row = self._get(id)
            row.mailed_at = to_text(at)
            row.save()
        return row

    def delete(self, id) -> VoicemailMessage:
        """Remove a message: its row, then its file (a file already gone is fine)."""
        with self._write():
            row = self._get(id)
            row.delete_instance()
        self._after_commit(lambda: _remove(row.path))
        return row

    def purge_older_than(self, now: datetime, days: float) -> int:
        """Delete messages received more than ``days`` before ``now``; returns how many."""
        if days < 0:
            raise ValueError(f"voicemail retention must be at least 0 days, got {days}")
        cutoff = to_text(now - timedelta(days=days))
        with self._write():
            rows = list(VoicemailMessage.select().where(VoicemailMessage.received_at < cutoff))
            VoicemailMessage.delete().where(VoicemailMessage.received_at < cutoff).execute()
        paths = [row.path for row in rows]
        self._after_commit(lambda: [_remove(path) for path in paths])
        return len(rows)

    # -- reading
    def _get(self, id) -> VoicemailMessage:
        number = message_id(id)
        row = VoicemailMessage.get_or_none(VoicemailMessage.id == number)
        if row is None:
            raise RecordNotFound(f"{self.path}: no voicemail message {number}")
        return row

    def get(self, id) -> VoicemailMessage:
        with self._read():
            return self._get(id)

    def list(self, office: str | None = None, unheard: bool = False) -> list[VoicemailMessage]:
        """Messages oldest first, of one office or all, optionally only those nobody heard."""
        with self._read():
            query = VoicemailMessage.select()
            if office is not None:
                query = query.where(VoicemailMessage.office == office)
            if unheard:
                query = query.where(VoicemailMessage.heard_at.is_null())
            return list(query.order_by(VoicemailMessage.received_at, VoicemailMessage.id))

    def indexed_paths(self) -> set[Path]:
        """Every recording a row points at (resolved): the files housekeeping must not remove."""
        with self._read():
            return {Path(row.path).resolve() for row in VoicemailMessage.select(VoicemailMessage.path) if row.path}

    def next_unheard(self, office: str) -> VoicemailMessage | None:
        """The oldest message of ``office`` nobody has heard yet (what an office phone plays next)."""
        found = self.list(office=office, unheard=True)
        return found[0] if found else None

    def samples(self, id) -> np.ndarray:
        """The recording as int16 samples at 8 kHz, to play back on a phone."""
        row = self.get(id)
        try:
            return read_wav(row.path)
        except WavError as err:
            raise RecordsError(f"voicemail message {row.id}: {err}") from None

    def wav_bytes(self, id) -> bytes:
        """The recording's file as it is on disk (the e-mail attachment)."""
        row = self.get(id)
        try:
            return Path(row.path).read_bytes()
        except OSError as err:
            raise RecordsError(f"voicemail message {row.id}: {row.path}: {err.strerror or err}") from None
