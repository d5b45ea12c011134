"""One daily-partitioned asset per Data Bureau table, downstream of the provincial tables it is built from."""

import dagster as dg

from shaoxing_ops.catalog import BureauTable, Catalog, MapPart
from shaoxing_ops.exchange.maintenance import reconcile_bureau
from shaoxing_ops.exchange.upload import upload_window
from shaoxing_ops.names import BUREAU, bureau_key_path

from ..figures import record_days, step_metadata
from ..partitions import daily
from ..province.assets import asset_key as province_key
from ..province.assets import column_schema, retry_policy
from ..repush import repair_if_repush
from ..resources import Databases, backend_kind

OWNER = "team:exchange"


def asset_key(bt: BureauTable) -> dg.AssetKey:
    return dg.AssetKey(bureau_key_path(bt))


def _describe(part: MapPart) -> str:
    text = part.source + (f" 关联 {part.join_table}" if part.join_table else "")
    if part.where:
        text += "（" + "，".join(f"{col} 为 {'/'.join(values)}" for col, values in part.where) + "）"
    return text


def bureau_asset(bt: BureauTable, catalog: Catalog) -> dg.AssetsDefinition:
    deps = sorted({s for p in bt.parts for s in (p.source, p.join_table) if s}, key=str)
    mapping = "；".join(_describe(p) for p in bt.parts)

    @dg.asset(
        key=asset_key(bt),
        group_name=BUREAU,
        deps=[province_key(catalog.table(name)) for name in deps],
        partitions_def=daily,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=f"{bt.title}（{bt.name}，上报市数据局）。由前置库 {mapping} 映射生成，每日增量上报。",
        kinds={backend_kind("bureau")},
        owners=[OWNER],
        tags={"leg": BUREAU},
        metadata={
            "表名": bt.name,
            "中文名": bt.title,
            "来源表": ", ".join(deps),
            "主键": ", ".join(bt.key),
            "dagster/table_name": f"bureau.{bt.db_name}",
            "dagster/column_schema": column_schema(bt.table),
        },
        # The day's bureau partition runs once its provincial partitions have been loaded that night.
        automation_condition=dg.AutomationCondition.eager(),
        retry_policy=retry_policy(),
        pool="bureau_db",
    )
    def _upload(context: dg.AssetExecutionContext, databases: Databases) -> dg.MaterializeResult:
        window = context.partition_time_window
        front, bureau = databases.engine("front"), databases.engine("bureau")
        ops = databases.exchange_records()
        result = upload_window(bt, catalog, front, bureau, window.start, window.end)
        days = list(context.partition_keys)
        for day in days:
            ops.replace_quarantine(
                "bureau", bt.name, [day], result.quarantine.get(day, []), context.run.run_id
            )
        record_days(
            context,
            result,
            {
                day: {
                    "rows_quarantined": dg.IntMetadataValue(len(result.quarantine.get(day, []))),
                    "rows_left_filter": dg.IntMetadataValue(result.left_filter_days.get(day, 0)),
                }
                for day in days
            },
        )
        context.log.info(
            f"{bt.name}: read {result.read}, inserted {result.inserted}, updated {result.updated}, deleted "
            f"{result.deleted}, left filter {result.left_filter}, quarantined {result.quarantined} in {result.seconds}s"
        )
        # A re-push puts the whole table right against what the mapping makes of the front: rows missing or
        # changed are sent again, rows the mapping no longer produces are removed.
        repaired = repair_if_repush(
            context, bt.name, lambda: reconcile_bureau(bt, catalog, front, bureau, ops, fix=True)
        )
        return dg.MaterializeResult(
            metadata=step_metadata(result, source_rows_read=dg.IntMetadataValue(result.read), **repaired)
        )

    return _upload


def bureau_assets(catalog: Catalog) -> list[dg.AssetsDefinition]:
    return [bureau_asset(bt, catalog) for bt in catalog.bureau]
