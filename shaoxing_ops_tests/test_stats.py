"""Monthly statistics: figures against independent SQL, the edge cases, the workbook, report and asset."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import dagster as dg
import openpyxl
import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.exchange import copy_window, ensure_table, sa_table
from shaoxing_ops.stats import Settings, commentary, compute_months, month_range
from shaoxing_ops.stats import store as stats_store
from shaoxing_ops.stats.commentary import sentences
from shaoxing_ops.stats.outputs import write_outputs
from shaoxing_ops.stats.workbook import write_workbook

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
# 私营企业 by the type codes domain.md names, written out here rather than imported; registered capital (万元)
# converted at the test's own rates, which the statistics are given as settings.
PRIVATE_CODES = "('1130', '1151', '1212', '1222', '4531', '4532', '4533', '4540')"
RATES = (("156", 1.0), ("840", 7.0), ("344", 0.9))
STOCK = "estdate < :end AND (candate IS NULL OR candate >= :end) AND (revdate IS NULL OR revdate >= :end)"
NEW = "estdate >= :start AND estdate < :end"
PRIVATE_AND_CAPITAL = f"""
    SELECT county,
           sum(CASE WHEN {STOCK} AND enttype IN {PRIVATE_CODES} THEN 1 ELSE 0 END) AS private_stock,
           sum(CASE WHEN {NEW} AND enttype IN {PRIVATE_CODES} THEN 1 ELSE 0 END) AS private_new,
           sum(CASE WHEN {STOCK} AND enttype NOT IN ('9100', '9200') THEN 1 ELSE 0 END) AS enterprise_stock,
           sum(CASE WHEN {STOCK} AND enttype IN {PRIVATE_CODES} THEN cap END) AS private_stock_capital,
           sum(CASE WHEN {NEW} AND enttype IN {PRIVATE_CODES} THEN cap END) AS private_new_capital,
           sum(CASE WHEN {STOCK} THEN cap END) AS stock_capital,
           sum(CASE WHEN {NEW} THEN cap END) AS new_capital
    FROM (SELECT CASE WHEN substr(e.regorg, 1, 6) = '330621' THEN '330603' ELSE substr(e.regorg, 1, 6) END AS county,
                 e.enttype, e.estdate, c.candate, r.revdate,
                 CASE WHEN e.regcapcur IS NULL OR e.regcapcur IN ('', '156') THEN e.regcap
                      WHEN e.regcapcur = '840' THEN e.regcap * 7.0 WHEN e.regcapcur = '344' THEN e.regcap * 0.9 END AS cap
          FROM e_baseinfo e LEFT JOIN e_cancel c ON c.pripid = e.pripid LEFT JOIN e_revoke r ON r.pripid = e.pripid) x
    GROUP BY county
"""


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
        got = {
            r["code1"]: (r["stock"], r["new"], r["cancelled"], r["revoked"])
            for r in frame.of("county", month).iter_rows(named=True)
        }
        assert {k: v for k, v in got.items() if any(v)} == {k: v for k, v in expected.items() if any(v)}, (
            month
        )
        assert len(got) >= 7  # the six units and 市本级, with or without activity
        by_cat = _independent(front, BY_CATEGORY, month)
        got_cat = {
            r["code1"]: (r["stock"], r["new"], r["cancelled"], r["revoked"])
            for r in frame.of("category", month).iter_rows(named=True)
        }
        assert {k: v for k, v in got_cat.items() if any(v)} == by_cat, month
        t = frame.total(month)
        assert t["stock"] == sum(v[0] for v in expected.values()) > 0
        assert t["net"] == t["new"] - t["cancelled"]
        total_stock = t["stock"]
    # 同比 and 环比 are computed from the neighbouring months' own figures.
    jan, feb = frame.total("2026-01"), frame.total("2026-02")
    assert feb["stock_mom"] == round((feb["stock"] - jan["stock"]) / jan["stock"] * 100, 1)
    jan_before = compute_months(front, ["2025-02"], Settings(since=SINCE)).total("2025-02")
    assert feb["new_yoy"] == round((feb["new"] - jan_before["new"]) / jan_before["new"] * 100, 1)
    # 累计 adds up the year's months.
    ytd = compute_months(front, month_range("2026-01", "2026-02"), Settings(since=SINCE))
    assert ytd.total("2026-02")["new_ytd"] == jan["new"] + feb["new"]
    assert total_stock > 1000


def _private_and_capital(engine: Engine, month: str) -> dict[str, dict[str, float]]:
    """The independent figures per county, capital in 亿元 (the SQL sums 万元)."""
    stmt = sa.text(PRIVATE_AND_CAPITAL).bindparams(
        sa.bindparam("start", type_=sa.Date), sa.bindparam("end", type_=sa.Date)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt, _bounds(month)).mappings().all()
    return {
        r["county"]: {
            k: float(v or 0) / (10_000 if "capital" in k else 1) for k, v in r.items() if k != "county"
        }
        for r in rows
    }


def test_private_and_capital_agree_with_independent_sql(registered: Dbs, tmp_path: Path) -> None:
    """私营企业 and 注册资本 by county, in the frame, the stored tables and the workbook, against plain SQL."""
    front = registered.engine("front")
    month = "2026-02"
    settings = Settings(since=SINCE, fx_rates=RATES)
    frame = compute_months(front, month_range("2025-02", month), settings)
    expected = _private_and_capital(front, month)
    private = {r["code1"]: r for r in frame.of("county_private", month).iter_rows(named=True)}
    counties = {r["code1"]: r for r in frame.of("county", month).iter_rows(named=True)}
    for county, want in expected.items():
        got, whole = private[county], counties[county]
        assert (got["stock"], got["new"]) == (want["private_stock"], want["private_new"]), county
        assert got["stock_capital"] == pytest.approx(want["private_stock_capital"], abs=1e-9), county
        assert got["new_capital"] == pytest.approx(want["private_new_capital"], abs=1e-9), county
        assert whole["stock_capital"] == pytest.approx(want["stock_capital"], abs=1e-9), county
        assert whole["new_capital"] == pytest.approx(want["new_capital"], abs=1e-9), county
        # A part of 企业, not all of it: counting every enterprise as private would fail the equality above.
        assert 0 < want["private_stock"] < want["enterprise_stock"], county
    city = frame.of("private", month).row(0, named=True)
    assert city["stock"] == sum(w["private_stock"] for w in expected.values())
    assert frame.total(month)["stock_capital"] == pytest.approx(
        sum(w["stock_capital"] for w in expected.values())
    )
    assert frame.notes["foreign_currency_entities"] > 0 and frame.notes["unconverted_capital_entities"] == 0

    # The stored tables: the long table's 其中 rows and the county pivot's private and capital columns.
    stats_store.write(front, frame, [month])
    county = max(expected, key=lambda c: expected[c]["private_stock"])
    want = expected[county]
    with front.connect() as conn:
        stored = conn.execute(
            sa.text(
                "SELECT stock, new, stock_capital FROM stats_market_entity "
                "WHERE month = :m AND dimension = 'county_private' AND code1 = :c"
            ),
            {"m": month, "c": county},
        ).one()
        pivot = conn.execute(
            sa.text(
                "SELECT stock_private, stock_enterprise, stock_capital_private, new_capital_total "
                "FROM stats_pivot_county_category WHERE month = :m AND county_code = :c"
            ),
            {"m": month, "c": county},
        ).one()
    assert (stored.stock, stored.new) == (want["private_stock"], want["private_new"])
    assert stored.stock_capital == pytest.approx(want["private_stock_capital"], abs=1e-9)
    assert (pivot.stock_private, pivot.stock_enterprise) == (want["private_stock"], want["enterprise_stock"])
    assert pivot.stock_capital_private == pytest.approx(want["private_stock_capital"], abs=1e-9)
    assert pivot.new_capital_total == pytest.approx(want["new_capital"], abs=1e-9)

    # The workbook: 其中：私营企业 right under the county's 企业, with the same figures.
    book = openpyxl.load_workbook(write_workbook(frame, month, tmp_path / "stats.xlsx"))
    sheet = book["县市区×主体类别"]
    header = {c.value: c.column for c in sheet[2]}
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=3)]
    name = frame.of("county", month).filter(pl.col("code1") == county)["name1"][0]
    at = next(i for i, r in enumerate(rows) if r[:2] == [name, "其中：私营企业"])
    assert rows[at - 1][:2] == [name, "企业"]
    row = rows[at]
    assert (
        row[header["实有户数"] - 1] == want["private_stock"]
        and row[header["新设户数"] - 1] == want["private_new"]
    )
    assert row[header["实有注册资本（亿元）"] - 1] == pytest.approx(want["private_stock_capital"], abs=1e-9)
    assert sheet.cell(row=3 + at, column=header["实有注册资本（亿元）"]).number_format == "#,##0.00"
    assert sheet.cell(row=3 + at, column=header["实有同比"]).number_format == "0.0%"
    # The county sheet's rows still add up to the city: 私营企业 is a 其中 row there, not one more member.
    assert "其中：私营企业" not in [c.value for c in book["分县市区"]["A"]]


def _front_with(engine: Engine, catalog: Catalog, rows: dict[str, list[dict]]) -> None:
    for name in SOURCES:
        ensure_table(engine, catalog.table(name))
    base = {"dsc_biz_record_id": "r", "dsc_biz_operation": "I", "dsc_biz_timestamp": dt.datetime(2026, 3, 1)}
    with engine.begin() as conn:
        for name, records in rows.items():
            t = sa_table(catalog.table(name))
            for i, r in enumerate(records):
                conn.execute(t.insert(), {**base, "dsc_biz_record_id": f"{name}{i}", **r})


def _ent(
    pripid: str, regorg: str, estdate: str, enttype: str = "1130", industry: str = "F", **more: object
) -> dict:
    return {
        "pripid": pripid,
        "entname": f"测试企业{pripid}",
        "enttype": enttype,
        "industryphy": industry,
        "estdate": dt.date.fromisoformat(estdate),
        "regorg": regorg,
        "regstate": "1",
        **more,
    }


def test_edge_cases_are_honest(tmp_path: Path, catalog: Catalog) -> None:
    from shaoxing_ops.exchange import make_engine

    front = make_engine(f"sqlite:///{tmp_path / 'front.db'}")
    _front_with(
        front,
        catalog,
        {
            "E_BASEINFO": [
                _ent("a", "330602", "2020-05-01"),
                _ent("b", "330621", "2025-01-10"),
                _ent("c", "330602", "2025-02-03"),
                _ent("d", "330602", "2025-02-20", enttype="9100", industry="A"),
                _ent("e", "330604", "2019-01-01"),
            ],
            "E_PB_BASEINFO": [
                {
                    "pripid": "p",
                    "traname": "小店",
                    "enttype": "9999",
                    "industryphy": "H",
                    "estdate": dt.date(2025, 1, 5),
                    "regorg": "330683",
                    "regstate": "1",
                }
            ],
            "E_CANCEL": [{"pripid": "a", "candate": dt.date(2025, 2, 14)}],
            "E_REVOKE": [{"pripid": "e", "revdate": dt.date(2025, 1, 20)}],
        },
    )
    frame = compute_months(front, ["2025-01", "2025-02"], Settings(since="2025-01"))
    jan, feb = frame.total("2025-01"), frame.total("2025-02")
    # January: no deregistration, so no ratio (neither infinity nor zero); the first month has no 环比 and,
    # with nothing a year before the start, no 同比.
    assert (jan["new"], jan["cancelled"], jan["revoked"], jan["ratio"]) == (2, 0, 1, None)
    assert jan["stock_mom"] is None and jan["stock_yoy"] is None and jan["new_yoy"] is None
    assert jan["stock"] == 3  # a, b, p; e was revoked in January and 吊销未注销 does not count by default
    assert (feb["new"], feb["cancelled"], feb["ratio"], feb["stock"]) == (2, 1, 2.0, 4)
    assert feb["new_mom"] == 0.0 and feb["stock_mom"] == round(1 / 3 * 100, 1)
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
    assert later["new_yoy"] == -100.0 and later["stock_yoy"] == round((4 - 3) / 3 * 100, 1)


def test_private_and_capital_edge_cases(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shaoxing_ops.exchange import make_engine

    front = make_engine(f"sqlite:///{tmp_path / 'front.db'}")
    _front_with(
        front,
        catalog,
        {
            "E_BASEINFO": [
                _ent("a", "330602", "2020-05-01", regcap=100, regcapcur="156"),
                _ent("b", "330621", "2025-01-10", enttype="1151", regcap=50),  # no currency: 人民币
                # 1150 一人有限责任公司: its one owner may be a legal person, so not 私营 by its type code
                _ent("c", "330602", "2025-02-03", enttype="1150", regcap=200, regcapcur="156"),
                _ent("d", "330602", "2025-02-20", enttype="9100", industry="A", regcap=30, regcapcur="156"),
                _ent("e", "330604", "2019-01-01", enttype="4540", regcap=1000, regcapcur="156"),
                _ent("f", "330602", "2025-01-15", enttype="5110", regcap=10, regcapcur="840"),  # 10 万美元
                _ent("g", "330602", "2025-02-10", enttype="6110", regcap=10, regcapcur="999"),  # no rate
            ],
            "E_PB_BASEINFO": [
                {
                    "pripid": "p",
                    "traname": "小店",
                    "enttype": "9600",
                    "industryphy": "H",
                    "estdate": dt.date(2025, 1, 5),
                    "regorg": "330683",
                    "regstate": "1",
                    "fundam": 5,
                }
            ],
            "E_CANCEL": [{"pripid": "a", "candate": dt.date(2025, 2, 14)}],
            "E_REVOKE": [{"pripid": "e", "revdate": dt.date(2025, 1, 20)}],
        },
    )
    frame = compute_months(front, ["2025-01", "2025-02"], Settings(since="2025-01"))
    jan, feb = (
        frame.of("private", "2025-01").row(0, named=True),
        frame.of("private", "2025-02").row(0, named=True),
    )
    assert jan["name1"] == "私营企业"
    # January: a and b private in stock (e, 个人独资, was revoked), b new; February: a deregistered, nothing new.
    assert (jan["stock"], jan["new"], feb["stock"], feb["new"], feb["cancelled"]) == (2, 1, 1, 0, 1)
    assert (jan["stock_capital"], jan["new_capital"]) == pytest.approx((0.015, 0.005))
    # Capital in 亿元: f's 10 万美元 at the default 7.10; g's currency has no rate, so it is left out and said.
    t1, t2 = frame.total("2025-01"), frame.total("2025-02")
    assert (t1["new_capital"], t1["stock_capital"]) == pytest.approx(((50 + 71) / 1e4, (100 + 50 + 71) / 1e4))
    assert (t2["new_capital"], t2["stock_capital"]) == pytest.approx(
        ((200 + 30) / 1e4, (50 + 200 + 30 + 71) / 1e4)
    )
    assert t2["new_capital_ytd"] == pytest.approx((50 + 71 + 200 + 30) / 1e4)
    assert frame.notes["foreign_currency_entities"] == 1 and frame.notes["unconverted_capital_entities"] == 1
    cats = {r["code1"]: r for r in frame.of("category", "2025-02").iter_rows(named=True)}
    assert cats["1"]["stock_capital"] == pytest.approx((50 + 200 + 71) / 1e4)
    assert cats["3"]["stock_capital"] == pytest.approx(30 / 1e4)
    assert (
        cats["2"]["stock_capital"] is None and cats["2"]["new_capital"] is None
    )  # 个体: 资金数额, no 注册资本
    family = {r["code1"]: r for r in frame.of("family", "2025-02").iter_rows(named=True)}
    assert family["9600"]["stock_capital"] is None and family["1000"]["stock_capital"] is not None
    # By county, 柯桥区 (b, registered at 330621) holds the one private stock left in February.
    by_county = {r["code1"]: r["stock"] for r in frame.of("county_private", "2025-02").iter_rows(named=True)}
    assert by_county["330603"] == 1 and sum(by_county.values()) == 1 and len(by_county) >= 7
    # 其中 rows follow their whole, named as a part.
    rows = frame.with_parts("category", "2025-02")
    assert [r["name1"] for r in rows] == ["企业", "其中：私营企业", "个体工商户", "农民专业合作社"]
    assert [r["part"] for r in rows] == [False, True, False, False]
    text = " ".join(sentences(frame, "2025-02"))
    assert "其中私营企业 1 户，占企业总数的 25.0%" in text  # b of b, c, f, g
    assert "全市实有注册资本 0.04 亿元" in text and "本月新设注册资本 0.02 亿元" in text
    # Counting 吊销未注销 in the stock keeps e, and its capital.
    kept = compute_months(front, ["2025-01"], Settings(since="2025-01", revoked_in_stock=True))
    assert kept.of("private", "2025-01")["stock"][0] == 3
    assert kept.total("2025-01")["stock_capital"] == pytest.approx((100 + 50 + 1000 + 71) / 1e4)
    # The mapping is a setting, but a cooperative never becomes a private enterprise.
    odd = compute_months(
        front, ["2025-02"], Settings(since="2025-01", private_types=frozenset({"9100", "1150"}))
    )
    assert odd.of("private", "2025-02")["new"][0] == 1  # c, not d
    # Settings from the environment, and their mistakes.
    monkeypatch.setenv("SXOPS_STATS_SINCE", "2025-01")
    monkeypatch.setenv("SXOPS_STATS_FX_RATES", "840=7, 392=0.05")
    monkeypatch.setenv("SXOPS_STATS_PRIVATE_TYPES", "1130, 4100")
    env = Settings.from_env()
    assert env.rates == {"156": 1.0, "840": 7.0, "392": 0.05} and env.private_types == {"1130", "4100"}
    assert env.with_choices(True, "9999").rates == env.rates  # the launchpad's choices keep the mappings
    monkeypatch.setenv("SXOPS_STATS_FX_RATES", "840=seven")
    with pytest.raises(ValueError, match="SXOPS_STATS_FX_RATES"):
        Settings.from_env()
    # Every percentage has one decimal.
    assert (commentary.pct(12.345), commentary.pct(-0.04), commentary.share(1, 3)) == (
        "+12.3%",
        "-0.0%",
        "33.3%",
    )
    assert (
        commentary.growth("同比", 0.04) == "同比持平" and commentary.growth("同比", 2.06) == "同比增长 2.1%"
    )

    # Stored over a table of the shape before 注册资本 and 私营企业: the columns are added, the old month kept.
    old = sa.Table(
        "stats_market_entity",
        sa.MetaData(),
        *[
            sa.Column(c.name, c.type, primary_key=c.primary_key)
            for c in stats_store.long_table.columns
            if "capital" not in c.name
        ],
    )
    with front.begin() as conn:
        old.create(conn)
        conn.execute(
            old.insert(),
            {
                "month": "2024-12",
                "dimension": "total",
                "code1": "",
                "name1": "全市",
                "code2": "",
                "name2": "",
                "stock": 7,
            },
        )
    stats_store.write(front, frame)
    long = stats_store.read_long(front, ["2024-12", "2025-02"])
    assert long.filter(pl.col("month") == "2024-12")["stock"].to_list() == [7]
    stored = long.filter((pl.col("month") == "2025-02") & (pl.col("dimension") == "private")).row(
        0, named=True
    )
    assert (stored["stock"], stored["stock_capital"]) == (1, pytest.approx(0.005))


def test_workbook_and_report_open(registered: Dbs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path / "data"))
    front = registered.engine("front")
    out = write_outputs(front, "2026-02", Settings(since=SINCE))
    book = openpyxl.load_workbook(out.workbook)
    assert book.sheetnames == [
        "总览",
        "分县市区",
        "分主体类别",
        "分企业类型",
        "分行业门类",
        "分三次产业",
        "县市区×主体类别",
        "县市区×三次产业",
        "县市区×行业门类",
        "月度趋势",
    ]
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
    # 私营企业 as the 其中 row under 企业; 注册资本 in 亿元 beside the counts; the overview has both.
    assert [c.value for c in book["分主体类别"]["A"]][2:6] == [
        "企业",
        "其中：私营企业",
        "个体工商户",
        "农民专业合作社",
    ]
    headers = [c.value for c in county[2]]
    assert "新设注册资本（亿元）" in headers and "实有注册资本（亿元）" in headers
    overview = {r[0]: r[1] for r in book["总览"].iter_rows(min_row=4, max_col=2, values_only=True) if r[0]}
    t = out.frame.total("2026-02")
    assert overview["实有注册资本（亿元）"] == pytest.approx(t["stock_capital"])
    assert overview["其中：私营企业实有（户）"] == out.frame.of("private", "2026-02")["stock"][0]
    notes = " ".join(str(r[0]) for r in book["总览"].iter_rows(values_only=True) if r[0])
    assert "1 美元＝7.1 元" in notes and "私营企业：自然人投资设立或控股的企业" in notes

    html = out.report.read_text(encoding="utf-8")
    assert "绍兴市市场主体发展情况（2026年2月）" in html and "Plotly.newPlot" in html
    assert "<script src=" not in html and len(html) > 3_000_000  # plotly.js inside: opens offline
    assert f"{t['stock']:,}" in html
    assert '<tr class="part"><td>其中：私营企业</td>' in html and "<h2>分县（市、区）私营企业</h2>" in html
    assert f'<div class="v">{t["stock_capital"]:,.2f}</div>' in html and "实有注册资本（亿元）" in html
    # Charts: Chinese axis titles with units, months as Chinese categories, industries by name (plotly's JSON
    # escapes non-ASCII text, so the expected strings are escaped the same way).
    for title in ("年月", "新设、注销（户）", "实有（户）", "县（市、区）", "本月新设注册资本（亿元）"):
        assert '"title":{"text":' + json.dumps(title) in html, title
    assert json.dumps("2026年2月") in html and '"x":["2025-03"' not in html
    industries = out.frame.of("industry", "2026-02").sort("code1")["name1"].to_list()
    assert '"y":' + json.dumps(industries, separators=(",", ":")) in html
    assert '"x":["A","B"' not in html and '"y":["A","B"' not in html
    # One decimal for every percentage the page shows (plotly.js itself sits in the head).
    body = html[html.index("<body>") :]
    assert re.findall(r"\d\.\d%", body) and not re.findall(r"\d\.\d\d+%", body)


def test_monthly_asset_stores_tables_and_writes_outputs(
    registered: Dbs, catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shaoxing_ops.defs.resources import Databases
    from shaoxing_ops.defs.stats.assets import market_entities, market_entity_report, parts_add_up

    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SXOPS_STATS_SINCE", SINCE)
    databases = Databases(
        province_url=registered.province, front_url=registered.front, bureau_url=registered.bureau
    )
    with embedded_instance() as instance:
        result = dg.materialize(
            [market_entities, market_entity_report, parts_add_up],
            partition_key="2026-02-01",
            resources={"databases": databases},
            instance=instance,
        )
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
        pivot = {
            r.county_code: r
            for r in conn.execute(
                sa.text("SELECT * FROM stats_pivot_county_category WHERE month = '2026-02'")
            )
        }
    for county, (stock, new, cancelled, _) in expected.items():
        assert (pivot[county].stock_total, pivot[county].new_total, pivot[county].cancelled_total) == (
            stock,
            new,
            cancelled,
        )
        assert pivot[county].stock_total == (
            pivot[county].stock_enterprise + pivot[county].stock_individual + pivot[county].stock_cooperative
        )
        assert (
            0 < pivot[county].stock_private < pivot[county].stock_enterprise
        )  # a part of 企业, not a 4th type
    assert figures["private_stock 私营企业实有"].value == sum(p.stock_private for p in pivot.values())
    assert figures["stock_capital 实有注册资本（亿元）"].value == pytest.approx(
        sum(p.stock_capital_total for p in pivot.values()), abs=0.006
    )
    report = meta["stats/market_entity_report"]
    assert Path(report["workbook"].value).exists() and Path(report["report_path"].value).exists()


def test_parts_add_up_answers_for_each_month_of_a_ranged_run(
    registered: Dbs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backfill of three months runs as one step: `parts_add_up` records a result on each month's partition,
    from that month's own figures and pointing at its materialisation; a month whose stored figures no longer
    add up fails alone, saying which dimension and by how much, and the failure blocks the run."""
    from shaoxing_ops.dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
    from shaoxing_ops.defs.resources import Databases
    from shaoxing_ops.defs.stats.assets import market_entities, parts_add_up

    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SXOPS_STATS_SINCE", SINCE)
    databases = Databases(
        province_url=registered.province, front_url=registered.front, bureau_url=registered.bureau
    )
    months = ["2025-12-01", "2026-01-01", "2026-02-01"]
    run = {
        "tags": {ASSET_PARTITION_RANGE_START_TAG: months[0], ASSET_PARTITION_RANGE_END_TAG: months[-1]},
        "resources": {"databases": databases},
    }
    with embedded_instance() as instance:
        result = dg.materialize([market_entities, parts_add_up], instance=instance, **run)
        assert result.success
        checks = result.get_asset_check_evaluations()
        assert [(c.partition, c.passed, c.metadata["month"].value) for c in checks] == [
            (m, True, m[:7]) for m in months
        ]
        materialised = {
            r.partition_key: r.storage_id
            for r in instance.fetch_materializations(market_entities.key, limit=10).records
        }
        assert {c.partition: c.target_materialization_data.storage_id for c in checks} == materialised

        front = registered.engine("front")
        with front.begin() as conn:
            county = conn.execute(
                sa.text(
                    f"SELECT min(code1) FROM {stats_store.LONG_TABLE} WHERE month = '2026-01' "
                    "AND dimension = 'county'"
                )
            ).scalar_one()
            conn.execute(
                sa.text(
                    f"UPDATE {stats_store.LONG_TABLE} SET stock = stock + 7 WHERE month = '2026-01' "
                    "AND dimension = 'county' AND code1 = :c"
                ),
                {"c": county},
            )
        again = dg.materialize(
            [market_entities, parts_add_up],
            selection=dg.AssetSelection.checks(parts_add_up),
            instance=instance,
            raise_on_error=False,
            **run,
        )
        assert not again.success  # blocking: what reads the figures does not run on them
        checks = again.get_asset_check_evaluations()
        assert [(c.partition, c.passed) for c in checks] == [
            (months[0], True),
            (months[1], False),
            (months[2], True),
        ]
        gaps = checks[1].metadata["差异"].value
        assert set(gaps) == {"county"} and set(gaps["county"]) == {"stock"}
        assert "（相差 7）" in gaps["county"]["stock"] and "county" in checks[1].description
