"""The checks of every Data Bureau table: row_count, freshness, schema, validity, per partition."""

import datetime as dt

import dagster as dg

from shaoxing_ops import settings
from shaoxing_ops.catalog import BureauTable, Catalog
from shaoxing_ops.exchange import bureau_health, health

from ..checks import DESCRIPTIONS, load_deadline, result
from ..partitions import daily
from ..resources import Databases
from .assets import asset_key

BUREAU_CHECKS = ("row_count", "freshness", "schema", "validity")
BUREAU_DESCRIPTIONS = {
    **DESCRIPTIONS,
    "row_count": "行数比对：数据局表与按映射规则（含筛选条件）由前置库应得的记录数一致，按分区与全表；无法映射而隔离的记录不计。",
    "freshness": "时效：该分区应上报的变更已出现在数据局表中，且在截止时间（默认 09:00）前完成上报。",
}


def bureau_checks(bt: BureauTable, catalog: Catalog) -> dg.AssetChecksDefinition:
    key = asset_key(bt)
    specs = [dg.AssetCheckSpec(n, asset=key, description=BUREAU_DESCRIPTIONS[n], partitions_def=daily)
             for n in BUREAU_CHECKS]  # fmt: skip

    @dg.multi_asset_check(
        specs=specs, can_subset=True, name=f"bureau__{bt.db_name}__checks", pool="bureau_checks"
    )
    def _checks(context: dg.AssetCheckExecutionContext, databases: Databases):  # type: ignore[no-untyped-def]
        window = context.partition_time_window
        selected = {k.name for k in context.selected_asset_check_keys}
        front, bureau, ops = databases.engine("front"), databases.engine("bureau"), databases.ops()
        if "row_count" in selected:
            yield result(key, "row_count",
                         bureau_health.row_count(bt, catalog, front, bureau, ops, window.start, window.end))  # fmt: skip
        if "freshness" in selected:
            materialized = context.instance.get_materialized_partitions(key)
            loaded = all(p in materialized for p in context.partition_keys)
            end = window.end.astimezone(settings.TZ).replace(tzinfo=None)
            deadline = dt.datetime.combine(end.date(), load_deadline())
            outcome = bureau_health.freshness(bt, catalog, front, bureau, window.start, window.end, loaded=loaded,
                                              deadline=deadline, now=dt.datetime.now(settings.TZ))  # fmt: skip
            yield result(key, "freshness", outcome)
        if "schema" in selected:
            yield result(key, "schema", health.schema(bt.table, None, bureau))
        if "validity" in selected:
            outcome, entries = health.validity(bt.table, catalog, bureau, window.start, window.end)
            stored = sum(ops.replace_quarantine("bureau_rows", bt.name, [day], rows, context.run.run_id)
                         for day, rows in entries.items())  # fmt: skip
            outcome.metadata["quarantined_entries"] = stored
            yield result(key, "validity", outcome)

    return _checks
