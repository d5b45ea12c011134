"""One site on three databases: the province on MariaDB, the front on PostgreSQL, the Data Bureau on SQLite.

Driven as the site runs it, through Dagster: the initial load as one ranged run of both legs, then a nightly
day, every check of every table-day passing; then reconciliation across the two dialects finds and repairs
planted differences, and 4-byte characters survive MariaDB both ways.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.commands.runs import reconstructable_job
from shaoxing_ops.dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from shaoxing_ops.exchange import full_reload
from shaoxing_ops.exchange.province_store import SqlProvinceStore
from shaoxing_ops.exchange.reconcile import reconcile, repair
from shaoxing_ops.simulate.run import simulate

from .conftest import SIM_END, SIM_SCALE, SIM_SEED, SIM_START, Dbs, embedded_instance, simulate_into
from .test_bureau import BUREAU_COLUMNS, EXPECTED_SQL, rows
from .test_engine import province_live

NEXT_DAY = SIM_END + dt.timedelta(days=1)

pytestmark = [pytest.mark.postgres, pytest.mark.mariadb, pytest.mark.slow]


def run_both_legs(instance: dg.DagsterInstance, tags: dict[str, str]) -> list[tuple[str, str, str | None]]:
    """The nightly load then the upload, as one run each; the failed checks of both (none expected)."""
    failed = []
    for job in ("province_nightly", "bureau_upload"):
        with dg.execute_job(reconstructable_job(job), instance, tags=tags) as result:
            assert result.success, job
            checks = [
                e.event_specific_data
                for e in result.all_events
                if e.event_type_value == "ASSET_CHECK_EVALUATION"
            ]
            failed += [
                (c.asset_key.to_user_string(), c.check_name, c.partition) for c in checks if not c.passed
            ]
    return failed


def test_mariadb_province_postgres_front_sqlite_bureau(
    mysql_dbs: Dbs,
    pg_dbs: Dbs,
    sqlite_dbs: Dbs,
    catalog: Catalog,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    simulate_into(mysql_dbs.province, catalog)
    for role, url in (
        ("province", mysql_dbs.province),
        ("front", pg_dbs.front),
        ("bureau", sqlite_dbs.bureau),
    ):
        monkeypatch.setenv(f"SXOPS_{role.upper()}_URL", url)
    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path / "data"))
    province, front, bureau = (
        mysql_dbs.engine("province"),
        pg_dbs.engine("front"),
        sqlite_dbs.engine("bureau"),
    )

    def unequal() -> tuple[list[str], list[str]]:
        tables = [t.name for t in catalog.tables if not reconcile(t, province, front).equal]
        uploads = [
            b.name
            for b in catalog.bureau
            if rows(bureau, f"SELECT {BUREAU_COLUMNS[b.name]} FROM {b.db_name}")
            != rows(front, EXPECTED_SQL[b.name])
        ]
        return tables, uploads

    with embedded_instance() as instance:
        # The initial load: both simulated days in one ranged run per leg.
        ranged = {
            ASSET_PARTITION_RANGE_START_TAG: SIM_START.isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: SIM_END.isoformat(),
        }
        assert run_both_legs(instance, ranged) == []
        assert unequal() == ([], [])
        live = {t.name: len(province_live(province, t)) for t in catalog.tables}
        assert len(live) == 142 and sum(live.values()) > 90_000
        # A nightly day: the province's next day arrives, and the schedule's partition runs on both legs.
        day = simulate(
            catalog, SqlProvinceStore(province, catalog), SIM_START, NEXT_DAY, scale=SIM_SCALE, seed=SIM_SEED
        )
        assert day.days_simulated == [NEXT_DAY] and len([n for n, c in day.rows.items() if c]) >= 20
        assert run_both_legs(instance, {"dagster/partition": NEXT_DAY.isoformat()}) == []
        assert unequal() == ([], [])
        key = dg.AssetKey(["province", "registration", "e_baseinfo"])
        assert instance.get_materialized_partitions(key) == {
            d.isoformat() for d in (SIM_START, SIM_END, NEXT_DAY)
        }

    # Differences planted on the front are found by comparing across MariaDB and PostgreSQL, and repaired.
    table = catalog.table("E_BASEINFO")
    keys = [r[table.column_names.index("pripid")] for r in province_live(province, table)]
    with front.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE e_baseinfo SET entname = '绍兴𠮷测试有限公司😀' WHERE pripid = '{keys[3]}'"
        )
        conn.exec_driver_sql(f"DELETE FROM e_baseinfo WHERE pripid = '{keys[5]}'")
    with province.begin() as conn:  # a row the province deleted: the front still holding it is one too many
        conn.exec_driver_sql(f"UPDATE e_baseinfo SET dsc_biz_operation = 'D' WHERE pripid = '{keys[8]}'")
    diff = reconcile(table, province, front)
    assert (diff.changed, diff.missing, diff.extra) == ([(keys[3],)], [(keys[5],)], [(keys[8],)])
    fixed = repair(table, province, front, diff)
    assert (fixed.copied, fixed.deleted) == (2, 1) and reconcile(table, province, front).equal

    # 4-byte characters survive MariaDB both ways: into a MariaDB front and back out again
    mfront, sfront = mysql_dbs.engine("front"), sqlite_dbs.engine("front")
    with province.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE e_baseinfo SET entname = '绍兴𠮷测试有限公司😀' WHERE pripid = '{keys[3]}'"
        )
    full_reload(table, province, mfront)
    assert reconcile(table, province, mfront).equal
    full_reload(table, mfront, sfront)
    with sfront.connect() as conn:
        name = conn.exec_driver_sql(f"SELECT entname FROM e_baseinfo WHERE pripid = '{keys[3]}'").scalar_one()
    assert name == "绍兴𠮷测试有限公司😀"
    assert reconcile(table, mfront, sfront).equal
