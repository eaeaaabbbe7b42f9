"""The web interface's test stack: the daemon on the simulated board, ``centralino web``, chromium.

The daemon runs in real time in a thread of the test process, as ``Scenario`` builds it (the
same Daemon, board simulator and control socket as ``centralino run --board sim``), so a test
can play the world around it (a citizen calling, a desk phone off hook) while the browser
watches. ``centralino web`` is a real subprocess on its own ports, speaking to that daemon only
through the control socket, and chromium is Debian's, driven by chromium-driver: nothing is
downloaded at test time.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CENTRALINO = Path(sys.executable).parent / "centralino"
AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
VENDOR_CSS = ROOT / "firmware/centralino/web/static/vendor/bootstrap-italia/css/bootstrap-italia.min.css"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
START_TIMEOUT_S = 30.0  # only so that a broken start fails instead of hanging
PASSWORD_LINE = re.compile(r"One-time password: (\S+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DaemonThread:
    """A started Scenario and its control server, on an event loop of their own thread."""

    def __init__(self, config, data_dir: Path, control: Path, **scenario_options):
        self.config, self.data_dir, self.control = config, Path(data_dir), Path(control)
        self.options = scenario_options
        self.loop: asyncio.AbstractEventLoop | None = None
        self.scenario = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="daemon", daemon=True)

    def start(self) -> "DaemonThread":
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError("the simulated daemon did not start")
        if self._error is not None:
            raise self._error
        return self

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as err:  # reported to start()
            self._error = err
            self._ready.set()

    async def _serve(self) -> None:
        from centralino.hwsim.scenario import Scenario
        from centralino.ops.commands import ControlContext
        from centralino.ops.control import ControlServer
        from centralino.ops.logbuffer import RingBufferHandler

        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with Scenario(self.config, self.data_dir, **self.options) as s:
            self.scenario = s
            self.server = ControlServer(ControlContext(s.daemon, Path(self.config), RingBufferHandler()), self.control)
            await self.server.start()
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                await self.server.stop()

    def run(self, story, timeout_s: float = 60.0):
        """Run ``await story(scenario)`` on the daemon's loop; returns its result."""
        return asyncio.run_coroutine_threadsafe(story(self.scenario), self.loop).result(timeout_s)

    def call(self, function):
        """``function(scenario)`` on the daemon's loop (stores and switchboard are not thread-safe)."""
        async def story(s):
            return function(s)
        return self.run(story)

    def control_down(self) -> None:
        """The control socket goes away, as when the daemon restarts (its calls go on here)."""
        async def story(_):
            await self.server.stop()
            for task in asyncio.all_tasks():  # the connections still open, the event streams among them
                if getattr(task.get_coro(), "__qualname__", "") == "ControlServer._client":
                    task.cancel()
            await asyncio.sleep(0.1)
        self.run(story)

    def control_up(self) -> None:
        self.run(lambda _: self.server.start())

    def stop(self) -> None:
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(START_TIMEOUT_S)


@dataclass
class WebProcess:
    proc: subprocess.Popen
    https_port: int
    http_port: int
    citizen_port: int
    state_dir: Path
    admin_password: str
    log_path: Path

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_web(control: Path, state_dir: Path, log_path: Path, citizen: bool = True) -> WebProcess:
    """``centralino web`` on free ports; waits for its ready line and reads the one-time password."""
    https_port, http_port, citizen_port = free_port(), free_port(), free_port()
    args = [str(CENTRALINO), "web", "--control", str(control), "--state-dir", str(state_dir), "--listen", "127.0.0.1",
            "--https-port", str(https_port), "--http-port", str(http_port), "--hostname", "centralino.test"]
    if citizen:
        args += ["--citizen-port", str(citizen_port)]
    log = open(log_path, "w")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    password, deadline = None, time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"centralino web stopped at start; see {log_path}")
        if found := PASSWORD_LINE.search(line):
            password = found.group(1)
        if line.startswith("centralino web ready"):
            break
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
    return WebProcess(proc, https_port, http_port, citizen_port, state_dir, password or "", log_path)


def browser():
    """Headless chromium through chromium-driver, accepting the generated certificate."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=1280,1000", "--lang=it-IT",
                 "--disable-dev-shm-usage", "--mute-audio"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(START_TIMEOUT_S)
    driver.set_script_timeout(START_TIMEOUT_S)
    return driver


def axe(driver, source: str) -> list[dict]:
    """axe-core's serious and critical violations on the page shown now (WCAG 2.x A and AA)."""
    driver.execute_script(source)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})))).catch(e => done([{id: 'axe-error',"
        " impact: 'critical', help: String(e), nodes: []}]));")
    return [v for v in result if v["impact"] in ("serious", "critical")]


class HttpSession:
    """A browser without a browser: cookies, the CSRF token of the last page, no redirects followed."""

    CSRF = re.compile(r'name="csrf" value="([^"]+)"')

    def __init__(self, base: str):
        import http.cookiejar
        import ssl
        import urllib.request

        self.base = base
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                                  urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())
        self.csrf = ""

    def request(self, path: str, data: dict | None = None, csrf: bool = True):
        """(status, headers, body text); the page's CSRF token is kept for the next POST."""
        import urllib.error
        import urllib.parse

        body = None
        if data is not None:
            fields = dict(data)
            if csrf and "csrf" not in fields:
                fields["csrf"] = self.csrf
            body = urllib.parse.urlencode(fields, doseq=True).encode()
        try:
            response = self.opener.open(self.base + path, body, timeout=START_TIMEOUT_S)
            status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as err:
            status, headers, raw = err.code, err.headers, err.read()
        text = raw.decode("utf-8", errors="replace")
        if found := self.CSRF.search(text):
            self.csrf = found.group(1)
        return status, headers, text

    def login(self, name: str, password: str) -> int:
        self.request("/accesso")
        status, headers, _ = self.request("/accesso", {"nome": name, "password": password, "dopo": ""})
        return status


def next_page(driver, old, timeout_s: float = START_TIMEOUT_S) -> None:
    """Wait until the page ``old`` (its <html> element) has been replaced by the next one.

    Probing an element of a page being replaced fails in more ways than "stale" (chromedriver's
    "Node ... does not belong to the document" while the new page comes in): any such failure
    means the old page is gone."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def gone(_):
        try:
            old.is_enabled()
        except WebDriverException:
            return True
        return False

    WebDriverWait(driver, timeout_s, poll_frequency=0.05).until(gone, message="the next page arrives")
