"""Segnalazioni: the callback tickets, filtered by state and office; take in charge; close with a note.

Today's states are open, in progress and closed (``labels.TICKET_STATES``); the workflow issue's
lifecycle adds states and actions: the list, filters and history read the states from that one
table, and an action is one more small handler here and one more button in ``ticket.html``.
Office staff see and change only their offices' tickets.
"""

from __future__ import annotations

from aiohttp import web

from .. import labels
from ..app import allowed, audit, form, render, services
from ..control_client import DaemonRefused

NOTE_MAX = 400


async def _ticket(request: web.Request) -> dict:
    ticket = await services(request).client.ask("ticket", "show", request.match_info["number"])
    if not request["account"].sees_office(ticket["office"]):
        raise web.HTTPForbidden(text="Segnalazione di un altro ufficio")
    return ticket


@allowed("view")
async def tickets_page(request: web.Request):
    account = request["account"]
    state = request.query.get("stato", "aperte")
    office = request.query.get("ufficio", "")
    answer = await services(request).client.ask("tickets", "all")
    rows = [t for t in answer["tickets"] if account.sees_office(t["office"])]
    offices = sorted({t["office"] for t in rows})
    if state == "aperte":
        rows = [t for t in rows if t["status"] != "closed"]
    elif state in labels.TICKET_STATES:
        rows = [t for t in rows if t["status"] == state]
    if office:
        rows = [t for t in rows if t["office"] == office]
    return render(request, "tickets.html", title="Segnalazioni", tickets=rows[::-1], state=state, office=office,
                  offices=offices)


@allowed("view")
async def ticket_page(request: web.Request):
    return render(request, "ticket.html", title=f"Segnalazione n. {request.match_info['number']}",
                  ticket=await _ticket(request), error=None)


async def _change(request: web.Request, action: str, *words) -> web.Response:
    ticket = await _ticket(request)
    account = request["account"]
    try:
        await services(request).client.ask("ticket", action, str(ticket["id"]), account.name, *words)
    except DaemonRefused as err:
        audit(request, f"ticket-{action}", ticket["id"], "refused", str(err))
        return render(request, "ticket.html", code=409, title=f"Segnalazione n. {ticket['id']}",
                      ticket=await _ticket(request), error=str(err).split(": ", 1)[-1])
    audit(request, f"ticket-{action}", ticket["id"], detail=" ".join(words))
    request["session"].note("success", f"Segnalazione n. {ticket['id']}: "
                            + ("presa in carico." if action == "take" else "chiusa."))
    raise web.HTTPSeeOther(f"/segnalazioni/{ticket['id']}")


@allowed("change")
async def take(request: web.Request):
    await form(request)
    return await _change(request, "take")


@allowed("change")
async def close(request: web.Request):
    data = await form(request)
    note = " ".join(str(data.get("nota", "")).split())[:NOTE_MAX]
    return await _change(request, "done", *([note] if note else []))


def setup(app: web.Application) -> None:
    app.router.add_get("/segnalazioni", tickets_page)
    app.router.add_get(r"/segnalazioni/{number:\d+}", ticket_page)
    app.router.add_post(r"/segnalazioni/{number:\d+}/prendi", take)
    app.router.add_post(r"/segnalazioni/{number:\d+}/chiudi", close)
