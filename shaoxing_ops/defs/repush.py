"""Automatic re-push (重新推送): a sensor that re-runs exactly the table and partition that failed.

It reads from the Dagster instance the failed `row_count`, `freshness` and `reconcile` evaluations and the failed
materialisations of the assets it watches, and requests a run of that asset and partition (with its checks).
A re-push run also reconciles the whole table and repairs the rows that differ. Attempts are bounded
(``SXOPS_REPUSH_MAX_ATTEMPTS``, default 3) and spaced by a growing delay (``SXOPS_REPUSH_DELAY_SECONDS``,
default 300 s, doubled each time); after the last one the sensor stops and escalates: an observation on the
asset partition in the UI and a row in the exchange's escalations records, which the inspection sheet lists.
Passing faults never reach it: the assets' RetryPolicy absorbs them inside the step. One wiring serves both
legs (``definitions``): each gets a re-push job over its tables and a sensor re-running its checks.
"""

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import dagster as dg

from shaoxing_ops import settings
from shaoxing_ops.catalog import load_catalog
from shaoxing_ops.dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    IN_PROGRESS_RUN_STATUSES,
    PARTITION_NAME_TAG,
)
from shaoxing_ops.exchange.maintenance import Reconciliation
from shaoxing_ops.names import (
    BUREAU,
    LEG_CHECKS,
    PROVINCE,
    PROVINCE_CHECKS,
    REPUSH_ATTEMPT_TAG,
    REPUSH_REASON_TAG,
    REPUSH_TARGET_TAG,
    bureau_key_path,
    parse_repush_target,
    province_key_path,
    repush_target,
)

from .jobs import leg_job
from .resources import Databases

# A day that did not arrive at all (a failed `volume` check) is not re-pushed: there is nothing to load yet. The
# alert tells a person; once the rows arrive, `row_count` (or tonight's `reconcile`) fails and re-pushes the day.
REPUSHED_CHECKS = ("row_count", "freshness", "reconcile")


def max_attempts() -> int:
    return int(os.environ.get("SXOPS_REPUSH_MAX_ATTEMPTS", "3"))


def base_delay() -> float:
    return float(os.environ.get("SXOPS_REPUSH_DELAY_SECONDS", "300"))


def target_id(key: dg.AssetKey, partition: str) -> str:
    return repush_target(key.to_user_string(), partition)


def parse_target(target: str) -> tuple[dg.AssetKey, str]:
    key, partition = parse_repush_target(target)
    return dg.AssetKey.from_user_string(key), partition


@dataclass
class Attempts:
    count: int
    in_progress: bool
    last_end: float | None  # epoch seconds


def attempts_for(instance: dg.DagsterInstance, target: str, since: float) -> Attempts:
    """Re-push runs of this target made for the current incident (created after it was first seen)."""
    records = [
        r
        for r in instance.get_run_records(dg.RunsFilter(tags={REPUSH_TARGET_TAG: target}))
        if r.create_timestamp.timestamp() >= since
    ]
    in_progress = any(r.dagster_run.status in IN_PROGRESS_RUN_STATUSES for r in records)
    ends = [r.end_time for r in records if r.end_time]
    return Attempts(len(records), in_progress, max(ends) if ends else None)


def overlapping_run(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> str | None:
    """A run in progress that loads this asset partition, if any: two loads of one partition never overlap."""
    for record in instance.get_run_records(dg.RunsFilter(statuses=list(IN_PROGRESS_RUN_STATUSES))):
        run = record.dagster_run
        if run.asset_selection is not None and key not in run.asset_selection:
            continue
        tags = run.tags
        if tags.get(PARTITION_NAME_TAG) == partition:
            return run.run_id
        lo, hi = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
        if lo and hi and lo <= partition <= hi:
            return run.run_id
    return None


Failure = tuple[str, str, float]  # (reason, kind: check | run, storage id of the check event | run end time)


def _check_events(
    instance: dg.DagsterInstance, keys: Iterable[dg.AssetKey], after: int | None
) -> tuple[dict[str, Failure], set[str], int | None]:
    """Targets whose re-pushable checks failed or passed since ``after`` (a storage id)."""
    check_keys = [dg.AssetCheckKey(k, name) for k in keys for name in REPUSHED_CHECKS]
    failing: dict[str, Failure] = {}
    passing: set[str] = set()
    newest = after
    for info in instance.event_log_storage.get_asset_check_partition_info(check_keys, after_storage_id=after):
        newest = max(newest or 0, info.latest_check_event_storage_id)
        if info.partition_key is None:  # every check is evaluated per day (defs/checks.py)
            continue
        target = target_id(info.check_key.asset_key, info.partition_key)
        status = info.latest_execution_status.value
        if status == "FAILED":
            failing[target] = (
                f"检查 {info.check_key.name} 未通过",
                "check",
                info.latest_check_event_storage_id,
            )
        elif status == "SUCCEEDED":
            passing.add(target)
    return failing, passing - set(failing), newest


def _run_failures(
    instance: dg.DagsterInstance, keys: Iterable[dg.AssetKey], after: float | None
) -> tuple[dict[str, Failure], float | None]:
    """Asset partitions that failed runs planned and did not materialise, from runs failed since ``after``."""
    watched = set(keys)
    failing: dict[str, Failure] = {}
    newest = after
    since = dt.datetime.fromtimestamp(after, dt.UTC) if after else None
    records = instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE], updated_after=since), limit=500, ascending=True
    )
    for record in records:
        stamp = record.update_timestamp.timestamp()
        newest = max(newest or 0.0, stamp)
        run_id = record.dagster_run.run_id
        planned = instance.get_asset_partitions_for_run(
            run_id, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        )
        done = instance.get_asset_partitions_for_run(run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
        for key, partitions in planned.items():
            if key not in watched:
                continue
            for p in sorted(p for p in partitions - done.get(key, set()) if p):
                failing[target_id(key, p)] = (f"装载运行失败（run {run_id[:8]}）", "run", stamp)
    return failing, newest


def _materialized_after(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str, stamp: float) -> bool:
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition], after_timestamp=stamp), limit=1
    )
    return bool(result.records)


def build_repush_sensor(
    name: str,
    keys: list[dg.AssetKey],
    job_name: str,
    description: str,
    checks_after: tuple[str, ...] = PROVINCE_CHECKS,
) -> dg.SensorDefinition:
    """The re-push sensor of one leg: ``keys`` are its assets, ``checks_after`` the checks a re-push re-runs."""
    watched = list(keys)

    @dg.sensor(
        name=name,
        job_name=job_name,
        minimum_interval_seconds=settings.repush_interval_seconds(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=description,
    )
    def _sensor(context: dg.SensorEvaluationContext, databases: Databases) -> dg.SensorResult:
        state: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
        failing: dict[str, dict[str, Any]] = state.get("failing", {})
        instance, ops = context.instance, databases.exchange_records()
        now = dt.datetime.now().timestamp()

        check_fail, check_pass, state["checks"] = _check_events(instance, watched, state.get("checks"))
        run_fail, state["runs"] = _run_failures(instance, watched, state.get("runs"))
        for target, (reason, kind, since) in {**check_fail, **run_fail}.items():
            known = failing.get(target)
            failing[target] = {
                "reason": reason,
                "kind": kind,
                "since": since,
                "first_seen": known["first_seen"] if known else now,
                "escalated": bool(known and known.get("escalated")),
            }

        def resolve(target: str) -> None:
            failing.pop(target, None)
            ops.resolve_escalation(*parse_repush_target(target))

        for target in check_pass:
            if failing.get(target, {}).get("kind") == "check":
                resolve(target)
        requests, events = [], []
        for target, info in sorted(failing.items()):
            key, partition = parse_target(target)
            if info["kind"] == "run" and _materialized_after(instance, key, partition, info["since"]):
                resolve(target)
                continue
            tries = attempts_for(instance, target, info["first_seen"])
            if tries.in_progress or overlapping_run(instance, key, partition):
                continue
            if tries.count >= max_attempts():
                if not info["escalated"]:
                    info["escalated"] = True
                    reason = f"{info['reason']}；已自动重推 {tries.count} 次仍未恢复，需人工处理"
                    ops.escalate(key.to_user_string(), partition, reason, tries.count)
                    events.append(
                        dg.AssetObservation(
                            asset_key=key,
                            partition=partition,
                            metadata={"escalated": True, "repush_attempts": tries.count, "reason": reason},
                        )
                    )
                    context.log.warning(f"escalated {target} after {tries.count} re-pushes: {info['reason']}")
                continue
            delay = base_delay() * 2 ** (tries.count - 1) if tries.count else 0.0
            if tries.last_end and now - tries.last_end < delay:
                continue
            attempt = tries.count + 1
            requests.append(
                dg.RunRequest(
                    run_key=f"repush|{target}|{info['first_seen']:.0f}|{attempt}",
                    partition_key=partition,
                    asset_selection=[key],
                    asset_check_keys=[dg.AssetCheckKey(key, n) for n in checks_after],
                    tags={
                        REPUSH_TARGET_TAG: target,
                        REPUSH_ATTEMPT_TAG: str(attempt),
                        REPUSH_REASON_TAG: info["reason"][:200],
                    },
                )
            )
            context.log.info(f"re-push {target}, attempt {attempt}/{max_attempts()}: {info['reason']}")
        state["failing"] = failing
        return dg.SensorResult(run_requests=requests, asset_events=events, cursor=json.dumps(state))

    return _sensor


# The texts of each leg's re-push job and sensor in the UI.
DESCRIPTIONS = {
    PROVINCE: (
        "重新推送：由 province_repush_sensor 按失败的表和分区发起。",
        "自动重推：省局下发表的检查失败或装载失败时，重新推送该表该分区（最多 3 次，间隔递增），仍失败则升级。",
    ),
    BUREAU: (
        "重新上报：由 bureau_repush_sensor 按失败的数据局表和分区发起，重传该分区，再按前置库的映射结果核对整张表并定向修复（多出的记录一并删除）。",
        "自动重报：数据局表的检查或上报失败时，重新上报该表该分区（最多 3 次，间隔递增），仍失败则升级。",
    ),
}


def definitions() -> dg.Definitions:
    """Either leg's re-push: a job over the leg's tables (``<leg>_repush``) and the sensor that launches it
    (``<leg>_repush_sensor``), re-running the leg's checks."""
    catalog = load_catalog()
    keys = {
        PROVINCE: [dg.AssetKey(province_key_path(t)) for t in catalog.tables],
        BUREAU: [dg.AssetKey(bureau_key_path(b)) for b in catalog.bureau],
    }
    jobs, sensors = [], []
    for leg, (job_text, sensor_text) in DESCRIPTIONS.items():
        job = leg_job(f"{leg}_repush", leg, job_text, kind="repush")
        jobs.append(job)
        sensors.append(
            build_repush_sensor(f"{leg}_repush_sensor", keys[leg], job.name, sensor_text, LEG_CHECKS[leg])
        )
    return dg.Definitions(jobs=jobs, sensors=sensors)


def repair_if_repush(
    context: dg.AssetExecutionContext, name: str, reconcile: Callable[[], Reconciliation]
) -> dict[str, Any]:
    """In a re-push run, after the window is loaded, reconcile the whole table (``reconcile``, with its repair)
    and say in the metadata what was re-copied or removed.

    A check may fail for rows outside the window (deleted, altered or added by hand in the target database); the
    re-push is the moment to put the whole table right, and it costs one checksum scan when nothing differs.
    """
    if REPUSH_TARGET_TAG not in context.run.tags:
        return {}
    outcome = reconcile()
    diff = outcome.diff
    context.log.info(
        f"{name}: reconciled after re-push: missing {diff.missing_total}, extra {diff.extra_total}, "
        f"changed {diff.changed_total}; equal now: {outcome.equal_now}"
    )
    return {
        "repush_attempt": int(context.run.tags.get(REPUSH_ATTEMPT_TAG, "1")),
        "repaired_missing": diff.missing_total,
        "repaired_extra": diff.extra_total,
        "repaired_changed": diff.changed_total,
        "rows_after_repair": outcome.after.target_rows if outcome.after else diff.target_rows,
    }
