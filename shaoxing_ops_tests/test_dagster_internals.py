"""The embedded instance's event log (``PooledSqliteEventLogStorage``) records what Dagster's own SQLite event log
records: the same run, stored by each, reads back the same through Dagster's public storage API."""

from collections import Counter
from collections.abc import Iterator

import dagster as dg
import pytest

from shaoxing_ops.dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    check_evaluation_events,
)
from shaoxing_ops.defs.checks import latest_materializations

from .conftest import embedded_instance

DAYS = ["2026-03-01", "2026-03-02", "2026-03-03"]
daily = dg.DailyPartitionsDefinition(start_date="2026-03-01", end_date="2026-03-04")


@dg.asset(partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run())
def ledger() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


CHECKS = ("row_count", "freshness")


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(n, asset=ledger, partitions_def=daily) for n in CHECKS], can_subset=True
)
def ledger_checks(context: dg.AssetCheckExecutionContext) -> Iterator[dg.DagsterEvent]:
    found = latest_materializations(context.instance, ledger.key, list(context.partition_keys))
    evaluations = [
        dg.AssetCheckEvaluation(
            asset_key=ledger.key,
            check_name=name,
            passed=not (name == "freshness" and day == DAYS[1]),  # one failure, to tell them apart
            metadata={"day": day},
            target_materialization_data=found[day],
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{name} {day}",
            blocking=False,
            partition=day,
        )
        for name in CHECKS
        for day in context.partition_keys
    ]
    yield from check_evaluation_events(context, evaluations)


def recorded(instance: dg.DagsterInstance) -> dict:
    """What the Checks tab reads, by check and day, without storage ids."""
    storage = instance.event_log_storage
    keys = [dg.AssetCheckKey(ledger.key, n) for n in CHECKS]
    infos = storage.get_asset_check_partition_info(keys)
    # the result's own event id in the index: one per result, after the materialisation it checked
    assert len({i.latest_check_event_storage_id for i in infos}) == len(infos)
    assert all(i.latest_check_event_storage_id > i.latest_target_materialization_storage_id for i in infos)
    partitions = {
        (i.check_key.name, i.partition_key): (i.latest_execution_status.value, i.is_current) for i in infos
    }
    materialized = {
        r.storage_id: r.partition_key for r in instance.fetch_materializations(ledger.key, limit=100).records
    }
    history = {}
    for key in keys:
        for record in storage.get_asset_check_execution_history(key, limit=100):
            evaluation = record.event.dagster_event.event_specific_data
            history[(key.name, record.partition)] = (
                record.status.value,
                evaluation.passed,
                evaluation.description,
                materialized[evaluation.target_materialization_data.storage_id],
            )
    run = instance.get_runs()[0]
    logged = [
        e.dagster_event.event_specific_data.partition
        for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]
    # what the asset's page reads: its days, its latest materialisation, the run that planned each day
    entry = instance.get_asset_records([ledger.key])[0].asset_entry
    planned = {d: instance.get_latest_planned_materialization_info(ledger.key, d) for d in DAYS}
    return {
        "partitions": partitions,
        "history": history,
        "logged": sorted(logged),
        "kinds": Counter(
            e.dagster_event_type.value for e in instance.all_logs(run.run_id) if e.dagster_event
        ),
        "materialized": sorted(instance.get_materialized_partitions(ledger.key)),
        "latest": entry.last_materialization.dagster_event.partition,
        "last_run": entry.last_run_id == run.run_id,
        "planned_by_run": {d: info.run_id == run.run_id for d, info in planned.items() if info},
    }


@pytest.mark.parametrize("storage", ["dagster", "pooled"])
def test_check_results_of_a_ranged_run_read_back_as_dagster_stores_them(
    storage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    tags = {ASSET_PARTITION_RANGE_START_TAG: DAYS[0], ASSET_PARTITION_RANGE_END_TAG: DAYS[-1]}
    with embedded_instance() if storage == "pooled" else dg.instance_for_test() as instance:
        kind = type(instance.event_log_storage).__name__
        assert kind == {"dagster": "SqliteEventLogStorage", "pooled": "PooledSqliteEventLogStorage"}[storage]
        result = dg.materialize([ledger, ledger_checks], instance=instance, tags=tags)
        assert result.success
        got = recorded(instance)
    expected_status = {
        (n, d): ("FAILED" if (n, d) == ("freshness", DAYS[1]) else "SUCCEEDED") for n in CHECKS for d in DAYS
    }
    assert {k: v[0] for k, v in got["partitions"].items()} == expected_status
    assert all(
        v[1] for v in got["partitions"].values()
    )  # each result targets the day's latest materialisation
    assert got["history"] == {
        (n, d): (expected_status[(n, d)], expected_status[(n, d)] == "SUCCEEDED", f"{n} {d}", d)
        for n in CHECKS
        for d in DAYS
    }
    assert got["logged"] == sorted(DAYS * len(CHECKS))
    assert got["materialized"] == DAYS and got["latest"] == DAYS[-1] and got["last_run"]
    assert got["planned_by_run"] == dict.fromkeys(DAYS, True)
    kinds = got["kinds"]
    assert (kinds["ASSET_MATERIALIZATION_PLANNED"], kinds["ASSET_MATERIALIZATION"]) == (len(DAYS), len(DAYS))
    assert (kinds["ASSET_CHECK_EVALUATION_PLANNED"], kinds["ASSET_CHECK_EVALUATION"]) == (2, 2 * len(DAYS))
