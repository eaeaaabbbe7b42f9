"""``centralino web``: the staff's HTTPS site, the HTTP redirect, and the optional citizens' page.

Started by ``centralino-web.service`` as its own user, with no device groups and no access to the
daemon's files: it reaches the switchboard only through the control socket. At the first start it
makes its state (``accounts.json``, ``session.key``, ``tls/``) and, with no account yet, the
``admin`` account, whose one-time password is printed on standard output, which the unit sends to
the serial console as well as the journal. A crash here never touches calls: the daemon does not
know whether the web side runs.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from . import tls
from .accounts import AccountStore
from .app import Services, build_app
from .audit import AuditLog
from .citizen import build_citizen_app
from .control_client import ControlClient, DaemonRefused, DaemonUnavailable
from .live import LiveHub
from .sessions import SessionStore, load_secret

log = logging.getLogger("centralino.web")

BANNER = ("\n=== centralino web: first start ===\n"
          "Account: admin\nOne-time password: {password}\n"
          "Open https://{host}:{port}/ and log in: a new password is asked at once.\n"
          "=================================\n")


@dataclass
class Options:
    control: Path
    state_dir: Path
    listen: str = "0.0.0.0"
    https_port: int = 443
    http_port: int | None = 80
    citizen_port: int | None = None
    citizen_listen: str = "127.0.0.1"
    trusted_proxy: str | None = None
    hostname: str | None = None


def _redirect_app(https_port: int) -> web.Application:
    async def redirect(request: web.Request):
        host = (request.host or "localhost").rsplit(":", 1)[0] if not request.host.startswith("[") \
            else request.host.split("]")[0] + "]"
        port = "" if https_port == 443 else f":{https_port}"
        raise web.HTTPMovedPermanently(f"https://{host}{port}{request.rel_url}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", redirect)
    return app


COMUNE_REFRESH_S = 60.0  # the offices' display names follow a config reload within this


async def _comune_info(svc: Services) -> None:
    """The comune's name, zone and offices' display names for the pages, once the daemon answers,
    then again every ``COMUNE_REFRESH_S`` (a reload may rename an office)."""
    while True:
        try:
            info = await svc.client.ask("comune")
            svc.comune, svc.zone = info["name"], info["timezone"]
            svc.titles = dict(info.get("titles") or {})
            await asyncio.sleep(COMUNE_REFRESH_S)
        except (DaemonUnavailable, DaemonRefused):
            await asyncio.sleep(2.0)


async def serve(options: Options, ready: asyncio.Event | None = None, stop: asyncio.Event | None = None) -> None:
    state = Path(options.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    accounts = AccountStore(state / "accounts.json")
    password = accounts.ensure_admin()
    if password is not None:
        sys.stdout.write(BANNER.format(password=password, host=options.hostname or "centralino",
                                       port=options.https_port))
        sys.stdout.flush()
    cert, key, made = tls.ensure(state / "tls", options.hostname)
    if made:
        log.warning("made a self-signed certificate %s (SHA-256 %s)", cert, tls.fingerprint(cert))
    context = tls.server_context(cert, key)
    client = ControlClient(options.control)
    hub = LiveHub(client)
    svc = Services(client, accounts, SessionStore(load_secret(state / "session.key")), AuditLog(state / "audit.log"),
                   hub, https_port=options.https_port, trusted_proxy=options.trusted_proxy)
    hub.start()
    info = asyncio.get_running_loop().create_task(_comune_info(svc))
    runners = []
    try:
        runners.append(await _start(build_app(svc), options.listen, options.https_port, context))
        if options.http_port:
            runners.append(await _start(_redirect_app(options.https_port), options.listen, options.http_port))
        if options.citizen_port:
            runners.append(await _start(build_citizen_app(client, lambda: (svc.comune, svc.zone),
                                                          trusted_proxy=options.trusted_proxy),
                                        options.citizen_listen, options.citizen_port))
        log.info("web: https on %s:%d%s%s", options.listen, options.https_port,
                 f", http redirect on {options.http_port}" if options.http_port else "",
                 f", citizens' page on {options.citizen_listen}:{options.citizen_port}" if options.citizen_port else "")
        print(f"centralino web ready: https://{options.listen}:{options.https_port}/", flush=True)
        if ready is not None:
            ready.set()
        await (stop or asyncio.Event()).wait()
    finally:
        info.cancel()
        await hub.stop()
        for runner in runners:
            await runner.cleanup()


async def _start(app: web.Application, host: str, port: int, context=None) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=context, reuse_address=True)
    try:
        await site.start()
    except OSError as err:
        await runner.cleanup()
        raise OSError(err.errno, f"cannot listen on {host}:{port}: {err.strerror}") from None
    return runner


def run(options: Options) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(options, stop=stop)

    asyncio.run(main())
