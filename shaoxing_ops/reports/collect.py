"""What happened to each exchanged table on given days, read from the Dagster instance and the ops store.

The inspection sheet and the periodic reports are built from these records, so they show the real runs,
checks and re-pushes, not a second bookkeeping.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import dagster as dg
from dagster._core.events import DagsterEventType

from shaoxing_ops.catalog import Catalog, load_catalog

CHECKS = ("row_count", "freshness", "schema", "validity", "reconcile")
LEG_CHECKS = {
    "province": CHECKS,
    "bureau": ("row_count", "freshness", "schema", "validity"),
}  # as defs/*/checks.py
REPUSH_TARGET_TAG = "shaoxing-ops/repush-target"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
STATUS_CN = {"succeeded": "成功", "failed": "失败", "not_started": "未开始"}
CHECK_CN = {"passed": "通过", "failed": "未通过", "warning": "警告", "unknown": "未检查", "none": "—"}


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
    count_difference: int | None = None
    quarantined: int = 0
    repush_attempts: int = 0
    repush_outcome: str = ""
    run_id: str = ""
    loaded_with: str = ""  # a backfill range loaded by one run: its figures are the range's, not the day's

    @property
    def healthy(self) -> bool:
        return self.status == "succeeded" and all(
            v in ("passed", "warning", "none") for v in self.checks.values()
        )

    @property
    def severity(self) -> int:
        """0: failed run or check; 1: never started; 2: re-pushed and recovered; 3: healthy."""
        if self.status == "failed" or "failed" in self.checks.values():
            return 0
        return 1 if self.status == "not_started" else 2 if self.repush_attempts else 3

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "healthy": self.healthy}


def tables(catalog: Catalog) -> list[tuple[str, str, str, str, dg.AssetKey]]:
    """(leg, system, table, title, asset key) of every exchanged table, in catalog order."""
    out = [("province", t.system, t.name, t.title, dg.AssetKey(["province", t.system, t.db_name]))
           for t in catalog.tables]  # fmt: skip
    out += [
        ("bureau", "数据局上报", b.name, b.title, dg.AssetKey(["bureau", b.db_name])) for b in catalog.bureau
    ]
    return out


def _check_statuses(instance: dg.DagsterInstance, keys: Sequence[dg.AssetKey], days: set[str]
                    ) -> tuple[dict[tuple[dg.AssetKey, str, str], tuple[str, int]], set[str]]:  # fmt: skip
    """(asset, check, day) -> (status, storage id of the evaluation), per partition or from a ranged evaluation;
    and the runs that evaluated failing checks."""
    check_keys = [dg.AssetCheckKey(k, c) for k in keys for c in CHECKS]
    out: dict[tuple[dg.AssetKey, str, str], tuple[str, int]] = {}
    ranged: dict[dg.AssetCheckKey, str] = {}  # check -> run that evaluated it over a range of days
    failed_runs: set[str] = set()
    for info in instance.event_log_storage.get_asset_check_partition_info(check_keys):
        status = {"SUCCEEDED": "passed", "FAILED": "failed"}.get(info.latest_execution_status.value)
        if info.partition_key is None:
            if status and info.latest_planned_run_id:
                ranged[info.check_key] = info.latest_planned_run_id
        elif status and info.partition_key in days:
            out[(info.check_key.asset_key, info.check_key.name, info.partition_key)] = (
                status, info.latest_check_event_storage_id)  # fmt: skip
            if status == "failed" and info.latest_planned_run_id:
                failed_runs.add(info.latest_planned_run_id)
    if ranged:  # a check evaluated over a backfilled range lists its failing days in its metadata
        spans: dict[str, tuple[str, str]] = {}
        for run_id in set(ranged.values()):
            run = instance.get_run_by_id(run_id)
            tags = run.tags if run else {}
            spans[run_id] = (tags.get(RANGE_START, ""), tags.get(RANGE_END, ""))
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(ranged))
        for key, record in latest.items():
            evaluation = record.event.dagster_event.event_specific_data if record.event else None
            meta = getattr(evaluation, "metadata", None) or {}
            failed = {p.strip() for p in str(getattr(meta.get("failed_partitions"), "value", "")).split(",")}
            passed = getattr(evaluation, "passed", None)
            lo, hi = spans.get(ranged[key], ("", ""))
            for day in days:
                if (key.asset_key, key.name, day) in out or passed is None or not (lo <= day <= hi):
                    continue
                bad = day in failed or (not passed and failed == {""})
                out[(key.asset_key, key.name, day)] = ("failed" if bad else "passed", 0)
    return out, failed_runs


def _warnings(
    instance: dg.DagsterInstance, run_ids: set[str]
) -> dict[tuple[dg.AssetKey, str, str], dict[str, Any]]:
    """Severity and metadata of the check evaluations of the given runs, by (asset, check, partition)."""
    out: dict[tuple[dg.AssetKey, str, str], dict[str, Any]] = {}
    for run_id in run_ids:
        records = instance.get_records_for_run(
            run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        for r in records:
            data = r.event_log_entry.dagster_event.event_specific_data
            out[(data.asset_key, data.check_name, getattr(data, "partition", None) or "")] = {
                "severity": getattr(getattr(data, "severity", None), "value", "ERROR"),
                "metadata": {
                    k: getattr(v, "value", v) for k, v in (getattr(data, "metadata", None) or {}).items()
                },
            }
    return out


def _failed_runs(instance: dg.DagsterInstance, days: set[str], since: dt.datetime
                 ) -> dict[tuple[dg.AssetKey, str], str]:  # fmt: skip
    """(asset, day) -> run id of a failed run that planned it and did not materialise it."""
    out: dict[tuple[dg.AssetKey, str], str] = {}
    records = instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE], updated_after=since), limit=1000
    )
    for record in records:
        run_id = record.dagster_run.run_id
        planned = instance.get_asset_partitions_for_run(
            run_id, DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        )
        done = instance.get_asset_partitions_for_run(run_id, DagsterEventType.ASSET_MATERIALIZATION)
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


def collect_days(instance: dg.DagsterInstance, days: Sequence[dt.date], ops: Any = None,
                 catalog: Catalog | None = None) -> list[TableDay]:  # fmt: skip
    """Every table of both legs on each of ``days``."""
    catalog = catalog or load_catalog()
    names = {d.isoformat() for d in days}
    entries = tables(catalog)
    keys = [e[4] for e in entries]
    since = dt.datetime.combine(min(days) - dt.timedelta(days=1), dt.time(), dt.UTC)
    checks, check_runs = _check_statuses(instance, keys, names)
    details = _warnings(instance, check_runs)
    failed_runs = _failed_runs(instance, names, since)
    repushes = _repushes(instance, since)
    quarantine: dict[tuple[str, str], int] = defaultdict(int)
    if ops is not None:
        for q in ops.quarantined():
            if q["partition_key"] in names:
                quarantine[(q["table_name"], q["partition_key"])] += 1
    spans: dict[str, str] = {}

    def span(run_id: str) -> str:
        if run_id not in spans:
            run = instance.get_run_by_id(run_id)
            lo, hi = (run.tags.get(RANGE_START), run.tags.get(RANGE_END)) if run else (None, None)
            spans[run_id] = f"{lo}…{hi}" if lo and hi and lo != hi else ""
        return spans[run_id]

    out = []
    for leg, system, name, title, key in entries:
        found = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=sorted(names)), limit=len(names) * 20
        )
        latest: dict[str, Any] = {}
        for rec in found.records:  # newest first
            latest.setdefault(rec.partition_key, rec)
        for day in sorted(names):
            td = TableDay(leg, system, name, title, key.to_user_string(), day)
            rec = latest.get(day)
            if rec is not None:
                meta = rec.asset_materialization.metadata if rec.asset_materialization else {}
                td.status, td.run_id, td.loaded_with = "succeeded", rec.run_id, span(rec.run_id)
                td.rows = {} if td.loaded_with else {k: int(meta[f"rows_{k}"].value) for k in ("read", "inserted", "updated", "deleted")
                           if f"rows_{k}" in meta}  # fmt: skip
                td.rows_moved = sum(td.rows.get(k, 0) for k in ("inserted", "updated", "deleted"))
            elif (key, day) in failed_runs:
                td.status, td.run_id = "failed", failed_runs[(key, day)]
            for check in CHECKS:
                if check not in LEG_CHECKS[leg]:
                    td.checks[check] = "none"
                    continue
                status = checks.get((key, check, day), ("unknown", 0))[0]
                detail = details.get((key, check, day), {})
                if status == "failed" and detail.get("severity") == "WARN":
                    status = "warning"
                td.checks[check] = status
                if check == "row_count" and status == "failed":
                    meta = detail.get("metadata", {})
                    diff = meta.get("total_difference", meta.get("window_difference"))
                    if isinstance(diff, int | float):
                        td.count_difference = int(diff)
            runs = repushes.get(f"{key.to_user_string()}|{day}", [])
            td.repush_attempts = len(runs)
            td.repush_outcome = ("成功" if runs and runs[-1] == "SUCCESS" else "失败" if runs and runs[-1] == "FAILURE"
                                 else "进行中" if runs else "")  # fmt: skip
            td.quarantined = quarantine.get((name, day), 0)
            out.append(td)
    return out
