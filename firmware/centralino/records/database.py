"""The SQLite file: WAL journal, full fsync on commit, refused loudly when it is not ours.

A Pi loses power without warning: ``synchronous=FULL`` in WAL mode makes every committed
transaction survive that, at the price of one fsync per commit, which a few calls a minute afford.
A file at the configured path that is not an SQLite database, or is another program's database,
is never touched: the error names the path and the way out. A file written by an older centralino
is upgraded in place when opened (``UPGRADES``: columns added with their default; nothing lost).

Models are declared on ``database_proxy`` and bound to one opened database only for the length of
each operation (``bind_ctx``), so two stores open in one process (a test, the CLI beside a
simulator) never write into each other's file.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import peewee

SCHEMA_VERSION = 2
# What each schema version added to tables that existed before it: (table, column, SQL type and
# default). SQLite's ADD COLUMN with a constant default fills every old row without rewriting the
# table, so the upgrade is one quick transaction. New tables need no entry (created when missing).
UPGRADES: dict[int, tuple[tuple[str, str, str], ...]] = {
    2: (("calls", "office", "VARCHAR(255) NOT NULL DEFAULT ''"),
        ("calls", "queued_s", "REAL NOT NULL DEFAULT 0.0"),
        ("calls", "overflowed", "INTEGER NOT NULL DEFAULT 0")),
}
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000
PRAGMAS = {"journal_mode": "wal", "synchronous": "full", "foreign_keys": 1, "busy_timeout": BUSY_TIMEOUT_MS}

database_proxy = peewee.DatabaseProxy()


class RecordsError(RuntimeError):
    """The database cannot be used; the message names the file."""


class RecordNotFound(RecordsError, LookupError):
    """A message, ticket or mail asked for by number that is not in the database."""


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
        raise RecordsError(f"{path}: cannot read the database ({err.strerror or err})") from None
    if header != SQLITE_MAGIC:
        raise RecordsError(f"{path}: not an SQLite database (left untouched; move it away or "
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
                    raise RecordsError(f"{path}: table '{table}' lacks columns {', '.join(missing)}: "
                                       "not a centralino database (left untouched)")
    except sqlite3.DatabaseError as err:
        raise RecordsError(f"{path}: cannot use the database ({err}); left untouched") from None
    if newest is not None and newest > SCHEMA_VERSION:
        raise RecordsError(f"{path}: written by a newer centralino (schema {newest}, this one knows "
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


def open_database(path, models=()) -> peewee.SqliteDatabase:
    """Open (or create) the database at ``path`` with durable pragmas and the tables of ``models``."""
    path = Path(path)
    _check_header(path)
    version = _check_tables(path, models)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RecordsError(f"{path}: cannot create its folder ({err.strerror or err})") from None
    db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS)
    try:
        db.connect(reuse_if_open=True)
        with db.bind_ctx([SchemaVersion, *models]):
            with db.atomic():
                if version is not None and version < SCHEMA_VERSION:
                    _upgrade(db, version)
                db.create_tables([SchemaVersion, *models])
                if SchemaVersion.select().count() == 0:
                    SchemaVersion.create(version=SCHEMA_VERSION)
    except (peewee.DatabaseError, sqlite3.DatabaseError) as err:
        db.close()
        raise RecordsError(f"{path}: cannot use the database ({err})") from err
    return db
