"""What happened to each exchanged table on given days, from the Dagster instance and the exchange's records.

The inspection sheet and the periodic reports are built from these records, so they show the real runs,
checks and re-pushes, not a second bookkeeping. Every day's partition carries its own figures and check
results whatever the shape of the run that loaded it (``defs/figures.py``, ``defs/checks.py``), so a day of a
backfilled range reads like a day loaded by the nightly run.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import dagster as dg

from shaoxing_ops.catalog import Catalog, load_catalog
from shaoxing_ops.dagster_internals import PartitionKeyFilter
from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.names import (
    ALL_CHECKS,
    BUREAU,
    LEG_CHECKS,
    PROVINCE,
    REPUSH_TARGET_TAG,
    bureau_key_path,
    province_key_path,
    repush_target,
)

STATUS_CN = {"succeeded": "成功", "failed": "失败", "not_started": "未开始"}
CHECK_CN = {"passed": "通过", "failed": "未通过", "warning": "警告", "unknown": "未检查", "none": "—"}
DELIVERY_CN = {"silent": "未下发", "drop": "数据量骤降", "surge": "数据量激增"}
ROWS = ("read", "inserted", "updated", "deleted", "unchanged")


@dataclass
class TableDay:
    """One table of one leg on one day, as the inspection sheet lists it."""

    leg: str  # province | bureau
    system: str
    table: str
    title: str
    asset: str
    day: str
    status: str = "not_started"
    rows_moved: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)
    source_rows: int | None = (
        None  # the day's rows at the source (bureau: what the mapping makes of the front)
    )
    target_rows: int | None = None  # … and at the target
    total_source_rows: int | None = None  # the whole table as of the day's end
    total_target_rows: int | None = None
    count_difference: int | None = None  # target minus source, whole table as of the day's end
    delivery: str = ""  # silent | drop | surge: what the volume check found (DELIVERY_CN)
    quarantined: int = 0
    repush_attempts: int = 0
    repush_outcome: str = ""
    run_id: str = ""
    loaded_with: str = ""  # the range the run that loaded this day covered, if more than the day

    @property
    def healthy(self) -> bool:
        return self.status == "succeeded" and all(
            v in ("passed", "warning", "none") for v in self.checks.values()
        )

    @property
    def incident(self) -> bool:
        """A failed run or check, or a re-push: what the reports count and explain as a 故障."""
        return self.status == "failed" or "failed" in self.checks.values() or bool(self.repush_attempts)

    @property
    def severity(self) -> int:
        """0: failed run or check; 1: never started; 2: re-pushed and recovered; 3: healthy."""
        if self.status == "failed" or "failed" in self.checks.values():
            return 0
        return 1 if self.status == "not_started" else 2 if self.repush_attempts else 3

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "healthy": self.healthy, "delivery_cn": DELIVERY_CN.get(self.delivery, "")}


def tables(catalog: Catalog) -> list[tuple[str, str, str, str, dg.AssetKey]]:
    """(leg, system, table, title, asset key) of every exchanged table, in catalog order."""
    out = [(PROVINCE, t.system, t.name, t.title, dg.AssetKey(province_key_path(t))) for t in catalog.tables]
    out += [(BUREAU, "数据局上报", b.name, b.title, dg.AssetKey(bureau_key_path(b))) for b in catalog.bureau]
    return out


def _check_statuses(
    instance: dg.DagsterInstance, keys: Sequence[tuple[str, dg.AssetKey]], days: list[str]
) -> dict[tuple[dg.AssetKey, str, str], str]:
    """(asset, check, day) -> passed | failed, the latest evaluation of each check and day."""
    check_keys = [dg.AssetCheckKey(k, c) for leg, k in keys for c in LEG_CHECKS[leg]]
    out: dict[tuple[dg.AssetKey, str, str], str] = {}
    for info in instance.event_log_storage.get_asset_check_partition_info(check_keys, partition_keys=days):
        status = {"SUCCEEDED": "passed", "FAILED": "failed"}.get(info.latest_execution_status.value)
        if status and info.partition_key:
            out[(info.check_key.asset_key, info.check_key.name, info.partition_key)] = status
    return out


def _evaluations(
    instance: dg.DagsterInstance, key: dg.AssetKey, check: str, days: Iterable[str]
) -> dict[str, Any]:
    """The latest evaluation of one check on each of ``days``: newest first from the check's history, then one
    look-up per day the history did not reach."""
    wanted = set(days)
    found: dict[str, Any] = {}
    if not wanted:
        return found
    check_key = dg.AssetCheckKey(key, check)
    storage = instance.event_log_storage
    for record in storage.get_asset_check_execution_history(check_key, limit=2 * len(wanted) + 10):
        evaluation = record.event.dagster_event.event_specific_data if record.event else None
        day = getattr(evaluation, "partition", None)
        if day in wanted and day not in found and hasattr(evaluation, "passed"):
            found[day] = evaluation
    for day in sorted(wanted - set(found)):
        for record in storage.get_asset_check_execution_history(
            check_key, limit=5, partition_filter=PartitionKeyFilter(key=day)
        ):
            evaluation = record.event.dagster_event.event_specific_data if record.event else None
            if hasattr(evaluation, "passed"):
                found[day] = evaluation
                break
    return found


def _failed_runs(
    instance: dg.DagsterInstance, days: set[str], since: dt.datetime
) -> dict[tuple[dg.AssetKey, str], str]:
    """(asset, day) -> run id of a failed run that planned it and did not materialise it."""
    out: dict[tuple[dg.AssetKey, str], str] = {}
    records = instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE], updated_after=since), limit=1000
    )
    for record in records:
        run_id = record.dagster_run.run_id
        planned = instance.get_asset_partitions_for_run(
            run_id, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        )
        done = instance.get_asset_partitions_for_run(run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
        for key, partitions in planned.items():
            for p in partitions - done.get(key, set()):
                if p in days:
                    out.setdefault((key, p), run_id)
    return out


def _repushes(instance: dg.DagsterInstance, since: dt.datetime) -> dict[str, list[str]]:
    """Re-push target -> statuses of its runs, oldest first."""
    out: dict[str, list[str]] = defaultdict(list)
    # Re-push runs carry the target tag whichever job launched them (the sensor's job, or by hand).
    records = instance.get_run_records(dg.RunsFilter(updated_after=since), limit=5000, ascending=True)
    for r in records:
        target = r.dagster_run.tags.get(REPUSH_TARGET_TAG)
        if target:
            out[target].append(r.dagster_run.status.value)
    return out


def _value(metadata: Any, name: str) -> Any:
    entry = (metadata or {}).get(name)
    return getattr(entry, "value", entry)


def _counts(td: TableDay, evaluation: Any) -> None:
    """The row_count check's figures of the day, whichever leg it is."""
    meta = getattr(evaluation, "metadata", None) or {}
    day_source = _value(meta, "window_source_rows")
    td.source_rows = day_source if day_source is not None else _value(meta, "window_expected_rows")
    day_target = _value(meta, "window_target_rows")
    td.target_rows = day_target if day_target is not None else _value(meta, "window_bureau_rows")
    total_source = _value(meta, "total_source_rows")
    td.total_source_rows = total_source if total_source is not None else _value(meta, "total_expected_rows")
    total_target = _value(meta, "total_target_rows")
    td.total_target_rows = total_target if total_target is not None else _value(meta, "total_bureau_rows")
    difference = _value(meta, "total_difference")
    td.count_difference = int(difference) if isinstance(difference, int | float) else None


def collect_days(
    instance: dg.DagsterInstance,
    days: Sequence[dt.date],
    ops: ExchangeRecords | None = None,
    catalog: Catalog | None = None,
) -> list[TableDay]:
    """Every table of both legs on each of ``days``."""
    catalog = catalog or load_catalog()
    names = sorted({d.isoformat() for d in days})
    entries = tables(catalog)
    since = dt.datetime.combine(min(days) - dt.timedelta(days=1), dt.time(), dt.UTC)
    checks = _check_statuses(instance, [(e[0], e[4]) for e in entries], names)
    failed_runs = _failed_runs(instance, set(names), since)
    repushes = _repushes(instance, since)
    quarantine: dict[tuple[str, str], int] = defaultdict(int)
    if ops is not None:
        for q in ops.quarantined():
            if q["partition_key"] in names:
                quarantine[(q["table_name"], q["partition_key"])] += 1

    failing_by_key: dict[dg.AssetKey, set[tuple[str, str]]] = defaultdict(set)
    for (k, c, d), s in checks.items():
        if s == "failed":
            failing_by_key[k].add((c, d))

    out = []
    for leg, system, name, title, key in entries:
        found = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=names), limit=len(names) * 20
        )
        latest: dict[str, Any] = {}
        for rec in found.records:  # newest first
            latest.setdefault(rec.partition_key, rec)
        # only the days the check was evaluated on: a day never loaded costs no look-up
        counted = _evaluations(
            instance, key, "row_count", [d for d in names if (key, "row_count", d) in checks]
        )
        details = {(c, d): _evaluations(instance, key, c, [d]).get(d) for c, d in failing_by_key[key]}
        for day in names:
            td = TableDay(leg, system, name, title, key.to_user_string(), day)
            rec = latest.get(day)
            if rec is not None:
                meta = rec.asset_materialization.metadata if rec.asset_materialization else {}
                td.status, td.run_id = "succeeded", rec.run_id
                td.loaded_with = str(_value(meta, "loaded_with") or "")
                td.rows = {k: int(_value(meta, f"rows_{k}")) for k in ROWS if f"rows_{k}" in meta}
                td.rows_moved = sum(td.rows.get(k, 0) for k in ("inserted", "updated", "deleted"))
            elif (key, day) in failed_runs:
                td.status, td.run_id = "failed", failed_runs[(key, day)]
            if day in counted:
                _counts(td, counted[day])
            for check in ALL_CHECKS:  # the columns of the sheet
                if check not in LEG_CHECKS[leg]:
                    td.checks[check] = "none"
                    continue
                status = checks.get((key, check, day), "unknown")
                detail = details.get((check, day))
                if status == "failed" and detail is not None and detail.severity.value == "WARN":
                    status = "warning"
                td.checks[check] = status
                if check == "volume" and detail is not None:
                    td.delivery = str(_value(detail.metadata, "status") or "")
            runs = repushes.get(repush_target(key.to_user_string(), day), [])
            td.repush_attempts = len(runs)
            td.repush_outcome = (
                "成功"
                if runs and runs[-1] == "SUCCESS"
                else "失败"
                if runs and runs[-1] == "FAILURE"
                else "进行中"
                if runs
                else ""
            )
            td.quarantined = quarantine.get((name, day), 0)
            out.append(td)
    return out
