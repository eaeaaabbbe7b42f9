"""Wallboard: per office, callers waiting, longest wait, operators, today's service level.

The page is whole without JavaScript (the figures of the moment it was loaded); ``live.js`` keeps
it current from the ``wallboard`` topic of ``/eventi``. Office staff see their own offices only.
"""

from __future__ import annotations

from aiohttp import web

from ..app import allowed, render, services


def visible(account, boards: list[dict]) -> list[dict]:
    return [b for b in boards if account.sees_office(b["office"])]


@allowed("view")
async def wallboard_page(request: web.Request):
    account = request["account"]
    data = await services(request).client.ask("wallboard")
    boards = visible(account, data["offices"])
    chosen = request.query.get("ufficio")
    if chosen:
        boards = [b for b in boards if b["office"] == chosen]
    return render(request, "wallboard.html", title="Wallboard", boards=boards, at=data["at"], chosen=chosen or "",
                  offices=[b["office"] for b in visible(account, data["offices"])])


def setup(app: web.Application) -> None:
    app.router.add_get("/wallboard", wallboard_page)
