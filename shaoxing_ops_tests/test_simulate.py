"""The province stand-in: deterministic, extendable day by day, realistic where statistics will look."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter

import pytest
import sqlalchemy as sa

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.domain.geography import canonical_division
from shaoxing_ops.domain.identifiers import is_valid_credit_code, is_valid_id_number
from shaoxing_ops.exchange import make_engine, sa_table
from shaoxing_ops.exchange.province_store import SqlProvinceStore
from shaoxing_ops.simulate.population import LIVE_TARGET
from shaoxing_ops.simulate.run import SimulationError, simulate

from .conftest import Dbs, create_pg_database, drop_pg_database, require_pg

START = dt.date(2026, 4, 1)


def digest(url: str, catalog: Catalog) -> dict[str, str]:
    engine = make_engine(url)
    out = {}
    with engine.connect() as conn:
        for table in catalog.tables:
            t = sa_table(table)
            h = hashlib.sha256()
            for row in conn.execute(sa.select(t).order_by(*[t.c[k] for k in table.key])):
                h.update(repr(tuple(row)).encode())
            out[table.name] = h.hexdigest()
    engine.dispose()
    return out


def run(
    url: str,
    catalog: Catalog,
    start: dt.date,
    end: dt.date,
    scale: float = 0.002,
    seed: int = 3,
    workers: int = 1,
):
    engine = make_engine(url)
    try:
        return simulate(
            catalog, SqlProvinceStore(engine, catalog), start, end, scale=scale, seed=seed, workers=workers
        )
    finally:
        engine.dispose()


@pytest.mark.slow
def test_same_seed_and_range_give_identical_data_even_when_extended_day_by_day(tmp_path, catalog) -> None:
    once, stepwise, other = (f"sqlite:///{tmp_path / n}.db" for n in ("once", "steps", "other"))
    end = START + dt.timedelta(days=3)
    report = run(once, catalog, START, end)
    assert report.days_simulated == [START + dt.timedelta(days=i) for i in range(4)]
    run(stepwise, catalog, START, START)
    run(stepwise, catalog, START, START + dt.timedelta(days=1))  # overlaps: the first day is left as it is
    again = run(stepwise, catalog, START + dt.timedelta(days=2), end)
    assert again.days_simulated == [START + dt.timedelta(days=2), end]
    reference = digest(once, catalog)
    assert reference == digest(stepwise, catalog)
    run(other, catalog, START, end, seed=4)
    differing = [name for name, h in digest(other, catalog).items() if h != reference[name]]
    assert len(differing) >= len(catalog.tables) - 5  # tiny tables may be empty under both seeds


def test_baselines_made_by_worker_processes_are_the_rows_made_table_by_table(tmp_path, catalog) -> None:
    one, two = (f"sqlite:///{tmp_path / n}.db" for n in ("one", "two"))
    end = START + dt.timedelta(days=1)
    alone = run(one, catalog, START, end)
    shared = run(two, catalog, START, end, workers=2)
    assert shared.rows == alone.rows
    assert alone.rows["FS_CHAIN_STORE"] > 0 and alone.rows["E_LIQ_INFO"] > 0  # the keys referred to exist
    reference = digest(one, catalog)
    assert digest(two, catalog) == reference
    # a worker hands back the running numbers of its table: the next days continue them alike
    run(one, catalog, START, end + dt.timedelta(days=1))
    run(two, catalog, START, end + dt.timedelta(days=1), workers=2)
    assert digest(two, catalog) == digest(one, catalog) != reference
    staff = sa_table(catalog.table("FS_CHAIN_STAFF"))
    with make_engine(one).connect() as conn:  # a key drawn from a table made before, not left empty
        filled = conn.execute(sa.select(sa.func.count(staff.c.storeid))).scalar_one()
    assert filled > 0


@pytest.mark.postgres
def test_postgres_and_sqlite_hold_the_same_simulation(tmp_path, catalog) -> None:
    require_pg()
    pg = create_pg_database("sim")
    try:
        lite = f"sqlite:///{tmp_path / 'p.db'}"
        run(lite, catalog, START, START + dt.timedelta(days=1))
        run(pg, catalog, START, START + dt.timedelta(days=1), workers=2)  # PostgreSQL's writers side by side
        assert digest(lite, catalog) == digest(pg, catalog)
    finally:
        drop_pg_database(pg)


def test_refuses_what_would_break_determinism(tmp_path, catalog) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    run(url, catalog, START, START + dt.timedelta(days=1))
    with pytest.raises(SimulationError, match=r"--seed 3 --scale 0\.002"):
        run(url, catalog, START + dt.timedelta(days=2), START + dt.timedelta(days=3), seed=99)
    with pytest.raises(SimulationError, match="continue from 2026-04-03"):
        run(url, catalog, START + dt.timedelta(days=5), START + dt.timedelta(days=6))
    with pytest.raises(SimulationError, match="need --reset"):
        run(url, catalog, START - dt.timedelta(days=1), START)
    with pytest.raises(SimulationError, match="before --start"):
        run(url, catalog, START, START - dt.timedelta(days=1))


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog):
    url = f"sqlite:///{tmp_path_factory.mktemp('sim') / 'province.db'}"
    report = run(url, catalog, START, START + dt.timedelta(days=13), scale=0.01, seed=8)
    engine = make_engine(url)
    yield engine, report
    engine.dispose()


def rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def test_population_has_shaoxing_size_and_shape(province) -> None:
    engine, _ = province
    (live_ent,) = rows(engine, "SELECT count(*) FROM e_baseinfo WHERE regstate = '1'")[0]
    (live_pb,) = rows(engine, "SELECT count(*) FROM e_pb_baseinfo WHERE regstate = '1'")[0]
    target = LIVE_TARGET * 0.01
    assert abs(live_ent + live_pb - target) < 0.1 * target
    assert 0.30 < live_ent / (live_ent + live_pb) < 0.42
    coops = rows(engine, "SELECT count(*) FROM e_baseinfo WHERE enttype = '9100' AND regstate = '1'")[0][0]
    assert 0.005 < coops / (live_ent + live_pb) < 0.02
    districts = Counter(
        canonical_division(code)
        for (code,) in rows(
            engine, "SELECT regorg FROM e_baseinfo UNION ALL SELECT regorg FROM e_pb_baseinfo"
        )
    )
    assert set(districts) == {"330600", "330602", "330603", "330604", "330624", "330681", "330683"}
    assert districts["330603"] > districts["330624"]  # 柯桥 24 % against 新昌 7 %
    assert rows(engine, "SELECT count(*) FROM e_baseinfo WHERE regorg = '330621'")[0][0] > 0  # former 绍兴县
    sections = Counter(s for (s,) in rows(engine, "SELECT industryphy FROM e_baseinfo WHERE regstate = '1'"))
    assert sections.most_common(1)[0][0] == "F"
    assert {e for (e,) in rows(engine, "SELECT DISTINCT enttype FROM e_pb_baseinfo")} == {"9600", "9999"}


def test_identifiers_are_valid(province) -> None:
    engine, _ = province
    codes = rows(engine, "SELECT uniscid FROM e_baseinfo UNION ALL SELECT uniscid FROM e_pb_baseinfo")
    assert codes and all(is_valid_credit_code(c) for (c,) in codes)
    ids = rows(engine, "SELECT cerno FROM e_pri_person UNION ALL SELECT cerno FROM e_pb_baseinfo")
    assert ids and all(is_valid_id_number(i) for (i,) in ids)
    dupes = rows(engine, "SELECT uniscid FROM e_baseinfo GROUP BY uniscid HAVING count(*) > 1")
    assert not dupes


def test_daily_life_inserts_updates_and_deletes(province, catalog) -> None:
    engine, report = province
    days = report.days_simulated
    ops = Counter()
    for table in catalog.tables:
        for op, n in rows(
            engine,
            f"SELECT dsc_biz_operation, count(*) FROM {table.db_name} "
            f"WHERE dsc_biz_timestamp >= '{days[1]}' GROUP BY 1",
        ):
            ops[op] += n
    assert ops["I"] > ops["U"] > ops["D"] > 0
    # deregistrations come with their E_CANCEL row and state 4, on the same day
    cancelled = rows(
        engine,
        f"""
        SELECT b.regstate, c.candate FROM e_cancel c JOIN e_pb_baseinfo b ON b.pripid = c.pripid
        WHERE c.dsc_biz_timestamp >= '{days[1]}'""",
    )
    assert cancelled and all(state == "4" for state, _ in cancelled)
    # a legal representative change deletes the old person row and keeps the history
    assert rows(engine, "SELECT count(*) FROM e_pri_person WHERE dsc_biz_operation = 'D'")[0][0] > 0
    assert rows(engine, "SELECT count(*) FROM e_lp_hstleref")[0][0] > 0
    # changes happen on working days mostly; each day's timestamps stay inside the day
    by_day = Counter(
        d
        for (d,) in rows(
            engine,
            "SELECT substr(dsc_biz_timestamp, 1, 10) FROM e_alter_recoder "
            f"WHERE dsc_biz_timestamp >= '{days[1]}'",
        )
    )
    weekday = [n for d, n in by_day.items() if dt.date.fromisoformat(d).weekday() < 5]
    weekend = [n for d, n in by_day.items() if dt.date.fromisoformat(d).weekday() >= 5]
    assert sum(weekday) / max(len(weekday), 1) > 2 * sum(weekend) / max(len(weekend), 1)
    assert max(by_day) <= days[-1].isoformat()


def test_generic_rows_point_at_real_entities(province, catalog) -> None:
    engine, _ = province
    linked = [
        t
        for t in catalog.tables
        if t.sim == "generic" and any((c.gen or "").endswith(".pripid") for c in t.columns)
    ]
    assert len(linked) > 20
    for table in linked:
        col = next(c.name for c in table.columns if (c.gen or "").endswith(".pripid"))
        orphans = rows(
            engine,
            f"""
            SELECT count(*) FROM {table.db_name} x WHERE x.{col} IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM e_baseinfo b WHERE b.pripid = x.{col})
            AND NOT EXISTS (SELECT 1 FROM e_pb_baseinfo p WHERE p.pripid = x.{col})""",
        )[0][0]
        assert orphans == 0, table.name
    empty = [t.name for t in catalog.tables if rows(engine, f"SELECT count(*) FROM {t.db_name}")[0][0] == 0]
    assert len(empty) < len(catalog.tables) * 0.1, empty


def test_store_refuses_rows_without_state(dbs: Dbs, catalog: Catalog) -> None:
    from shaoxing_ops.exchange import ExchangeError

    engine = dbs.engine("province")
    store = SqlProvinceStore(engine, catalog)
    with engine.begin() as conn:
        conn.execute(
            sa_table(catalog.table("E_BASEINFO")).insert(),
            [
                {
                    "pripid": "x",
                    "entname": "n",
                    "enttype": "1130",
                    "estdate": START,
                    "regstate": "1",
                    "dsc_biz_record_id": "r",
                    "dsc_biz_operation": "I",
                    "dsc_biz_timestamp": dt.datetime(2026, 4, 1),
                }
            ],
        )
    with pytest.raises(ExchangeError, match="--reset"):
        store.load_state()
    store.reset()
    assert store.load_state() is None
