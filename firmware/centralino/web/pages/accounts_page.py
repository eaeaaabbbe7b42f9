"""Account and Registro (administrators): the local accounts and the audit log.

Creating an account sets a first password the new user must change at the first login; a reset
gives a new one-time password, shown once on the page. Every change is in the audit log.
"""

from __future__ import annotations

from aiohttp import web

from ..accounts import AccountError
from ..app import allowed, audit, form, render, services


@allowed("configure")
async def accounts_page(request: web.Request):
    offices = (await services(request).client.ask("comune"))["offices"]
    return render(request, "accounts.html", title="Account", accounts=services(request).accounts.accounts.values(),
                  offices=offices, error=None, one_time=None)


@allowed("configure")
async def create(request: web.Request):
    data = await form(request)
    svc = services(request)
    name = str(data.get("nome", "")).strip().lower()
    try:
        svc.accounts.create(name, str(data.get("ruolo", "")), str(data.get("password", "")),
                            tuple(str(o) for o in data.getall("uffici", [])), str(data.get("nome_completo", "")))
    except AccountError as err:
        audit(request, "account-create", name, "refused", str(err))
        offices = (await svc.client.ask("comune"))["offices"]
        return render(request, "accounts.html", code=400, title="Account", accounts=svc.accounts.accounts.values(),
                      offices=offices, error=str(err), one_time=None)
    audit(request, "account-create", name, detail=str(data.get("ruolo", "")))
    request["session"].note("success", f"Account {name} creato: dovrà cambiare la password al primo accesso.")
    raise web.HTTPSeeOther("/account")


@allowed("configure")
async def delete(request: web.Request):
    await form(request)
    svc = services(request)
    name = request.match_info["name"]
    try:
        svc.accounts.delete(name, request["account"].name)
    except AccountError as err:
        request["session"].note("danger", str(err).capitalize() + ".")
        raise web.HTTPSeeOther("/account")
    svc.sessions.end_account(name)
    audit(request, "account-delete", name)
    request["session"].note("success", f"Account {name} eliminato.")
    raise web.HTTPSeeOther("/account")


@allowed("configure")
async def reset(request: web.Request):
    await form(request)
    svc = services(request)
    name = request.match_info["name"]
    try:
        password = svc.accounts.reset_password(name)
    except AccountError as err:
        raise web.HTTPNotFound(text=str(err))
    svc.sessions.end_account(name)
    audit(request, "account-reset", name)
    offices = (await svc.client.ask("comune"))["offices"]
    return render(request, "accounts.html", title="Account", accounts=svc.accounts.accounts.values(),
                  offices=offices, error=None, one_time=(name, password))


@allowed("configure")
async def audit_page(request: web.Request):
    return render(request, "audit.html", title="Registro", entries=services(request).audit.newest())


def setup(app: web.Application) -> None:
    app.router.add_get("/account", accounts_page)
    app.router.add_post("/account", create)
    app.router.add_post(r"/account/{name}/elimina", delete)
    app.router.add_post(r"/account/{name}/reimposta", reset)
    app.router.add_get("/registro", audit_page)
