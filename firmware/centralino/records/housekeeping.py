"""Housekeeping: the privacy rules applied to the records, when the daemon starts and once a day.

- Callers' numbers in call records older than ``records.mask_after_days`` are masked
  (``retention.mask_number``: the first digits stay, for statistics by area). Calls still
  ``in_progress`` are never touched: their row is the engine's until the call ends.
- Callback tickets are masked only once ``closed`` and only ``mask_after_days`` after closing: an
  open ticket's number is the promise to call back, and the office may need it for a while after
  the callback (a complaint, a second call).
- Voicemail messages older than ``records.voicemail_keep_days`` are deleted, row and WAV file,
  and so are WAV files left in the voicemail folder without a row (a power cut between writing a
  message and indexing it) once they are as old: a citizen's voice is not kept by accident.

Every step is idempotent (a second run the same day changes nothing and reports zeros) and is a
few short transactions on the loop's thread: at most a day's rows are new each time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .cdr import CdrStore
from .tickets import TicketStore
from .voicemail import VoicemailStore

log = logging.getLogger("centralino.records")

DAILY_S = 24 * 3600.0
VOICEMAIL_FOLDER = "voicemail"  # beside the database, as the daemon lays it out
RECORDING_PATTERNS = ("*.wav", "*.wav.part")


@dataclass(frozen=True)
class RetentionResult:
    calls_masked: int = 0
    tickets_masked: int = 0
    voicemails_deleted: int = 0
    orphan_files_deleted: int = 0

    @property
    def changed(self) -> bool:
        return self != RetentionResult()


def _mask_calls(database: Path, cutoff: datetime) -> int:
    """The outside party of finished calls started before ``cutoff`` (the store's rule)."""
    with CdrStore(database) as store:
        return store.mask_callers_before(cutoff)


def _mask_tickets(database: Path, cutoff: datetime) -> int:
    """The caller of tickets closed before ``cutoff``; open and in-progress ones keep it."""
    with TicketStore(database) as store:
        return store.mask_callers_before(cutoff)


def _delete_voicemails(database: Path, folder: Path, now: datetime, days: int) -> tuple[int, int]:
    """Old messages (rows and files), then old recordings no row points at; returns both counts."""
    with VoicemailStore(database, folder) as store:
        deleted = store.purge_older_than(now, days)
        indexed = store.indexed_paths()
    cutoff_s = (now - timedelta(days=days)).timestamp()
    orphans = 0
    if folder.is_dir():
        for pattern in RECORDING_PATTERNS:
            for path in folder.rglob(pattern):
                try:
                    if path.resolve() not in indexed and path.stat().st_mtime < cutoff_s:
                        path.unlink()
                        orphans += 1
                except OSError as err:
                    log.warning("voicemail retention: cannot remove %s (%s)", path, err.strerror or err)
    return deleted, orphans


def run_retention(settings, now: datetime, database=None) -> RetentionResult:
    """Apply the privacy rules of ``settings.records`` as of ``now`` (aware, or naive UTC).

    ``database`` overrides ``settings.records.database`` (``centralino run --database``); the
    voicemail recordings are looked for in the ``voicemail`` folder beside it.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    records = settings.records
    database = Path(database or records.database)
    mask_cutoff = now - timedelta(days=records.mask_after_days)
    deleted, orphans = _delete_voicemails(database, database.parent / VOICEMAIL_FOLDER, now,
                                          records.voicemail_keep_days)
    result = RetentionResult(calls_masked=_mask_calls(database, mask_cutoff),
                             tickets_masked=_mask_tickets(database, mask_cutoff),
                             voicemails_deleted=deleted, orphan_files_deleted=orphans)
    if result.changed:
        log.info("retention: masked callers of %d call(s) and %d closed ticket(s) older than %d days; "
                 "deleted %d voicemail(s) and %d stray recording(s) older than %d days",
                 result.calls_masked, result.tickets_masked, records.mask_after_days,
                 result.voicemails_deleted, result.orphan_files_deleted, records.voicemail_keep_days)
    else:
        log.debug("retention: nothing to mask or delete")
    return result


async def _daily(settings, wall_clock, database, every_s: float) -> None:
    while True:
        try:
            run_retention(settings, wall_clock(), database)
        except Exception:  # a full disk or a locked file must not stop the daemon: try again later
            log.exception("retention failed; trying again in %.0f hours", every_s / 3600)
        await asyncio.sleep(every_s)


def start_daily(settings, wall_clock, database=None, every_s: float = DAILY_S) -> asyncio.Task:
    """Run the retention now (on the next pass of the loop) and every ``every_s`` after."""
    return asyncio.get_running_loop().create_task(_daily(settings, wall_clock, database, every_s),
                                                  name="housekeeping")


async def stop_daily(task: asyncio.Task | None) -> None:
    """Cancel the daily task started by ``start_daily`` (None: nothing was started)."""
    if task is None:
        return
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
