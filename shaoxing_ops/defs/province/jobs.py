"""The nightly load of yesterday's partition of every provincial table."""

from __future__ import annotations

import dagster as dg

# In-process: a step in a new process costs ~2 s here against ~65 ms in process (design.md); ~140 light steps
# a night must not pay the former. Heavy full reloads run as their own runs, where the choice matters less.
province_nightly = dg.define_asset_job(
    "province_nightly",
    selection=dg.AssetSelection.key_prefixes(["province"]),  # daily partitions, inferred from the assets
    executor_def=dg.in_process_executor,
    description="每晚装载前一日（Asia/Shanghai）省局下发的全部表的增量。",
    tags={"leg": "province"},
)

province_nightly_schedule = dg.build_schedule_from_partitioned_job(
    province_nightly,
    name="province_nightly_schedule",
    hour_of_day=1,
    minute_of_hour=30,
    description="每天 01:30 装载前一日分区。",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
