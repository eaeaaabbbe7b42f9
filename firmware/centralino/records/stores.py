"""The four stores on one connection, and a job run on them as one transaction.

``Stores`` is what a ``RecordWriter`` job receives (``job(stores)``): ``.cdr``, ``.tickets``,
``.voicemail`` and ``.outbox`` share one connection, so a voicemail and its mail, or a ticket and
its mail, are committed together or not at all. It is usable on its own too, synchronously
(``Stores.open(path).run(job)``), for a tool or a test that wants the same transaction without
the writer's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .cdr import CallRecord, CdrStore
from .database import bound, open_database
from .outbox import OutboxMail, OutboxStore
from .store import TransactionHooks
from .tickets import Ticket, TicketEvent, TicketStore
from .voicemail import VoicemailMessage, VoicemailStore

log = logging.getLogger("centralino.records")

MODELS = (CallRecord, Ticket, TicketEvent, VoicemailMessage, OutboxMail)
VOICEMAIL_FOLDER = "voicemail"  # beside the database, as the daemon lays it out

T = TypeVar("T")


def voicemail_folder(database_path) -> Path:
    return Path(database_path).parent / VOICEMAIL_FOLDER


class Stores:
    """Call records, tickets, voicemail index and outbox of one file, on the connection ``db``."""

    def __init__(self, db, database_path, voicemail_dir=None):
        self.db = db
        self.path = Path(database_path)
        self.hooks = TransactionHooks()
        shared = {"database": db, "hooks": self.hooks}
        self.cdr = CdrStore(self.path, **shared)
        self.tickets = TicketStore(self.path, **shared)
        self.voicemail = VoicemailStore(self.path, voicemail_dir or voicemail_folder(self.path), **shared)
        self.outbox = OutboxStore(self.path, **shared)

    @classmethod
    def open(cls, database_path, voicemail_dir=None, check: bool = False) -> "Stores":
        """Open (or create) the file with every table; ``check`` scans its pages first."""
        return cls(open_database(database_path, MODELS, check=check), database_path, voicemail_dir)

    def run(self, job: Callable[["Stores"], T]) -> T:
        """``job(self)`` in one transaction: committed when it returns, rolled back whole if it raises.

        Files written for rows that are rolled back are removed; files of deleted rows go once the
        deletion is committed.
        """
        self.hooks.clear()
        try:
            with bound(self.db), self.db.atomic():
                result = job(self)
        except BaseException:
            for undo in reversed(self.hooks.rollback):
                _quietly(undo)
            self.hooks.clear()
            raise
        for action in self.hooks.commit:
            _quietly(action)
        self.hooks.clear()
        return result

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()

    def __enter__(self) -> "Stores":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # tidying a file must not undo a committed transaction
        log.exception("records: tidying up after a transaction failed")
