"""Monthly statistics: figures against independent SQL, the edge cases, the workbook, report and asset."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.exchange import copy_window, ensure_table, sa_table
from shaoxing_ops.stats import Settings, compute_months, month_range
from shaoxing_ops.stats import store as stats_store
from shaoxing_ops.stats.commentary import sentences
from shaoxing_ops.stats.outputs import write_outputs

from .conftest import Dbs, embedded_instance, simulate_into

SOURCES = ("E_BASEINFO", "E_PB_BASEINFO", "E_CANCEL", "E_REVOKE")
SINCE = "2025-01"
MONTHS = ("2025-01", "2025-06", "2026-01", "2026-02")

# Plain SQL written for the test: the county of each entity, then counts with dates compared directly.
ENTITIES = """
    SELECT e.pripid, e.estdate, c.candate, r.revdate,
           CASE WHEN substr(e.regorg, 1, 6) = '330621' THEN '330603' ELSE substr(e.regorg, 1, 6) END AS county,
           CASE WHEN e.src = 'pb' THEN '2' WHEN e.enttype IN ('9100', '9200') THEN '3' ELSE '1' END AS category
    FROM (SELECT 'ent' AS src, pripid, regorg, enttype, estdate FROM e_baseinfo
          UNION ALL SELECT 'pb', pripid, regorg, enttype, estdate FROM e_pb_baseinfo) e
    LEFT JOIN e_cancel c ON c.pripid = e.pripid LEFT JOIN e_revoke r ON r.pripid = e.pripid
"""
BY_COUNTY = f"""
    SELECT county,
           sum(CASE WHEN estdate < :end AND (candate IS NULL OR candate >= :end)
                         AND (revdate IS NULL OR revdate >= :end) THEN 1 ELSE 0 END) AS stock,
           sum(CASE WHEN estdate >= :start AND estdate < :end THEN 1 ELSE 0 END) AS new,
           sum(CASE WHEN candate >= :start AND candate < :end THEN 1 ELSE 0 END) AS cancelled,
           sum(CASE WHEN revdate >= :start AND revdate < :end THEN 1 ELSE 0 END) AS revoked
    FROM ({ENTITIES}) x GROUP BY county
"""
BY_CATEGORY = BY_COUNTY.replace("SELECT county,", "SELECT category,").replace(
    "GROUP BY county", "GROUP BY category"
)


def _bounds(month: str) -> dict[str, dt.date]:
    start = dt.date.fromisoformat(f"{month}-01")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return {"start": start, "end": end}


def _independent(engine: Engine, sql: str, month: str) -> dict[str, tuple[int, ...]]:
    stmt = sa.text(sql).bindparams(sa.bindparam("start", type_=sa.Date), sa.bindparam("end", type_=sa.Date))
    with engine.connect() as conn:
        return {r[0]: tuple(int(v) for v in r[1:]) for r in conn.execute(stmt, _bounds(month))}


@pytest.fixture
def registered(dbs: Dbs, catalog: Catalog) -> Dbs:
    """The registration tables of the default simulation (with its years of history) loaded into the front."""
    simulate_into(dbs.province, catalog)
    province, front = dbs.engine("province"), dbs.engine("front")
    for name in SOURCES:
        copy_window(catalog.table(name), province, front, None, None)
    return dbs


def test_figures_agree_with_independent_sql(registered: Dbs) -> None:
    front = registered.engine("front")
    frame = compute_months(front, MONTHS, Settings(since=SINCE))
    total_stock = 0
    for month in MONTHS:
        expected = _independent(front, BY_COUNTY, month)
        got = {r["code1"]: (r["stock"], r["new"], r["cancelled"], r["revoked"])
               for r in frame.of("county", month).iter_rows(named=True)}  # fmt: skip
        assert {k: v for k, v in got.items() if any(v)} == {k: v for k, v in expected.items() if any(v)}, (
            month
        )
        assert len(got) >= 7  # the six units and 市本级, with or without activity
        by_cat = _independent(front, BY_CATEGORY, month)
        got_cat = {r["code1"]: (r["stock"], r["new"], r["cancelled"], r["revoked"])
                   for r in frame.of("category", month).iter_rows(named=True)}  # fmt: skip
        assert {k: v for k, v in got_cat.items() if any(v)} == by_cat, month
        t = frame.total(month)
        assert t["stock"] == sum(v[0] for v in expected.values()) > 0
        assert t["net"] == t["new"] - t["cancelled"]
        total_stock = t["stock"]
    # 同比 and 环比 are computed from the neighbouring months' own figures.
    jan, feb = frame.total("2026-01"), frame.total("2026-02")
    assert feb["stock_mom"] == round((feb["stock"] - jan["stock"]) / jan["stock"] * 100, 2)
    jan_before = compute_months(front, ["2025-02"], Settings(since=SINCE)).total("2025-02")
    assert feb["new_yoy"] == round((feb["new"] - jan_before["new"]) / jan_before["new"] * 100, 2)
    # 累计 adds up the year's months.
    ytd = compute_months(front, month_range("2026-01", "2026-02"), Settings(since=SINCE))
    assert ytd.total("2026-02")["new_ytd"] == jan["new"] + feb["new"]
    assert total_stock > 1000


def _front_with(engine: Engine, catalog: Catalog, rows: dict[str, list[dict]]) -> None:
    for name in SOURCES:
        ensure_table(engine, catalog.table(name))
    base = {"dsc_biz_record_id": "r", "dsc_biz_operation": "I", "dsc_biz_timestamp": dt.datetime(2026, 3, 1)}
    with engine.begin() as conn:
        for name, records in rows.items():
            t = sa_table(catalog.table(name))
            for i, r in enumerate(records):
                conn.execute(t.insert(), {**base, "dsc_biz_record_id": f"{name}{i}", **r})


def _ent(pripid: str, regorg: str, estdate: str, enttype: str = "1130", industry: str = "F") -> dict:
    return {"pripid": pripid, "entname": f"测试企业{pripid}", "enttype": enttype, "industryphy": industry,
            "estdate": dt.date.fromisoformat(estdate), "regorg": regorg, "regstate": "1"}  # fmt: skip


def test_edge_cases_are_honest(tmp_path: Path, catalog: Catalog) -> None:
    from shaoxing_ops.exchange import make_engine

    front = make_engine(f"sqlite:///{tmp_path / 'front.db'}")
    _front_with(front, catalog, {
        "E_BASEINFO": [
            _ent("a", "330602", "2020-05-01"), _ent("b", "330621", "2025-01-10"), _ent("c", "330602", "2025-02-03"),
            _ent("d", "330602", "2025-02-20", enttype="9100", industry="A"), _ent("e", "330604", "2019-01-01"),
        ],
        "E_PB_BASEINFO": [{"pripid": "p", "traname": "小店", "enttype": "9999", "industryphy": "H",
                           "estdate": dt.date(2025, 1, 5), "regorg": "330683", "regstate": "1"}],
        "E_CANCEL": [{"pripid": "a", "candate": dt.date(2025, 2, 14)}],
        "E_REVOKE": [{"pripid": "e", "revdate": dt.date(2025, 1, 20)}],
    })  # fmt: skip
    frame = compute_months(front, ["2025-01", "2025-02"], Settings(since="2025-01"))
    jan, feb = frame.total("2025-01"), frame.total("2025-02")
    # January: no deregistration, so no ratio (neither infinity nor zero); the first month has no 环比 and,
    # with nothing a year before the start, no 同比.
    assert (jan["new"], jan["cancelled"], jan["revoked"], jan["ratio"]) == (2, 0, 1, None)
    assert jan["stock_mom"] is None and jan["stock_yoy"] is None and jan["new_yoy"] is None
    assert jan["stock"] == 3  # a, b, p; e was revoked in January and 吊销未注销 does not count by default
    assert (feb["new"], feb["cancelled"], feb["ratio"], feb["stock"]) == (2, 1, 2.0, 4)
    assert feb["new_mom"] == 0.0 and feb["stock_mom"] == round(1 / 3 * 100, 2)
    assert feb["new_ytd"] == 4 and feb["cancelled_ytd"] == 1 and feb["ratio_ytd"] == 4.0
    counties = {r["code1"]: r for r in frame.of("county", "2025-01").iter_rows(named=True)}
    assert counties["330603"]["new"] == 1  # 330621, the former 绍兴县, counts as 柯桥区
    assert counties["330624"]["name1"] == "新昌县" and counties["330624"]["stock"] == 0  # no activity: zeros
    assert counties["330600"]["name1"] == "市本级" and "330621" not in counties
    cats = {r["code1"]: r["stock"] for r in frame.of("category", "2025-02").iter_rows(named=True)}
    assert cats == {"1": 2, "2": 1, "3": 1}
    assert "本月无注销，新设注销比不适用" in " ".join(sentences(frame, "2025-01"))
    assert "无同比数据" in sentences(frame, "2025-01")[0]
    # Counting 吊销未注销 in the stock is a setting.
    kept = compute_months(front, ["2025-01"], Settings(since="2025-01", revoked_in_stock=True)).total(
        "2025-01"
    )
    assert kept["stock"] == 4
    with pytest.raises(ValueError, match="before the statistics start 2025-01"):
        compute_months(front, ["2024-12"], Settings(since="2025-01"))
    # A year later, 同比 exists.
    later = compute_months(front, ["2026-01"], Settings(since="2025-01")).total("2026-01")
    assert later["new_yoy"] == -100.0 and later["stock_yoy"] == round((4 - 3) / 3 * 100, 2)


def test_workbook_and_report_open(registered: Dbs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path / "data"))
    front = registered.engine("front")
    out = write_outputs(front, "2026-02", Settings(since=SINCE))
    book = openpyxl.load_workbook(out.workbook)
    assert book.sheetnames == ["总览", "分县市区", "分主体类别", "分企业类型", "分行业门类", "分三次产业",
                               "县市区×主体类别", "县市区×三次产业", "县市区×行业门类", "月度趋势"]  # fmt: skip
    county = book["分县市区"]
    assert (
        county.freeze_panes == "B3"
        and county["A2"].value == "县（市、区）"
        and county["B2"].value == "实有户数"
    )
    names = [county.cell(row=r, column=1).value for r in range(3, 10)]
    assert names == ["越城区", "柯桥区", "上虞区", "新昌县", "诸暨市", "嵊州市", "市本级"]
    stock = sum(county.cell(row=r, column=2).value for r in range(3, county.max_row + 1))
    assert stock == out.frame.total("2026-02")["stock"]
    assert county.cell(row=3, column=2).number_format == "#,##0"
    trend = book["月度趋势"]
    assert [trend.cell(row=r, column=1).value for r in (2, 14)] == ["2025-02", "2026-02"]
    html = out.report.read_text(encoding="utf-8")
    assert "绍兴市市场主体发展情况（2026年2月）" in html and "Plotly.newPlot" in html
    assert "<script src=" not in html and len(html) > 3_000_000  # plotly.js inside: opens offline
    assert f"{out.frame.total('2026-02')['stock']:,}" in html


def test_monthly_asset_stores_tables_and_writes_outputs(registered: Dbs, catalog: Catalog, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from shaoxing_ops.defs.resources import Databases
    from shaoxing_ops.defs.stats.assets import market_entities, market_entity_report, parts_add_up

    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SXOPS_STATS_SINCE", SINCE)
    databases = Databases(province_url=registered.province, front_url=registered.front,
                          bureau_url=registered.bureau)  # fmt: skip
    with embedded_instance() as instance:
        result = dg.materialize([market_entities, market_entity_report, parts_add_up], partition_key="2026-02-01",
                                resources={"databases": databases}, instance=instance)  # fmt: skip
        assert result.success
        checks = result.get_asset_check_evaluations()
        assert [c.passed for c in checks] == [True]
        materialized = [
            e.step_materialization_data.materialization for e in result.get_asset_materialization_events()
        ]
        meta = {m.asset_key.to_user_string(): m.metadata for m in materialized}
    front = registered.engine("front")
    expected = _independent(front, BY_COUNTY, "2026-02")
    figures = meta["stats/market_entities"]
    assert figures["stock 实有"].value == sum(v[0] for v in expected.values())
    long = stats_store.read_long(front, ["2026-02"])
    assert long.height == figures["dagster/row_count"].value > 100
    with front.connect() as conn:
        pivot = {r.county_code: r for r in conn.execute(sa.text(
            "SELECT * FROM stats_pivot_county_category WHERE month = '2026-02'"))}  # fmt: skip
    for county, (stock, new, cancelled, _) in expected.items():
        assert (pivot[county].stock_total, pivot[county].new_total, pivot[county].cancelled_total) == (
            stock, new, cancelled)  # fmt: skip
        assert pivot[county].stock_total == (pivot[county].stock_enterprise + pivot[county].stock_individual
                                             + pivot[county].stock_cooperative)  # fmt: skip
    report = meta["stats/market_entity_report"]
    assert Path(report["workbook"].value).exists() and Path(report["report_path"].value).exists()
