"""The Statistiche page's chart: calls offered per hour, day or month, one colour per office, as SVG.

Drawn with matplotlib's SVG renderer through a ``Figure`` of its own (no pyplot, no global state),
imported only when a chart is asked for: the web service stays small until someone opens the
statistics. Axes, title and legend are in Italian; the page shows the same numbers as a table
beside it, for screen readers and for copying.
"""

from __future__ import annotations

import io

SIZE_IN = (10.0, 4.0)
# Bootstrap Italia's palette, then matplotlib's: distinguishable, and the first is the PA blue
COLOURS = ["#0066cc", "#008758", "#cc7a00", "#d9364f", "#5d7083", "#7f54b3", "#17324d", "#00a3a3"]
AXIS = {"day": "ora del giorno", "month": "ora del giorno", "days": "giorno del mese", "months": "mese"}


def offered_chart(kind: str, period: str, columns: list[str], series: dict[str, list[int]], title: str) -> bytes:
    """A stacked bar chart: ``columns`` along x, one bar segment per office in ``series``."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE_IN)
    FigureCanvasSVG(figure)
    axes = figure.add_subplot()
    x = list(range(len(columns)))
    bottom = [0] * len(columns)
    drawn = 0
    for index, (office, counts) in enumerate(series.items()):
        if not any(counts):
            continue
        axes.bar(x, counts, bottom=bottom, label=office, width=0.8, color=COLOURS[index % len(COLOURS)])
        bottom = [b + c for b, c in zip(bottom, counts)]
        drawn += 1
    axes.set_title(title)
    axes.set_xlabel(AXIS.get(kind, ""))
    axes.set_ylabel("chiamate offerte")
    axes.set_xticks(x, columns)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="y", alpha=0.3)
    if drawn:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", title="ufficio")
    else:
        axes.set_ylim(0, 1)
        axes.text((len(columns) - 1) / 2, 0.5, "nessuna chiamata nel periodo", ha="center", va="center")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
