"""The citizens' page (optional, off by default): a ticket's state from its number and 4 digits.

A separate application on its own port, meant to sit behind the comune's reverse proxy: it has
no session, no staff page and no link to them, and it answers only the lookup. The answer for a
ticket that does not exist and for wrong digits is the same, and lookups are rate-limited per
client address (behind the proxy: its X-Forwarded-For) and for everyone together, so guessing
the 10,000 combinations of a ticket takes weeks. It reveals the state, the office and the dates,
nothing else (never the number or the reason).
"""

from __future__ import annotations

import math

import jinja2
from aiohttp import web

from . import labels
from .app import CSP, STATIC, templates
from .control_client import ControlClient, DaemonRefused, DaemonUnavailable
from .ratelimit import RateLimiter

PER_ADDRESS = (10, 600.0)  # lookups per address in 10 minutes
FOR_EVERYONE = (300, 3600.0)  # lookups per hour, all addresses together
CLIENT = web.AppKey("client", ControlClient)
LIMITS = web.AppKey("limits", tuple)
SETTINGS = web.AppKey("settings", dict)
ENV = web.AppKey("env", jinja2.Environment)


def _address(request: web.Request) -> str:
    peer = request.remote or ""
    proxy = request.app[SETTINGS].get("trusted_proxy")
    if proxy and peer == proxy and request.headers.get("X-Forwarded-For"):
        return request.headers["X-Forwarded-For"].split(",")[-1].strip()
    return peer


def _page(request: web.Request, status: int = 200, **context) -> web.Response:
    comune, zone = request.app[SETTINGS]["info"]()
    context = {"result": None, "error": None, "number": "", "title": "Stato della segnalazione", **context}
    text = request.app[ENV].get_template("citizen.html").render(comune=comune, zone=zone, labels=labels, **context)
    response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    response.headers.update({"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                             "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY"})
    return response


async def lookup_form(request: web.Request):
    return _page(request)


async def lookup(request: web.Request):
    data = await request.post()
    number, digits = str(data.get("numero", "")).strip(), str(data.get("cifre", "")).strip()
    per_address, everyone = request.app[LIMITS]
    address = _address(request)
    wait_s = max(per_address.wait_s(address), everyone.wait_s("*"))
    if wait_s > 0:
        minutes = max(1, math.ceil(wait_s / 60))
        return _page(request, 429, number=number,
                     error=f"Troppe richieste. Riprovi tra {minutes} minut{'o' if minutes == 1 else 'i'}.")
    if not number.isdigit() or not (len(digits) == 4 and digits.isdigit()):
        return _page(request, 400, number=number,
                     error="Inserisca il numero della segnalazione (solo cifre) e le ultime 4 cifre del telefono.")
    per_address.hit(address)
    everyone.hit("*")
    try:
        answer = await request.app[CLIENT].ask("ticket", "lookup", number, digits)
    except (DaemonUnavailable, DaemonRefused):
        return _page(request, 503, number=number, error="Servizio momentaneamente non disponibile. Riprovi più tardi.")
    if not answer.get("found"):
        return _page(request, 404, number=number,
                     error="Nessuna segnalazione corrisponde a questi dati. Controlli il numero e le cifre.")
    return _page(request, result=answer, number=number)


def build_citizen_app(client: ControlClient, info=lambda: ("", "Europe/Rome"),
                      trusted_proxy: str | None = None) -> web.Application:
    """``info()`` gives the comune's name and time zone (known once the daemon has answered)."""
    app = web.Application(client_max_size=4096)
    app[CLIENT] = client
    app[LIMITS] = (RateLimiter(*PER_ADDRESS), RateLimiter(*FOR_EVERYONE))
    app[SETTINGS] = {"info": info, "trusted_proxy": trusted_proxy}
    app[ENV] = templates()
    app.router.add_get("/", lookup_form)
    app.router.add_post("/", lookup)
    app.router.add_static("/static/", STATIC)
    return app
