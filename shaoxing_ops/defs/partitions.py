"""Partitions shared by every domain: days in Asia/Shanghai from ``SXOPS_START_DATE``."""

from __future__ import annotations

import dagster as dg

from shaoxing_ops import settings

daily = dg.DailyPartitionsDefinition(start_date=settings.start_date().isoformat(), timezone=settings.TIMEZONE)


def _monthly() -> dg.MonthlyPartitionsDefinition:
    from shaoxing_ops.stats import Settings

    return dg.MonthlyPartitionsDefinition(
        start_date=f"{Settings.from_env().since}-01", timezone=settings.TIMEZONE
    )


monthly = _monthly()  # statistics months, from SXOPS_STATS_SINCE

weekly = dg.WeeklyPartitionsDefinition(
    start_date=settings.start_date().isoformat(), timezone=settings.TIMEZONE, day_offset=1
)  # weeks from Monday, for the weekly operations report
ops_monthly = dg.MonthlyPartitionsDefinition(
    start_date=settings.start_date().isoformat(), timezone=settings.TIMEZONE
)
yearly = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *",
    fmt="%Y",
    start=str(settings.start_date().year),
    timezone=settings.TIMEZONE,
    end_offset=1,  # the year under way too: its summary so far can be written on demand
)  # service years, for the year-end summary
