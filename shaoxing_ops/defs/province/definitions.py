from __future__ import annotations

import dagster as dg

from shaoxing_ops.catalog import load_catalog

from .assets import province_assets
from .jobs import province_nightly, province_nightly_schedule


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=province_assets(load_catalog()),
        jobs=[province_nightly],
        schedules=[province_nightly_schedule],
    )
