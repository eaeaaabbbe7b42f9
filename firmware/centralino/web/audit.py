"""The web's audit log: every change, with the account that made it, one JSON line each.

Written to ``audit.log`` in the web's state folder (mode 0600), appended and fsynced before the
page answers, so a change the administrator saw confirmed is in the log after a power cut. The
daemon logs the same changes on its side with the web service's uid (``control: ... ran by``); this
log adds who was logged in. Administrators read the newest entries on the Registro page.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

SHOWN = 200


class AuditLog:
    def __init__(self, path: Path, clock=lambda: datetime.now(timezone.utc)):
        self.path = Path(path)
        self.clock = clock

    def record(self, account: str | None, address: str, action: str, target: str = "", outcome: str = "ok",
               detail: str = "") -> dict:
        entry = {"at": self.clock().isoformat(timespec="seconds"), "account": account or "", "address": address,
                 "action": action, "target": str(target), "outcome": outcome, "detail": detail[:500]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return entry

    def newest(self, n: int = SHOWN) -> list[dict]:
        """The last ``n`` entries, newest first; a damaged line is skipped, not fatal."""
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:]
        except FileNotFoundError:
            return []
        entries = []
        for line in reversed(lines):
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries
