import dagster as dg

from shaoxing_ops.catalog import load_catalog

from .assets import province_assets
from .checks import province_checks
from .jobs import (
    province_inspection,
    province_inspection_record,
    province_inspection_schedule,
    province_nightly,
    province_nightly_schedule,
)


def definitions() -> dg.Definitions:
    catalog = load_catalog()
    return dg.Definitions(
        assets=[*province_assets(catalog), province_inspection_record],
        asset_checks=province_checks(catalog),
        jobs=[province_nightly, province_inspection],
        schedules=[province_nightly_schedule, province_inspection_schedule],
    )
