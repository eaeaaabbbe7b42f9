"""Chiamate: the calls in progress (live) and the call records, searched and exported as CSV.

The search form is a plain GET form, so a search is a link that can be bookmarked and works
without JavaScript; the daemon runs the query (``cdr search``), a page of ``PAGE`` rows at a time.
Numbers are shown as the records keep them: masked once the privacy rules have masked them.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from aiohttp import web

from .. import labels
from ..app import allowed, audit, render, services
from ..control_client import DaemonRefused

PAGE = 50
FILTERS = {"dal": "from", "al": "to", "ufficio": "office", "numero": "number", "esito": "outcome",
           "direzione": "direction"}
CSV_NAME = "chiamate.csv"


def _filters(request: web.Request) -> tuple[dict[str, str], list[str]]:
    chosen = {k: request.query.get(k, "").strip() for k in FILTERS}
    return chosen, [f"{FILTERS[k]}={v}" for k, v in chosen.items() if v]


@allowed("overview")
async def calls_page(request: web.Request):
    client = services(request).client
    chosen, words = _filters(request)
    try:
        page = max(1, int(request.query.get("pagina", "1")))
    except ValueError:
        page = 1
    error = None
    try:
        found = await client.ask("cdr", "search", *words, f"limit={PAGE}", f"offset={(page - 1) * PAGE}")
    except DaemonRefused as err:
        error, found = str(err).removeprefix("cdr search: "), {"total": 0, "records": []}
    live = await client.ask("calls")
    status = await client.ask("status")
    offices = (await client.ask("comune"))["offices"]
    query = {k: v for k, v in chosen.items() if v}
    pages = max(1, -(-found["total"] // PAGE))
    return render(request, "calls.html", title="Chiamate", live=live["calls"], found=found, chosen=chosen,
                  error=error, page=page, pages=pages, offices=offices,
                  link=lambda p: "/chiamate?" + urlencode({**query, "pagina": p}),
                  csv_link="/chiamate.csv" + ("?" + urlencode(query) if query else ""),
                  stations={s["number"]: s["name"] for s in (status.get("switchboard") or {}).get("stations", [])})


@allowed("overview")
async def calls_csv(request: web.Request):
    svc = services(request)
    _, words = _filters(request)
    try:
        data = await svc.client.ask("cdr", "export", *words)
    except DaemonRefused as err:
        return web.Response(status=400, text=f"Ricerca non valida: {str(err).removeprefix('cdr export: ')}\n",
                            content_type="text/plain", charset="utf-8")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")  # Italian spreadsheets read ';' with decimal commas
    writer.writerow(data["fields"])
    zone = data["timezone"]
    times = {data["fields"].index(n) for n in ("started_at", "answered_at", "ended_at")}
    for row in data["rows"]:
        writer.writerow([labels.local_time(v, zone) if i in times else v for i, v in enumerate(row)])
    audit(request, "cdr-export", " ".join(words) or "all", detail=f"{len(data['rows'])} rows")
    return web.Response(body=("\ufeff" + out.getvalue()).encode("utf-8"), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{CSV_NAME}"'})


def setup(app: web.Application) -> None:
    app.router.add_get("/chiamate", calls_page)
    app.router.add_get("/chiamate.csv", calls_csv)
