"""Partitions shared by every domain: days in Asia/Shanghai from ``SXOPS_START_DATE``."""

from __future__ import annotations

import dagster as dg

from shaoxing_ops import settings

daily = dg.DailyPartitionsDefinition(start_date=settings.start_date().isoformat(), timezone=settings.TIMEZONE)
