import dagster as dg

from shaoxing_ops.catalog import load_catalog

from ..repush import build_repush_sensor
from .assets import asset_key, bureau_assets
from .checks import BUREAU_CHECKS, bureau_checks

bureau_upload = dg.define_asset_job(
    "bureau_upload",
    selection=dg.AssetSelection.key_prefixes(["bureau"]),
    executor_def=dg.in_process_executor,
    description="上报市数据局的 14 张表（每晚由自动化在省局下发表装载后触发；此作业用于补数与按需上报）。",
    tags={"leg": "bureau"},
)

bureau_repush = dg.define_asset_job(
    "bureau_repush",
    selection=dg.AssetSelection.key_prefixes(["bureau"]),
    executor_def=dg.in_process_executor,
    description="重新上报：由 bureau_repush_sensor 按失败的数据局表和分区发起，重传该分区，再按前置库的映射结果核对整张表并定向修复（多出的记录一并删除）。",
    tags={"leg": "bureau", "shaoxing-ops/kind": "repush"},
)

bureau_automation = dg.AutomationConditionSensorDefinition(
    "bureau_automation",
    target=dg.AssetSelection.key_prefixes(["bureau"]),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="省局下发表当日分区装载成功后，自动上报依赖它们的数据局表的同一分区。",
    use_user_code_server=False,
)


def definitions() -> dg.Definitions:
    catalog = load_catalog()
    sensor = build_repush_sensor(
        "bureau_repush_sensor",
        [asset_key(b) for b in catalog.bureau],
        job_name=bureau_repush.name,
        description="自动重报：数据局表的检查或上报失败时，重新上报该表该分区（最多 3 次，间隔递增），仍失败则升级。",
        checks_after=BUREAU_CHECKS,
    )
    return dg.Definitions(
        assets=bureau_assets(catalog),
        asset_checks=[bureau_checks(b, catalog) for b in catalog.bureau],
        jobs=[bureau_upload, bureau_repush],
        sensors=[sensor, bureau_automation],
    )
