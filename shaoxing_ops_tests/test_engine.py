"""The exchange engine on SQLite, PostgreSQL and MariaDB, and across them."""

from __future__ import annotations

import datetime as dt
import sqlite3
import tracemalloc
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from shaoxing_ops.catalog import Catalog, Table
from shaoxing_ops.exchange import copy_window, day_window, full_reload, make_engine, sa_table, stream_rows
from shaoxing_ops.exchange.province_store import SqlProvinceStore

from .conftest import Dbs

DAY = dt.date(2026, 5, 10)
T0 = dt.datetime(2026, 5, 10, 9, 0)


def ent_row(pripid: str, ts: dt.datetime, op: str = "I", **over: Any) -> dict[str, Any]:
    row = {
        "pripid": pripid,
        "uniscid": "91330602MA2BX5XK3U",
        "entname": f"绍兴{pripid}纺织有限公司",
        "regno": None,
        "enttype": "1130",
        "enttype_cn": "有限责任公司（自然人投资或控股）",
        "industryphy": "C",
        "industryco": "1713",
        "estdate": dt.date(2020, 1, 2),
        "apprdate": dt.date(2020, 1, 2),
        "regorg": "330602",
        "regorg_cn": "越城区市场监督管理局",
        "localadm": "33060201",
        "regstate": "1",
        "regstate_cn": "存续",
        "domdistrict": "330602",
        "dom": "浙江省绍兴市越城区人民路1号",
        "postalcode": "312000",
        "opscope": "纺织品制造；货物进出口" * 20,
        "opfrom": dt.date(2020, 1, 2),
        "opto": None,
        "regcap": Decimal("123.456789"),
        "regcapcur": "156",
        "name": "王伟",
        "tel": "13900001111",
        "empnum": 12,
        "dsc_biz_record_id": f"r-{pripid}-{ts:%H%M%S}",
        "dsc_biz_operation": op,
        "dsc_biz_timestamp": ts,
    }
    row.update(over)
    return row


def write(store: SqlProvinceStore, table: Table, rows: list[dict[str, Any]]) -> None:
    store.write_day({table.name: rows}, None)


def _by_key(table: Table, rows: list[tuple]) -> list[tuple]:
    """Rows in key order as Python sorts them: database collations may not agree with each other."""
    return sorted(rows, key=lambda r: tuple(r[table.column_names.index(k)] for k in table.key))


def snapshot(engine: sa.Engine, table: Table) -> list[tuple]:
    with engine.connect() as conn:
        return _by_key(table, [tuple(r) for r in conn.execute(sa.select(sa_table(table)))])


def province_live(engine: sa.Engine, table: Table) -> list[tuple]:
    """The source's live rows in key order, read as the catalog types them (as a load reads them)."""
    rows = [
        tuple(r)
        for batch in stream_rows(engine, table, lambda t: t.c.dsc_biz_operation != "D")
        for r in batch
    ]
    return sorted(rows, key=lambda r: tuple(r[table.column_names.index(k)] for k in table.key))


@pytest.fixture
def setup(dbs: Dbs, catalog: Catalog):
    table = catalog.table("E_BASEINFO")
    source, target = dbs.engine("province"), dbs.engine("front")
    store = SqlProvinceStore(source, catalog)
    yield table, source, target, store
    source.dispose()
    target.dispose()


def test_inserts_updates_deletes_and_idempotent_rerun(setup) -> None:
    table, source, target, store = setup
    write(store, table, [ent_row(f"p{i}", T0 + dt.timedelta(minutes=i)) for i in range(5)])
    first = copy_window(table, source, target, *day_window(DAY))
    assert (first.read, first.inserted, first.updated, first.deleted) == (5, 5, 0, 0)
    assert first.target_rows == 5

    next_day = T0 + dt.timedelta(days=1)
    write(
        store,
        table,
        [
            ent_row("p1", next_day, "U", entname="绍兴新名称有限公司", regcap=Decimal("500")),
            ent_row("p2", next_day, "D"),
            ent_row("p9", next_day, "I"),
            ent_row("p3", next_day, "U"),  # same values as loaded: an update that changes nothing
        ],
    )
    second = copy_window(table, source, target, *day_window(DAY + dt.timedelta(days=1)))
    assert (second.read, second.inserted, second.deleted) == (4, 1, 1)
    # p3's business columns are the same, but its record id and timestamp moved: still an update.
    assert second.updated == 2 and second.target_rows == 5
    assert snapshot(target, table) == province_live(source, table)
    with target.connect() as conn:
        name, cap = conn.execute(sa.text("SELECT entname, regcap FROM e_baseinfo WHERE pripid = 'p1'")).one()
    assert name == "绍兴新名称有限公司" and Decimal(cap) == Decimal("500")

    before = snapshot(target, table)
    again = copy_window(table, source, target, *day_window(DAY + dt.timedelta(days=1)))
    # p2's delete finds nothing left to delete: it is unchanged too, so read = the sum of the outcomes.
    assert (again.inserted, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 4)
    assert snapshot(target, table) == before


def test_a_range_is_counted_per_day_and_the_days_add_up(setup) -> None:
    """One load of three days: each day's figures are its own changes, and the days sum to the range."""
    table, source, target, store = setup
    d1, d2, d3 = T0, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2)
    write(store, table, [ent_row("k0", d1 - dt.timedelta(days=1)), ent_row("k1", d1 - dt.timedelta(days=1))])
    copy_window(table, source, target, *day_window(DAY - dt.timedelta(days=1)))  # held before the range
    write(
        store,
        table,
        [
            ent_row("a", d1),
            ent_row("b", d1 + dt.timedelta(minutes=1)),
            ent_row("b", d2, "U", entname="改名后"),  # the province keeps b's day-2 version only
            ent_row("k0", d2, "U", entname="变更"),
            ent_row("k1", d3, "D"),
            ent_row("gone", d3, "D"),
            ent_row("c", d3),
        ],
    )
    start, _ = day_window(DAY)
    r = copy_window(table, source, target, start, start + dt.timedelta(days=3))
    days = [(DAY + dt.timedelta(days=i)).isoformat() for i in range(3)]
    got = {
        d: (f.read, f.inserted, f.updated, f.deleted, f.unchanged, f.superseded) for d, f in r.days.items()
    }
    assert got == {
        days[0]: (1, 1, 0, 0, 0, 0),  # a inserted
        days[1]: (2, 1, 1, 0, 0, 0),  # b inserted (as its newest version), k0 updated
        days[2]: (3, 1, 0, 1, 1, 0),  # c inserted, k1 deleted, the delete of an unknown key changes nothing
    }
    for name in ("read", "inserted", "updated", "deleted", "unchanged"):
        assert sum(getattr(f, name) for f in r.days.values()) == getattr(r, name), name
    assert r.read == 6 and r.day("2026-01-01").read == 0
    assert snapshot(target, table) == province_live(source, table)


def test_versions_replaced_within_one_load_are_counted_as_superseded(setup) -> None:
    """A source that keeps every version (not the stand-in, which keeps the newest): the older one is read
    and superseded, never written."""
    table, source, target, _ = setup
    copy_window(table, source, target, *day_window(DAY))  # creates the source-shaped target
    rows = [ent_row("v", T0), ent_row("v", T0 + dt.timedelta(days=1), "U", entname="第二版")]
    t = sa_table(table)
    with source.begin() as conn:  # a history table: two versions of one key side by side
        conn.exec_driver_sql(f"DROP TABLE {table.db_name}")
        sa.Table(table.db_name, sa.MetaData(), *[sa.Column(c.name, c.type) for c in t.columns]).create(conn)
        conn.execute(sa.insert(t), rows)
    start, _ = day_window(DAY)
    r = copy_window(table, source, target, start, start + dt.timedelta(days=2))
    first, second = r.day(DAY.isoformat()), r.day((DAY + dt.timedelta(days=1)).isoformat())
    assert (first.read, first.superseded, first.inserted) == (1, 1, 0)
    assert (second.read, second.inserted, second.superseded) == (1, 1, 0)


def test_window_edges_at_shanghai_midnight(setup) -> None:
    table, source, target, store = setup
    midnight = dt.datetime(2026, 5, 11)
    write(
        store,
        table,
        [
            ent_row("last", midnight - dt.timedelta(microseconds=1)),
            ent_row("first", midnight),
            ent_row("before", dt.datetime(2026, 5, 10)),
        ],
    )
    r = copy_window(table, source, target, *day_window(DAY))
    assert r.read == 2 and {k for (k, *_) in snapshot(target, table)} == {"last", "before"}
    # The same day expressed in UTC (as Dagster's time windows may arrive) selects the same rows.
    utc = ZoneInfo("UTC")
    start = dt.datetime(2026, 5, 10, 16, tzinfo=utc)  # 2026-05-11 00:00 in Shanghai
    r = copy_window(table, source, target, start, start + dt.timedelta(days=1))
    assert r.read == 1 and r.inserted == 1
    assert {k for (k, *_) in snapshot(target, table)} == {"last", "before", "first"}


def test_late_row_is_picked_up_when_the_window_is_loaded_again(setup) -> None:
    table, source, target, store = setup
    write(store, table, [ent_row("early", T0)])
    copy_window(table, source, target, *day_window(DAY))
    write(store, table, [ent_row("late", T0 + dt.timedelta(hours=5))])  # arrives after the day was loaded
    r = copy_window(table, source, target, *day_window(DAY))
    assert (r.inserted, r.unchanged) == (1, 1)
    assert snapshot(target, table) == province_live(source, table)


def test_failure_midway_leaves_target_as_it_was(setup) -> None:
    table, source, target, store = setup
    write(store, table, [ent_row(f"a{i:03d}", T0) for i in range(30)])
    copy_window(table, source, target, *day_window(DAY))
    before = snapshot(target, table)
    write(
        store,
        table,
        [ent_row(f"a{i:03d}", T0 + dt.timedelta(hours=1), "U", name="李强") for i in range(30)]
        + [ent_row(f"b{i:03d}", T0 + dt.timedelta(hours=1)) for i in range(300)],
    )
    calls = []

    def boom(done: int, unit: str) -> None:
        calls.append(done)
        raise ConnectionError("connection lost")

    with pytest.raises(ConnectionError):
        copy_window(table, source, target, *day_window(DAY), batch_size=50, progress=boom)
    assert calls and snapshot(target, table) == before


def test_a_sqlite_load_takes_the_write_lock_only_to_merge(sqlite_dbs: Dbs, catalog: Catalog) -> None:
    """While a load into SQLite stages the source's rows, another run's load can write to the same file; the
    target changes at the merge alone."""
    table = catalog.table("E_BASEINFO")
    source, target = sqlite_dbs.engine("province"), sqlite_dbs.engine("front")
    write(SqlProvinceStore(source, catalog), table, [ent_row(f"a{i:03d}", T0) for i in range(120)])
    other = sqlite3.connect(target.url.database, isolation_level=None, timeout=0)  # fails at once if locked
    other.execute("CREATE TABLE other_run (x INTEGER)")
    staged: list[tuple[int, int]] = []

    def while_staging(done: int, unit: str) -> None:
        other.execute("BEGIN IMMEDIATE")  # another run's load, whole, between two batches of this one
        other.execute("INSERT INTO other_run VALUES (?)", (done,))
        other.execute("COMMIT")
        staged.append((done, other.execute("SELECT count(*) FROM e_baseinfo").fetchone()[0]))

    result = copy_window(table, source, target, *day_window(DAY), batch_size=50, progress=while_staging)
    assert staged == [(50, 0), (100, 0), (120, 0)]  # staged while the other wrote; nothing merged yet
    assert (result.inserted, result.target_rows) == (120, 120)
    assert other.execute("SELECT count(*) FROM other_run").fetchone()[0] == 3
    other.close()
    source.dispose()
    target.dispose()


def test_failure_in_the_merge_rolls_back(setup, catalog: Catalog) -> None:
    """A row the target refuses (NOT NULL) fails the whole load; nothing of it lands."""
    table, source, target, store = setup
    write(store, table, [ent_row("ok1", T0)])
    copy_window(table, source, target, *day_window(DAY))
    before = snapshot(target, table)
    with source.begin() as conn:  # a province that lost its NOT NULL constraint on entname
        if source.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE e_baseinfo ALTER COLUMN entname DROP NOT NULL")
        else:
            conn.exec_driver_sql("DROP TABLE e_baseinfo")
            cols = [sa.Column(c.name, c.type, primary_key=c.primary_key) for c in sa_table(table).columns]
            sa.Table("e_baseinfo", sa.MetaData(), *cols).create(conn)  # entname now admits NULL
    write(store, table, [ent_row("ok1", T0, "U", name="新人"), ent_row("bad", T0, entname=None)])
    with pytest.raises(sa.exc.IntegrityError):
        copy_window(table, source, target, *day_window(DAY))
    assert snapshot(target, table) == before


def test_full_reload_rebuilds_and_reports_before_after(setup) -> None:
    table, source, target, store = setup
    write(store, table, [ent_row(f"k{i}", T0) for i in range(10)] + [ent_row("gone", T0, "D")])
    copy_window(table, source, target, *day_window(DAY))
    with target.begin() as conn:  # the front drifted: a row lost, a row altered, a stranger added
        conn.execute(sa.text("DELETE FROM e_baseinfo WHERE pripid = 'k1'"))
        conn.execute(sa.text("UPDATE e_baseinfo SET name = '错' WHERE pripid = 'k2'"))
    with target.begin() as conn:
        conn.execute(sa_table(table).insert(), [ent_row("stranger", T0)])
    r = full_reload(table, source, target)
    assert (r.rows_before, r.target_rows, r.read) == (10, 10, 10)
    assert snapshot(target, table) == province_live(source, table)
    # indexes survive the swap, under their canonical names, and a second reload works the same
    assert "ix_e_baseinfo_uniscid" in {i["name"] for i in sa.inspect(target).get_indexes("e_baseinfo")}
    assert full_reload(table, source, target).target_rows == 10


@pytest.mark.postgres
@pytest.mark.parametrize("direction", ["sqlite->postgres", "postgres->sqlite"])
def test_across_dialects(direction: str, sqlite_dbs: Dbs, pg_dbs: Dbs, catalog: Catalog) -> None:
    src_dbs, tgt_dbs = (sqlite_dbs, pg_dbs) if direction.startswith("sqlite") else (pg_dbs, sqlite_dbs)
    table = catalog.table("E_BASEINFO")
    source, target = src_dbs.engine("province"), tgt_dbs.engine("front")
    store = SqlProvinceStore(source, catalog)
    write(
        store,
        table,
        [ent_row(f"x{i}", T0, regcap=Decimal(i) / 7) for i in range(20)] + [ent_row("d", T0, "D")],
    )
    r = copy_window(table, source, target, *day_window(DAY))
    assert (r.read, r.inserted, r.method) == (21, 20, "batched")
    assert snapshot(target, table) == province_live(source, table)
    again = copy_window(table, source, target, *day_window(DAY))  # 20 rows as they were, "d" still absent
    assert (again.unchanged, again.inserted + again.updated + again.deleted) == (21, 0)


def test_missing_source_table_says_what_to_do(dbs: Dbs, catalog: Catalog) -> None:
    from shaoxing_ops.exchange import ExchangeError

    with pytest.raises(ExchangeError, match=r"E_CANCEL: source table 'e_cancel' does not exist.*simulate"):
        copy_window(catalog.table("E_CANCEL"), dbs.engine("province"), dbs.engine("front"), None, None)


@pytest.mark.slow
def test_large_table_moves_with_bounded_memory(dbs: Dbs, catalog: Catalog) -> None:
    """60 k rows (53 MB of Python memory if held at once, measured as fetched tuples) cross with a bounded
    peak: 2-11 MB measured (PostgreSQL, SQLite, MariaDB's 1 MB multi-row INSERTs read ahead), under 25 MB."""
    table = catalog.table("E_ALTER_RECODER")
    source, target = dbs.engine("province"), dbs.engine("front")
    store = SqlProvinceStore(source, catalog)
    n, chunk = 60_000, 20_000
    for start in range(0, n, chunk):
        rows = [
            {
                "altid": f"alt{i:07d}",
                "pripid": f"p{i % 5000:05d}",
                "altitem": "02",
                "altitem_cn": "地址变更",
                "altbe": "浙江省绍兴市越城区人民路1号" * 3,
                "altaf": "浙江省绍兴市柯桥区笛扬路8号" * 3,
                "altdate": dt.date(2026, 5, 10),
                "regorg": "330602",
                "dsc_biz_record_id": f"r{i}",
                "dsc_biz_operation": "I",
                "dsc_biz_timestamp": T0 + dt.timedelta(seconds=i % 50000),
            }
            for i in range(start, start + chunk)
        ]
        store.write_day({table.name: rows}, None, fresh=True)
        del rows
    tracemalloc.start()
    result = copy_window(table, source, target, *day_window(DAY), batch_size=2000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.inserted == n and result.target_rows == n
    assert peak < 25 * 2**20, f"peak Python memory {peak / 2**20:.1f} MB while moving {n} rows"
    with source.connect() as sc, target.connect() as tc:
        q = "SELECT count(*), count(DISTINCT pripid), max(altid) FROM e_alter_recoder"
        assert sc.exec_driver_sql(q).one() == tc.exec_driver_sql(q).one()


def test_engine_disposal_leaves_sqlite_files_readable(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (a INT)")
    engine.dispose()
    assert (tmp_path / "sub" / "x.db").exists()


def _reltuples(engine: sa.Engine) -> float:
    with engine.connect() as conn:
        return float(
            conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE relname = 'e_baseinfo'").scalar_one()
        )


@pytest.mark.postgres
def test_a_load_that_changes_much_of_a_table_gathers_its_statistics(pg_dbs: Dbs, catalog: Catalog) -> None:
    """PostgreSQL plans on statistics; where autovacuum is off (as on this machine's server) or behind, a load
    that changed more than autovacuum's threshold analyses the table itself, a small one leaves it alone, and
    a full reload's new table has them from the start."""
    from shaoxing_ops.exchange.copy import changed_much
    from shaoxing_ops.exchange.reconcile import _estimate_rows

    assert (changed_much(60, 0), changed_much(50, 0), changed_much(160, 1000), changed_much(150, 1000)) == (
        True,
        False,
        True,
        False,
    )
    table = catalog.table("E_BASEINFO")
    source, target = pg_dbs.engine("province"), pg_dbs.engine("front")
    store = SqlProvinceStore(source, catalog)
    with source.begin() as conn:  # the province's table stays unanalysed whatever the server's settings
        conn.exec_driver_sql("ALTER TABLE e_baseinfo SET (autovacuum_enabled = off)")
    write(store, table, [ent_row(f"s{i:04d}", T0) for i in range(300)])
    copy_window(table, source, target, *day_window(DAY))
    assert (_reltuples(source), _reltuples(target)) == (-1, 300)
    write(store, table, [ent_row("s0001", T0 + dt.timedelta(days=1), "U", entname="改名")])
    with target.begin() as conn:  # a stale figure that only a new ANALYZE would replace
        conn.exec_driver_sql("UPDATE pg_class SET reltuples = 7 WHERE relname = 'e_baseinfo'")
    small = copy_window(table, source, target, *day_window(DAY + dt.timedelta(days=1)))
    assert small.updated == 1 and _reltuples(target) == 7
    full_reload(table, source, target)
    assert _reltuples(target) == 300 and _estimate_rows(target, table) == 300
    # A never-analysed table's size comes from the planner (its pages), not from counting its rows: after
    # deleting all rows but one, the pages still say about 300.
    with source.begin() as conn:
        conn.exec_driver_sql("DELETE FROM e_baseinfo WHERE pripid <> 's0000'")
    assert _reltuples(source) == -1 and _estimate_rows(source, table) > 100
