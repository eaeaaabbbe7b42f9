"""Logging in and out, and changing the password (forced after a one-time password).

Failed logins are counted per client address and per account name: past the limit the page says
how many minutes to wait, and the attempt is not even checked, so guessing costs time whatever
the password. The message for a wrong name and a wrong password is the same.
"""

from __future__ import annotations

import math
from urllib.parse import unquote

from aiohttp import web

from ..accounts import AccountError
from ..app import allowed, audit, client_address, form, render, services


def _next(target: str | None) -> str:
    """Only a path on this site (never //elsewhere or a full URL) is followed after login."""
    target = unquote(target or "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""


async def index(request: web.Request):
    account = request.get("account")
    raise web.HTTPSeeOther(account.home if account else "/accesso")


async def login_form(request: web.Request):
    if request.get("account") is not None:
        raise web.HTTPSeeOther(request["account"].home)
    return render(request, "login.html", title="Accesso", after=_next(request.query.get("dopo")), error=None,
                  name="")


async def login(request: web.Request):
    svc = services(request)
    data = await form(request)
    name, password = str(data.get("nome", "")).strip().lower(), str(data.get("password", ""))
    after = _next(data.get("dopo"))
    address = client_address(request)
    wait_s = max(svc.login_by_address.wait_s(address), svc.login_by_account.wait_s(name))
    if wait_s > 0:
        audit(request, "login", name, "rate-limited")
        minutes = max(1, math.ceil(wait_s / 60))
        return render(request, "login.html", code=429, title="Accesso", after=after, name=name,
                      error=f"Troppi tentativi non riusciti. Riprovi tra {minutes} minut{'o' if minutes == 1 else 'i'}.")
    account = svc.accounts.verify(name, password) if name and password else None
    if account is None:
        svc.login_by_address.hit(address)
        svc.login_by_account.hit(name)
        audit(request, "login", name, "refused")
        return render(request, "login.html", code=401, title="Accesso", after=after, name=name,
                      error="Nome o password non corretti.")
    svc.login_by_account.clear(name)
    request["session"] = svc.sessions.login(request["session"], account.name)
    request["session_changed"] = True
    request["account"] = account
    audit(request, "login", account.name)
    raise web.HTTPSeeOther("/password" if account.must_change else after or account.home)


async def logout(request: web.Request):
    await form(request)
    if request.get("account") is not None:
        audit(request, "logout", request["account"].name)
    services(request).sessions.end(request["session"])
    request["session"] = services(request).sessions.new()
    request["session_changed"] = True
    raise web.HTTPSeeOther("/accesso")


@allowed("view")
async def password_form(request: web.Request):
    return render(request, "password.html", title="Cambio password", error=None)


@allowed("view")
async def password_change(request: web.Request):
    svc = services(request)
    data = await form(request)
    account = request["account"]
    current, new, again = (str(data.get(k, "")) for k in ("attuale", "nuova", "conferma"))
    if svc.accounts.verify(account.name, current) is None:
        audit(request, "password", account.name, "refused", "wrong current password")
        return render(request, "password.html", code=400, title="Cambio password",
                      error="La password attuale non è corretta.")
    if new != again:
        return render(request, "password.html", code=400, title="Cambio password",
                      error="Le due nuove password non coincidono.")
    try:
        svc.accounts.set_password(account.name, new)
    except AccountError as err:
        return render(request, "password.html", code=400, title="Cambio password", error=str(err))
    audit(request, "password", account.name)
    svc.sessions.end_account(account.name)
    request["session"] = svc.sessions.login(None, account.name)
    request["session_changed"] = True
    request["session"].note("success", "Password cambiata.")
    raise web.HTTPSeeOther(account.home)


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/accesso", login_form)
    app.router.add_post("/accesso", login)
    app.router.add_post("/uscita", logout)
    app.router.add_get("/password", password_form)
    app.router.add_post("/password", password_change)
