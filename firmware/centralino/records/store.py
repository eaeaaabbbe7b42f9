"""The one store base: a kind of record in the SQLite file, on a connection of its own or shared.

Every store (call records, tickets, voicemail index, mail outbox) opens the file the same way,
writes in one short transaction and reads with its models bound to its own connection, on this
thread only (``database.bound``). A store made with ``database=`` shares a connection it does not
own: the records writer's ``Stores`` hands one connection to all four, so a job that opens a
ticket and queues its mail is one transaction, committed or rolled back whole.

What a store does outside the database (a recording's WAV file) must follow the transaction: a
file written for a row that is rolled back is removed (``_on_rollback``), and a file whose row is
deleted goes only once the deletion is committed (``_after_commit``). Alone, a store's own
transaction is the whole transaction; inside ``Stores.run`` the hooks wait for the outer one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import peewee

from .database import bound, open_database


class TransactionHooks:
    """What to do once the outer transaction commits, or if it rolls back."""

    def __init__(self):
        self.commit: list[Callable[[], None]] = []
        self.rollback: list[Callable[[], None]] = []

    def clear(self) -> None:
        self.commit.clear()
        self.rollback.clear()


class Store:
    """Rows of ``MODELS`` in the database at ``database_path``."""

    MODELS: tuple[type[peewee.Model], ...] = ()

    def __init__(self, database_path, *, database: peewee.SqliteDatabase | None = None,
                 hooks: TransactionHooks | None = None):
        self.path = Path(database_path)
        self._owns_database = database is None
        self.db = open_database(self.path, self.MODELS) if database is None else database
        self._hooks = hooks

    @contextmanager
    def _write(self):
        """One transaction (a savepoint inside a shared one), committed when the block ends."""
        with bound(self.db), self.db.atomic():
            yield

    @contextmanager
    def _read(self):
        with bound(self.db):
            yield

    def _after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the changes just made are committed (at once when on our own)."""
        if self._hooks is None:
            action()
        else:
            self._hooks.commit.append(action)

    def _on_rollback(self, action: Callable[[], None]) -> None:
        """Undo something outside the database if the shared transaction is rolled back."""
        if self._hooks is not None:
            self._hooks.rollback.append(action)

    def close_database(self) -> None:
        """Close the connection if it is this store's own (a shared one is closed by its owner)."""
        if self._owns_database and not self.db.is_closed():
            self.db.close()

    close = close_database  # TicketStore's ``close`` closes a ticket; ``close_database`` is everyone's

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close_database()
