"""``shaoxing-ops stats --month YYYY-MM``: the monthly market-entity statistics (市场主体统计) of a complete month,
stored in the front database and written as tables, workbook, report, Word and PDF."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from shaoxing_ops import settings

from .shared import month_argument, refuse, say


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "stats", help="monthly market-entity statistics (市场主体统计): tables, Excel and HTML"
    )
    p.add_argument("--month", required=True, type=month_argument, help="statistics month, YYYY-MM")
    p.add_argument("--revoked-in-stock", action="store_true", help="count 吊销未注销 entities in 实有")
    p.add_argument(
        "--individual-code", choices=("9600", "9999"), help="type code for 个体工商户 (default 9600)"
    )
    p.add_argument("--force", action="store_true", help="compute a month that is not over yet")
    p.set_defaults(func=cmd_stats)


def cmd_stats(args: argparse.Namespace) -> int:
    from shaoxing_ops.exchange import safe_url
    from shaoxing_ops.exchange.dbs import engine_for
    from shaoxing_ops.stats import Settings
    from shaoxing_ops.stats import store as stats_store
    from shaoxing_ops.stats.commentary import sentences
    from shaoxing_ops.stats.outputs import trend_months, write_outputs

    stats_settings = Settings.from_env().with_choices(args.revoked_in_stock or None, args.individual_code)
    first = dt.date.fromisoformat(f"{args.month}-01")
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    if last >= settings.today() and not args.force:
        return refuse(
            f"the month {args.month} is not over (today is {settings.today()}); statistics are "
            "made of complete months: choose an earlier month, or add --force"
        )
    if args.month < stats_settings.since:
        return refuse(
            f"{args.month} is before the statistics start {stats_settings.since}; "
            "choose a later month or set SXOPS_STATS_SINCE"
        )
    front = engine_for("front")
    months = trend_months(args.month, stats_settings)
    say(
        f"[1/3] computing {months[0]} … {months[-1]} from {safe_url(settings.database_url('front'))} "
        f"(statistics since {stats_settings.since})"
    )
    try:
        out = write_outputs(front, args.month, stats_settings)
    except LookupError as exc:
        return refuse(str(exc))
    written = stats_store.write(front, out.frame, [args.month])
    say(
        f"[2/3] stored {args.month} in the front database: "
        + ", ".join(f"{k} {v} rows" for k, v in written.items())
    )
    say(f"[3/3] workbook {out.workbook}\n      report   {out.report}\n      Word     {out.documents.docx}")
    if out.documents.pdf:
        say(f"      PDF      {out.documents.pdf}")
    if out.documents.missing:
        say(f"      warning: {out.documents.missing}")
    for line in sentences(out.frame, args.month):
        say(f"      {line}")
    return 0
