"""The SQLite file: WAL journal, full fsync on commit, refused loudly when it is not ours.

A Pi loses power without warning: ``synchronous=FULL`` in WAL mode makes every committed
transaction survive that, at the price of one fsync per commit, which a few calls a minute afford.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import peewee

SCHEMA_VERSION = 1
PRAGMAS = {"journal_mode": "wal", "synchronous": "full", "foreign_keys": 1, "busy_timeout": 5000}

database_proxy = peewee.DatabaseProxy()


class RecordsError(RuntimeError):
    """The database cannot be used; the message names the file."""


class BaseModel(peewee.Model):
    class Meta:
        database = database_proxy


class SchemaVersion(BaseModel):
    version = peewee.IntegerField()

    class Meta:
        table_name = "schema_version"


def open_database(path, models) -> peewee.SqliteDatabase:
    path = Path(path)
    if path.exists() and path.stat().st_size:
        with open(path, "rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                raise RecordsError(f"{path}: not an SQLite database (left untouched; move it away or "
                                   "set records.database to another file)")
    path.parent.mkdir(parents=True, exist_ok=True)
    db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS)
    database_proxy.initialize(db)
    try:
        db.connect(reuse_if_open=True)
        db.create_tables([SchemaVersion, *models])
        if SchemaVersion.select().count() == 0:
            SchemaVersion.create(version=SCHEMA_VERSION)
    except (peewee.DatabaseError, sqlite3.DatabaseError) as err:
        db.close()
        raise RecordsError(f"{path}: cannot use the database ({err})") from err
    return db
