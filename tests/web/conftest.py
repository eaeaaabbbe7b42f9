"""One stack for the web tests: the simulated daemon, ``centralino web`` and a logged-in chromium."""

from __future__ import annotations

import pytest

from tests.engine.helpers import config_copy

from .harness import AXE, CHROMEDRIVER, CHROMIUM, VENDOR_CSS, DaemonThread, browser, next_page, start_web

ADMIN_PASSWORD = "Centralino-Borgo-2026"


def _web_config(data):
    """The example comune with its GSM modem and failover, and the first line straight to the
    Anagrafe office (no voce guida)."""
    data["lines"][0]["incoming"] = "office:anagrafe"
    data["gsm"] = {"dialect": "sim7600", "incoming": "200"}
    data["failover"] = {"mobile_number": "3471234567", "down_after_s": 4, "healthy_for_s": 60}


def _needs(path, what):
    if not path.exists():
        pytest.fail(f"{path} is missing: {what}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("web")
    config = config_copy(base, _web_config)
    daemon = DaemonThread(config, base / "data", base / "control.sock").start()
    web = start_web(base / "control.sock", base / "state", base / "web.log")
    yield type("Stack", (), {"daemon": daemon, "web": web, "config": config, "base": base})
    web.stop()
    daemon.stop()


@pytest.fixture(scope="session")
def driver():
    for path in (CHROMIUM, CHROMEDRIVER):
        _needs(path, "Debian's chromium and chromium-driver (make debs)")
    _needs(VENDOR_CSS, "Bootstrap Italia, vendored by make web-assets")
    _needs(AXE, "axe-core, fetched by make web-assets")
    chrome = browser()
    yield chrome
    chrome.quit()


@pytest.fixture(scope="session")
def admin(stack, driver):
    """The browser logged in as admin: a wrong password refused, the one-time password taken, a new one set."""
    from selenium.webdriver.common.by import By

    def login(password):
        driver.get(stack.web.base + "/accesso")
        driver.find_element(By.ID, "nome").send_keys("admin")
        driver.find_element(By.ID, "password").send_keys(password)
        page = driver.find_element(By.TAG_NAME, "html")
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        next_page(driver, page)

    assert stack.web.admin_password, "the one-time password was not printed at the first start"
    login("not-the-password")
    assert "Nome o password non corretti" in driver.find_element(By.ID, "errore-accesso").text
    login(stack.web.admin_password)
    assert driver.current_url.endswith("/password"), "a one-time password must be changed first"
    driver.get(stack.web.base + "/stato")
    assert driver.current_url.endswith("/password"), "no page before the password is changed"
    for field, value in (("attuale", stack.web.admin_password), ("nuova", ADMIN_PASSWORD), ("conferma", ADMIN_PASSWORD)):
        driver.find_element(By.ID, field).send_keys(value)
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    next_page(driver, page)
    assert driver.current_url.endswith("/stato")
    return driver


@pytest.fixture()
def fresh_web(stack, tmp_path):
    """A second web service on the same daemon, with its own state (own rate limits, own accounts)."""
    web = start_web(stack.base / "control.sock", tmp_path / "state", tmp_path / "web.log", citizen=False)
    yield web
    web.stop()


@pytest.fixture()
def stray_web(tmp_path):
    """A web service whose daemon is not there."""
    web = start_web(tmp_path / "nobody.sock", tmp_path / "state", tmp_path / "web.log", citizen=False)
    yield web
    web.stop()


@pytest.fixture(scope="session")
def axe_source():
    return AXE.read_text()

