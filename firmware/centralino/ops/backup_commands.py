"""A backup of the configuration, the database and the recordings, made by the daemon for download.

``backup create`` starts one in a thread of its own (reading the voicemail folder of a busy year
takes seconds, and the media clock must not wait for it) and answers at once; ``backup status``
says when it is ready; ``backup read OFFSET`` hands it out in pieces small enough for one answer
line. The database is copied with SQLite's online backup API, so the copy is consistent while
calls go on being recorded. One backup is kept at a time, in the daemon's own data folder
(``backups/`` beside the database, mode 0600): the web service can only ask for it here.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sqlite3
import tarfile
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path

from .commands import CommandError, ControlContext, command

CHUNK_BYTES = 256 * 1024
ARCHIVE_NAME = "centralino-backup.tar.gz"


class BackupJob:
    """The one backup of this daemon: being made, ready, or failed."""

    def __init__(self, database: Path, config: Path | None, voicemail: Path):
        self.folder = database.parent / "backups"
        self.archive = self.folder / ARCHIVE_NAME
        self.database, self.config, self.voicemail = database, config, voicemail
        self.state, self.error, self.sha256, self.size = "idle", "", "", 0
        self.started_at = self.finished_at = 0.0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.state == "running":
            raise CommandError("backup create: a backup is being made already; see backup status")
        self.state, self.error, self.started_at = "running", "", time.time()
        self._thread = threading.Thread(target=self._make, name="backup", daemon=True)
        self._thread.start()

    def _make(self) -> None:
        try:
            self.folder.mkdir(mode=0o700, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=self.folder) as work:
                copy = Path(work) / "centralino.db"
                with closing(sqlite3.connect(f"{self.database.absolute().as_uri()}?mode=ro", uri=True)) as source, \
                        closing(sqlite3.connect(copy)) as target:
                    source.backup(target)
                partial = Path(work) / ARCHIVE_NAME
                with tarfile.open(partial, "w:gz") as tar:
                    tar.add(copy, arcname="centralino.db")
                    if self.config is not None and self.config.exists():
                        tar.add(self.config.resolve(), arcname=f"config/{self.config.name}")
                    if self.voicemail.is_dir():
                        tar.add(self.voicemail, arcname="voicemail")
                    announcements = self.voicemail.parent / "announcements"  # flows/announcements.py
                    if announcements.is_dir():
                        tar.add(announcements, arcname="announcements")
                partial.chmod(0o600)
                partial.replace(self.archive)
            digest = hashlib.sha256()
            with open(self.archive, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            self.sha256, self.size = digest.hexdigest(), self.archive.stat().st_size
            self.state = "ready"
        except (OSError, sqlite3.Error, tarfile.TarError) as err:
            self.state, self.error = "failed", f"{type(err).__name__}: {err}"
        finally:
            self.finished_at = time.time()

    def wait(self, timeout_s: float | None = None) -> None:
        """For tests and the CLI: until the thread is done."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def status(self) -> dict:
        return {"state": self.state, "error": self.error, "bytes": self.size, "sha256": self.sha256,
                "name": ARCHIVE_NAME, "started_at": self.started_at, "finished_at": self.finished_at}

    def read(self, offset: int) -> dict:
        if self.state != "ready":
            raise CommandError(f"backup read: no backup ready (state {self.state}); backup create first")
        with open(self.archive, "rb") as handle:
            handle.seek(offset)
            data = handle.read(CHUNK_BYTES)
        following = offset + len(data)
        return {"offset": offset, "data": base64.b64encode(data).decode(),
                "next": following if following < self.size else None}


def _job(ctx: ControlContext) -> BackupJob:
    job = getattr(ctx, "_backup_job", None)
    if job is None:
        daemon = ctx.daemon
        job = BackupJob(Path(daemon.database), ctx.config_path and Path(ctx.config_path),
                        Path(daemon.database).parent / "voicemail")
        ctx._backup_job = job
    return job


@command("backup create", "backup create", "start a backup: configuration, database, recordings",
         details="It is made in the background; backup status says when it is ready.", audited=True)
def backup_create(ctx: ControlContext, args: list[str]):
    job = _job(ctx)
    job.start()
    return job.status()


@command("backup status", "backup status", "the last backup: running, ready or failed")
def backup_status(ctx: ControlContext, args: list[str]):
    return _job(ctx).status()


@command("backup read", "backup read OFFSET", f"{CHUNK_BYTES // 1024} KiB of the backup from OFFSET, base64",
         max_args=1)
def backup_read(ctx: ControlContext, args: list[str]):
    try:
        offset = int(args[0]) if args else 0
    except ValueError:
        raise CommandError(f"backup read: OFFSET must be a whole number, got {args[0]!r}") from None
    if offset < 0:
        raise CommandError("backup read: OFFSET must be 0 or more")
    return _job(ctx).read(offset)


def archive_members(data: bytes) -> list[str]:
    """The names inside a backup archive (for tests and a restore check)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getnames()
