"""The staff's web application: aiohttp with Jinja2 templates, sessions, CSRF and roles.

Each page module (``web/pages/``) adds its routes with ``setup(app)``; they render templates with
``render`` and guard themselves with ``@allowed("view" | "change" | "configure")``. What every
response gets is here: the security headers (a strict Content-Security-Policy: no inline scripts
or styles, no frames), the session cookie, the CSRF check on every POST, and the Italian error
pages when the daemon does not answer or refuses a request.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import jinja2
from aiohttp import web

from . import labels
from .accounts import ROLE_LABELS, AccountStore
from .audit import AuditLog
from .control_client import ControlClient, DaemonRefused, DaemonUnavailable
from .live import LiveHub
from .ratelimit import RateLimiter
from .sessions import COOKIE, IDLE_S, SessionStore, csrf_ok

log = logging.getLogger("centralino.web")

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; media-src 'self'; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
FORM_MAX_BYTES = 256 * 1024  # a configuration upload is at most 48 KiB; the rest is headroom
STREAMED_POSTS = {"/configurazione/ripristino"}  # a backup archive: streamed to the daemon, not held
LOGIN_PER_ADDRESS = (5, 600.0)  # failed logins per client address in 10 minutes
LOGIN_PER_ACCOUNT = (10, 600.0)


@dataclass
class Services:
    """What the pages share: the daemon, the accounts, the sessions, the log, the live hub."""

    client: ControlClient
    accounts: AccountStore
    sessions: SessionStore
    audit: AuditLog
    hub: LiveHub
    https_port: int | None = None
    trusted_proxy: str | None = None
    zone: str = "Europe/Rome"
    comune: str = ""
    titles: dict = field(default_factory=dict)  # office identifier -> its display name (the daemon's)

    def office_title(self, name: str) -> str:
        """What a page shows for an office: its display name, never the identifier."""
        return labels.office(self.titles.get(name, name))

    def __post_init__(self):
        self.login_by_address = RateLimiter(*LOGIN_PER_ADDRESS)
        self.login_by_account = RateLimiter(*LOGIN_PER_ACCOUNT)


SERVICES = web.AppKey("services", Services)
TEMPLATES = web.AppKey("templates", jinja2.Environment)


def templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(labels=labels, roles=ROLE_LABELS)
    env.filters.update(local=lambda t, zone, with_date=True: labels.local_time(t, zone, with_date),
                       duration=labels.duration, percent=labels.percent)
    return env


def client_address(request: web.Request) -> str:
    """The browser's address: the peer, or the last X-Forwarded-For hop behind the trusted proxy."""
    peer = request.remote or ""
    proxy = request.app[SERVICES].trusted_proxy
    if proxy and peer == proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return peer


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def render(request: web.Request, template: str, code: int = 200, **context) -> web.Response:
    session = request.get("session")
    account = request.get("account")
    env = request.app[TEMPLATES]
    svc = services(request)
    text = env.get_template(template).render(
        request=request, account=account, csrf=session.csrf if session else "", zone=svc.zone, comune=svc.comune,
        office_title=svc.office_title,
        flash=session.take_flash() if session else [], path=request.path, **context)
    return web.Response(text=text, status=code, content_type="text/html", charset="utf-8")


def allowed(what: str = "view"):
    """Guard a page: logged in (else to the login page), password changed, role allows ``what``."""
    def wrap(handler):
        @functools.wraps(handler)
        async def guarded(request: web.Request):
            account = request.get("account")
            if account is None:
                target = quote(request.path_qs, safe="")
                raise web.HTTPSeeOther(f"/accesso?dopo={target}")
            if account.must_change and request.path != "/password":
                raise web.HTTPSeeOther("/password")
            if not account.may(what):
                return render(request, "error.html", code=403, title="Accesso non consentito",
                              message="Il suo ruolo non consente questa pagina o questa azione.")
            return await handler(request)
        guarded.permission = what
        return guarded
    return wrap


async def form(request: web.Request):
    """The POSTed form, after the CSRF check (already done by the middleware)."""
    return request["form"]


def refuse_csrf(request: web.Request) -> web.Response:
    audit(request, "csrf-refused", request.path, "refused")
    return render(request, "error.html", code=403, title="Modulo scaduto",
                  message="Il modulo non è più valido (sessione scaduta o pagina aperta altrove). "
                          "Ricarichi la pagina e riprovi.")


def audit(request: web.Request, action: str, target="", outcome: str = "ok", detail: str = "") -> None:
    account = request.get("account")
    services(request).audit.record(account.name if account else None, client_address(request), action,
                                   target, outcome, detail)


@web.middleware
async def security_headers(request: web.Request, handler):
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if request.secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "public, max-age=86400")
    else:
        response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def session_middleware(request: web.Request, handler):
    if request.path.startswith("/static/"):
        return await handler(request)
    svc = services(request)
    session = svc.sessions.from_cookie(request.cookies.get(COOKIE))
    issued = session is None
    if session is None:
        session = svc.sessions.new()
    request["session"] = session
    request["account"] = svc.accounts.accounts.get(session.account) if session.account else None
    if request.method == "POST" and request.path in STREAMED_POSTS:
        pass  # a large upload read part by part by its handler, which checks the CSRF field first
    elif request.method == "POST":
        if (request.content_length or 0) > FORM_MAX_BYTES:
            return render(request, "error.html", code=413, title="Richiesta troppo grande",
                          message=f"Il modulo supera {FORM_MAX_BYTES // 1024} KB.")
        request["form"] = await request.post()
        token = request["form"].get("csrf") or request.headers.get("X-CSRF-Token")
        if not csrf_ok(session, token if isinstance(token, str) else None):
            return refuse_csrf(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _set_cookie(request, exc, issued)
        raise
    _set_cookie(request, response, issued)
    return response


def _set_cookie(request: web.Request, response, issued: bool) -> None:
    session = request["session"]
    if issued or request.get("session_changed"):
        response.set_cookie(COOKIE, services(request).sessions.cookie_value(session), httponly=True,
                            secure=request.secure, samesite="Strict", max_age=IDLE_S, path="/")


@web.middleware
async def daemon_errors(request: web.Request, handler):
    try:
        return await handler(request)
    except DaemonUnavailable as err:
        log.warning("%s %s: daemon unavailable: %s", request.method, request.path, err)
        return render(request, "error.html", code=503, title="Il centralino non risponde",
                      message="Il servizio del centralino non è raggiungibile in questo momento (riavvio in "
                              "corso?). Le chiamate non dipendono da questa interfaccia. Riprovi tra qualche secondo.")
    except DaemonRefused as err:
        return render(request, "error.html", code=400, title="Richiesta rifiutata dal centralino",
                      message=str(err))


def build_app(svc: Services) -> web.Application:
    from .pages import (accounts_page, calls, config_page, events, login, stats_page, status, tickets,
                        voicemail, wallboard)

    app = web.Application(middlewares=[security_headers, session_middleware, daemon_errors],
                          client_max_size=FORM_MAX_BYTES)
    app[SERVICES] = svc
    app[TEMPLATES] = templates()
    app.router.add_static("/static/", STATIC, append_version=False)
    for module in (login, status, wallboard, calls, tickets, voicemail, stats_page, config_page, accounts_page, events):
        module.setup(app)
    return app
