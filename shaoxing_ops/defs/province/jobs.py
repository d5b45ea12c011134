"""The nightly load of yesterday's partition of every provincial table."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from ..partitions import daily

# In-process: a step in a new process costs ~2 s on 2 cores against ~65 ms in process (measured); ~140 light steps
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


INSPECTION_KEY = dg.AssetKey(["ops", "province_inspection"])


def checks_of(prefix: str) -> dg.AssetSelection:
    """The checks of the assets under ``prefix``, without the assets themselves."""
    assets = dg.AssetSelection.key_prefixes([prefix])
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


province_inspection = dg.define_asset_job(
    "province_inspection",
    # the checks of the provincial tables without the tables themselves, and the inspection record
    selection=checks_of("province") | checks_of("bureau") | dg.AssetSelection.assets(INSPECTION_KEY),
    executor_def=dg.in_process_executor,
    description="巡查：只运行两条链路各表的检查（行数、时效、结构、合规、全表核对），不重新装载或上报。",
    tags={"leg": "province", "shaoxing-ops/kind": "inspection"},
)

province_repush = dg.define_asset_job(
    "province_repush",
    selection=dg.AssetSelection.key_prefixes(["province"]),
    executor_def=dg.in_process_executor,
    description="重新推送：由 province_repush_sensor 按失败的表和分区发起。",
    tags={"leg": "province", "shaoxing-ops/kind": "repush"},
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
