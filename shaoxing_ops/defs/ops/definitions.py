import dagster as dg

from shaoxing_ops import settings

from ..jobs import asset_job, partitioned_schedule
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

ops_daily = asset_job(
    "ops_daily", dg.AssetSelection.assets(ASSESSMENT, SHEET), "每日资源评估与巡检单。", tags={"domain": "ops"}
)
ops_weekly = asset_job("ops_weekly", dg.AssetSelection.assets(WEEKLY), "运维周报。")
ops_monthly = asset_job("ops_monthly", dg.AssetSelection.assets(MONTHLY), "运维服务月报。")
ops_annual = asset_job("ops_annual", dg.AssetSelection.assets(ANNUAL), "运维服务年度总结。")

schedules = [
    partitioned_schedule(
        ops_daily, "每天 09:30 生成前一日的资源评估和巡检单（09:05 巡查之后）。", hour=9, minute=30
    ),
    partitioned_schedule(ops_weekly, "每周一 10:00 生成上一周的运维周报。", hour=10, day_of_week=1),
    partitioned_schedule(
        ops_monthly, "每月 1 日 10:00 生成上月运维服务月报（07:00 统计之后）。", hour=10, day_of_month=1
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
