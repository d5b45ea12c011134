"""The one Jinja2 environment of every report: autoescaping, the shared style and macros (cover, signature
block, tables), and the contract's parties; the statistics' templates find the reports' shared ones beside
their own."""

from __future__ import annotations

import datetime as dt

import jinja2

from shaoxing_ops import settings


def _today_cn() -> str:
    today = dt.datetime.now(settings.TZ).date()
    return f"{today.year}年{today.month}月{today.day}日"


def environment(*packages: str) -> jinja2.Environment:
    """An environment loading from ``packages``' templates first, then the reports' shared ones."""
    loaders = [jinja2.PackageLoader(p, "templates") for p in (*packages, "shaoxing_ops.reports")]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    )
    env.globals.update(contract=settings.contract, today_cn=_today_cn)
    return env
