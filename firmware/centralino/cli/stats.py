"""``centralino stats``: calls per office and per hour for a day or a month, as a table or a chart.

The table fits an 80-column serial console: totals per office first, then each office hour by
hour (only the hours with something to count). ``--png`` also draws the calls offered per hour,
one colour per office, stacked, for a report to the mayor's office. The chart is drawn with
matplotlib's Agg renderer through a ``Figure`` of its own (no pyplot, no display, no global
state), imported only when a chart is asked for so the table stays quick on the Pi.
"""

from __future__ import annotations

from pathlib import Path

from .errors import CliError, load_config

TABLE_WIDTH = 80
OFFICE_WIDTH = 19  # a display name ("Ufficio Anagrafe"); the row stays within 80 columns
COLUMNS = ("{name:<19} {offered:>5} {answered:>4} {in_target:>5} {level:>4} {abandoned:>5} {overflowed:>4} "
           "{voicemails:>3} {opened:>3} {closed:>3} {close_mean:>7} {close_max:>7}")
HEADER = dict(offered="offer", answered="answ", in_target="intgt", level="SL%", abandoned="aband",
              overflowed="ovfl", voicemails="vm", opened="cb+", closed="cb-", close_mean="ttc-avg",
              close_max="ttc-max")
LEGEND = ("offer: calls that reached the office; intgt: answered within its target;\n"
          "SL%: intgt of offer; aband: hung up in the queue or the voce guida;\n"
          "ovfl: overflowed; vm: left a voicemail; cb+/cb-: callbacks opened/closed;\n"
          "ttc: time to close a callback. Hours are local; each call counts at its start.")
CHART_SIZE_IN = (10.0, 5.0)
CHART_DPI = 100  # 1000 x 500 pixels: readable on a screen and printed on A4


def register(sub) -> None:
    parser = sub.add_parser("stats", help="calls per office and per hour, for a day or a month",
                            description="Statistics per office and per hour of the day (local time): "
                                        "calls offered, answered, within the target, abandoned, "
                                        "overflowed, voicemails and callbacks; then tickets per office "
                                        "and month: opened, closed within deadline, overdue, mean time "
                                        "to close.")
    parser.add_argument("--config", type=Path, required=True, help="the configuration (offices, records.database)")
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--day", metavar="YYYY-MM-DD", help="one day, local time")
    when.add_argument("--month", metavar="YYYY-MM", help="one month, local time")
    parser.add_argument("--office", metavar="NAME", help="only this office")
    parser.add_argument("--png", type=Path, metavar="FILE", help="also write a chart of calls per hour per office")
    parser.add_argument("--database", type=Path, help="the SQLite file (overrides records.database)")
    parser.set_defaults(handler=run)


# ------------------------------------------------------------------------------------------ table
def duration(seconds: float | None) -> str:
    """A time to close in at most 6 characters: 45s, 12m05s, 3h05m, 4d03h; ``-`` for none."""
    if seconds is None:
        return "-"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _row(name: str, f) -> str:
    level = "-" if f.service_level is None else f"{round(100 * f.service_level)}"
    return COLUMNS.format(name=_cut(name, OFFICE_WIDTH), offered=f.offered, answered=f.answered,
                          in_target=f.answered_in_target, level=level, abandoned=f.abandoned,
                          overflowed=f.overflowed, voicemails=f.voicemails, opened=f.callbacks_opened,
                          closed=f.callbacks_closed, close_mean=duration(f.close_mean_s),
                          close_max=duration(f.close_max_s if f.callbacks_closed else None))


def _hour_rows(hours) -> list[str]:
    return [_row(f"{h:02d}-{(h + 1) % 24:02d}", f) for h, f in enumerate(hours) if not f.empty]


def _label(office, names) -> str:
    """An office as the tables show it: its display name (``names``), else its identifier."""
    from centralino.config.names import office_shown

    return office_shown(office.office, names) if office.office else office.label


CRISIS_COLUMNS = "{name:<24} {offered:>5} {answered:>5}"


def _crisis_rows(report, names) -> list[str]:
    """The calls made during the crisis service, per office, and how many were answered."""
    total = report.total
    lines = ["", f"During the crisis service (Protezione Civile): {total.crisis_offered} call(s), "
                 f"{total.crisis_answered} answered"]
    if total.crisis_offered:
        lines.append(CRISIS_COLUMNS.format(name="office", offered="calls", answered="answ"))
        lines += [CRISIS_COLUMNS.format(name=_cut(_label(o, names), 24), offered=o.total.crisis_offered,
                                        answered=o.total.crisis_answered)
                  for o in report.offices if o.total.crisis_offered]
    return lines


def format_report(report, comune: str = "", width: int = TABLE_WIDTH, names=None) -> str:
    """The whole report as text, no line longer than ``width``; offices by their display names
    (``names``, config/names.py ``display_names``)."""
    period = report.period
    title = f"{comune + ': ' if comune else ''}statistics of the {period.kind} {period.label} ({period.zone})"
    lines = [title, "", "Totals per office", COLUMNS.format(name="office", **HEADER)]
    lines += [_row(_label(o, names), o.total) for o in report.offices]
    if len(report.offices) > 1:
        lines.append(_row("all", report.total))
    for office in report.offices:
        rows = _hour_rows(office.hours)
        if rows:
            target = f" (target {office.target_s:g} s)" if office.office else ""
            lines += ["", f"Per hour: {_label(office, names)}{target}",
                      COLUMNS.format(name="hour", **HEADER)] + rows
    if len(report.offices) > 1 and not report.total.empty:
        lines += ["", "Per hour: all offices", COLUMNS.format(name="hour", **HEADER)] + _hour_rows(report.hours)
    if report.total.empty:
        lines += ["", "No calls and no callbacks in this period."]
    lines += _crisis_rows(report, names)
    lines += ["", LEGEND]
    return "\n".join(_cut(line, width) for text in lines for line in text.split("\n"))


TICKET_COLUMNS = "{month:<7} {office:<28} {opened:>6} {closed:>6} {in_time:>7} {overdue:>7} {mean:>8}"
TICKET_LEGEND = ("in-time: closed by the due time (time spent waiting on others not counted);\n"
                 "overdue: due in the month and not closed by then (waiting ones excepted).")


def format_ticket_table(figures, width: int = TABLE_WIDTH, names=None) -> str:
    """Tickets per office and month: opened, closed, closed within deadline, overdue, mean time to close."""
    from centralino.config.names import office_shown

    lines = ["Tickets per office and month",
             TICKET_COLUMNS.format(month="month", office="office", opened="opened", closed="closed",
                                   in_time="in-time", overdue="overdue", mean="ttc-avg")]
    for f in figures:
        lines.append(TICKET_COLUMNS.format(month=f.month, office=_cut(office_shown(f.office, names), 28), opened=f.opened, closed=f.closed,
                                           in_time=f.closed_in_time, overdue=f.overdue,
                                           mean=duration(f.close_mean_s)))
    if not figures:
        lines.append("No tickets in this period.")
    lines += [TICKET_LEGEND]
    return "\n".join(_cut(line, width) for text in lines for line in text.split("\n"))


# ------------------------------------------------------------------------------------------ chart
def write_chart(report, path: Path, comune: str = "", names=None) -> None:
    """A PNG of calls offered per local hour, one stacked colour per office."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=CHART_SIZE_IN, dpi=CHART_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    hours = list(range(24))
    bottom = [0] * 24
    drawn = 0
    for office in report.offices:
        counts = [f.offered for f in office.hours]
        if not any(counts):
            continue
        axes.bar(hours, counts, bottom=bottom, label=_label(office, names), width=0.8)
        bottom = [b + c for b, c in zip(bottom, counts)]
        drawn += 1
    period = report.period
    axes.set_title(f"{comune + ': ' if comune else ''}calls offered per hour, {period.kind} {period.label}")
    axes.set_xlabel(f"hour of the day ({period.zone})")
    axes.set_ylabel("calls")
    axes.set_xticks(hours, [f"{h:02d}" for h in hours])
    axes.set_xlim(-0.6, 23.6)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="y", alpha=0.3)
    if drawn:
        axes.legend(loc="upper right", fontsize="small")
    else:
        axes.set_ylim(0, 1)
        axes.text(11.5, 0.5, "no calls in this period", ha="center", va="center")
    figure.tight_layout()
    figure.savefig(path, format="png")


# ------------------------------------------------------------------------------------------ command
def _load(args):
    return load_config(args.config)


def run(args) -> int:
    from centralino.records import stats
    from centralino.records.database import RecordsError
    from centralino.records.ticket_stats import ticket_stats

    from centralino.config.names import display_names

    settings = _load(args)
    names = display_names(settings)
    zone = settings.comune.timezone
    try:
        period = stats.day(args.day, zone) if args.day else stats.month(args.month, zone)
    except ValueError as err:
        raise CliError(str(err)) from err
    database = args.database or Path(settings.records.database)
    targets = stats.targets_from_settings(settings)
    try:
        if args.office is not None and args.office not in targets and args.office not in stats.known_offices(database):
            raise CliError(f"unknown office '{args.office}' (expected one of "
                           f"{', '.join(targets) or 'no office: the configuration has none'})")
        report = stats.office_stats(database, period, targets, office=args.office)
        tickets = ticket_stats(database, period, office=args.office)
    except RecordsError as err:
        raise CliError(str(err)) from err
    if args.png is not None:  # first, so that a chart that cannot be written prints no table either
        try:
            write_chart(report, args.png, settings.comune.name, names)
        except OSError as err:
            raise CliError(f"{args.png}: cannot write the chart ({err.strerror or err})") from err
    print(format_report(report, settings.comune.name, names=names))
    print()
    print(format_ticket_table(tickets, names=names))
    return 0
