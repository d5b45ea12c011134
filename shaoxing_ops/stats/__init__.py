"""Monthly market-entity statistics (市场主体统计): engine, workbook and report, no Dagster import."""

from .compute import Settings, StatsFrame, compute_months, load_cube, month_range

__all__ = ["Settings", "StatsFrame", "compute_months", "load_cube", "month_range"]
