"""Secrets stay secret: database passwords never reach the Dagster instance (events, run tags, metadata, logs),
the reports or the ops store, even when a database cannot be reached; report files are readable by their owner
only."""

from __future__ import annotations

import stat
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.commands.runs import reconstructable_job
from shaoxing_ops.commands.shared import embedded_event_log
from shaoxing_ops.defs.province.assets import asset_key
from shaoxing_ops.defs.resources import databases_from_env
from shaoxing_ops.exchange import faults, make_engine
from shaoxing_ops.operations.databases import measure_databases

from .conftest import (
    SIM_START,
    create_pg_database,
    drop_pg_database,
    representative_tables,
    require_pg,
    simulate_into,
)

pytestmark = [pytest.mark.postgres]
PASSWORD = "Pw-Secret-4711"  # PostgreSQL trusts the tests' connections: the password travels, and is ignored


def _with_password(url: str) -> str:
    return sa.engine.make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def _files_holding(folder: Path, text: bytes) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and text in p.read_bytes()]


def test_no_password_in_the_instance_the_reports_or_the_ops_store(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_pg()
    from shaoxing_ops.definitions import defs  # here: its retry delay is the tests' (see conftest)

    urls = {role: create_pg_database(role) for role in ("province", "front", "bureau")}
    try:
        simulate_into(urls["province"], catalog)
        for role, url in urls.items():
            monkeypatch.setenv(f"SXOPS_{role.upper()}_URL", _with_password(url))
        data, home = tmp_path / "data", tmp_path / "dagster"
        home.mkdir()
        monkeypatch.setenv("SXOPS_DATA_DIR", str(data))
        front = make_engine(urls["front"])
        day = {"dagster/partition": SIM_START.isoformat()}
        with dg.instance_for_test(
            temp_dir=str(home), overrides={"event_log_storage": embedded_event_log(home / "history" / "runs")}
        ) as instance:
            # the tables standing for all 142 (every column kind and rule), what is uploaded from them, the sheet
            loads = [asset_key(t) for t in representative_tables(catalog)]
            for job, selection in (("province_nightly", loads), ("bureau_upload", None), ("ops_daily", None)):
                with dg.execute_job(
                    reconstructable_job(job), instance, tags=day, asset_selection=selection
                ) as result:
                    assert result.success, job
            # a failed load (the province's connection drops every time) and an unreachable database
            faults.arm(
                make_engine(urls["province"]), "connection-drop", catalog.table("E_BASEINFO"), times=100
            )
            baseinfo = [dg.AssetKey(["province", "registration", "e_baseinfo"])]
            with dg.execute_job(
                reconstructable_job("province_nightly"), instance, tags=day, asset_selection=baseinfo
            ) as result:
                assert not result.success
            monkeypatch.setenv("SXOPS_BUREAU_URL", f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/nowhere")
            ztxx = [dg.AssetKey(["bureau", "scjg_ztxx"])]
            with dg.execute_job(
                reconstructable_job("bureau_upload"), instance, tags=day, asset_selection=ztxx
            ) as result:
                assert not result.success
                failures = [e for e in result.all_events if e.is_step_failure]
                assert failures and "127.0.0.1" in str(failures[0].step_failure_data.error)  # said which one
            # the reconciliation job (it records its result in the ops store), and the host sensor's tick, which
            # measures every database: the unreachable one becomes a warning naming it
            config = {"ops": {"reconcile_tables": {"config": {"tables": ["E_REVOKE"]}}}}
            assert (
                defs.resolve_job_def("reconcile")
                .execute_in_process(run_config=config, instance=instance)
                .success
            )
            with dg.build_sensor_context(
                instance=instance, resources={"databases": databases_from_env()}
            ) as ctx:
                tick = defs.get_sensor_def("host_metrics_sensor")(ctx)
            assert PASSWORD not in str([e.metadata for e in tick.asset_events])
            _, warnings = measure_databases()  # what the tick logs about the database it could not measure
            assert [w for w in warnings if "127.0.0.1:1/nowhere" in w] and PASSWORD not in str(warnings)
            tags = [r.tags for r in instance.get_runs()]
        assert len(tags) == 6 and not any(PASSWORD in str(t) for t in tags)
        assert _files_holding(home, PASSWORD.encode()) == []  # events, metadata, captured logs
        reports = sorted(p for p in data.rglob("*") if p.suffix in (".html", ".json"))
        assert reports and _files_holding(data, PASSWORD.encode()) == []
        assert {stat.S_IMODE(p.stat().st_mode) for p in reports} == {0o600}  # the owner's only
        with front.connect() as conn:
            tables = conn.exec_driver_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ops'"
            ).scalars()
            stored = [
                str(row)
                for name in list(tables)
                for row in conn.exec_driver_sql(f'SELECT * FROM ops."{name}"')
            ]
        assert len(stored) > 5 and not any(
            PASSWORD in row for row in stored
        )  # reconciliation, samples, sizes
    finally:
        for url in urls.values():
            drop_pg_database(url)
