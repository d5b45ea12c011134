"""Asset checks of an exchanged table, partitioned like the table: row_count, freshness, schema, validity.

One check definition per table evaluates its four checks in one step, on the partition (or backfilled range)
of the run. The rules are ``exchange.health``; this module only binds them to Dagster. Shared by the provincial
leg and the Data Bureau leg.
"""

import datetime as dt
import os
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
from sqlalchemy.engine import Engine

from shaoxing_ops import settings
from shaoxing_ops.catalog import Table, load_catalog
from shaoxing_ops.exchange import health
from shaoxing_ops.exchange.opsdb import OpsStore
from shaoxing_ops.exchange.reconcile import reconcile

from .partitions import daily
from .resources import Databases

CHECK_NAMES = ("row_count", "freshness", "schema", "validity", "reconcile")
DESCRIPTIONS = {
    "row_count": "行数比对：分区窗口内及全表的有效记录数，源端与目标端一致（容差可按表配置，默认完全一致）。",
    "freshness": "时效：目标端已包含源端该窗口的最新变更，且前一日分区在截止时间（默认 09:00）前完成装载。",
    "schema": "结构：目标表的列与类型符合目录；源端增减列或改类型时报告为结构漂移（警告）。",
    "validity": "合规：统一社会信用代码、身份证号码校验位，代码集取值，日期合理性；不合规记录照常下发并列入隔离清单。",
    "reconcile": "全表核对：按主键分段计算校验和，逐段比对源端与目标端，找出缺失、多出和内容不一致的记录。",
}
SEVERITY = {"ERROR": dg.AssetCheckSeverity.ERROR, "WARN": dg.AssetCheckSeverity.WARN}


def load_deadline() -> dt.time:
    """When yesterday's partition must be loaded by (``SXOPS_LOAD_DEADLINE``, default 09:00 Shanghai)."""
    return dt.time.fromisoformat(os.environ.get("SXOPS_LOAD_DEADLINE", "09:00"))


def check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=key, description=DESCRIPTIONS[name], partitions_def=daily)
        for name in CHECK_NAMES
    ]


def result(key: dg.AssetKey, name: str, outcome: health.Outcome) -> dg.AssetCheckResult:
    metadata: dict[str, Any] = dict(outcome.metadata)
    if outcome.failed_partitions:
        metadata["failed_partitions"] = ", ".join(outcome.failed_partitions)
    return dg.AssetCheckResult(
        check_name=name,
        asset_key=key,
        passed=outcome.passed,
        severity=SEVERITY[outcome.severity],
        description=outcome.description,
        metadata=metadata,
    )


def evaluate(
    context: dg.AssetCheckExecutionContext,
    key: dg.AssetKey,
    table: Table,
    source: Engine,
    target: Engine,
    ops: OpsStore,
    leg: str,
    tolerance: float = 0.0,
) -> Iterator[dg.AssetCheckResult]:
    """The selected checks of one table for the run's partition or range."""
    window = context.partition_time_window
    selected = {k.name for k in context.selected_asset_check_keys if k.asset_key == key}
    partitions = list(context.partition_keys)
    if "row_count" in selected:
        yield result(
            key, "row_count", health.row_count(table, source, target, window.start, window.end, tolerance)
        )
    if "freshness" in selected:
        materialized = context.instance.get_materialized_partitions(key)
        loaded = all(p in materialized for p in partitions)
        deadline = window.end.astimezone(settings.TZ).replace(tzinfo=None)
        deadline = dt.datetime.combine(deadline.date(), load_deadline())
        now = dt.datetime.now(settings.TZ)
        yield result(
            key, "freshness",
            health.freshness(table, source, target, window.start, window.end, loaded=loaded, deadline=deadline, now=now),
        )  # fmt: skip
    if "schema" in selected:
        yield result(key, "schema", health.schema(table, source, target))
    if "validity" in selected:
        outcome, entries = health.validity(table, load_catalog(), target, window.start, window.end)
        stored = sum(
            ops.replace_quarantine(leg, table.name, [day], rows, context.run.run_id)
            for day, rows in entries.items()
        )
        outcome.metadata["quarantined_entries"] = stored
        yield result(key, "validity", outcome)
    if "reconcile" in selected:
        yield result(key, "reconcile", reconcile_outcome(table, source, target, partitions, window.end))


def reconcile_outcome(table: Table, source: Engine, target: Engine, partitions: list[str],
                      as_of: dt.datetime) -> health.Outcome:  # fmt: skip
    """The whole table as of the window's end, keys changed since then on either side left out."""
    moving = health.flux(table, source, target, health.to_local_naive(as_of))
    diff = reconcile(table, source, target, as_of=as_of, ignore=moving.keys)
    metadata: dict[str, Any] = {
        "source_rows": diff.source_rows, "target_rows": diff.target_rows, "missing": len(diff.missing),
        "extra": len(diff.extra), "changed": len(diff.changed), "groups_compared": diff.groups_compared,
        "seconds": diff.seconds, "keys_changed_after_window": len(moving.keys),
    }  # fmt: skip
    for label, keys in (
        ("missing_keys", diff.missing),
        ("extra_keys", diff.extra),
        ("changed_keys", diff.changed),
    ):
        if keys:
            metadata[label] = ", ".join("/".join(map(str, k)) for k in keys[: health.MAX_LISTED])
    if diff.equal:
        return health.Outcome(True, f"全表 {diff.source_rows} 条，校验和一致", metadata)
    text = f"缺失 {len(diff.missing)} 条、多出 {len(diff.extra)} 条、内容不一致 {len(diff.changed)} 条"
    return health.Outcome(False, text, metadata, "ERROR", partitions)


def table_checks(
    key: dg.AssetKey, table: Table, name: str, engines: Callable[[Databases], tuple[Engine, Engine]], leg: str
) -> dg.AssetChecksDefinition:
    """The four checks of one table, in one step; ``engines`` picks (source, target) from the databases."""

    @dg.multi_asset_check(specs=check_specs(key), can_subset=True, name=name, pool=f"{leg}_checks")
    def _checks(context: dg.AssetCheckExecutionContext, databases: Databases):  # type: ignore[no-untyped-def]
        source, target = engines(databases)
        yield from evaluate(context, key, table, source, target, databases.ops(), leg)

    return _checks
