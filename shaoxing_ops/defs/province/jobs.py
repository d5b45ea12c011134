"""The nightly load of yesterday's partition of every provincial table, and the morning inspection."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from shaoxing_ops.names import BUREAU, KIND_TAG, PROVINCE

from ..jobs import asset_job, leg_assets, leg_job, partitioned_schedule
from ..partitions import daily

# partitioned by day as its assets are (Dagster infers it from them)
province_nightly = leg_job(
    "province_nightly", PROVINCE, "每晚装载前一日（Asia/Shanghai）省局下发的全部表的增量。"
)
province_nightly_schedule = partitioned_schedule(
    province_nightly, "每天 01:30 装载前一日分区。", hour=1, minute=30
)


INSPECTION_KEY = dg.AssetKey(["ops", "province_inspection"])


def checks_of(leg: str) -> dg.AssetSelection:
    """The checks of the tables of ``leg``, without the tables themselves."""
    assets = leg_assets(leg)
    return assets - assets.without_checks()


@dg.asset(
    key=INSPECTION_KEY,
    partitions_def=daily,
    group_name="ops",
    owners=["team:exchange"],
    kinds={"python"},
    description="省局下发巡查记录：某日分区何时巡查过；各表的检查结果记在各表的检查上。",
)
def province_inspection_record(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    # Also what gives the inspection job its daily partitions: a job of checks alone cannot carry them.
    return dg.MaterializeResult(
        metadata={"inspected_at": dt.datetime.now(ZoneInfo("Asia/Shanghai")).isoformat()}
    )


province_inspection = asset_job(
    "province_inspection",
    # the checks of either leg's tables without the tables themselves, and the inspection record
    checks_of(PROVINCE) | checks_of(BUREAU) | dg.AssetSelection.assets(INSPECTION_KEY),
    "巡查：只运行两条链路各表的检查（行数、时效、结构、合规、记录核对、数据量），不重新装载或上报。",
    tags={"leg": PROVINCE, KIND_TAG: "inspection"},
)

INSPECTION_DAYS = 3


@dg.schedule(
    job=province_inspection,
    cron_schedule="5 9 * * *",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="每天 09:05 巡查最近三天的分区：装载截止时间已过，迟到的补发数据也在此被发现。",
)
def province_inspection_schedule(context: dg.ScheduleEvaluationContext):  # type: ignore[no-untyped-def]
    today = context.scheduled_execution_time.astimezone(ZoneInfo("Asia/Shanghai")).date()
    for back in range(1, INSPECTION_DAYS + 1):
        day = (today - dt.timedelta(days=back)).isoformat()
        yield dg.RunRequest(run_key=f"inspection|{day}|{today}", partition_key=day)
