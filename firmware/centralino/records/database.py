"""The SQLite file: WAL journal, full fsync on commit, refused loudly when it is not ours.

A Pi loses power without warning: ``synchronous=FULL`` in WAL mode makes every committed
transaction survive that, at the price of one fsync per commit, which a few calls a minute afford.
A file at the configured path that is not an SQLite database, or is another program's database,
is never touched: the error names the path and the way out. A file written by an older centralino
is upgraded in place when opened (``UPGRADES``: columns added with their default; nothing lost).

Models are declared on ``database_proxy`` and bound to one opened database only for the length of
each operation and only on the thread doing it (``bound``): two stores open in one process (a test,
the CLI beside a simulator) never write into each other's file, and the records writer's thread
and the event loop's thread never see each other's binding.

Errors say what kind of trouble the file is in, because the records writer acts on it:
``StorageError`` (cannot be read or written now: read-only, full, I/O, permissions; it may get
better), ``ForeignDatabase`` (not ours: never touched) and ``CorruptDatabase`` (ours, unreadable).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path

import peewee

SCHEMA_VERSION = 5
# What each schema version added to tables that existed before it: (table, column, SQL type and
# default). SQLite's ADD COLUMN with a constant default fills every old row without rewriting the
# table, so the upgrade is one quick transaction. New tables need no entry (created when missing).
UPGRADES: dict[int, tuple[tuple[str, str, str], ...]] = {
    2: (("calls", "office", "VARCHAR(255) NOT NULL DEFAULT ''"),
        ("calls", "queued_s", "REAL NOT NULL DEFAULT 0.0"),
        ("calls", "overflowed", "INTEGER NOT NULL DEFAULT 0")),
    3: (("outbox", "message_id", "VARCHAR(255) NOT NULL DEFAULT ''"),),
    4: (("tickets", "subject", "VARCHAR(255) NOT NULL DEFAULT ''"),  # tickets with a life cycle
        ("tickets", "deadline", "VARCHAR(255) NOT NULL DEFAULT '7_days'"),
        ("tickets", "due_at", "VARCHAR(255)"),  # filled from opened_at by TicketStore
        ("tickets", "waiting_since", "VARCHAR(255)"),
        ("tickets", "waiting_for", "VARCHAR(255) NOT NULL DEFAULT ''"),
        ("tickets", "waited_s", "REAL NOT NULL DEFAULT 0.0"),
        ("tickets", "outcome", "VARCHAR(255) NOT NULL DEFAULT ''")),
    5: (("calls", "crisis", "INTEGER NOT NULL DEFAULT 0"),),  # made during the crisis service (older rows: 0)
}
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000
PRAGMAS = {"journal_mode": "wal", "synchronous": "full", "foreign_keys": 1, "busy_timeout": BUSY_TIMEOUT_MS}
# SQLite's primary result codes that mean "the file cannot be used now" and "the file is damaged".
STORAGE_CODES = {"SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_PERM",
                 "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_NOMEM", "SQLITE_PROTOCOL", "SQLITE_AUTH", "SQLITE_NOLFS"}
CORRUPT_CODES = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
MOVED_MARK = ".corrupt-"  # centralino.db -> centralino.db.corrupt-20261124T080000Z (with -wal, -shm)
MOVED_STAMP = "%Y%m%dT%H%M%SZ"
SIDE_FILES = ("-wal", "-shm")
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM}


class ThreadBoundProxy(peewee.DatabaseProxy):
    """The models' database: whichever one the current thread bound last (``bound``).

    peewee's own ``bind_ctx`` rebinds a model for every thread at once; the records writer runs
    on its own thread beside the event loop's readers, so the binding must be per thread.
    """

    __slots__ = ("_local",)

    def __init__(self):
        object.__setattr__(self, "_local", threading.local())
        super().__init__()

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)

    @property
    def obj(self):
        return getattr(self._local, "db", None)

    @obj.setter
    def obj(self, value):
        self._local.db = value


database_proxy = ThreadBoundProxy()


@contextmanager
def bound(db: peewee.Database):
    """Models use ``db`` on this thread until the block ends (then whatever they used before)."""
    previous = database_proxy.obj
    database_proxy.obj = db
    try:
        yield db
    finally:
        database_proxy.obj = previous


class RecordsError(RuntimeError):
    """The database cannot be used; the message names the file."""


class RecordNotFound(RecordsError, LookupError):
    """A message, ticket or mail asked for by number that is not in the database."""


class StorageError(RecordsError):
    """The file or its folder cannot be read or written now (read-only, full, I/O error...)."""


class ForeignDatabase(RecordsError):
    """The file at the path is not a centralino database (or a newer one's): it is never touched."""


class CorruptDatabase(RecordsError):
    """The file is an SQLite database that cannot be read: damaged."""


def sqlite_codes(err: BaseException) -> list[str]:
    """The primary SQLite result names (``SQLITE_FULL``...) in ``err`` and every error behind it.

    All of them, not the first: after SQLITE_FULL SQLite has already rolled the transaction back,
    so peewee's own rollback fails ("no transaction is active") in front of the real cause.
    """
    return ["_".join(item.sqlite_errorname.split("_")[:2])  # SQLITE_IOERR_WRITE -> SQLITE_IOERR
            for item in _chain(err) if getattr(item, "sqlite_errorname", None)]


def _chain(err: BaseException) -> list[BaseException]:
    """``err`` and every error behind it: what peewee wraps, the cause, the context."""
    found, todo, seen = [], [err], set()
    while todo:
        item = todo.pop(0)
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        found.append(item)
        wrapped = item.args[0] if item.args and isinstance(item.args[0], BaseException) else None
        todo += [wrapped, item.__cause__, item.__context__]
    return found


def trouble_text(err: BaseException) -> str:
    """The message of the real trouble behind ``err`` ("database or disk is full", not peewee's
    "cannot rollback" that hides it), for the log, the status and the console."""
    for item in _chain(err):
        name = getattr(item, "sqlite_errorname", None)
        if name and "_".join(name.split("_")[:2]) in STORAGE_CODES | CORRUPT_CODES:
            return str(item)
    return str(err) or type(err).__name__


def storage_trouble(err: BaseException) -> type[RecordsError] | None:
    """What is wrong with the file behind ``err``: StorageError, CorruptDatabase, ForeignDatabase,
    or None when the file is fine and the operation itself was refused (a bad value, a missing row)."""
    for kind in (CorruptDatabase, ForeignDatabase, StorageError):
        if isinstance(err, kind):
            return kind
    codes = set(sqlite_codes(err))
    if codes & CORRUPT_CODES:
        return CorruptDatabase
    if codes & STORAGE_CODES or (isinstance(err, OSError) and err.errno in STORAGE_ERRNOS):
        return StorageError
    return None


def _database_error(path: Path, err: BaseException, what: str = "cannot use the database") -> RecordsError:
    kind = storage_trouble(err) or RecordsError
    return kind(f"{path}: {what} ({err})")


def to_text(when: datetime | None) -> str | None:
    """A datetime as the stored UTC text (naive means UTC): one format that sorts in time order."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class BaseModel(peewee.Model):
    class Meta:
        database = database_proxy


class SchemaVersion(BaseModel):
    version = peewee.IntegerField()

    class Meta:
        table_name = "schema_version"


def _check_header(path: Path) -> None:
    """An existing, non-empty file must start with SQLite's magic string (an empty one is a new db)."""
    try:
        if not path.exists() or path.stat().st_size == 0:
            return
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except OSError as err:
        raise StorageError(f"{path}: cannot read the database ({err.strerror or err})") from None
    if header != SQLITE_MAGIC:
        raise ForeignDatabase(f"{path}: not an SQLite database (left untouched; move it away or "
                              "set records.database to another file)")


def _added_since(version: int | None) -> set[tuple[str, str]]:
    """(table, column) pairs that a file of schema ``version`` may lack because a later one added them."""
    if version is None:  # no schema_version table: not a file we wrote, nothing may be missing
        return set()
    return {(table, column) for v, columns in UPGRADES.items() if v > version for table, column, _ in columns}


def _check_tables(path: Path, models) -> int | None:
    """Tables that exist must have our columns: another program's ``calls`` table is not ours.

    Looked at through a read-only connection, before the WAL pragma rewrites the file header.
    Columns a later schema added are allowed to be missing from an older file (they are added on
    open). Returns the file's schema version (None for a new or empty file).
    """
    if not path.exists() or path.stat().st_size == 0:
        return None
    uri = path.absolute().as_uri() + "?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            existing = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            newest = None
            if SchemaVersion._meta.table_name in existing:
                newest = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
            upgradable = _added_since(newest)
            for model in (SchemaVersion, *models):
                table = model._meta.table_name
                if table not in existing:
                    continue
                columns = {row[1] for row in db.execute(f'PRAGMA table_info("{table}")')}
                missing = sorted(c for c in set(model._meta.columns) - columns if (table, c) not in upgradable)
                if missing:
                    raise ForeignDatabase(f"{path}: table '{table}' lacks columns {', '.join(missing)}: "
                                          "not a centralino database (left untouched)")
    except sqlite3.DatabaseError as err:
        kind = storage_trouble(err) or CorruptDatabase  # unreadable but an SQLite header: damaged
        raise kind(f"{path}: cannot use the database ({err}); left untouched") from None
    if newest is not None and newest > SCHEMA_VERSION:
        raise ForeignDatabase(f"{path}: written by a newer centralino (schema {newest}, this one knows "
                              f"{SCHEMA_VERSION}); left untouched")
    return newest


def _upgrade(db: peewee.SqliteDatabase, version: int) -> None:
    """Bring a file of schema ``version`` to ``SCHEMA_VERSION`` (inside the caller's transaction).

    Every store of the file (calls, tickets, voicemails...) may be the first to open it, so the
    upgrade covers all tables, not only the opening store's.
    """
    tables = set(db.get_tables())
    for v in sorted(UPGRADES):
        if v <= version:
            continue
        for table, column, sql_type in UPGRADES[v]:
            if table in tables and column not in {c.name for c in db.get_columns(table)}:
                db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {sql_type}')
    SchemaVersion.update(version=SCHEMA_VERSION).execute()


def _quick_check(db: peewee.SqliteDatabase, path: Path) -> None:
    """SQLite's own scan of every page (no index cross-check): a damaged file says so here."""
    try:
        result = [row[0] for row in db.execute_sql("PRAGMA quick_check").fetchall()]
    except (peewee.DatabaseError, sqlite3.DatabaseError) as err:
        if storage_trouble(err) is not CorruptDatabase:
            raise
        result = [str(err)]
    if result != ["ok"]:
        raise CorruptDatabase(f"{path}: the database is damaged ({'; '.join(result[:3])})")


def open_database(path, models=(), check: bool = False) -> peewee.SqliteDatabase:
    """Open (or create) the database at ``path`` with durable pragmas and the tables of ``models``.

    ``check`` also scans every page first (``PRAGMA quick_check``): what the records writer does
    once at start, so a damaged file is found before the first call's record goes into it.
    """
    path = Path(path)
    _check_header(path)
    version = _check_tables(path, models)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(f"{path}: cannot create its folder ({err.strerror or err})") from None
    db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS)
    try:
        db.connect(reuse_if_open=True)
        if check and version is not None:
            _quick_check(db, path)
        with bound(db):
            with db.atomic():
                if version is not None and version < SCHEMA_VERSION:
                    _upgrade(db, version)
                db.create_tables([SchemaVersion, *models])
                if SchemaVersion.select().count() == 0:
                    SchemaVersion.create(version=SCHEMA_VERSION)
    except CorruptDatabase:
        db.close()
        raise
    except (peewee.DatabaseError, sqlite3.DatabaseError) as err:
        db.close()
        raise _database_error(path, err) from err
    return db


def move_aside(path, when: datetime) -> Path:
    """Rename a damaged database and its -wal and -shm to ``NAME.corrupt-STAMP``; returns the new path.

    Renamed together, the three still open as one database for a recovery by hand. An existing
    name is never reused (``-1``, ``-2``...). Raises OSError when the folder cannot be changed.
    """
    path = Path(path)
    stamp = when.astimezone(timezone.utc).strftime(MOVED_STAMP)
    target = path.with_name(f"{path.name}{MOVED_MARK}{stamp}")
    n = 1
    while any(Path(f"{target}{suffix}").exists() for suffix in ("", *SIDE_FILES)):
        target = path.with_name(f"{path.name}{MOVED_MARK}{stamp}-{n}")
        n += 1
    os.rename(path, target)
    for suffix in SIDE_FILES:
        if Path(f"{path}{suffix}").exists():
            os.rename(f"{path}{suffix}", f"{target}{suffix}")
    fd = os.open(path.parent, os.O_RDONLY)  # the new names survive a power cut too
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return target


def moved_copies(path) -> list[Path]:
    """The damaged copies of the database at ``path`` moved aside by ``move_aside``, oldest first."""
    path = Path(path)
    return sorted(p for p in path.parent.glob(f"{path.name}{MOVED_MARK}*") if not p.name.endswith(SIDE_FILES))
