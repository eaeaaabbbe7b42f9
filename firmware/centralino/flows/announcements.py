"""Announcements recorded by phone: the avviso callers hear before the menu, and the comune's prompts.

A staff member allowed in ``announcements.staff`` dials ``features.announcements`` (``*55``),
keys the PIN and #, and then, from a short spoken menu:

- 1 records the avviso (beep, speak, # to end; then 1 listen, 2 accept, 3 record again);
- 2 listens to it, 3 turns it on, 4 off, 5 sets an end time (HHMM: today, or tomorrow when that
  time has passed) after which it turns itself off;
- 9 re-records one of the comune's own prompts: the WAVs of ``switchboard.prompts``, numbered
  from 1 in the order of their file names (``announcements prompts`` on the console lists them);
  the prompt is played first, then recorded like the avviso.

Callers hear the avviso (when on, accepted and before its end time) right before the voce
guida's menu, after the crisis announcement. Everything lives in the files (``recordings.py``):
the avviso in ``announcements/`` beside the database, a prompt in the comune's prompt folder,
so a reload or a restart changes nothing. The end time is checked each time someone asks
(a caller, ``status``) and by a timer, so ``status`` shows the avviso off once it has passed.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from centralino.media.frames import SAMPLE_RATE_HZ

from . import italian
from .recordings import RecordingShelf, ShelfError
from .sentences import recording_dialog as dialog
from .session import beep

log = logging.getLogger("centralino.flows")

AVVISO = "avviso"  # the one announcement recorded from a phone (the console takes any name on the shelf)
PIN_TRIES = 3
KEY_TIMEOUT_S = 8.0
MENU_REPEATS = 2  # the menu said again when no key comes, then the phone hears busy tone
MAX_RECORDING_S = 120.0
MIN_RECORDING_S = 0.5  # shorter is a slip of the finger, not a recording
RECORDING_SILENCE_S = 10.0
GAP_S = 0.5  # between two announcements


def load_config(settings, host):
    board = Announcements(settings, host)
    host.register_feature("announcements", board.run_phone)
    host.register_status("avviso", board.status)
    return board


def data_folder(settings, host) -> Path:
    """Beside the database the daemon really uses (``run --database`` may move it)."""
    records = getattr(host, "records", None)
    path = getattr(records, "path", None)
    return Path(path).parent if path is not None else Path(settings.records.database).parent


class Announcements:
    def __init__(self, settings, host):
        self.rules = settings.announcements
        self.host = host
        self.zone = ZoneInfo(settings.comune.timezone)
        self.shelf = RecordingShelf(data_folder(settings, host) / "announcements")
        folder = settings.rules.prompts if settings.rules is not None else None
        self.prompts = RecordingShelf(folder) if folder else None
        self._timer = None

    # ------------------------------------------------------------------ callers' side
    def for_callers(self) -> np.ndarray | None:
        """Every announcement that is on, in the order of their names, else None (never a
        recording not yet accepted). The phone records the avviso; a technician may put more
        files on the shelf and switch them from the console."""
        try:
            parts = [audio for name in self.shelf.names() if self.active(name)
                     and (audio := self.shelf.samples(name)) is not None]
        except Exception:  # a damaged shelf costs the announcement, never the caller's call
            log.exception("the announcements cannot be read; callers go straight to the menu")
            return None
        if not parts:
            return None
        gap = np.zeros(round(GAP_S * SAMPLE_RATE_HZ), dtype=np.int16)
        return np.concatenate([piece for audio in parts for piece in (gap, audio)][1:])

    def active(self, name: str = AVVISO) -> bool:
        """On, accepted and before its end time; an end time that has passed turns it off here."""
        info = self.shelf.info(name)
        if not info.get("enabled"):
            return False
        until = _when(info.get("until"))
        if until is not None and self._now() >= until:
            try:
                self.set_enabled(name, False, by="end time")
            except ShelfError as err:  # off all the same: the end time is read again next time
                log.error("%s", err)
            return False
        return self.shelf.path(name).is_file()

    def set_enabled(self, name: str, on: bool, by: str) -> dict:
        info = self.shelf.info(name)
        until = info.get("until")
        ends = _when(until)
        if not on or ends is None or self._now() >= ends:
            until = None  # an end time belongs to one period on
        entry = self.shelf.update(name, enabled=on, until=until)
        self._changed(name, by, enabled=on)
        return entry

    def set_until(self, name: str, until: datetime, by: str) -> dict:
        entry = self.shelf.update(name, until=until.isoformat(timespec="minutes"))
        self._changed(name, by, until=entry["until"])
        return entry

    def _changed(self, name: str, by: str, **what) -> None:
        log.info("announcement %s: %s by %s", name, what, by)
        if self.host.engine is not None:
            self.host.engine.note("announcement", name=name, by=by, **what)
        self.host.bus.publish("announcement.changed", name=name, by=by, **what)
        self._arm_end()

    def _arm_end(self) -> None:
        """A timer at the first end time, so announcements turn off even when nobody calls."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        ends = [end for info in self.shelf.metadata().values()
                if isinstance(info, dict) and info.get("enabled") and (end := _when(info.get("until")))]
        if not ends:
            return
        delay_s = max(0.0, (min(ends) - self._now()).total_seconds())
        try:
            self._timer = asyncio.get_running_loop().call_later(delay_s, self._ended)
        except RuntimeError:  # no loop (a configuration check): the check at each read serves
            pass

    def _ended(self) -> None:
        self._timer = None
        for name in self.shelf.names():
            self.active(name)  # turns off what has passed its end time
        self._arm_end()

    def start(self, engine) -> None:
        self._arm_end()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _now(self) -> datetime:
        return self.host.wall_clock().astimezone(self.zone)

    def status(self) -> dict:
        info = self.shelf.info(AVVISO)
        on = self.active(AVVISO)
        return {"enabled": on, "until": info.get("until") if on else None,
                "recorded": self.shelf.path(AVVISO).is_file()}

    def listing(self, shelf: RecordingShelf) -> list[dict]:
        """Each accepted recording on ``shelf`` with who made it, when, and how long it is."""
        rows = []
        meta = shelf.metadata()
        for index, name in enumerate(shelf.names(), start=1):
            info = meta.get(name, {})
            audio = shelf.samples(name)
            rows.append({"index": index, "name": name,
                         "enabled": self.active(name) if shelf is self.shelf else None,
                         "until": info.get("until") if shelf is self.shelf and self.active(name) else None,
                         "recorded_by": info.get("recorded_by"), "recorded_at": info.get("recorded_at"),
                         "seconds": round(len(audio) / SAMPLE_RATE_HZ, 1) if audio is not None else None,
                         "pending": shelf.pending_path(name).is_file()})
        return rows

    # ------------------------------------------------------------------ the staff phone
    async def run_phone(self, host, ctx, session) -> None:
        station = ctx.station
        if not self.rules.allows(station.number):
            ctx.note("refused", ext=station.number, feature="announcements", why="not allowed")
            await session.say(dialog("refused"), barge_in=False)
        elif not await self._pin(ctx, session):
            ctx.note("refused", ext=station.number, feature="announcements", why="wrong PIN")
            await session.say(dialog("refused"), barge_in=False)
        else:
            await self._menu(ctx, session)
        ctx.done()

    async def _pin(self, ctx, session) -> bool:
        for attempt in range(PIN_TRIES):
            if attempt:
                await session.say(dialog("pin_wrong"), barge_in=False)
            session.forget_keys()
            await session.say(dialog("pin"))
            keyed = await session.get_number(8, KEY_TIMEOUT_S)
            if hmac.compare_digest(keyed.encode(), self.rules.pin.encode()):
                return True
        return False

    async def _menu(self, ctx, session) -> None:
        silent = 0
        while silent < MENU_REPEATS:
            session.forget_keys()
            await session.say(dialog("menu"))
            key = await session.get_key(KEY_TIMEOUT_S)
            if key is None:
                silent += 1
                continue
            silent = 0
            if key == "1":
                await self._record(ctx, session, self.shelf, AVVISO)
            elif key == "2":
                await self._listen(session)
            elif key in ("3", "4"):
                await self._switch(ctx, session, key == "3")
            elif key == "5":
                await self._end_time(ctx, session)
            elif key == "9":
                await self._prompt(ctx, session)
            else:
                await session.say("scelta_non_valida", barge_in=False)

    async def _listen(self, session) -> None:
        audio = self.shelf.samples(AVVISO)
        if audio is None:
            await session.say(dialog("none"), barge_in=False)
        else:
            await session.play(audio, name="avviso")

    async def _switch(self, ctx, session, on: bool) -> None:
        if on and self.shelf.samples(AVVISO) is None:
            await session.say(dialog("none"), barge_in=False)
            return
        try:
            self.set_enabled(AVVISO, on, by=f"ext {ctx.station.number}")
        except ShelfError as err:
            log.error("%s", err)
            await session.say(dialog("not_saved"), barge_in=False)
            return
        await session.say(dialog("on" if on else "off"), barge_in=False)

    async def _end_time(self, ctx, session) -> None:
        session.forget_keys()
        await session.say(dialog("ask_end"))
        keyed = await session.get_number(4, KEY_TIMEOUT_S)
        at = parse_hhmm(keyed)
        if at is None:
            await session.say("numero_non_valido", barge_in=False)
            return
        now = self._now()
        until = datetime.combine(now.date(), at, self.zone)
        if until <= now:
            until += timedelta(days=1)
        try:
            self.set_until(AVVISO, until, by=f"ext {ctx.station.number}")
        except ShelfError as err:
            log.error("%s", err)
            await session.say(dialog("not_saved"), barge_in=False)
            return
        to = ["all'una", *italian.clock_words(at)[1:]] if at.hour == 1 else ["alle", *italian.clock_words(at)]
        await session.say(dialog("end_set"), to, barge_in=False)

    async def _prompt(self, ctx, session) -> None:
        names = self.prompts.names() if self.prompts is not None else []
        if not names:  # no switchboard.prompts folder, or nothing in it
            await session.say(dialog("refused"), barge_in=False)
            return
        session.forget_keys()
        await session.say(dialog("ask_prompt"))
        keyed = await session.get_number(3, KEY_TIMEOUT_S)
        if not keyed.isdigit() or not 1 <= int(keyed) <= len(names):
            await session.say("numero_non_valido", barge_in=False)
            return
        name = names[int(keyed) - 1]
        current = self.prompts.samples(name)
        if current is not None:
            await session.play(current, name=f"prompt:{name}")
        if await self._record(ctx, session, self.prompts, name):
            self.host.phrases.reload_recording(self.prompts.path(name))

    async def _record(self, ctx, session, shelf: RecordingShelf, name: str) -> bool:
        """Record, review, accept: True once accepted. Until then the accepted file is untouched."""
        by = ctx.station.number
        accepted = False
        try:
            while True:
                session.forget_keys()
                await session.say(dialog("speak"), barge_in=False)
                await session.play(beep(), barge_in=False, name="beep")
                audio = await session.record(MAX_RECORDING_S, silence_s=RECORDING_SILENCE_S)
                if len(audio) < MIN_RECORDING_S * SAMPLE_RATE_HZ:
                    await session.say(dialog("not_saved"), barge_in=False)
                    return False
                at = self._now().isoformat(timespec="seconds")
                try:
                    await asyncio.to_thread(shelf.write_pending, name, audio, by, at)
                except ShelfError as err:
                    log.error("%s", err)
                    await session.say(dialog("not_saved"), barge_in=False)
                    return False
                ctx.note("recorded", ext=by, name=name, seconds=round(len(audio) / SAMPLE_RATE_HZ, 1))
                choice = await self._review(session, shelf, name)
                if choice == "accept":
                    shelf.accept(name)
                    accepted = True
                    ctx.note("recording-accepted", ext=by, name=name)
                    await session.say(dialog("accepted"), barge_in=False)
                    return True
                if choice != "again":
                    await session.say(dialog("not_saved"), barge_in=False)
                    return False
        except ShelfError as err:
            log.error("%s", err)
            await session.say(dialog("not_saved"), barge_in=False)
            return False
        finally:
            if not accepted:
                shelf.discard(name)  # also when the phone was hung up: the accepted one stays

    async def _review(self, session, shelf, name) -> str | None:
        silent = 0
        while silent < MENU_REPEATS:
            session.forget_keys()
            await session.say(dialog("review"))
            key = await session.get_key(KEY_TIMEOUT_S)
            silent = silent + 1 if key is None else 0
            if key == "1":
                audio = shelf.samples(name, pending=True)
                if audio is not None:
                    await session.play(audio, name=f"new:{name}")
            elif key == "2":
                return "accept"
            elif key == "3":
                return "again"
        return None


def _when(text) -> datetime | None:
    """A stored end time, None when there is none (or a hand-edited file holds no time)."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(str(text))
    except ValueError:
        log.error("announcements: the end time %r is not a time; it is ignored", text)
        return None
    return at if at.tzinfo is not None else None


def parse_hhmm(keyed: str) -> time | None:
    """ "1830" -> 18:30; anything else (three digits, 2460) -> None."""
    if len(keyed) != 4 or not keyed.isdigit():
        return None
    hour, minute = int(keyed[:2]), int(keyed[2:])
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)
