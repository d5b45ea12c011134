"""Production rehearsal: the repository's deploy/dagster.yaml on PostgreSQL, `dagster-daemon` and `dagster-webserver`
as processes, a run launched through the webserver's GraphQL API into the queue, a failure, and the re-push
sensor's tick launching the run that repairs it, every event stored in PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.defs.province.assets import asset_key
from shaoxing_ops.exchange import faults, make_engine
from shaoxing_ops.names import REPUSH_TARGET_TAG as TARGET_TAG

from .conftest import create_pg_database, drop_pg_database, require_pg, simulate_into
from .production import ROOT, stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
DAY = dt.date(2026, 3, 1)
TABLE = "CASE_CLUE"  # an enforcement table: feeds no Data Bureau table, so automation stays quiet


def _wait(what: str, predicate, timeout: float, stack_logs) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}\n{stack_logs()}")


def test_queued_run_fails_and_the_sensor_tick_repairs_it(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_pg()
    dbs = {role: create_pg_database(role) for role in ("dagster", "province", "front", "bureau")}
    try:
        simulate_into(dbs["province"], catalog)
        home = tmp_path / "dagster_home"
        home.mkdir()
        shutil.copy(
            ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml"
        )  # the production instance, as README says
        pg = sa.engine.make_url(dbs["dagster"])
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SXOPS_", "DAGSTER_"))},
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_HOST": pg.host or "127.0.0.1",
            "DAGSTER_PG_PORT": str(pg.port or 5432),
            "DAGSTER_PG_DB": pg.database or "",
            "DAGSTER_PG_USERNAME": pg.username or "postgres",
            "DAGSTER_PG_PASSWORD": pg.password or "trust-auth-ignores-it",
            "SXOPS_PROVINCE_URL": dbs["province"],
            "SXOPS_FRONT_URL": dbs["front"],
            "SXOPS_BUREAU_URL": dbs["bureau"],
            "SXOPS_DATA_DIR": str(tmp_path / "data"),
            "SXOPS_REPUSH_DELAY_SECONDS": "0",
            "SXOPS_RETRY_DELAY_SECONDS": "0.01",
            "SXOPS_SIMULATION": "1",  # the stand-in's armed connection drop acts on the first run
            "SXOPS_REPUSH_INTERVAL_SECONDS": "2",  # the sensor's next tick after the failure, not a minute later
        }
        for key, value in env.items():
            if key.startswith(("DAGSTER_", "SXOPS_")):
                monkeypatch.setenv(key, value)
        table = catalog.table(TABLE)
        key = asset_key(table)
        faults.arm(make_engine(dbs["province"]), "connection-drop", table, times=1000)
        with stack(env, tmp_path / "logs", daemon=True) as s, dg.DagsterInstance.get() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
            # An operator materialises one partition from the UI: the run is queued, the daemon launches it.
            # Run retries are off for it so that the failure reaches the re-push sensor at once.
            first = s.launch(
                "province_nightly",
                [key.path],
                {"dagster/partition": DAY.isoformat(), "dagster/max_retries": "0"},
            )
            assert instance.get_run_by_id(first).status in (
                dg.DagsterRunStatus.QUEUED,
                dg.DagsterRunStatus.NOT_STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED,
            )
            failed = _wait(
                "the first run to fail",
                lambda: instance.get_run_by_id(first).status == dg.DagsterRunStatus.FAILURE,
                240,
                s.log_tail,
            )
            assert failed
            faults.disarm_all(make_engine(dbs["province"]))  # the province's connection is back
            target = f"{key.to_user_string()}|{DAY.isoformat()}"

            def repaired() -> dg.DagsterRun | None:
                runs = instance.get_runs(dg.RunsFilter(tags={TARGET_TAG: target}))
                return next((r for r in runs if r.status == dg.DagsterRunStatus.SUCCESS), None)

            run = _wait("the re-push sensor's run to succeed", repaired, 300, s.log_tail)
            assert isinstance(run, dg.DagsterRun)
            assert run.tags.get("dagster/sensor_name") == "province_repush_sensor"
            assert run.job_name == "province_repush"
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, asset_partitions=[DAY.isoformat()]), limit=5
            ).records
            assert records and records[0].run_id == run.run_id
        with sa.create_engine(make_engine(dbs["dagster"]).url).connect() as conn:
            stored = conn.execute(
                sa.text("SELECT count(*) FROM event_logs WHERE run_id = :r"), {"r": run.run_id}
            )
            assert stored.scalar_one() > 10  # the run's events live in PostgreSQL
            ticks = conn.execute(
                sa.text("SELECT count(*) FROM job_ticks WHERE job_origin_id IS NOT NULL")
            ).scalar_one()
            assert ticks > 0
        with make_engine(dbs["front"]).connect() as conn:
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table.db_name}")).scalar_one() > 0
    finally:
        for url in dbs.values():
            drop_pg_database(url)
