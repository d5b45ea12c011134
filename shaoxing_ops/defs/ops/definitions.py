import dagster as dg

from shaoxing_ops import settings

from .alerts import ops_alert_sensor
from .assets import (
    ANNUAL,
    ASSESSMENT,
    MONTHLY,
    SHEET,
    WEEKLY,
    annual_report,
    host_metrics,
    host_metrics_sensor,
    inspection_sheet,
    monthly_report,
    resource_assessment,
    weekly_report,
)

ops_daily = dg.define_asset_job(
    "ops_daily",
    selection=dg.AssetSelection.assets(ASSESSMENT, SHEET),
    executor_def=dg.in_process_executor,
    description="每日资源评估与巡检单。",
    tags={"domain": "ops"},
)
ops_weekly = dg.define_asset_job(
    "ops_weekly",
    selection=dg.AssetSelection.assets(WEEKLY),
    executor_def=dg.in_process_executor,
    description="运维周报。",
)
ops_monthly = dg.define_asset_job(
    "ops_monthly",
    selection=dg.AssetSelection.assets(MONTHLY),
    executor_def=dg.in_process_executor,
    description="运维服务月报。",
)
ops_annual = dg.define_asset_job(
    "ops_annual",
    selection=dg.AssetSelection.assets(ANNUAL),
    executor_def=dg.in_process_executor,
    description="运维服务年度总结。",
)

schedules = [
    dg.build_schedule_from_partitioned_job(
        ops_daily,
        hour_of_day=9,
        minute_of_hour=30,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="每天 09:30 生成前一日的资源评估和巡检单（09:05 巡查之后）。",
    ),
    dg.build_schedule_from_partitioned_job(
        ops_weekly,
        hour_of_day=10,
        minute_of_hour=0,
        day_of_week=1,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="每周一 10:00 生成上一周的运维周报。",
    ),
    dg.build_schedule_from_partitioned_job(
        ops_monthly,
        hour_of_day=10,
        minute_of_hour=0,
        day_of_month=1,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="每月 1 日 10:00 生成上月运维服务月报（07:00 统计之后）。",
    ),
]


@dg.schedule(
    job=ops_annual,
    cron_schedule="0 11 1 1 *",
    execution_timezone=settings.TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="每年 1 月 1 日 11:00 生成上一年度的运维服务年度总结（12 月运维服务月报之后）。",
)
def ops_annual_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The year just ended (a year's partition is complete only once it is over)."""
    return dg.RunRequest(partition_key=str(context.scheduled_execution_time.year - 1))


schedules.append(ops_annual_schedule)


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[
            host_metrics,
            resource_assessment,
            inspection_sheet,
            weekly_report,
            monthly_report,
            annual_report,
        ],
        sensors=[host_metrics_sensor, ops_alert_sensor],
        jobs=[ops_daily, ops_weekly, ops_monthly, ops_annual],
        schedules=schedules,
    )
