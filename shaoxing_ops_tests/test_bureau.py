"""The Data Bureau leg: each mapping against an independent SQL query over the front, an end-to-end day
through both legs with automation, a quarantined row, deletes, and a re-push of a bureau partition."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.defs.bureau.assets import asset_key as bureau_key
from shaoxing_ops.defs.bureau.assets import bureau_asset
from shaoxing_ops.defs.bureau.checks import BUREAU_CHECKS, bureau_checks
from shaoxing_ops.defs.province.jobs import INSPECTION_KEY, checks_of, province_inspection_record
from shaoxing_ops.defs.repush import build_repush_sensor
from shaoxing_ops.defs.resources import Databases
from shaoxing_ops.domain.mapping import Unmappable, category, evaluate, map_row
from shaoxing_ops.exchange import copy_window, day_window, faults
from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.exchange.upload import upload_window
from shaoxing_ops.names import REPUSH_TARGET_TAG as TARGET_TAG

from .conftest import SIM_END, SIM_START, Dbs, embedded_instance, simulate_into
from .test_health import evaluations

# The independent definition of each bureau table: plain SQL over the front database, written from the Data
# Bureau's specification (bureau.yaml) by hand. Columns: key first, then a few mapped ones.
EXPECTED_SQL = {
    "SCJG_ZTXX": """
        SELECT pripid, uniscid, entname,
               CASE WHEN enttype IN ('9100', '9200') THEN '3' WHEN enttype IN ('9600', '9999') THEN '2' ELSE '1' END,
               CASE WHEN enttype = '9999' THEN '9600' ELSE enttype END,
               CASE WHEN regorg = '330621' THEN '330603' ELSE regorg END,
               CASE regstate WHEN '1' THEN '01' WHEN '2' THEN '02' WHEN '3' THEN '02' WHEN '4' THEN '03'
                             WHEN '5' THEN '04' WHEN '6' THEN '05' ELSE '99' END,
               dom, name
        FROM e_baseinfo
        UNION ALL
        SELECT pripid, uniscid, traname, '2', '9600', CASE WHEN regorg = '330621' THEN '330603' ELSE regorg END,
               CASE regstate WHEN '1' THEN '01' WHEN '2' THEN '02' WHEN '3' THEN '02' WHEN '4' THEN '03'
                             WHEN '5' THEN '04' WHEN '6' THEN '05' ELSE '99' END,
               oploc, name
        FROM e_pb_baseinfo""",
    "SCJG_FDDBRXX": "SELECT personid, pripid, name, cerno, position_cn FROM e_pri_person WHERE lerepsign = '1'",
    "SCJG_DSJLRYXX": "SELECT personid, pripid, name, position, lerepsign FROM e_pri_person",
    "SCJG_GDXX": "SELECT invid, pripid, inv, COALESCE(cerno, blicno), subconam FROM e_inv_investment",
    "SCJG_TZFXX": """
        SELECT invid, pripid, inv, invtype, COALESCE(blicno, cerno) FROM e_inv_investment
        UNION ALL SELECT invid, pripid, inv, '2', cerno FROM e_inv_person""",
    "SCJG_BGXX": "SELECT altid, pripid, altitem, altbe, altaf FROM e_alter_recoder",
    "SCJG_LSFDDBR": "SELECT hisnameid, pripid, name, cerno FROM e_lp_hstleref",
    "SCJG_LSZTXX": "SELECT hisnameid, pripid, entname FROM e_lp_hstname",
    "SCJG_ZXXX": "SELECT pripid, uniscid, candate, canrea FROM e_cancel",
    "SCJG_DXXX": "SELECT pripid, uniscid, revdate, revdecno FROM e_revoke",
    "SCJG_GQCZXX": "SELECT equityno, pripid, pledgor, impam, type FROM e_sp_pledge",
    "SCJG_QSZBAXX": """
        SELECT m.mbrid, i.pripid, m.name, CASE m.liqmemtype WHEN '负责人' THEN '1' ELSE '0' END, i.filingdate
        FROM e_liq_mbr m JOIN e_liq_info i ON i.liqid = m.liqid""",
    "SCJG_LSRYXX": """
        SELECT s.staffid, COALESCE(st.pripid, s.pripid), COALESCE(st.storename, s.storename), s.name, s.cerno
        FROM fs_chain_staff s JOIN fs_chain_store st ON st.storeid = s.storeid""",
    "SCJG_CYRYXX": "SELECT staffid, pripid, entname, name, cerno FROM fs_staff",
}
BUREAU_COLUMNS = {
    "SCJG_ZTXX": "ztsfdm, tyshxydm, ztmc, ztlb, ztlx, ssqx, djzt, zs, fddbr",
    "SCJG_FDDBRXX": "rybs, ztsfdm, xm, zjhm, zw",
    "SCJG_DSJLRYXX": "rybs, ztsfdm, xm, zwdm, sffddbr",
    "SCJG_GDXX": "gdbs, ztsfdm, gdmc, zjhm, rjcze",
    "SCJG_TZFXX": "tzfbs, ztsfdm, tzfmc, tzflx, zzhm",
    "SCJG_BGXX": "bgbs, ztsfdm, bgsx, bgqnr, bghnr",
    "SCJG_LSFDDBR": "lsjlbs, ztsfdm, xm, zjhm",
    "SCJG_LSZTXX": "lsjlbs, ztsfdm, lsmc",
    "SCJG_ZXXX": "ztsfdm, tyshxydm, zxrq, zxyy",
    "SCJG_DXXX": "ztsfdm, tyshxydm, dxrq, dxwh",
    "SCJG_GQCZXX": "djbh, ztsfdm, czr, czgqse, zt",
    "SCJG_QSZBAXX": "cybs, ztsfdm, cyxm, sffzr, barq",
    "SCJG_LSRYXX": "rybs, ztsfdm, mdmc, xm, zjhm",
    "SCJG_CYRYXX": "rybs, ztsfdm, dwmc, xm, zjhm",
}


def rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return sorted(
            (tuple(str(v) if v is not None else None for v in r) for r in conn.exec_driver_sql(sql)), key=str
        )


@pytest.fixture
def both_legs(dbs: Dbs, catalog: Catalog) -> Dbs:
    """The front loaded with both simulated days, every table a bureau table is built from."""
    simulate_into(dbs.province, catalog)
    province, front = dbs.engine("province"), dbs.engine("front")
    for name in sorted({s for bt in catalog.bureau for s in bt.sources}):
        copy_window(catalog.table(name), province, front, None, None)
    return dbs


def test_domain_rules_of_the_mapping(catalog: Catalog) -> None:
    assert [category(c) for c in ("1130", "9100", "9600", "9999", None)] == ["1", "3", "2", "2", None]
    ztxx = catalog.bureau_table("SCJG_ZTXX")
    part = ztxx.parts[1]  # E_PB_BASEINFO
    row = {
        "pripid": "p1",
        "uniscid": "92330603MA2BCDEF1X",
        "traname": "柯桥区鑫源便利店",
        "enttype": "9999",
        "regorg": "330621",
        "regstate": "4",
        "oploc": "绍兴",
        "name": "王伟",
        "fundam": 3,
    }
    mapped = map_row(part, row, None, catalog, ztxx.columns)
    assert (mapped["ztlb"], mapped["ztlx"], mapped["ssqx"], mapped["djzt"], mapped["bz"]) == (
        "2",
        "9600",
        "330603",
        "03",
        "156",
    )
    with pytest.raises(Unmappable, match="市场主体类型") as exc:
        map_row(part, {**row, "enttype": "ZZ"}, None, catalog, ztxx.columns)
    assert exc.value.column == "ztlx"
    with pytest.raises(Unmappable, match="必填项为空"):
        map_row(part, {**row, "traname": None}, None, catalog, ztxx.columns)
    gw = dict(catalog.bureau_table("SCJG_CYRYXX").parts[0].columns)["gw"]
    assert evaluate(gw, {"post": "99x"}, None, catalog, "gw") is None  # an unlabelled code gives no label


def test_each_mapping_equals_its_independent_sql(both_legs: Dbs, catalog: Catalog) -> None:
    front, bureau = both_legs.engine("front"), both_legs.engine("bureau")
    for bt in catalog.bureau:
        result = upload_window(bt, catalog, front, bureau, None, None)
        expected = rows(front, EXPECTED_SQL[bt.name])
        got = rows(bureau, f"SELECT {BUREAU_COLUMNS[bt.name]} FROM {bt.db_name}")
        assert got == expected, bt.name
        assert len(got) > 0 and result.quarantined == 0, bt.name
        again = upload_window(bt, catalog, front, bureau, None, None)
        assert (again.inserted, again.updated, again.deleted) == (0, 0, 0), bt.name


def test_deletes_and_rows_leaving_the_filter_reach_the_bureau(both_legs: Dbs, catalog: Catalog) -> None:
    front, bureau = both_legs.engine("front"), both_legs.engine("bureau")
    fddbr = catalog.bureau_table("SCJG_FDDBRXX")
    upload_window(fddbr, catalog, front, bureau, None, None)
    day = SIM_END + dt.timedelta(days=1)
    moment = dt.datetime.combine(day, dt.time(10))
    person = catalog.table("E_PRI_PERSON")
    (gone, demoted) = [
        r[0]
        for r in rows(
            front, "SELECT personid FROM e_pri_person WHERE lerepsign = '1' ORDER BY personid LIMIT 2"
        )
    ]
    with both_legs.engine("province").begin() as conn:  # the province deletes one and demotes the other
        conn.execute(
            sa.text(
                "UPDATE e_pri_person SET dsc_biz_operation = 'D', dsc_biz_timestamp = :t, "
                "dsc_biz_record_id = 'del1' WHERE personid = :k"
            ),
            {"t": moment, "k": gone},
        )
        conn.execute(
            sa.text(
                "UPDATE e_pri_person SET lerepsign = '0', dsc_biz_operation = 'U', dsc_biz_timestamp = :t,"
                " dsc_biz_record_id = 'upd1' WHERE personid = :k"
            ),
            {"t": moment, "k": demoted},
        )
    loaded = copy_window(person, both_legs.engine("province"), front, *day_window(day))
    assert loaded.deleted == 1
    with front.connect() as conn:
        marked = (
            conn.execute(
                sa.text("SELECT personid FROM e_pri_person__deleted WHERE dsc_biz_timestamp >= :t"),
                {"t": moment},
            )
            .scalars()
            .all()
        )
    assert marked == [gone]
    result = upload_window(fddbr, catalog, front, bureau, *day_window(day))
    assert (result.deleted, result.left_filter) == (2, 1)
    assert rows(bureau, "SELECT rybs, ztsfdm, xm, zjhm, zw FROM scjg_fddbrxx") == rows(
        front, EXPECTED_SQL["SCJG_FDDBRXX"]
    )
    assert not rows(bureau, f"SELECT 1 FROM scjg_fddbrxx WHERE rybs IN ('{gone}', '{demoted}')")


class Legs:
    """Both legs of one table set wired like the definitions: province assets, bureau assets with checks."""

    def __init__(self, dbs: Dbs, catalog: Catalog, bureau_names: list[str]) -> None:
        from shaoxing_ops.defs.province.assets import province_assets

        self.bts = [catalog.bureau_table(n) for n in bureau_names]
        sources = {s for bt in self.bts for p in bt.parts for s in (p.source, p.join_table) if s}
        self.province = [a for a in province_assets(catalog) if a.key.path[-1].upper() in sources]
        self.bureau = [bureau_asset(bt, catalog) for bt in self.bts]
        self.checks = [bureau_checks(bt, catalog) for bt in self.bts]
        self.resources = {
            "databases": Databases(province_url=dbs.province, front_url=dbs.front, bureau_url=dbs.bureau)
        }
        self.defs = dg.Definitions(
            assets=[*self.province, *self.bureau], asset_checks=self.checks, resources=self.resources
        )


def test_a_day_through_both_legs_with_automation(dbs: Dbs, catalog: Catalog) -> None:
    simulate_into(dbs.province, catalog)
    legs = Legs(dbs, catalog, ["SCJG_ZTXX", "SCJG_QSZBAXX"])
    night = dt.datetime(2026, 3, 3, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    first, second = SIM_START.isoformat(), SIM_END.isoformat()
    with embedded_instance() as instance:
        # The first day is the initial load of both legs (a backfill, as the demo does); then comes the night.
        dg.materialize(legs.province, instance=instance, partition_key=first, resources=legs.resources)
        dg.materialize(
            [*legs.bureau, *legs.checks], instance=instance, partition_key=first, resources=legs.resources
        )
        before = dg.evaluate_automation_conditions(defs=legs.defs, instance=instance, evaluation_time=night)
        assert (
            before.total_requested == 0
        )  # the day's provincial tables are not loaded yet: nothing to upload
        dg.materialize(legs.province, instance=instance, partition_key=second, resources=legs.resources)
        # The declarative automation asks for the bureau partitions of the latest day once its sources are loaded.
        evaluation = dg.evaluate_automation_conditions(
            defs=legs.defs,
            instance=instance,
            cursor=before.cursor,
            evaluation_time=night + dt.timedelta(minutes=5),
        )
        for bt in legs.bts:
            assert evaluation.get_requested_partitions(bureau_key(bt)) == {second}
        # … and the requested partitions are uploaded and checked, as the run the automation launches does.
        result = dg.materialize(
            [*legs.bureau, *legs.checks], instance=instance, partition_key=second, resources=legs.resources
        )
        assert result.success
        failed = [(c.check_name, c.description) for c in evaluations(result).values() if not c.passed]
        assert failed == []
    front, bureau = dbs.engine("front"), dbs.engine("bureau")
    for bt in legs.bts:
        assert rows(bureau, f"SELECT {BUREAU_COLUMNS[bt.name]} FROM {bt.db_name}") == rows(
            front, EXPECTED_SQL[bt.name]
        )


def test_an_unmappable_row_is_quarantined_not_sent_and_the_rest_goes(
    both_legs: Dbs, catalog: Catalog
) -> None:
    province, front, bureau = (both_legs.engine(r) for r in ("province", "front", "bureau"))
    table = catalog.table("E_BASEINFO")
    day = SIM_END + dt.timedelta(days=1)
    report = faults.bad_code(table, province, day, 2)  # enttype 'ZZ': no bureau 主体类型 for it
    copy_window(table, province, front, *day_window(day))
    ztxx = catalog.bureau_table("SCJG_ZTXX")
    result = upload_window(ztxx, catalog, front, bureau, None, None)
    assert result.quarantined == report.rows == 2
    bad = [k for (k,) in rows(front, "SELECT pripid FROM e_baseinfo WHERE enttype = 'ZZ'")]
    assert not rows(bureau, f"SELECT 1 FROM scjg_ztxx WHERE ztsfdm IN ('{bad[0]}', '{bad[1]}')")
    assert len(rows(bureau, "SELECT 1 FROM scjg_ztxx")) == len(rows(front, EXPECTED_SQL["SCJG_ZTXX"])) - 2
    ops = ExchangeRecords(front).ensure()
    ops.replace_quarantine("bureau", ztxx.name, [day.isoformat()], result.quarantine[day.isoformat()])
    held = ops.quarantined("SCJG_ZTXX")
    assert {q["record_key"] for q in held} == {f"E_BASEINFO:{k}" for k in bad}
    assert all(q["column_name"] == "ztlx" and "ZZ" in q["reason"] and not q["delivered"] for q in held)


def test_a_day_not_loaded_by_its_deadline_fails_freshness_on_either_leg(
    dbs: Dbs, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day's partition is due by SXOPS_LOAD_DEADLINE on the following day, on either leg alike: the
    inspection finds the first day loaded from the province but never uploaded to the bureau, and the second
    day not loaded at all."""
    from shaoxing_ops.defs.province.checks import province_checks

    monkeypatch.setenv("SXOPS_LOAD_DEADLINE", "08:30")
    simulate_into(dbs.province, catalog)
    legs = Legs(dbs, catalog, ["SCJG_BGXX"])
    (source,), (upload,) = legs.province, legs.bureau
    checks = [c for c in province_checks(catalog) if source.key in {k.asset_key for k in c.check_keys}]
    freshness = dg.AssetSelection.checks(
        dg.AssetCheckKey(source.key, "freshness"), dg.AssetCheckKey(upload.key, "freshness")
    )
    job = dg.define_asset_job("inspect", selection=freshness | dg.AssetSelection.assets(INSPECTION_KEY))
    defs = dg.Definitions(
        assets=[source, upload, province_inspection_record],
        asset_checks=[*checks, *legs.checks],
        jobs=[job],
        resources=legs.resources,
    )
    found = {}
    with embedded_instance() as instance:
        dg.materialize(
            [source], instance=instance, partition_key=SIM_START.isoformat(), resources=legs.resources
        )
        for day in (SIM_START, SIM_END):
            result = defs.resolve_job_def("inspect").execute_in_process(
                instance=instance, partition_key=day.isoformat()
            )
            for event in result.all_events:
                if event.event_type_value == "ASSET_CHECK_EVALUATION":
                    found[(event.event_specific_data.asset_key, day)] = event.event_specific_data
    due = {day: f"{day + dt.timedelta(days=1)} 08:30:00" for day in (SIM_START, SIM_END)}
    assert {k: e.check_name for k, e in found.items()} == {
        (key, day): "freshness" for key in (source.key, upload.key) for day in (SIM_START, SIM_END)
    }
    assert {k: e.metadata["deadline"].value for k, e in found.items()} == {(k, d): due[d] for k, d in found}
    loaded = found[(source.key, SIM_START)]
    assert loaded.passed and loaded.metadata["loaded"].value is True
    for key, day, what in (
        (upload.key, SIM_START, "上报"),
        (source.key, SIM_END, "装载"),
        (upload.key, SIM_END, "上报"),
    ):
        missed = found[(key, day)]
        assert not missed.passed and missed.metadata["loaded"].value is False
        assert missed.description == f"截至 {due[day]} 仍未{what}该分区"


def test_a_bureau_partition_is_repushed_when_its_rows_go_missing(dbs: Dbs, catalog: Catalog) -> None:
    simulate_into(dbs.province, catalog)
    legs = Legs(dbs, catalog, ["SCJG_BGXX"])
    key = bureau_key(legs.bts[0])
    sensor = build_repush_sensor(
        "s", [key], job_name="bureau_repush", description="", checks_after=BUREAU_CHECKS
    )
    with embedded_instance() as instance:
        for day in (SIM_START, SIM_END):
            dg.materialize(
                legs.province, instance=instance, partition_key=day.isoformat(), resources=legs.resources
            )
            dg.materialize(
                [*legs.bureau, *legs.checks],
                instance=instance,
                partition_key=day.isoformat(),
                resources=legs.resources,
            )
        with dbs.engine("bureau").begin() as conn:  # somebody at the bureau deleted rows
            conn.exec_driver_sql(  # the derived table: MySQL takes no LIMIT in an IN subquery
                "DELETE FROM scjg_bgxx WHERE bgbs IN (SELECT bgbs FROM (SELECT bgbs FROM scjg_bgxx LIMIT 5) x)"
            )
        # the inspection: the checks alone, nothing uploaded again
        job = dg.define_asset_job(
            "inspect", selection=checks_of("bureau") | dg.AssetSelection.assets(INSPECTION_KEY)
        )
        defs = dg.Definitions(
            assets=[*legs.bureau, province_inspection_record],
            asset_checks=legs.checks,
            jobs=[job],
            resources=legs.resources,
        )
        checks = evaluations(
            defs.resolve_job_def("inspect").execute_in_process(
                instance=instance, partition_key=SIM_END.isoformat()
            )
        )
        assert not checks["row_count"].passed
        with dg.build_sensor_context(instance=instance, resources=legs.resources) as context:
            (request,) = sensor(context).run_requests
        assert request.tags[TARGET_TAG] == f"{key.to_user_string()}|{SIM_END}"
        result = dg.materialize(
            [*legs.bureau, *legs.checks],
            instance=instance,
            partition_key=request.partition_key,
            resources=legs.resources,
            tags=request.tags,
        )
        meta = result.get_asset_materialization_events()[0].materialization.metadata
        # the five deleted rows sent again by the whole table's repair, nothing else touched
        assert (
            meta["repaired_missing"].value,
            meta["repaired_extra"].value,
            meta["repaired_changed"].value,
        ) == (5, 0, 0)
        assert meta["rows_inserted"].value <= 5  # of the five, those whose version is of this day
        assert all(c.passed for c in evaluations(result).values())
    front, bureau = dbs.engine("front"), dbs.engine("bureau")
    assert rows(bureau, f"SELECT {BUREAU_COLUMNS['SCJG_BGXX']} FROM scjg_bgxx") == rows(
        front, EXPECTED_SQL["SCJG_BGXX"]
    )


def test_a_planted_extra_and_changed_bureau_row_are_found_and_repaired_and_reinit_is_audited(
    dbs: Dbs, catalog: Catalog
) -> None:
    """The bureau leg against what the mapping makes of the whole front: differences found, repaired (the extra
    row removed too), and a re-initialisation refused without reason and approver, audited with them."""
    from shaoxing_ops.exchange.maintenance import (
        Approval,
        ApprovalMissing,
        reconcile_bureau,
        reinitialise_bureau,
    )

    bt = catalog.bureau_table("SCJG_FDDBRXX")  # 法定代表人信息, made from E_PRI_PERSON
    simulate_into(dbs.province, catalog)
    front, bureau = dbs.engine("front"), dbs.engine("bureau")
    copy_window(catalog.table("E_PRI_PERSON"), dbs.engine("province"), front, None, None)
    ops = ExchangeRecords(front).ensure()
    upload_window(bt, catalog, front, bureau, None, None)
    expected = rows(front, EXPECTED_SQL[bt.name])
    assert rows(bureau, f"SELECT {BUREAU_COLUMNS[bt.name]} FROM {bt.db_name}") == expected
    assert reconcile_bureau(bt, catalog, front, bureau, ops).diff.equal

    key = expected[3][0]
    with bureau.begin() as conn:  # a changed row (its timestamp untouched) and a row the mapping never made
        conn.exec_driver_sql(f"UPDATE {bt.db_name} SET xm = '张三丰' WHERE rybs = '{key}'")
        cols = ", ".join(bt.table.column_names)
        picked = ", ".join("'zz-extra'" if c == "rybs" else c for c in bt.table.column_names)
        conn.exec_driver_sql(
            f"INSERT INTO {bt.db_name} ({cols}) SELECT {picked} FROM {bt.db_name} WHERE rybs = '{key}'"
        )
    found = reconcile_bureau(bt, catalog, front, bureau, ops)
    assert (found.diff.changed, found.diff.extra, found.diff.missing) == ([(key,)], [("zz-extra",)], [])
    fixed = reconcile_bureau(bt, catalog, front, bureau, ops, fix=True)
    assert fixed.repaired is not None and (fixed.repaired.copied, fixed.repaired.deleted) == (1, 1)
    assert fixed.after is not None and fixed.after.equal
    assert rows(bureau, f"SELECT {BUREAU_COLUMNS[bt.name]} FROM {bt.db_name}") == expected

    with pytest.raises(ApprovalMissing, match="审批人"):
        reinitialise_bureau(bt, catalog, front, bureau, ops, Approval("数据局要求重新初始化", " "))
    assert ops.reinits() == []
    with bureau.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM {bt.db_name}")
    loaded, check = reinitialise_bureau(
        bt, catalog, front, bureau, ops, Approval("数据局要求重新初始化", "市数据局 李四")
    )
    assert check.diff.equal and loaded.target_rows == len(expected)
    assert [(a["table_name"], a["approved_by"], a["status"]) for a in ops.reinits()] == [
        ("SCJG_FDDBRXX", "市数据局 李四", "succeeded")
    ]
    assert rows(bureau, f"SELECT {BUREAU_COLUMNS[bt.name]} FROM {bt.db_name}") == expected
