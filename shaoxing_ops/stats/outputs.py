"""Where a month's workbook and report are written, and writing both: shared by the asset and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from shaoxing_ops import settings as platform_settings
from shaoxing_ops.reports.documents import Documents
from shaoxing_ops.reports.publish import write_index

from .compute import Settings, StatsFrame, compute_months, month_range
from .report import write_report
from .workbook import write_workbook


@dataclass
class MonthOutputs:
    frame: StatsFrame
    workbook: Path
    report: Path
    documents: Documents  # the report's Word and PDF copies


def output_dir(month: str) -> Path:
    return platform_settings.data_dir() / "reports" / "stats" / month


def trend_months(month: str, settings: Settings) -> list[str]:
    """The 13 months a report shows (fewer when the statistics start later)."""
    y, m = int(month[:4]), int(month[5:7])
    first = f"{y - 1:04d}-{m:02d}"
    return month_range(max(first, settings.since), month)


def write_outputs(engine: Engine, month: str, settings: Settings) -> MonthOutputs:
    frame = compute_months(engine, trend_months(month, settings), settings)
    folder = output_dir(month)
    workbook = write_workbook(frame, month, folder / f"绍兴市市场主体统计_{month}.xlsx")
    report, documents = write_report(frame, month, folder / f"绍兴市市场主体发展情况_{month}.html")
    outputs = MonthOutputs(frame, workbook, report, documents)
    write_index()
    return outputs
