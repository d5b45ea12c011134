import dagster as dg

from .assets import market_entities, market_entity_report, parts_add_up

stats_monthly = dg.define_asset_job(
    "stats_monthly",
    selection=dg.AssetSelection.assets(market_entities, market_entity_report),
    executor_def=dg.in_process_executor,
    description="市场主体月度统计：计算上月统计表并生成 Excel 与 HTML 报告。",
    tags={"domain": "statistics"},
)

stats_monthly_schedule = dg.build_schedule_from_partitioned_job(
    stats_monthly,
    hour_of_day=7,
    minute_of_hour=0,
    day_of_month=1,
    description="每月 1 日 07:00（北京时间）统计上一个月，此时上月最后一天的省局数据已在夜间装载。",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[market_entities, market_entity_report],
        asset_checks=[parts_add_up],
        jobs=[stats_monthly],
        schedules=[stats_monthly_schedule],
    )
