"""The checks of every Data Bureau table, one result per check and day: row_count, freshness, schema,
validity, volume."""

from collections.abc import Iterator

import dagster as dg

from shaoxing_ops import settings
from shaoxing_ops.catalog import BureauTable, Catalog
from shaoxing_ops.dagster_internals import check_evaluation_events
from shaoxing_ops.exchange import bureau_health, health
from shaoxing_ops.names import BUREAU_CHECKS

from ..checks import (
    DESCRIPTIONS,
    check_specs,
    check_step,
    day_results,
    load_deadline,
    quarantine_days,
    same_every_day,
)
from ..resources import Databases
from .assets import asset_key

BUREAU_DESCRIPTIONS = {
    **DESCRIPTIONS,
    "row_count": "行数比对：数据局表与按映射规则（含筛选条件）由前置库应得的记录数一致，按日与全表；无法映射而隔离的记录不计。",
    "freshness": "时效：当日应上报的变更已出现在数据局表中，且在次日截止时间（默认 09:00）前完成上报。",
    "volume": "数据量：当日上报的记录条数与本表近期历史（近几周同一星期几的中位数）相比；通常有记录而当日为零为未上报（失败），"
    "骤降或激增为警告。",
}


def bureau_checks(bt: BureauTable, catalog: Catalog) -> dg.AssetChecksDefinition:
    key = asset_key(bt)
    # while history is short, the bureau table expects about what its sources receive
    prior = sum(catalog.table(s).volume for s in bt.sources)

    @dg.multi_asset_check(
        specs=check_specs(key, BUREAU_CHECKS, BUREAU_DESCRIPTIONS),
        can_subset=True,
        name=f"bureau__{bt.db_name}__checks",
        pool="bureau_checks",
    )
    def _checks(context: dg.AssetCheckExecutionContext, databases: Databases) -> Iterator[dg.DagsterEvent]:
        yield from check_evaluation_events(context, list(_evaluate(context, databases)))

    def _evaluate(
        context: dg.AssetCheckExecutionContext, databases: Databases
    ) -> Iterator[dg.AssetCheckEvaluation]:
        start, end, days, selected, targets = check_step(context, key)
        front, bureau = databases.engine("front"), databases.engine("bureau")
        ops = databases.exchange_records()
        mapped = (
            bureau_health.expected(bt, catalog, front, start, end)
            if {"row_count", "freshness"} & selected
            else None
        )
        if mapped is not None and "row_count" in selected:
            yield from day_results(
                key, "row_count", bureau_health.row_count(bt, mapped, bureau, ops, start, end), targets
            )
        if mapped is not None and "freshness" in selected:
            outcomes = bureau_health.freshness(bt, mapped, bureau, start, end, load_deadline(targets))
            yield from day_results(key, "freshness", outcomes, targets)
        if "schema" in selected:
            yield from day_results(
                key, "schema", same_every_day(health.schema(bt.table, None, bureau), days), targets
            )
        if "validity" in selected:
            outcomes, entries = health.validity(bt.table, catalog, bureau, start, end)
            quarantine_days(ops, "bureau_rows", bt.name, outcomes, entries, context.run.run_id)
            yield from day_results(key, "validity", outcomes, targets)
        if "volume" in selected:
            outcomes = health.volume(bt.table, bureau, start, end, prior * settings.volume_scale())
            yield from day_results(key, "volume", outcomes, targets)

    return _checks
