"""A planned migration window added from the Configurazione page: written into the file's own
text, checked and diffed by the daemon, applied, and the daemon's failover reading it."""

from __future__ import annotations

import html
import re

import pytest

from centralino.config.schema import load_settings
from centralino.web.migration_window import WindowError, add_window

from .conftest import ADMIN_PASSWORD
from .harness import HttpSession

FAILOVER = '''
failover:
  mobile_number: "3471234567"   # the duty mobile
  windows:                      # planned migrations
    - {from: "2026-12-05 18:00", to: "2026-12-06 08:00"}
# a comment after the section stays where it is
'''


def test_a_window_is_added_after_the_last_one_keeping_the_comments():
    text = "comune:\n  name: x\n" + FAILOVER
    out = add_window(text, "2026-12-10T18:00", "2026-12-11 08:00")
    assert out.split("\n")[6:9] == ['    - {from: "2026-12-05 18:00", to: "2026-12-06 08:00"}',
                                    '    - {from: "2026-12-10 18:00", to: "2026-12-11 08:00"}',
                                    "# a comment after the section stays where it is"]
    assert out.replace('    - {from: "2026-12-10 18:00", to: "2026-12-11 08:00"}\n', "") == text


@pytest.mark.parametrize("text, start, end, message", [
    ("comune:\n  name: x\n", "2026-12-10 18:00", "2026-12-11 08:00", "non c'è la sezione failover"),
    ("failover:\n  windows: [{from: '2026-12-05 18:00', to: '2026-12-06 08:00'}]\n", "2026-12-10 18:00",
     "2026-12-11 08:00", "non è un elenco a righe"),
    (FAILOVER, "2026-12-11 08:00", "2026-12-10 18:00", "deve essere dopo l'inizio"),
    (FAILOVER, "10/12/2026 18:00", "2026-12-11 08:00", "inizio: data e ora non valide"),
])
def test_what_cannot_be_added_says_why(text, start, end, message):
    with pytest.raises(WindowError, match=message):
        add_window(text, start, end)


def test_a_window_planned_on_the_page_is_checked_diffed_applied_and_read_by_the_daemon(stack, admin):
    original = stack.config.read_text()
    http = HttpSession(stack.web.base)
    assert http.login("admin", ADMIN_PASSWORD) == 303
    http.request("/configurazione")
    try:
        status, _, page = http.request("/configurazione/finestra", {"inizio": "2026-12-10T18:00", "fine": "2026-12-11T08:00"})
        assert status == 200 and "La configurazione è valida" in page
        shown = html.unescape(re.sub(r"<[^>]+>", "", page))
        assert '+  windows:\n+    - {from: "2026-12-10 18:00", to: "2026-12-11 08:00"}' in shown
        proposed = html.unescape(re.search(r'<textarea id="testo-applica"[^>]*>(.*?)</textarea>', page, re.S).group(1))
        status, _, _ = http.request("/configurazione/applica", {"testo": proposed})
        assert status == 303
        (window,) = load_settings(stack.config).failover.windows
        assert (f"{window.start:%Y-%m-%d %H:%M}", f"{window.end:%Y-%m-%d %H:%M}") == ("2026-12-10 18:00", "2026-12-11 08:00")
    finally:
        stack.config.write_text(original)
