"""Exchange health through Dagster: each fault is detected by its check, re-pushed by the sensor where a
re-push helps, and ends with source and target equal; the attempt bound holds and ends in an escalation."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest
import sqlalchemy as sa

from shaoxing_ops.catalog import Catalog, Table
from shaoxing_ops.defs.province.assets import asset_key, province_asset
from shaoxing_ops.defs.province.checks import province_checks
from shaoxing_ops.defs.province.jobs import province_inspection, province_inspection_record
from shaoxing_ops.defs.repush import build_repush_sensor
from shaoxing_ops.defs.resources import Databases
from shaoxing_ops.exchange import faults, health, rotation
from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.exchange.schema import sa_table
from shaoxing_ops.names import PROVINCE_CHECKS as CHECK_NAMES
from shaoxing_ops.names import REPUSH_ATTEMPT_TAG as ATTEMPT_TAG
from shaoxing_ops.names import REPUSH_TARGET_TAG as TARGET_TAG

from .conftest import Dbs, embedded_instance, simulate_into
from .test_engine import province_live, snapshot

DAY1, DAY2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)


class Harness:
    """One table's asset and checks, the re-push sensor watching it, a real instance and real databases."""

    def __init__(self, dbs: Dbs, catalog: Catalog, instance: dg.DagsterInstance, name: str) -> None:
        self.dbs, self.catalog, self.instance = dbs, catalog, instance
        self.table: Table = catalog.table(name)
        self.key = asset_key(self.table)
        system = next(s for s in catalog.systems if self.table in s.tables)
        self.asset = province_asset(self.table, system)
        self.checks = next(
            c for c in province_checks(catalog) if self.key in {k.asset_key for k in c.check_keys}
        )
        self.databases = Databases(province_url=dbs.province, front_url=dbs.front, bureau_url=dbs.bureau)
        self.sensor = build_repush_sensor(
            "test_repush", [self.key], job_name="province_repush", description=""
        )
        self.cursor: str | None = None

    def load(self, day: dt.date, tags: dict[str, str] | None = None, raise_on_error: bool = True):
        return dg.materialize(
            [self.asset, self.checks],
            instance=self.instance,
            partition_key=day.isoformat(),
            resources={"databases": self.databases},
            tags=tags or {},
            raise_on_error=raise_on_error,
        )

    def inspect(self, day: dt.date) -> dict[str, dg.AssetCheckEvaluation]:
        """The checks alone, as the 09:05 inspection job runs them, without loading anything."""
        defs = dg.Definitions(
            assets=[self.asset, province_inspection_record],
            asset_checks=[self.checks],
            jobs=[province_inspection],
            resources={"databases": self.databases},
        )
        result = defs.resolve_job_def("province_inspection").execute_in_process(
            instance=self.instance, partition_key=day.isoformat()
        )
        loaded = {e.asset_key for e in result.get_asset_materialization_events()}
        assert loaded == {province_inspection_record.key}  # nothing loaded: only the record of the inspection
        return evaluations(result)

    def tick(self) -> dg.SensorResult:
        with dg.build_sensor_context(
            instance=self.instance, cursor=self.cursor, resources={"databases": self.databases}
        ) as context:
            result = self.sensor(context)
        self.cursor = result.cursor
        return result

    def run_request(self, request: dg.RunRequest, raise_on_error: bool = True):
        assert request.asset_selection == [self.key]
        return dg.materialize(
            [self.asset, self.checks],
            instance=self.instance,
            partition_key=request.partition_key,
            resources={"databases": self.databases},
            tags=request.tags,
            raise_on_error=raise_on_error,
        )

    def equal(self) -> bool:
        return snapshot(self.dbs.engine("front"), self.table) == province_live(
            self.dbs.engine("province"), self.table
        )


def evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:  # type: ignore[no-untyped-def]
    return {
        e.event_specific_data.check_name: e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


@pytest.fixture
def instance():
    with embedded_instance() as inst:
        yield inst


@pytest.fixture
def province(dbs: Dbs, catalog: Catalog) -> Dbs:
    simulate_into(dbs.province, catalog, start=DAY1, end=DAY2)
    return dbs


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SXOPS_REPUSH_DELAY_SECONDS", "0")


def test_healthy_load_passes_all_five_checks_per_partition(province: Dbs, catalog: Catalog, instance) -> None:
    h = Harness(province, catalog, instance, "E_BASEINFO")
    h.load(DAY1)
    result = h.load(DAY2)
    checks = evaluations(result)
    assert set(checks) == set(CHECK_NAMES)
    assert all(c.passed for c in checks.values()), {n: c.description for n, c in checks.items()}
    assert {c.partition for c in checks.values()} == {DAY2.isoformat()}
    assert checks["row_count"].metadata["total_target_rows"].value == len(
        province_live(province.engine("province"), h.table)
    )
    assert h.tick().run_requests == []


def test_corrupted_front_fails_row_count_and_reconcile_then_sensor_repushes_to_equal(
    province, catalog, instance, monkeypatch
) -> None:
    monkeypatch.setenv("SXOPS_FULL_RECONCILE", "daily")  # every night compares the whole table
    h = Harness(province, catalog, instance, "E_PRI_PERSON")
    h.load(DAY1)
    h.load(DAY2)
    front = province.engine("front")
    faults.target_missing(h.table, front, 4)
    faults.target_altered(h.table, front, 3)
    faults.target_duplicated(h.table, front, 2)
    checks = h.inspect(DAY2)
    assert not checks["row_count"].passed and checks["row_count"].metadata["total_difference"].value == -2
    assert not checks["reconcile"].passed
    rec = checks["reconcile"].metadata
    assert (rec["missing"].value, rec["extra"].value, rec["changed"].value) == (4, 2, 3)

    (request,) = h.tick().run_requests
    assert request.partition_key == DAY2.isoformat()
    assert request.tags[TARGET_TAG] == f"{h.key.to_user_string()}|{DAY2}" and request.tags[ATTEMPT_TAG] == "1"
    result = h.run_request(request)
    materialization = result.get_asset_materialization_events()[0].materialization.metadata
    assert (
        materialization["repaired_missing"].value,
        materialization["repaired_extra"].value,
        materialization["repaired_changed"].value,
    ) == (4, 2, 3)
    assert all(c.passed for c in evaluations(result).values())
    assert h.equal()
    assert h.tick().run_requests == []  # resolved: nothing more to re-push


def test_other_nights_reconcile_the_changed_rows_and_the_row_count_still_finds_lost_rows(
    province, catalog, instance
) -> None:
    """The weekly schedule: E_PRI_PERSON is compared whole on Sundays (DAY1). On Monday (DAY2) the reconcile
    check compares the rows changed that day, key by key, and finds one altered in place; the rows lost from
    older days fail the whole-table row count that night, and the Sunday's check finds them by key."""
    h = Harness(province, catalog, instance, "E_PRI_PERSON")
    assert rotation.whole_table_weekday(h.table.name) == DAY1.weekday() != DAY2.weekday()
    h.load(DAY1)
    h.load(DAY2)
    front = province.engine("front")
    window = health.keys_changed(front, h.table, dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 3))
    assert len(window) == 2
    older = [k for k in faults._choose_keys(front, h.table, 40) if k not in window][:4]
    changed = sorted(window)[0]
    t = sa_table(h.table)
    with front.begin() as conn:
        conn.execute(sa.delete(t).where(t.c.personid.in_([k[0] for k in older])))
        conn.execute(sa.update(t).where(t.c.personid == changed[0]).values(name="已被改动"))

    monday = h.inspect(DAY2)
    assert not monday["row_count"].passed and monday["row_count"].metadata["total_difference"].value == -4
    rec = monday["reconcile"]
    assert not rec.passed and rec.metadata["scope"].value == "changed_in_window"
    assert (rec.metadata["missing"].value, rec.metadata["extra"].value, rec.metadata["changed"].value) == (
        0,
        0,
        1,
    )
    assert (
        rec.metadata["changed_keys"].value == changed[0]
        and "每周日" in rec.metadata["whole_table_schedule"].value
    )
    assert rec.description.startswith("当日缺失 0 条、多出 0 条、内容不一致 1 条（窗口内变更的记录中")

    sunday = h.inspect(DAY1)["reconcile"]
    assert not sunday.passed and sunday.metadata["scope"].value == "whole_table"
    assert (
        sunday.metadata["missing"].value == 4 and sunday.metadata["changed"].value == 0
    )  # the Monday row: in flux
    assert sorted(sunday.metadata["missing_keys"].value.split(", ")) == sorted(k[0] for k in older)


def test_late_day_is_found_by_the_inspection_and_repushed(province, catalog, instance) -> None:
    h = Harness(province, catalog, instance, "E_ALTER_RECODER")
    h.load(DAY1)
    withheld = faults.late_day(h.table, province.engine("province"), DAY2)
    assert withheld.rows > 0
    assert all(c.passed for c in evaluations(h.load(DAY2)).values())  # nothing to see yet: the day is empty
    assert faults.deliver_late(catalog, province.engine("province"))[0].rows == withheld.rows
    checks = h.inspect(DAY2)
    assert not checks["row_count"].passed
    assert checks["row_count"].metadata["window_difference"].value == -withheld.rows
    assert checks["row_count"].partition == DAY2.isoformat()
    (request,) = h.tick().run_requests
    assert request.partition_key == DAY2.isoformat()
    h.run_request(request)
    assert h.equal()


def test_dropped_connection_is_absorbed_by_the_retry_policy(province, catalog, instance) -> None:
    h = Harness(province, catalog, instance, "E_BASEINFO")
    faults.arm(province.engine("province"), "connection-drop", h.table, times=1)
    result = h.load(DAY1)
    restarts = [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]
    assert len(restarts) == 1 and all(c.passed for c in evaluations(result).values())
    h.load(DAY2)
    assert h.equal()
    assert h.tick().run_requests == []


def test_attempts_are_bounded_then_escalated(province, catalog, instance) -> None:
    h = Harness(province, catalog, instance, "E_PRI_PERSON")  # a table with changes on DAY2 to load
    h.load(DAY1)
    faults.arm(province.engine("province"), "connection-drop", h.table, times=1000)
    failed = h.load(DAY2, raise_on_error=False)
    assert not failed.success and not failed.get_asset_materialization_events()  # three attempts, all lost
    attempts = []
    for _ in range(5):
        tick = h.tick()
        for request in tick.run_requests:
            attempts.append(request.tags[ATTEMPT_TAG])
            assert not h.run_request(request, raise_on_error=False).success
    assert attempts == ["1", "2", "3"]
    escalated = ExchangeRecords(province.engine("front")).open_escalations()
    assert [(e["asset_key"], e["partition_key"], e["attempts"]) for e in escalated] == [
        (h.key.to_user_string(), DAY2.isoformat(), 3)
    ]
    assert "需人工处理" in escalated[0]["reason"]
    state = json.loads(h.cursor or "{}")
    assert state["failing"][f"{h.key.to_user_string()}|{DAY2}"]["escalated"] is True
    # The operator fixes the cause and loads the day by hand: the sensor closes the escalation.
    faults.disarm_all(province.engine("province"))
    h.load(DAY2)
    assert h.tick().run_requests == [] and ExchangeRecords(province.engine("front")).open_escalations() == []
    assert h.equal()


def test_escalation_is_observed_on_the_asset_partition(province, catalog, instance, monkeypatch) -> None:
    h = Harness(province, catalog, instance, "E_REVOKE")
    faults.arm(province.engine("province"), "connection-drop", h.table, times=1000)
    h.load(DAY1, raise_on_error=False)
    monkeypatch.setenv("SXOPS_REPUSH_MAX_ATTEMPTS", "1")
    (request,) = h.tick().run_requests
    h.run_request(request, raise_on_error=False)
    tick = h.tick()
    assert tick.run_requests == []
    (observation,) = tick.asset_events
    assert observation.asset_key == h.key and observation.partition == DAY1.isoformat()
    assert (
        observation.metadata["escalated"].value is True and observation.metadata["repush_attempts"].value == 1
    )
    assert h.tick().asset_events == []  # escalated once, not at every tick


def test_growing_delay_and_no_overlap(province, catalog, instance, monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(province, catalog, instance, "E_NAME_INFO")
    faults.arm(province.engine("province"), "connection-drop", h.table, times=1000)
    h.load(DAY1, raise_on_error=False)
    monkeypatch.setenv("SXOPS_REPUSH_DELAY_SECONDS", "3600")
    (first,) = h.tick().run_requests  # the first re-push goes at once
    h.run_request(first, raise_on_error=False)
    assert h.tick().run_requests == []  # the second waits an hour after the first ended
    monkeypatch.setenv("SXOPS_REPUSH_DELAY_SECONDS", "0")
    # A load of the same table and day is running: the sensor must not start another one.
    running = dg.DagsterRun(
        job_name="province_nightly",
        status=dg.DagsterRunStatus.STARTED,
        tags={"dagster/partition": DAY1.isoformat()},
        asset_selection=frozenset([h.key]),
    )
    instance.add_run(running)
    assert h.tick().run_requests == []
    instance.report_run_failed(running)
    assert len(h.tick().run_requests) == 1


def test_source_schema_drift_is_reported_not_fatal(province, catalog, instance) -> None:
    h = Harness(province, catalog, instance, "E_BASEINFO")
    faults.column_added(h.table, province.engine("province"))
    faults.column_retyped(h.table, province.engine("province"))
    h.load(DAY1)
    checks = evaluations(h.load(DAY2))
    assert not checks["schema"].passed and checks["schema"].severity == dg.AssetCheckSeverity.WARN
    meta = checks["schema"].metadata
    assert meta["source_added"].value == "ext_remark" and meta["source_retyped"].value.startswith("regcap:")
    assert meta["target_missing"].value == "无"
    assert checks["row_count"].passed and checks["reconcile"].passed and h.equal()
    assert h.tick().run_requests == []  # drift is a matter for people, not for a re-push


def test_bad_codes_are_counted_quarantined_and_still_delivered(province, catalog, instance) -> None:
    h = Harness(province, catalog, instance, "E_BASEINFO")
    h.load(DAY1)
    report = faults.bad_code(h.table, province.engine("province"), DAY2, 3)
    checks = evaluations(h.load(DAY2))
    validity = checks["validity"]
    assert not validity.passed and validity.severity == dg.AssetCheckSeverity.WARN
    assert validity.metadata["invalid_rows"].value == report.rows == 3
    assert "违规：enttype：代码 'ZZ' 不在代码集 ENTTYPE 中" in validity.metadata
    quarantined = ExchangeRecords(province.engine("front")).quarantined("E_BASEINFO", DAY2.isoformat())
    assert len(quarantined) == 3 and {q["column_name"] for q in quarantined} == {"enttype"}
    assert all(q["delivered"] and q["leg"] == "province" for q in quarantined)
    with province.engine("front").connect() as conn:
        delivered = conn.execute(sa.text("SELECT count(*) FROM e_baseinfo WHERE enttype = 'ZZ'")).scalar_one()
    assert delivered == 3 and h.equal()
    assert checks["row_count"].passed and h.tick().run_requests == []


def test_slow_source_slows_the_load_but_it_completes(province, catalog, instance) -> None:
    h = Harness(province, catalog, instance, "E_LP_HSTNAME")
    faults.arm(province.engine("province"), "slow-source", h.table, times=1, seconds=1.5)
    result = h.load(DAY1)
    seconds = result.get_asset_materialization_events()[0].materialization.metadata["step_seconds"].value
    assert seconds >= 1.5
    h.load(DAY2)
    assert h.equal()
