"""Asset checks of an exchanged table, partitioned like the table, with one result per check and day.

One check definition per table evaluates its checks in one step, on the run's partition or backfilled range.
Dagster records an ``AssetCheckResult`` of a ranged step for no partition (every day of the range would show
*Skipped*), so the step records one ``AssetCheckEvaluation`` per check and day instead, each pointing at that
day's materialisation: the Checks tab and the lineage node show every loaded day Passed or Failed, whatever the
run's shape. They are handed to the instance as one batch (``check_evaluation_events``): 360 results for a
table's 60 days cost one write transaction, not 360. The rules answer per day from one grouped query per side (``exchange.health``); this module only
binds them to Dagster. Shared by the provincial leg and the Data Bureau leg.
"""

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import NamedTuple

import dagster as dg
from sqlalchemy.engine import Engine

from shaoxing_ops import settings
from shaoxing_ops.catalog import Table, load_catalog
from shaoxing_ops.dagster_internals import TargetMaterialization, check_evaluation_events
from shaoxing_ops.exchange import health, rotation
from shaoxing_ops.exchange.dbs import Bind, for_reads
from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.names import PROVINCE_CHECKS

from .partitions import daily
from .resources import Databases

DESCRIPTIONS = {
    "row_count": "行数比对：当日有效记录数及截至当日末的全表记录数，源端与目标端一致（容差可按表配置，默认完全一致）。",
    "freshness": "时效：目标端已包含源端当日的最新变更，且该日分区在次日截止时间（默认 09:00）前完成装载。",
    "schema": "结构：目标表的列与类型符合目录；源端增减列或改类型时报告为结构漂移（警告）。",
    "validity": "合规：统一社会信用代码、身份证号码校验位，代码集取值，日期合理性；不合规记录照常下发并列入隔离清单。",
    "reconcile": "记录核对：每晚逐条比对窗口内变更的记录；每张表每周轮到一天（或窗口包含该日时）按主键分段计算全表校验和，"
    "逐段比对源端与目标端。找出缺失、多出和内容不一致的记录，并按记录的变更日期归入各日。全表行数由行数比对每晚核对。",
    "volume": "数据量：当日下发的变更条数与本表近期历史（近几周同一星期几的中位数）相比；通常有变更而当日无任何变更为未下发（失败），"
    "骤降或激增为警告。阈值见目录 volume.yaml，可按表覆盖。",
}
SEVERITY = {"ERROR": dg.AssetCheckSeverity.ERROR, "WARN": dg.AssetCheckSeverity.WARN}


def load_deadline(loaded: Iterable[str]) -> health.LoadDeadline:
    """A day's partition is due by ``SXOPS_LOAD_DEADLINE`` (09:00) on the following day; ``loaded``: the days
    loaded (either leg's freshness check)."""
    time = dt.time.fromisoformat(os.environ.get("SXOPS_LOAD_DEADLINE", "09:00"))
    return health.LoadDeadline(time, set(loaded), dt.datetime.now(settings.TZ))


def check_specs(
    key: dg.AssetKey, names: Iterable[str] = PROVINCE_CHECKS, descriptions: Mapping[str, str] = DESCRIPTIONS
) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=key, description=descriptions[name], partitions_def=daily)
        for name in names
    ]


def latest_materializations(
    instance: dg.DagsterInstance, key: dg.AssetKey, days: list[str]
) -> dict[str, TargetMaterialization]:
    """The latest materialisation of each of ``days`` (two indexed look-ups), which each day's result targets."""
    ids = instance.event_log_storage.get_latest_storage_id_by_partition(
        key, dg.DagsterEventType.ASSET_MATERIALIZATION, set(days)
    )
    if not ids:
        return {}
    found = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, storage_ids=list(ids.values())), limit=len(ids)
    )
    return {
        r.partition_key: TargetMaterialization(
            storage_id=r.storage_id, run_id=r.run_id, timestamp=r.timestamp
        )
        for r in found.records
        if r.partition_key
    }


def day_results(
    key: dg.AssetKey,
    name: str,
    outcomes: Mapping[str, health.Outcome],
    targets: Mapping[str, TargetMaterialization],
) -> Iterator[dg.AssetCheckEvaluation]:
    """One evaluation per day, recorded for that day's partition."""
    for day, outcome in outcomes.items():
        yield dg.AssetCheckEvaluation(
            asset_key=key,
            check_name=name,
            passed=outcome.passed,
            metadata=outcome.metadata,
            target_materialization_data=targets.get(day),
            severity=SEVERITY[outcome.severity],
            description=outcome.description,
            blocking=False,
            partition=day,
        )


def same_every_day(outcome: health.Outcome, days: list[str]) -> dict[str, health.Outcome]:
    """A check of the table as it is now (its structure) answers the same for each day evaluated."""
    return dict.fromkeys(days, outcome)


class CheckStep(NamedTuple):
    """What one check step evaluates: the run's window ``[start, end)`` and its days, the checks selected, and
    the materialisation of each day that the day's results point at."""

    start: dt.datetime
    end: dt.datetime
    days: list[str]
    selected: set[str]
    targets: dict[str, TargetMaterialization]


def check_step(context: dg.AssetCheckExecutionContext, key: dg.AssetKey) -> CheckStep:
    window = context.partition_time_window
    days = list(context.partition_keys)
    selected = {k.name for k in context.selected_asset_check_keys if k.asset_key == key}
    return CheckStep(
        window.start, window.end, days, selected, latest_materializations(context.instance, key, days)
    )


def quarantine_days(
    ops: ExchangeRecords,
    leg: str,
    table: str,
    outcomes: Mapping[str, health.Outcome],
    entries: Mapping[str, list],
    run_id: str,
) -> None:
    """Replace the quarantine entries of the days evaluated, all in one transaction (a ranged run's 60 days
    cost one, not 60), and say in each day's metadata how many were stored."""
    days = list(outcomes)
    ops.replace_quarantine(leg, table, days, [e for day in days for e in entries.get(day, [])], run_id)
    for day, outcome in outcomes.items():
        outcome.metadata["quarantined_entries"] = len(entries.get(day, []))


def evaluate(
    context: dg.AssetCheckExecutionContext,
    key: dg.AssetKey,
    table: Table,
    source: Bind,
    target: Bind,
    ops: ExchangeRecords,
    leg: str,
    tolerance: float = 0.0,
) -> Iterator[dg.AssetCheckEvaluation]:
    """The selected checks of one provincial table, for each day of the run's partition or range."""
    start, end, days, selected, targets = check_step(context, key)
    # The keys changed after the window are left out by the row count and the reconciliation alike; where the
    # reconciliation compares the whole table (``rotation``), its counts are the row count's, so the table is
    # scanned once a side, not twice.
    both = {"row_count", "reconcile"} <= selected
    whole_table = rotation.compares_whole_table(table.name, days)
    moving = health.flux(table, source, target, end, None if whole_table else start) if both else None
    reconciled = (
        health.reconcile_days(table, source, target, start, end, moving, whole_table)
        if "reconcile" in selected
        else {}
    )
    totals = health.reconciled_totals(reconciled) if both else None
    # The row count, freshness and volume checks read one tally a side, the whole table only where the row
    # count has no totals from the reconciliation.
    tallies = health.step_tallies(
        table,
        source,
        target,
        start,
        end,
        totals="row_count" in selected and totals is None,
        history="volume" in selected,
    )
    if "row_count" in selected:
        outcomes = health.row_count(table, source, target, start, end, tolerance, moving, totals, tallies)
        yield from day_results(key, "row_count", outcomes, targets)
    if "freshness" in selected:
        deadline = load_deadline(targets)
        outcomes = health.freshness(table, source, target, start, end, deadline=deadline, tallies=tallies)
        yield from day_results(key, "freshness", outcomes, targets)
    if "schema" in selected:
        yield from day_results(
            key, "schema", same_every_day(health.schema(table, source, target), days), targets
        )
    if "validity" in selected:
        outcomes, entries = health.validity(table, load_catalog(), target, start, end, tallies[1])
        quarantine_days(ops, leg, table.name, outcomes, entries, context.run.run_id)
        yield from day_results(key, "validity", outcomes, targets)
    if "reconcile" in selected:
        yield from day_results(key, "reconcile", reconciled, targets)
    if "volume" in selected:
        prior = table.volume * settings.volume_scale()
        outcomes = health.volume(table, source, start, end, prior, tallies[0])
        yield from day_results(key, "volume", outcomes, targets)


def table_checks(
    key: dg.AssetKey, table: Table, name: str, engines: Callable[[Databases], tuple[Engine, Engine]], leg: str
) -> dg.AssetChecksDefinition:
    """The checks of one table, in one step; ``engines`` picks (source, target) from the databases."""

    @dg.multi_asset_check(specs=check_specs(key), can_subset=True, name=name, pool=f"{leg}_checks")
    def _checks(context: dg.AssetCheckExecutionContext, databases: Databases) -> Iterator[dg.DagsterEvent]:
        source, target = engines(databases)
        with for_reads(source) as src, for_reads(target) as tgt:
            results = list(evaluate(context, key, table, src, tgt, databases.exchange_records(), leg))
        yield from check_evaluation_events(context, results)

    return _checks
