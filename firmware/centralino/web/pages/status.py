"""Stato: version, uptime, ports and their faults, trunk and GSM, failover, service mode, LEDs, log.

Everything comes from the console's own commands (``status``, ``gsm``, ``failover``, ``leds``,
``log tail``); a part the appliance does not have (no modem, no LEDs) is shown as not configured
rather than as an error.
"""

from __future__ import annotations

from aiohttp import web

from ..app import allowed, render, services
from ..control_client import DaemonRefused

LOG_LINES = 30


async def optional(client, *words):
    """A command's answer, or None when the daemon says this appliance has no such part."""
    try:
        return await client.ask(*words)
    except DaemonRefused:
        return None


@allowed("overview")
async def status_page(request: web.Request):
    client = services(request).client
    status = await client.ask("status")
    sip = status.get("sip") or {}
    return render(request, "status.html", title="Stato", status=status,
                  switchboard=status.get("switchboard") or {}, sip=sip,
                  gsm=await optional(client, "gsm"), failover=await optional(client, "failover"),
                  leds=await optional(client, "leds"),
                  log=(await optional(client, "log", "tail", str(LOG_LINES))) or {"lines": []})


def setup(app: web.Application) -> None:
    app.router.add_get("/stato", status_page)
