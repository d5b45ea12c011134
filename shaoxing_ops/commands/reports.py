"""``shaoxing-ops report daily|weekly|monthly|annual DATE``: the inspection sheet, the weekly and monthly
reports and the year-end summary, read from the Dagster instance and the ops store, written as HTML, JSON, Word
and PDF."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from shaoxing_ops import settings

from .shared import ensure_dagster_home, exchange_records, ops_store, refuse, say

if TYPE_CHECKING:
    from shaoxing_ops.reports.build import ReportFiles


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="inspection sheet (巡检单), weekly (运维周报), monthly (运维服务月报) report or the year-end "
        "summary (运维服务年度总结)",
    )
    p.add_argument("kind", choices=("daily", "weekly", "monthly", "annual"))
    p.add_argument(
        "date",
        help="daily: the day; weekly: any day of the week (Monday to Sunday); monthly: YYYY-MM; annual: YYYY",
    )
    p.add_argument("--force", action="store_true", help="write it even for a period outside the loaded days")
    p.set_defaults(func=cmd_report)


def report_period(kind: str, text: str) -> tuple[dt.date, dt.date]:
    """The first and last day a report covers."""
    try:
        day = dt.date.fromisoformat(f"{text}-01" if kind == "monthly" and len(text) == 7 else text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; use YYYY-MM-DD" + (" or YYYY-MM" if kind == "monthly" else "")
        ) from None
    if kind == "daily":
        return day, day
    if kind == "weekly":
        monday = day - dt.timedelta(days=day.weekday())
        return monday, monday + dt.timedelta(days=6)
    first = day.replace(day=1)
    return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def outside_data(what: str, first: dt.date, last: dt.date) -> str | None:
    """Why a period cannot be reported from the data (it starts before the first partition, or is not over
    yet), or None. Such a report would only list every table as 未开始."""
    start, yesterday = settings.start_date(), settings.today() - dt.timedelta(days=1)
    if last < start or first < start:
        return f"{what} begins before the first partition, {start} (SXOPS_START_DATE)"
    if last > yesterday:
        return f"{what} reaches past the last complete day, {yesterday}"
    return None


def cmd_report(args: argparse.Namespace) -> int:
    import dagster as dg

    from shaoxing_ops.exchange.dbs import engine_for
    from shaoxing_ops.reports import build

    if args.kind == "annual":
        return cmd_report_annual(args)
    try:
        first, last = report_period(args.kind, args.date)
    except argparse.ArgumentTypeError as exc:
        return refuse(str(exc))
    period = str(first) if first == last else f"{first} … {last}"
    problem = outside_data(f"the {args.kind} report of {period}", first, last)
    if problem and not args.force:
        return refuse(f"{problem}; choose another date, or add --force to write it anyway")
    home = ensure_dagster_home()
    say(f"[1/3] reading runs and checks of {first} … {last} from the Dagster instance in {home}")
    instance = dg.DagsterInstance.get()
    exchange, operations = exchange_records(), ops_store()
    if args.kind == "daily":
        report = build.daily_sheet(instance, exchange, operations, first)
        stem = f"巡检单_{first.isoformat()}"
    else:
        front = engine_for("front") if args.kind == "monthly" else None
        report = build.period_report(instance, exchange, operations, first, last, args.kind, front)
        stem = f"运维周报_{first.isoformat()}" if args.kind == "weekly" else f"运维服务月报_{first:%Y-%m}"
    s = report["summary"]
    say(
        f"[2/3] {s['tables']} table-days: {s['succeeded']} succeeded, {s['failed']} failed, "
        f"{s['not_started']} not started, {s['checks_failed']} failed checks, {s['repushed']} re-pushed"
    )
    say("[3/3] writing the HTML, JSON, Word and PDF copies")
    _say_written(build.write(report, stem))
    return 0


def cmd_report_annual(args: argparse.Namespace) -> int:
    """The year-end summary: the service year so far (to yesterday), month by month."""
    import dagster as dg

    from shaoxing_ops.reports import annual

    if not re.fullmatch(r"\d{4}", args.date):
        return refuse(f"{args.date!r} is not a year; use YYYY, e.g. 2026")
    try:
        first, last = annual.service_year(int(args.date), settings.today())
    except ValueError as exc:
        return refuse(str(exc))
    home = ensure_dagster_home()
    say(
        f"[1/2] reading {first} … {last} (from the first day loaded) month by month from the instance in {home}"
    )
    report = annual.annual_report(
        dg.DagsterInstance.get(),
        exchange_records(),
        ops_store(),
        int(args.date),
        settings.today(),
        progress=say,
    )
    p, b = report["legs"]["province"], report["legs"]["bureau"]
    say(
        f"[2/2] availability: province {p['availability']}%, bureau {b['availability']}%; "
        f"writing the HTML, JSON, Word and PDF copies"
    )
    _say_written(annual.write(report))
    return 0


def _say_written(files: ReportFiles) -> None:
    """Where a report and its copies went, and what a copy lacks (no Chromium, no Chinese font)."""
    for path in (files.html, files.json, files.documents.docx, files.documents.pdf):
        if path:
            say(f"      {path}")
    if files.documents.missing:
        say(f"      warning: {files.documents.missing}")
