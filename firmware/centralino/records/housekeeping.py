"""Housekeeping: the retention and privacy rules applied to the records, at start and once a day.

- Call records older than ``records.keep_days`` are deleted (never a call still ``in_progress``),
  and so are the rows of mails sent that long ago (a mail not yet sent always stays).
- Callers' numbers in call records older than ``records.mask_after_days`` are masked
  (``retention.mask_number``: the first digits stay, for statistics by area). Calls still
  ``in_progress`` are never touched: their row is the engine's until the call ends.
- Callback tickets are masked only once ``closed`` and only ``mask_after_days`` after closing: an
  open ticket's number is the promise to call back, and the office may need it for a while after
  the callback (a complaint, a second call).
- Voicemail messages older than ``records.voicemail_keep_days`` are deleted, row and WAV file,
  and so are WAV files left in the voicemail folder without a row (a power cut between writing a
  message and indexing it) once they are as old: a citizen's voice is not kept by accident.

Every step is idempotent (a second run the same day changes nothing and reports zeros). The rules
are one job (``apply_retention``) on the four stores, in one transaction: the daemon hands it to
the records writer (``start_daily(..., writer=)``), so it never runs on the event loop; a tool or
a test runs it on its own connection (``run_retention``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .stores import VOICEMAIL_FOLDER, Stores, voicemail_folder  # noqa: F401  (VOICEMAIL_FOLDER: the tests')
from .voicemail import VoicemailStore
from .writer import RecordsUnavailable

log = logging.getLogger("centralino.records")

DAILY_S = 24 * 3600.0
RECORDING_PATTERNS = ("*.wav", "*.wav.part")


@dataclass(frozen=True)
class RetentionResult:
    calls_masked: int = 0
    tickets_masked: int = 0
    voicemails_deleted: int = 0
    orphan_files_deleted: int = 0
    calls_deleted: int = 0
    mails_deleted: int = 0

    @property
    def changed(self) -> bool:
        return self != RetentionResult()


def _delete_orphans(store: VoicemailStore, now: datetime, days: int) -> int:
    """Recordings no row points at, older than ``days`` (a power cut between file and row)."""
    folder = store.directory
    if not folder.is_dir():
        return 0
    indexed = store.indexed_paths()
    cutoff_s = (now - timedelta(days=days)).timestamp()
    orphans = 0
    for pattern in RECORDING_PATTERNS:
        for path in folder.rglob(pattern):
            try:
                if path.resolve() not in indexed and path.stat().st_mtime < cutoff_s:
                    path.unlink()
                    orphans += 1
            except OSError as err:
                log.warning("voicemail retention: cannot remove %s (%s)", path, err.strerror or err)
    return orphans


def apply_retention(stores: Stores, records, now: datetime) -> RetentionResult:
    """The rules of ``records`` (``settings.records``) as of ``now``, as one job on ``stores``."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    kept_until = now - timedelta(days=records.keep_days)
    mask_cutoff = now - timedelta(days=records.mask_after_days)
    orphans = _delete_orphans(stores.voicemail, now, records.voicemail_keep_days)  # before the purge's files go
    voicemails = stores.voicemail.purge_older_than(now, records.voicemail_keep_days)
    calls_deleted = stores.cdr.delete_finished_before(kept_until)  # first: masking them would be wasted
    return RetentionResult(calls_masked=stores.cdr.mask_callers_before(mask_cutoff),
                           tickets_masked=stores.tickets.mask_callers_before(mask_cutoff),
                           voicemails_deleted=voicemails, orphan_files_deleted=orphans,
                           calls_deleted=calls_deleted, mails_deleted=stores.outbox.delete_sent_before(kept_until))


def _report(result: RetentionResult, records) -> None:
    if result.changed:
        log.info("retention: deleted %d call record(s) and %d sent mail(s) older than %d days; masked callers "
                 "of %d call(s) and %d closed ticket(s) older than %d days; deleted %d voicemail(s) and %d "
                 "stray recording(s) older than %d days", result.calls_deleted, result.mails_deleted,
                 records.keep_days, result.calls_masked, result.tickets_masked, records.mask_after_days,
                 result.voicemails_deleted, result.orphan_files_deleted, records.voicemail_keep_days)
    else:
        log.debug("retention: nothing to delete or mask")


def run_retention(settings, now: datetime, database=None) -> RetentionResult:
    """Apply the rules of ``settings.records`` as of ``now`` (aware, or naive UTC), on a connection
    of its own.

    ``database`` overrides ``settings.records.database`` (``centralino run --database``); the
    voicemail recordings are looked for in the ``voicemail`` folder beside it.
    """
    records = settings.records
    database = Path(database or records.database)
    with Stores.open(database, voicemail_folder(database)) as stores:
        result = stores.run(lambda st: apply_retention(st, records, now))
    _report(result, records)
    return result


async def _daily(settings, wall_clock, database, every_s: float, writer) -> None:
    while True:
        try:
            if writer is not None:
                now = wall_clock()
                result = await writer.run(lambda st: apply_retention(st, settings.records, now), keep=False)
                _report(result, settings.records)
            else:
                run_retention(settings, wall_clock(), database)
        except Exception as err:  # a full disk or a locked file must not stop the daemon: try again later
            if isinstance(err, RecordsUnavailable):  # the file is unusable: the writer says so already
                log.warning("retention skipped: %s; trying again in %.0f hours", err, every_s / 3600)
            else:
                log.exception("retention failed; trying again in %.0f hours", every_s / 3600)
        await asyncio.sleep(every_s)


def start_daily(settings, wall_clock, database=None, every_s: float = DAILY_S, writer=None) -> asyncio.Task:
    """Run the retention now (on the next pass of the loop) and every ``every_s`` after.

    With ``writer`` (a ``RecordWriter``) each run is one job on the writer's thread; without, it
    opens the file itself on the loop's thread (the daemon as it was before the writer).
    """
    return asyncio.get_running_loop().create_task(_daily(settings, wall_clock, database, every_s, writer),
                                                  name="housekeeping")


async def stop_daily(task: asyncio.Task | None) -> None:
    """Cancel the daily task started by ``start_daily`` (None: nothing was started)."""
    if task is None:
        return
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
