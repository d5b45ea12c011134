import dagster as dg

from shaoxing_ops.catalog import load_catalog
from shaoxing_ops.names import BUREAU

from ..jobs import leg_assets, leg_job
from .assets import bureau_assets
from .checks import bureau_checks

bureau_upload = leg_job(
    "bureau_upload",
    BUREAU,
    "上报市数据局的 14 张表（每晚由自动化在省局下发表装载后触发；此作业用于补数与按需上报）。",
)

bureau_automation = dg.AutomationConditionSensorDefinition(
    "bureau_automation",
    target=leg_assets(BUREAU),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="省局下发表当日分区装载成功后，自动上报依赖它们的数据局表的同一分区。",
    use_user_code_server=False,
)


def definitions() -> dg.Definitions:
    catalog = load_catalog()
    return dg.Definitions(
        assets=bureau_assets(catalog),
        asset_checks=[bureau_checks(b, catalog) for b in catalog.bureau],
        jobs=[bureau_upload],
        sensors=[bureau_automation],
    )
