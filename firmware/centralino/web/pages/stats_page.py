"""Statistiche: the ``centralino stats`` figures per office, per hour, per day and per month.

A GET form chooses the period (a day or a month by hour, a month by day, a year by month); the
daemon computes the figures (``report``) from its own database. The page shows a table and
an SVG chart of the calls offered (``/statistiche/grafico.svg`` with the same query).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from .. import charts, labels
from ..app import allowed, render, services
from ..control_client import DaemonRefused

MONTH_NAMES = ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"]
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'"  # matplotlib's SVG styles itself inline


def _choice(request: web.Request) -> tuple[str, str]:
    svc = services(request)
    now = datetime.now(ZoneInfo(svc.zone))
    kind = request.query.get("tipo", "day")
    if kind not in labels.STATS_KINDS:
        kind = "day"
    default = {"day": f"{now:%Y-%m-%d}", "month": f"{now:%Y-%m}", "days": f"{now:%Y-%m}", "months": f"{now:%Y}"}
    return kind, request.query.get("periodo", "").strip() or default[kind]


def table(data: dict, shown=labels.office) -> tuple[list[str], dict[str, list[dict]], list[dict]]:
    """(column labels, per office the figures per column, the totals per column); ``shown`` names
    an office as the page shows it (its display name)."""
    if data["kind"] in ("day", "month"):
        columns = [f"{h:02d}" for h in range(24)]
        per_office = {shown(o["office"]): o["hours"] for o in data["offices"]}
        totals = [{k: sum((per_office[o][h][k] or 0) for o in per_office) for k in ("offered", "answered",
                                                                                      "abandoned")}
                  for h in range(24)]
        return columns, per_office, totals
    slices = data["slices"]
    columns = [MONTH_NAMES[int(s["slice"]) - 1] if data["kind"] == "months" else s["slice"] for s in slices]
    names = sorted({name for s in slices for name in s["offices"]})
    per_office = {shown(name): [s["offices"].get(name, {"offered": 0, "answered": 0, "abandoned": 0})
                                        for s in slices] for name in names}
    return columns, per_office, [s["total"] for s in slices]


async def _data(request: web.Request):
    kind, period = _choice(request)
    office = request.query.get("ufficio", "")
    words = ["report", kind, period] + ([office] if office else [])
    return kind, period, office, await services(request).client.ask(*words)


@allowed("overview")
async def stats_page(request: web.Request):
    try:
        kind, period, office, data = await _data(request)
        error = None
    except DaemonRefused as err:
        kind, period = _choice(request)
        office, data, error = request.query.get("ufficio", ""), None, str(err).removeprefix("report: ")
    columns, per_office, totals = table(data, services(request).office_title) if data else ([], {}, [])
    offices = (await services(request).client.ask("comune"))["offices"]
    return render(request, "stats.html", title="Statistiche", kind=kind, period=period, office=office, data=data,
                  error=error, columns=columns, per_office=per_office, totals=totals,
                  offices=offices, query=request.query_string)


@allowed("overview")
async def chart(request: web.Request):
    try:
        kind, period, office, data = await _data(request)
    except DaemonRefused as err:
        return web.Response(status=400, text=str(err), content_type="text/plain", charset="utf-8")
    columns, per_office, _ = table(data, services(request).office_title)
    series = {name: [f["offered"] for f in figures] for name, figures in per_office.items()}
    title = f"Chiamate offerte, {labels.STATS_KINDS[kind]}: {data['period']}" + (f" ({services(request).office_title(office)})" if office else "")
    svg = charts.offered_chart(kind, data["period"], columns, series, title)
    return web.Response(body=svg, content_type="image/svg+xml", headers={"Content-Security-Policy": CHART_CSP})


def setup(app: web.Application) -> None:
    app.router.add_get("/statistiche", stats_page)
    app.router.add_get("/statistiche/grafico.svg", chart)
