"""Restoring a backup: uploaded and checked while the daemon runs, applied at its next start.

Swapping the database under a running switchboard would stand in front of calls (every store
holds a connection to it), so a restore is staged: ``restore begin``/``restore chunk`` receive the
archive made by ``backup create`` into the daemon's ``backups/`` folder, ``restore check``
verifies it in a thread (a gzip tar of only ``centralino.db``, ``config/NAME`` and
``voicemail/...`` regular files, no link and no path leaving the archive; the database passes
SQLite's integrity check and has the call records' table; the configuration passes
``load_settings``) and unpacks it into ``backups/restore-staged/``. ``apply_staged``, called by
``centralino run`` before it opens the database, moves the current database and recordings to
``backups/before-restore/`` and the staged ones into place, and writes the configuration. Any
failure there is logged and leaves the current files (or a new empty database) in use: a restore
can never keep the switchboard from starting.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil
import sqlite3
import tarfile
import tempfile
import threading
from contextlib import closing
from pathlib import Path

from .commands import CommandError, ControlContext, command

log = logging.getLogger("centralino.restore")

UPLOAD = "restore-upload.tar.gz"
STAGED = "restore-staged"
BEFORE = "before-restore"
MANIFEST = "manifest.json"
CHUNK_MAX_BYTES = 32 * 1024  # base64 of it fits one 64 KiB request line
ARCHIVE_MAX_BYTES = 2 * 1024 ** 3


class RestoreError(ValueError):
    """An archive that cannot be restored; the message says which member and why."""


def check_archive(archive: Path, staged: Path) -> dict:
    """Verify ``archive`` and unpack it into ``staged``; returns the manifest written there."""
    from centralino.config.loader import ConfigError
    from centralino.config.schema import load_settings

    try:
        tar = tarfile.open(archive, "r:gz")
    except (tarfile.TarError, OSError) as err:
        raise RestoreError(f"not a gzip tar archive ({err})") from None
    with tar:
        members = tar.getmembers()
        configs = []
        for member in members:
            name = member.name
            parts = Path(name).parts
            if name.startswith("/") or ".." in parts or not parts:
                raise RestoreError(f"{name}: a path outside the archive")
            if not (member.isfile() or member.isdir()):
                raise RestoreError(f"{name}: only files and folders may be restored, not links or devices")
            if parts[0] == "config" and member.isfile():
                if len(parts) != 2:
                    raise RestoreError(f"{name}: the configuration is one file in config/")
                configs.append(name)
            elif parts[0] not in ("centralino.db", "voicemail", "announcements", "config"):
                raise RestoreError(f"{name}: not part of a centralino backup")
        if "centralino.db" not in [m.name for m in members if m.isfile()]:
            raise RestoreError("no centralino.db in the archive")
        if len(configs) > 1:
            raise RestoreError(f"more than one configuration: {', '.join(configs)}")
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir(mode=0o700, parents=True)
        try:
            tar.extractall(staged, filter="data")
        except TypeError:  # a Python without extraction filters: the members were checked above
            tar.extractall(staged)
    database = staged / "centralino.db"
    try:
        with closing(sqlite3.connect(f"{database.absolute().as_uri()}?mode=ro", uri=True)) as db:
            if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise RestoreError("centralino.db fails SQLite's integrity check")
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            calls = db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] if "calls" in tables else None
    except sqlite3.Error as err:
        raise RestoreError(f"centralino.db: not a usable SQLite database ({err})") from None
    if calls is None:
        raise RestoreError("centralino.db has no call records table: not a centralino database")
    summary = ""
    if configs:
        try:
            settings = load_settings(staged / configs[0])
        except (ConfigError, OSError, UnicodeDecodeError) as err:
            raise RestoreError(f"the configuration in the archive is refused: {err}") from None
        summary = f"{len(settings.extensions)} extensions, {len(settings.lines)} lines"
    recordings = sum(1 for p in (staged / "voicemail").rglob("*.wav")) if (staged / "voicemail").is_dir() else 0
    manifest = {"calls": calls, "config": configs[0] if configs else None, "config_summary": summary,
                "recordings": recordings}
    (staged / MANIFEST).write_text(json.dumps(manifest))
    return manifest


def apply_staged(database: Path, config: Path | None) -> dict | None:
    """At start, before the database is opened: put a staged restore in place. Never raises."""
    folder = Path(database).parent / "backups"
    staged = folder / STAGED
    if not (staged / MANIFEST).exists():
        return None
    moved: list[tuple[Path, Path]] = []  # (where it was, where it went), to put back on a failure
    try:
        manifest = json.loads((staged / MANIFEST).read_text())
        if not (staged / "centralino.db").is_file():
            raise RestoreError(f"{staged}: no centralino.db")
        before = folder / BEFORE
        shutil.rmtree(before, ignore_errors=True)
        before.mkdir(mode=0o700)
        database = Path(database)
        voicemail = database.parent / "voicemail"
        announcements = database.parent / "announcements"  # the avviso recorded by phone
        for current in [database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm")] + \
                [voicemail, announcements]:
            if current.exists():
                current.replace(before / current.name)
                moved.append((current, before / current.name))
        (staged / "centralino.db").replace(database)
        if (staged / "voicemail").is_dir():
            (staged / "voicemail").replace(voicemail)
        if (staged / "announcements").is_dir():
            (staged / "announcements").replace(announcements)
        moved.clear()  # the data is in place; a configuration that cannot be written is logged below
        if manifest.get("config") and config is not None:
            from .config_commands import _replace

            _replace(Path(config).resolve(), (staged / manifest["config"]).read_text(encoding="utf-8"))
        shutil.rmtree(staged, ignore_errors=True)
        log.warning("restored a backup: %s call records, %s recordings; the previous data is in %s",
                    manifest.get("calls"), manifest.get("recordings"), before)
        return manifest
    except Exception as err:  # a restore must never keep the switchboard from starting
        for original, parked in reversed(moved):
            try:
                if original.exists() and original.is_file():
                    original.unlink()
                parked.replace(original)
            except OSError:
                log.exception("could not put %s back", original)
        log.error("the staged restore could not be applied (%s); starting with the files as they are", err)
        failed = folder / "restore-failed"
        shutil.rmtree(failed, ignore_errors=True)
        try:
            staged.replace(failed)
        except OSError:
            pass
        return None


class RestoreJob:
    def __init__(self, folder: Path):
        self.folder = folder
        self.upload = folder / UPLOAD
        self.staged = folder / STAGED
        self.state, self.error, self.received, self.manifest = "idle", "", 0, {}
        if (self.staged / MANIFEST).exists():
            self.state, self.manifest = "staged", json.loads((self.staged / MANIFEST).read_text())

    def begin(self) -> None:
        if self.state == "checking":
            raise CommandError("restore begin: an archive is being checked; see restore status")
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.upload, "wb"):
            pass
        self.upload.chmod(0o600)
        self.state, self.error, self.received = "receiving", "", 0

    def chunk(self, offset: int, data: bytes) -> None:
        if self.state != "receiving":
            raise CommandError("restore chunk: no upload in progress; restore begin first")
        if offset != self.received:
            raise CommandError(f"restore chunk: expected offset {self.received}, got {offset}")
        if self.received + len(data) > ARCHIVE_MAX_BYTES:
            raise CommandError(f"restore chunk: an archive is at most {ARCHIVE_MAX_BYTES // 1024 ** 2} MiB")
        with open(self.upload, "ab") as handle:
            handle.write(data)
        self.received += len(data)

    def check(self, sha256: str) -> None:
        if self.state != "receiving":
            raise CommandError("restore check: nothing uploaded; restore begin first")
        digest = hashlib.sha256()
        with open(self.upload, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != sha256.lower():
            self.state, self.error = "failed", "the archive arrived damaged (SHA-256 differs)"
            return
        self.state = "checking"
        threading.Thread(target=self._check, name="restore-check", daemon=True).start()

    def _check(self) -> None:
        try:
            self.manifest = check_archive(self.upload, self.staged)
            self.state = "staged"
        except (RestoreError, OSError, tarfile.TarError) as err:
            shutil.rmtree(self.staged, ignore_errors=True)
            self.state, self.error = "failed", str(err)
        finally:
            self.upload.unlink(missing_ok=True)

    def cancel(self) -> None:
        shutil.rmtree(self.staged, ignore_errors=True)
        self.upload.unlink(missing_ok=True)
        self.state, self.error, self.manifest = "idle", "", {}

    def status(self) -> dict:
        return {"state": self.state, "error": self.error, "received": self.received, **self.manifest}


def _job(ctx: ControlContext) -> RestoreJob:
    job = getattr(ctx, "_restore_job", None)
    if job is None:
        job = ctx._restore_job = RestoreJob(Path(ctx.daemon.database).parent / "backups")
    return job


@command("restore begin", "restore begin", "start receiving a backup archive to restore", audited=True)
def restore_begin(ctx: ControlContext, args: list[str]):
    _job(ctx).begin()
    return {"chunk_bytes": CHUNK_MAX_BYTES}


@command("restore chunk", "restore chunk OFFSET DATA", "a piece of the archive (base64) at OFFSET", max_args=2)
def restore_chunk(ctx: ControlContext, args: list[str]):
    if len(args) != 2 or not args[0].isdigit():
        raise CommandError("restore chunk: usage: restore chunk OFFSET DATA")
    try:
        data = base64.b64decode(args[1], validate=True)
    except ValueError:
        raise CommandError("restore chunk: DATA is not base64") from None
    if len(data) > CHUNK_MAX_BYTES:
        raise CommandError(f"restore chunk: at most {CHUNK_MAX_BYTES} bytes a piece")
    job = _job(ctx)
    job.chunk(int(args[0]), data)
    return {"received": job.received}


@command("restore check", "restore check SHA256", "verify the received archive and stage it for the restart",
         max_args=1, audited=True)
def restore_check(ctx: ControlContext, args: list[str]):
    if len(args) != 1:
        raise CommandError("restore check: usage: restore check SHA256")
    job = _job(ctx)
    job.check(args[0])
    return job.status()


@command("restore status", "restore status", "the restore: receiving, checking, staged or failed")
def restore_status(ctx: ControlContext, args: list[str]):
    return _job(ctx).status()


@command("restore cancel", "restore cancel", "forget a staged or half-received restore", audited=True)
def restore_cancel(ctx: ControlContext, args: list[str]):
    job = _job(ctx)
    job.cancel()
    return job.status()
