"""The web interface in a real browser (Debian's chromium) against the daemon on the simulated board.

Each test does what a person at the town hall would: watch the wallboard while citizens queue,
close a ticket, play a voicemail, upload a bad configuration and then a good one, look a ticket
up as a citizen; and axe-core checks every page for serious and critical WCAG 2.1 A/AA problems.
What the browser showed is checked against what the daemon's database file holds afterwards.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import numpy as np
import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.engine.helpers import call_in

from .harness import next_page

pytestmark = pytest.mark.browser
WAIT_S = 30.0  # only so that a broken page fails instead of hanging


def wait_for(driver, condition, what: str, timeout_s: float = WAIT_S):
    return WebDriverWait(driver, timeout_s, poll_frequency=0.1, ignored_exceptions=(WebDriverException,)).until(
        lambda d: condition(d), message=what)


def press(driver, element) -> None:
    """Activate a button from the keyboard (Enter), as a keyboard user would, and wait for the next page."""
    page = driver.find_element(By.TAG_NAME, "html")
    try:
        element.send_keys(Keys.ENTER)
    except WebDriverException:  # the next page came while chromedriver was still typing
        pass
    next_page(driver, page, WAIT_S)


def field(driver, office: str, name: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'.wallboard-card[data-office="{office}"] [data-field="{name}"]').text


def database(stack) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{stack.base / 'data' / 'centralino.db'}?mode=ro", uri=True)


def test_login_lands_on_the_status_page_with_a_strict_session_cookie(stack, admin):
    admin.get(stack.web.base + "/stato")
    assert admin.find_element(By.TAG_NAME, "h1").text == "Stato"
    ports = admin.find_elements(By.CSS_SELECTOR, "#t-porte ~ div table tbody tr")
    assert [row.find_element(By.TAG_NAME, "th").text for row in ports][:2] == ["fxs1", "fxs2"]
    cookie = next(c for c in admin.get_cookies() if c["name"] == "centralino_sessione")
    assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Strict")


def test_a_migration_is_started_and_ended_from_the_configuration_page(stack, admin):
    admin.get(stack.web.base + "/stato")
    wait_for(admin, lambda d: d.refresh() or "I TIM" in d.find_element(By.ID, "t-linee").find_element(
        By.XPATH, "..").text, "the modem shown with its operator")
    assert "4 of 4 bars" in admin.page_source and "home, READY" in admin.page_source
    admin.get(stack.web.base + "/configurazione")
    assert "Trasferimento non attivo" in admin.find_element(By.ID, "t-migrazione").find_element(By.XPATH, "..").text
    press(admin, admin.find_element(By.XPATH, "//button[text()='Avvia una migrazione ora']"))
    assert "le chiamate vanno al cellulare" in admin.find_element(By.CSS_SELECTOR, ".alert-success").text
    assert stack.daemon.call(lambda s: (s.failover.active, s.failover.manual)) == (True, True)
    admin.get(stack.web.base + "/stato")
    assert "attivo (migration started from the console)" in admin.page_source
    admin.get(stack.web.base + "/configurazione")
    press(admin, admin.find_element(By.XPATH, "//button[text()='Termina la migrazione']"))
    assert stack.daemon.call(lambda s: s.failover.active) is False


def test_the_wallboard_changes_as_simulated_callers_queue(stack, admin):
    admin.get(stack.web.base + "/wallboard?ufficio=anagrafe")
    assert field(admin, "anagrafe", "waiting") == "0"
    assert field(admin, "anagrafe", "free") == "2"
    admin.execute_script("window.notReloaded = true;")

    async def queue_a_caller(s):
        for desk in ("202", "203"):
            s.phone(desk).off_hook()  # both Anagrafe desks busy
        return await call_in(s, "3331112223", line="fxo1")

    citizen = stack.daemon.run(queue_a_caller)
    wait_for(admin, lambda d: field(d, "anagrafe", "busy") == "2", "both desks shown busy")
    wait_for(admin, lambda d: field(d, "anagrafe", "waiting") == "1", "the caller shown waiting")
    assert field(admin, "anagrafe", "free") == "0"
    assert admin.execute_script("return window.notReloaded === true"), "live update, not a reload"

    async def caller_gives_up(s):
        citizen.hang_up()
        for desk in ("202", "203"):
            s.phone(desk).on_hook()

    stack.daemon.run(caller_gives_up)
    wait_for(admin, lambda d: field(d, "anagrafe", "waiting") == "0", "nobody waiting after the hang-up")
    wait_for(admin, lambda d: field(d, "anagrafe", "abandoned") == "1", "the abandoned call counted today")
    with database(stack) as db:
        assert db.execute("SELECT disposition, office FROM calls WHERE caller = '3331112223'").fetchall() \
            == [("abandoned", "anagrafe")]


def test_the_wallboard_says_when_the_daemon_is_gone_and_recovers_by_itself(stack, admin):
    admin.get(stack.web.base + "/wallboard?ufficio=tributi")
    wait_for(admin, lambda d: d.execute_script("return window.centralinoLive.connected"), "the live stream is up")
    admin.execute_script("window.notReloaded = true;")
    stack.daemon.control_down()
    try:
        wait_for(admin, lambda d: "non risponde" in d.find_element(By.ID, "wb-stato").text, "the page says so")
        stack.daemon.call(lambda s: s.phone("204").off_hook())  # meanwhile the Tributi desk is busy
    finally:
        stack.daemon.control_up()
    wait_for(admin, lambda d: field(d, "tributi", "busy") == "1", "fresh figures once the daemon is back")
    assert "aggiornati" in admin.find_element(By.ID, "wb-stato").text
    assert admin.execute_script("return window.notReloaded === true"), "the page recovered by itself"
    stack.daemon.call(lambda s: s.phone("204").on_hook())


def test_a_ticket_is_taken_in_charge_and_closed_with_a_note(stack, admin):
    def open_ticket(s):
        return s.tickets.open_ticket("c-web-1", "3339876543", "tributi", s.wall_clock(), "2", "no_answer").id

    number = stack.daemon.call(open_ticket)
    admin.get(stack.web.base + "/segnalazioni")
    row = admin.find_element(By.LINK_TEXT, f"n. {number}").find_element(By.XPATH, "./ancestor::tr").text
    assert "Ufficio Tributi" in row and "tributi" not in row  # display names in the table
    admin.find_element(By.LINK_TEXT, f"n. {number}").click()
    assert "Ufficio Tributi" in admin.find_element(By.TAG_NAME, "main").text
    assert "aperta" in admin.find_element(By.ID, "stato-segnalazione").text
    press(admin, admin.find_element(By.XPATH, "//button[text()='Prendi in carico']"))
    assert "presa in carico" in admin.find_element(By.ID, "stato-segnalazione").text
    admin.find_element(By.ID, "nota-chiusura").send_keys("richiamato, pratica TARI chiarita")
    press(admin, admin.find_element(By.ID, "chiudi"))
    assert "chiusa" in admin.find_element(By.ID, "stato-segnalazione").text
    assert admin.find_element(By.ID, "nota").text == "richiamato, pratica TARI chiarita"
    history = [li.text for li in admin.find_elements(By.CSS_SELECTOR, ".cronologia li")]
    assert len(history) == 3 and "presa in carico da admin" in history[1] and "chiusa da admin" in history[2]
    with database(stack) as db:  # what the daemon stored, read back from its file
        assert db.execute("SELECT status, taken_by, closed_by, note FROM tickets WHERE id = ?", (number,)).fetchone() \
            == ("closed", "admin", "admin", "richiamato, pratica TARI chiarita")
    assert not admin.find_elements(By.ID, "chiudi"), "a closed ticket offers no close button"


def test_a_voicemail_plays_in_the_browser_and_is_marked_heard(stack, admin):
    samples = (6000 * np.sin(2 * np.pi * 440 * np.arange(12000) / 8000)).astype(np.int16)  # 1.5 s

    def leave(s):
        return s.voicemail.save("c-web-2", "anagrafe", "3334445556", s.wall_clock(), samples).id

    number = stack.daemon.call(leave)
    admin.get(stack.web.base + "/segreteria")
    card = admin.find_element(By.ID, f"messaggio-{number}")
    assert "nuovo" in card.text
    audio = card.find_element(By.TAG_NAME, "audio")
    admin.execute_script("arguments[0].play();", audio)
    wait_for(admin, lambda d: d.execute_script("return arguments[0].currentTime", audio) > 0.2, "the message plays")
    assert abs(admin.execute_script("return arguments[0].duration", audio) - 1.5) < 0.05
    with database(stack) as db:
        heard_by = db.execute("SELECT heard_by FROM voicemails WHERE id = ?", (number,)).fetchone()[0]
    assert heard_by == "admin"
    admin.refresh()
    assert "Ascoltato da admin" in admin.find_element(By.ID, f"messaggio-{number}").text


def test_a_bad_configuration_shows_its_error_at_its_line_and_a_good_one_applies(stack, admin, tmp_path, axe_source):
    original = stack.config.read_text()
    lines = original.split("\n")
    bad_at = next(i for i, line in enumerate(lines) if "port: fxs2" in line) + 1
    bad = tmp_path / "nuova.yaml"
    bad.write_text(original.replace("port: fxs2", "port: fxs9", 1))
    admin.get(stack.web.base + "/configurazione")
    admin.find_element(By.ID, "file").send_keys(str(bad))
    press(admin, admin.find_element(By.ID, "verifica"))
    message = admin.find_element(By.ID, "esito-verifica").text
    assert f"riga {bad_at}" in message and "fxs9" in message
    marked = admin.find_element(By.CSS_SELECTOR, ".riga-errore")
    assert marked.get_attribute("id") == f"riga-{bad_at}" and "fxs9" in marked.text
    assert not admin.find_elements(By.ID, "applica"), "a bad file cannot be applied"
    assert _axe(admin, axe_source) == [], "the error listing is accessible too"
    assert stack.config.read_text() == original, "nothing written"

    good = tmp_path / "buona.yaml"
    assert "  name: Tributi\n" in original
    good.write_text(original.replace("  name: Tributi\n", "  name: Tributi e Tasse\n", 1))
    admin.find_element(By.ID, "file").send_keys(str(good))
    press(admin, admin.find_element(By.ID, "verifica"))
    assert "valida" in admin.find_element(By.ID, "esito-verifica").text
    diff = admin.find_element(By.CSS_SELECTOR, "pre.diff").text
    assert _axe(admin, axe_source) == [], "the diff is accessible too"
    assert "-  name: Tributi\n+  name: Tributi e Tasse" in diff
    press(admin, admin.find_element(By.ID, "applica"))
    assert "prossimo riavvio" in admin.find_element(By.CSS_SELECTOR, ".alert-success").text
    assert "  name: Tributi e Tasse\n" in stack.config.read_text()
    assert (stack.config.parent / (stack.config.name + ".previous")).read_text() == original
    stack.config.write_text(original)


def test_a_citizen_looks_up_a_ticket_with_the_last_four_digits(stack, driver):
    def open_ticket(s):
        return s.tickets.open_ticket("c-web-3", "3471234567", "anagrafe", s.wall_clock(), "1", "closed").id

    number = stack.daemon.call(open_ticket)
    base = f"http://127.0.0.1:{stack.web.citizen_port}/"

    def look_up(digits):
        driver.get(base)
        driver.find_element(By.ID, "numero").send_keys(str(number))
        driver.find_element(By.ID, "cifre").send_keys(digits)
        press(driver, driver.find_element(By.CSS_SELECTOR, "form button"))

    look_up("4567")
    result = driver.find_element(By.ID, "risultato").text
    assert f"Segnalazione n. {number}" in result and "aperta" in result and "Ufficio Anagrafe" in result
    assert "anagrafe" not in result  # the office's display name, never its identifier
    assert "3471234567" not in driver.page_source and "4567" not in result
    look_up("0000")
    assert "Nessuna segnalazione corrisponde" in driver.find_element(By.ID, "errore").text
    assert not driver.find_elements(By.ID, "risultato")
    driver.get(base + "stato")
    assert "404" in driver.title or "Not Found" in driver.page_source, "no staff page on the citizens' port"


STAFF_PAGES = ["/stato", "/wallboard", "/chiamate", "/segnalazioni", "/segnalazioni/1", "/segreteria",
               "/statistiche", "/configurazione", "/account", "/registro", "/password"]


def test_axe_finds_no_serious_or_critical_violation_on_any_page(stack, admin, axe_source):
    found = {}
    for page in STAFF_PAGES:
        admin.get(stack.web.base + page)
        assert admin.find_element(By.TAG_NAME, "h1").text, page
        found[page] = _axe(admin, axe_source)
    kept = admin.get_cookies()
    admin.delete_all_cookies()
    try:
        admin.get(stack.web.base + "/accesso")
        found["/accesso"] = _axe(admin, axe_source)
        admin.get(f"http://127.0.0.1:{stack.web.citizen_port}/")
        found["citizens' page"] = _axe(admin, axe_source)
    finally:
        admin.get(stack.web.base + "/static/app.css")
        for cookie in kept:
            admin.add_cookie(cookie)
    assert {page: v for page, v in found.items() if v} == {}


def _axe(driver, source):
    from .harness import axe
    return axe(driver, source)


def test_a_backup_is_downloaded_and_staged_for_a_restore(stack, admin, tmp_path):
    import io
    import tarfile

    from .conftest import ADMIN_PASSWORD
    from .harness import HttpSession

    admin.get(stack.web.base + "/configurazione")
    press(admin, admin.find_element(By.XPATH, "//button[text()='Prepara una nuova copia']"))

    def ready(d):
        d.refresh()
        return d.find_elements(By.PARTIAL_LINK_TEXT, "Scarica la copia")

    wait_for(admin, ready, "the backup is ready")
    http = HttpSession(stack.web.base)
    assert http.login("admin", ADMIN_PASSWORD) == 303
    opener = http.opener.open(stack.web.base + "/configurazione/copia.tar.gz")
    archive = opener.read()
    assert opener.headers["Content-Type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        assert "centralino.db" in tar.getnames() and "config/centralino.yaml" in tar.getnames()
    saved = tmp_path / "centralino-backup.tar.gz"
    saved.write_bytes(archive)
    admin.find_element(By.ID, "archivio").send_keys(str(saved))
    press(admin, admin.find_element(By.ID, "ripristina"))
    wait_for(admin, lambda d: d.refresh() or "Ripristino pronto" in d.find_element(By.ID, "stato-ripristino").text,
             "the archive checked and staged")
    assert (stack.base / "data" / "backups" / "restore-staged" / "centralino.db").exists()
    press(admin, admin.find_element(By.XPATH, "//button[text()='Annulla il ripristino']"))
    assert not (stack.base / "data" / "backups" / "restore-staged").exists()
