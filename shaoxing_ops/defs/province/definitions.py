import dagster as dg

from shaoxing_ops.catalog import load_catalog

from ..repush import build_repush_sensor
from .assets import asset_key, province_assets
from .checks import province_checks
from .jobs import (
    province_inspection,
    province_inspection_record,
    province_inspection_schedule,
    province_nightly,
    province_nightly_schedule,
    province_repush,
)


def definitions() -> dg.Definitions:
    catalog = load_catalog()
    sensor = build_repush_sensor(
        "province_repush_sensor",
        [asset_key(t) for t in catalog.tables],
        job_name=province_repush.name,
        description="自动重推：省局下发表的检查失败或装载失败时，重新推送该表该分区（最多 3 次，间隔递增），仍失败则升级。",
    )
    return dg.Definitions(
        assets=[*province_assets(catalog), province_inspection_record],
        asset_checks=province_checks(catalog),
        jobs=[province_nightly, province_inspection, province_repush],
        schedules=[province_nightly_schedule, province_inspection_schedule],
        sensors=[sensor],
    )
