"""Each day's own figures on each day's materialisation, whatever the shape of the run that loaded it.

A ranged run (the demo, a backfill from the UI) loads many days in one step; Dagster then records one
materialisation per day, and metadata given to the step's result would be copied onto every one of them.
So the figures go on each partition by itself (``add_asset_metadata(partition_key=…)``), and the step's own
result carries only what is true of the whole step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import dagster as dg

from shaoxing_ops import settings
from shaoxing_ops.exchange import CopyResult

FIGURES = ("read", "inserted", "updated", "deleted", "unchanged", "superseded")


def day_window_text(day: str) -> str:
    start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), settings.TZ)
    return f"[{start.isoformat()}, {(start + dt.timedelta(days=1)).isoformat()})"


def step_span(context: dg.AssetExecutionContext) -> str:
    """``2026-10-01 … 2026-11-30（61 天）`` for a ranged step, ``""`` for a single day."""
    days = context.partition_keys
    return f"{days[0]} … {days[-1]}（{len(days)} 天）" if len(days) > 1 else ""


def record_days(
    context: dg.AssetExecutionContext,
    result: CopyResult,
    per_day: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Put on every partition of the step that day's rows and window, and what the step was."""
    span = step_span(context)
    for day in context.partition_keys:
        figures = result.day(day)
        metadata: dict[str, Any] = {
            f"rows_{name}": dg.IntMetadataValue(getattr(figures, name)) for name in FIGURES
        }
        metadata["rows_moved"] = dg.IntMetadataValue(figures.moved)
        metadata["window"] = day_window_text(day)
        if span:
            metadata["loaded_with"] = span  # the step's seconds and table count belong to the whole range
        metadata.update((per_day or {}).get(day, {}))
        context.add_asset_metadata(metadata, partition_key=day)


def step_metadata(result: CopyResult, **extra: Any) -> dict[str, Any]:
    """What is true of the step as a whole: its duration, the method, the table's rows after it."""
    return {
        "step_seconds": dg.FloatMetadataValue(result.seconds),
        "method": result.method,
        "dagster/row_count": dg.IntMetadataValue(result.target_rows),
        **extra,
    }
