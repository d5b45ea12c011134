"""The Dagster layer on a real instance: definitions, partitions, ranged backfills, the nightly schedule."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import dagster as dg
import pytest

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.commands.runs import reconstructable_job
from shaoxing_ops.dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from shaoxing_ops.defs.province.assets import asset_key, province_assets
from shaoxing_ops.defs.resources import Databases
from shaoxing_ops.exchange import copy_window, day_window, make_engine
from shaoxing_ops.exchange.upload import upload_window
from shaoxing_ops.names import PROVINCE_CHECKS as CHECK_NAMES

from .conftest import SIM_END, SIM_START, Dbs, embedded_instance, representative_tables, simulate_into
from .test_engine import province_live, snapshot


def test_definitions_load_with_one_asset_per_provincial_table(catalog: Catalog) -> None:
    from shaoxing_ops.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    expected = {f"province/{t.system}/{t.db_name}" for t in catalog.tables}
    assert expected <= keys
    assert len(expected) == len(catalog.tables) >= 130
    node = graph.get(dg.AssetKey(["province", "registration", "e_baseinfo"]))
    assert node.group_name == "province_registration"
    assert "企业基本信息" in (node.description or "")
    assert node.partitions_def.timezone == "Asia/Shanghai"
    assert node.backfill_policy == dg.BackfillPolicy.single_run()
    assert node.owners == ["team:exchange"] and node.kinds
    groups = {graph.get(dg.AssetKey.from_user_string(k)).group_name for k in expected}
    assert groups == {"province_registration", "province_enforcement", "province_food_safety"}
    job = defs.resolve_job_def("province_nightly")
    assert job.executor_def.name == "in_process"
    schedule = defs.resolve_schedule_def("province_nightly_schedule")
    assert schedule.cron_schedule == "30 1 * * *" and schedule.execution_timezone == "Asia/Shanghai"


def test_schedule_loads_yesterday_in_shanghai() -> None:
    from shaoxing_ops.definitions import defs

    schedule = defs.resolve_schedule_def("province_nightly_schedule")
    # 01:30 on 3 March in Shanghai is still 2 March in UTC: the partition must be 2 March all the same.
    moment = dt.datetime(2026, 3, 3, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with embedded_instance() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=moment)
        data = schedule.evaluate_tick(context)
    assert [r.partition_key for r in data.run_requests] == ["2026-03-02"]


def test_materialised_partition_equals_engine_load(dbs: Dbs, catalog: Catalog) -> None:
    simulate_into(dbs.province, catalog)
    day = SIM_START + dt.timedelta(days=1)
    names = ["E_BASEINFO", "E_PRI_PERSON", "CASE_PUB_BASEINFO", "FS_STAFF"]
    assets = [a for a in province_assets(catalog) if a.key.path[-1].upper() in names]
    resources = {
        "databases": Databases(province_url=dbs.province, front_url=dbs.front, bureau_url=dbs.bureau)
    }
    with embedded_instance() as instance:
        result = dg.materialize(assets, instance=instance, resources=resources, partition_key=day.isoformat())
        assert result.success
        events = result.get_asset_materialization_events()
        assert len(events) == len(names)
        meta = {e.asset_key.path[-1]: e.materialization.metadata for e in events}
        # an independent load of the same window into another database by the engine alone
        for name in names:
            table = catalog.table(name)
            reference = copy_window(table, dbs.engine("province"), dbs.engine("bureau"), *day_window(day))
            assert snapshot(dbs.engine("front"), table) == snapshot(dbs.engine("bureau"), table)
            m = meta[table.db_name]
            assert m["rows_read"].value == reference.read and m["rows_inserted"].value == reference.inserted
            assert m["dagster/row_count"].value == reference.target_rows
            assert {"rows_updated", "rows_deleted", "rows_unchanged", "step_seconds", "window"} <= set(m)
            assert (
                m["window"].value.startswith(f"[{day.isoformat()}T00:00:00+08:00") and "loaded_with" not in m
            )
        recorded = instance.get_latest_materialization_event(
            dg.AssetKey(["province", "registration", "e_baseinfo"])
        )
        assert recorded.asset_materialization.partition == day.isoformat()


@pytest.mark.slow
def test_ranged_backfill_of_every_table_makes_front_equal_province(
    env_dbs: Dbs, catalog: Catalog, tmp_path: Path
) -> None:
    """One run, one step per table, all days at once: afterwards every front table equals the province, and
    every day of every table carries its own figures and its own result of every check. All 142 tables on
    SQLite; on the servers the representative ones (all 142 go through them in test_mixed_site)."""
    simulate_into(env_dbs.province, catalog)
    tables = catalog.tables if env_dbs.kind == "sqlite" else representative_tables(catalog)
    tags = {
        ASSET_PARTITION_RANGE_START_TAG: SIM_START.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: SIM_END.isoformat(),
    }
    days = [(SIM_START + dt.timedelta(days=i)).isoformat() for i in range((SIM_END - SIM_START).days + 1)]
    with embedded_instance() as instance:
        selection = [asset_key(t) for t in tables]
        with dg.execute_job(
            reconstructable_job("province_nightly"), instance, tags=tags, asset_selection=selection
        ) as result:
            assert result.success
            steps = {e.step_key for e in result.all_events if e.is_step_success}
            evaluations = [
                e.event_specific_data
                for e in result.all_events
                if e.event_type_value == "ASSET_CHECK_EVALUATION"
            ]
        assert len(steps) == 2 * len(tables)  # each table's load, then its checks
        failed = [
            (e.asset_key.to_user_string(), e.check_name, e.partition, e.description)
            for e in evaluations
            if not e.passed
        ]
        assert len(evaluations) == len(CHECK_NAMES) * len(days) * len(tables) and failed == []
        assert {e.partition for e in evaluations} == set(days)
        assert all(e.target_materialization_data is not None for e in evaluations)
        # What the Checks tab and the lineage node count: every check of every loaded day, none skipped.
        keys = [dg.AssetCheckKey(asset_key(t), c) for t in tables for c in CHECK_NAMES]
        recorded = {
            (i.check_key, i.partition_key): i
            for i in instance.event_log_storage.get_asset_check_partition_info(keys)
        }
        assert len(recorded) == len(keys) * len(days)
        assert {i.latest_execution_status.value for i in recorded.values()} == {"SUCCEEDED"}
        assert all(i.is_current for i in recorded.values())
        key = dg.AssetKey(["province", "registration", "e_cancel"])
        assert len(instance.get_materialized_partitions(key)) == len(days)

        # Each day's materialisation carries that day's own figures; the days add up to one load of the range.
        reference = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
        start = dt.datetime.combine(SIM_START, dt.time())
        for name in ("E_BASEINFO", "E_PRI_PERSON", "E_ALTER_RECODER", "CASE_PUB_BASEINFO"):
            table = catalog.table(name)
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=asset_key(table)), limit=10
            ).records
            meta = {r.partition_key: r.asset_materialization.metadata for r in records}
            assert sorted(meta) == days
            whole = copy_window(
                table, env_dbs.engine("province"), reference, start, start + dt.timedelta(days=len(days))
            )
            for figure in ("read", "inserted", "updated", "deleted", "unchanged"):
                per_day = [meta[d][f"rows_{figure}"].value for d in days]
                assert sum(per_day) == getattr(whole, figure), (name, figure)
                assert per_day == [getattr(whole.day(d), figure) for d in days], (name, figure)
            assert meta[days[0]]["rows_read"].value != meta[days[1]]["rows_read"].value, (
                name
            )  # not the range's
            for d in days:
                assert meta[d]["window"].value.startswith(f"[{d}T00:00:00+08:00"), meta[d]["window"]
                assert meta[d]["loaded_with"].value == f"{days[0]} … {days[-1]}（{len(days)} 天）"
    province, front = env_dbs.engine("province"), env_dbs.engine("front")
    differing = [t.name for t in tables if snapshot(front, t) != province_live(province, t)]
    assert differing == []
    assert sum(len(snapshot(front, t)) for t in tables) > 10_000


def test_faults_armed_in_the_province_act_only_where_the_simulation_is_switched_on(
    pg_dbs: Dbs, catalog: Catalog, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A production configuration never looks at the stand-in's ``sim_*`` tables, whatever they hold. On
    PostgreSQL, the production target: the switch acts before any statement, whatever the database."""
    import sqlalchemy as sa

    from shaoxing_ops.exchange import faults

    simulate_into(pg_dbs.province, catalog)
    for role in ("province", "front", "bureau"):
        monkeypatch.setenv(f"SXOPS_{role.upper()}_URL", getattr(pg_dbs, role))
    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path / "data"))
    table = catalog.table("E_REVOKE")
    province = pg_dbs.engine("province")
    faults.arm(province, "connection-drop", table, times=1000)
    assets = [a for a in province_assets(catalog) if a.key == asset_key(table)]
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    def remaining() -> int:
        with province.connect() as conn:
            return conn.exec_driver_sql(f"SELECT remaining FROM {faults.FAULTS_TABLE}").scalar_one()

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        with embedded_instance() as instance:
            monkeypatch.delenv("SXOPS_SIMULATION")  # production: the switch unset
            result = dg.materialize(
                assets,
                instance=instance,
                partition_key=SIM_START.isoformat(),
                resources={"databases": Databases()},
                raise_on_error=False,
            )
            assert result.success  # the armed connection drop did not act on the rows read
            (done,) = [e.materialization for e in result.get_asset_materialization_events()]
            assert done.metadata["rows_read"].value > 0
            assert [s for s in seen if "sim_" in s] == []  # nor was the stand-in's table ever read
            assert remaining() == 1000
            monkeypatch.setenv("SXOPS_SIMULATION", "1")  # the demo's and the tests' province
            result = dg.materialize(
                assets,
                instance=instance,
                partition_key=SIM_START.isoformat(),
                resources={"databases": Databases()},
                raise_on_error=False,
            )
            assert not result.success
            assert remaining() < 1000
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


def test_failed_load_fails_the_step_and_keeps_the_front(env_dbs: Dbs, catalog: Catalog) -> None:
    """No province database: the step fails with the engine's explanation, retried by the RetryPolicy."""
    assets = [a for a in province_assets(catalog) if a.key.path[-1] == "e_revoke"]
    with embedded_instance() as instance:
        result = dg.materialize(
            assets,
            instance=instance,
            partition_key=SIM_START.isoformat(),
            raise_on_error=False,
            resources={"databases": Databases()},
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        assert "does not exist" in failure.step_failure_data.error.cause.message
        retries = [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]
        assert len(retries) == 2


def test_reconcile_and_reinitialise_jobs_from_the_launchpad(env_dbs: Dbs, catalog: Catalog) -> None:
    """The two maintenance jobs as an operator launches them with run config; approval is enforced."""
    from shaoxing_ops.definitions import defs
    from shaoxing_ops.exchange import faults, full_reload
    from shaoxing_ops.exchange.records import ExchangeRecords

    simulate_into(env_dbs.province, catalog)
    table = catalog.table("E_INV_INVESTMENT")
    province, front = env_dbs.engine("province"), env_dbs.engine("front")
    full_reload(table, province, front)
    faults.target_altered(table, front, 2)
    with embedded_instance() as instance:
        reconcile = defs.resolve_job_def("reconcile")
        config = {"ops": {"reconcile_tables": {"config": {"tables": ["E_INV_INVESTMENT"], "repair": True}}}}
        result = reconcile.execute_in_process(run_config=config, instance=instance)
        assert result.success
        (observation,) = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
        meta = observation.event_specific_data.asset_observation.metadata
        assert meta["changed"].value == 2 and meta["equal_now"].value is True

        reinit = defs.resolve_job_def("reinitialise")
        refused = {
            "ops": {"reinitialise_tables": {"config": {"tables": ["E_INV_INVESTMENT"], "reason": "结构调整"}}}
        }
        result = reinit.execute_in_process(run_config=refused, instance=instance, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        assert "审批人" in failure.step_failure_data.user_failure_data.description
        approved = {
            "ops": {
                "reinitialise_tables": {
                    "config": {
                        "tables": ["E_INV_INVESTMENT"],
                        "reason": "结构调整",
                        "approved_by": "市局管理员",
                    }
                }
            }
        }
        launched = {"sxops/launched_by": "ops-wang"}  # the tag the webserver behind the proxy sets
        assert reinit.execute_in_process(run_config=approved, instance=instance, tags=launched).success

        # The Data Bureau leg from the same jobs: 股东信息 is made from E_INV_INVESTMENT.
        bt = catalog.bureau_table("SCJG_GDXX")
        bureau = env_dbs.engine("bureau")
        upload_window(bt, catalog, front, bureau, None, None)
        with bureau.begin() as conn:  # a row gone at the bureau (MySQL needs the derived table)
            conn.exec_driver_sql(
                "DELETE FROM scjg_gdxx WHERE gdbs IN (SELECT g FROM (SELECT min(gdbs) AS g FROM scjg_gdxx) x)"
            )
        config = {
            "ops": {
                "reconcile_tables": {"config": {"tables": ["SCJG_GDXX"], "repair": True, "leg": "bureau"}}
            }
        }
        result = reconcile.execute_in_process(run_config=config, instance=instance)
        assert result.success
        (observation,) = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
        assert observation.asset_key == dg.AssetKey(["bureau", "scjg_gdxx"])
        meta = observation.event_specific_data.asset_observation.metadata
        assert (meta["missing"].value, meta["equal_now"].value) == (1, True)
        bureau_reinit = {
            "ops": {
                "reinitialise_tables": {
                    "config": {
                        "tables": ["SCJG_GDXX"],
                        "reason": "数据局要求",
                        "approved_by": "数据局 李四",
                        "leg": "bureau",
                    }
                }
            }
        }
        assert reinit.execute_in_process(run_config=bureau_reinit, instance=instance).success
    audits = ExchangeRecords(front).reinits()
    assert [(a["table_name"], a["approved_by"], a["launched_by"], a["status"]) for a in audits] == [
        ("E_INV_INVESTMENT", "市局管理员", "ops-wang", "succeeded"),
        ("SCJG_GDXX", "数据局 李四", None, "succeeded"),
    ]
    assert snapshot(front, table) == province_live(province, table)


def test_lineage_runs_province_to_bureau(catalog: Catalog) -> None:
    from shaoxing_ops.definitions import defs

    graph = defs.resolve_asset_graph()
    for bt in catalog.bureau:
        node = graph.get(dg.AssetKey(["bureau", bt.db_name]))
        sources = {p.source for p in bt.parts} | {p.join_table for p in bt.parts if p.join_table}
        assert {k.path[-1].upper() for k in node.parent_keys} == sources, bt.name
        assert all(k.path[0] == "province" for k in node.parent_keys)
        assert node.group_name == "bureau" and node.automation_condition is not None
        assert {c.name for c in node.check_keys} == {"row_count", "freshness", "schema", "validity", "volume"}
    assert len(catalog.bureau) == 14
    sensors = {s.name for s in defs.sensors}
    assert {"province_repush_sensor", "bureau_repush_sensor", "bureau_automation"} <= sensors


def test_every_asset_and_check_is_presented_in_chinese_with_owner_kind_and_group() -> None:
    from shaoxing_ops.definitions import defs

    graph = defs.resolve_asset_graph()
    chinese = re.compile(r"[\u4e00-\u9fff]")
    keys = list(graph.get_all_asset_keys())
    assert len(keys) == 142 + 14 + 2 + 7  # provincial, bureau, statistics, operations
    for key in keys:
        node = graph.get(key)
        assert node.description and chinese.search(node.description), key
        assert node.owners and node.kinds and node.group_name not in (None, "default"), key
    groups = {graph.get(k).group_name for k in keys}
    assert groups == {
        "province_registration",
        "province_enforcement",
        "province_food_safety",
        "bureau",
        "statistics",
        "ops",
    }
    checks = {spec.key: spec for ad in graph.assets_defs for spec in ad.check_specs}.values()
    assert len(checks) == 142 * 6 + 14 * 5 + 1
    assert all(c.description and chinese.search(c.description) for c in checks)
