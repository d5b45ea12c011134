import dagster as dg

from ..jobs import asset_job, partitioned_schedule
from .assets import market_entities, market_entity_report, parts_add_up

stats_monthly = asset_job(
    "stats_monthly",
    dg.AssetSelection.assets(market_entities, market_entity_report),
    "市场主体月度统计：计算上月统计表并生成 Excel 与 HTML 报告。",
    tags={"domain": "statistics"},
)
stats_monthly_schedule = partitioned_schedule(
    stats_monthly,
    "每月 1 日 07:00（北京时间）统计上一个月，此时上月最后一天的省局数据已在夜间装载。",
    hour=7,
    day_of_month=1,
)


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[market_entities, market_entity_report],
        asset_checks=[parts_add_up],
        jobs=[stats_monthly],
        schedules=[stats_monthly_schedule],
    )
