"""Checksum reconciliation finds exactly the planted differences, on each dialect and across them; repair fixes
only those; re-initialisation is audited, refused without approval, and never shows readers a half table."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
import sqlalchemy as sa

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.exchange import copy_window, full_reload, health, sa_table
from shaoxing_ops.exchange.dialects import family
from shaoxing_ops.exchange.maintenance import Approval, ApprovalMissing, reconcile_table, reinitialise
from shaoxing_ops.exchange.reconcile import MAX_KEYS_REPORTED, compare_keys, diff_report, reconcile, repair
from shaoxing_ops.exchange.records import ExchangeRecords

from .conftest import Dbs, simulate_into
from .test_engine import province_live, snapshot


@pytest.fixture
def loaded(dbs: Dbs, catalog: Catalog):
    """A simulated province with E_PRI_PERSON (about 2,000 live rows) fully loaded into the front."""
    simulate_into(dbs.province, catalog, end=dt.date(2026, 3, 2))
    table = catalog.table("E_PRI_PERSON")
    source, target = dbs.engine("province"), dbs.engine("front")
    full_reload(table, source, target)
    return table, source, target


def keys(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def test_equal_tables_are_equal_in_one_comparison(loaded) -> None:
    table, source, target = loaded
    diff = reconcile(table, source, target)
    assert diff.equal and diff.groups_compared <= 16  # one grouped scan per side, nothing descended into
    assert diff.source_rows == diff.target_rows == len(province_live(source, table)) > 1000


def test_finds_exactly_the_planted_differences_and_repairs_only_them(loaded) -> None:
    table, source, target = loaded
    all_keys = [k for (k,) in keys(target, "SELECT personid FROM e_pri_person ORDER BY personid")]
    gone = all_keys[10:13] + all_keys[-1:]
    altered = all_keys[500:502]
    with target.begin() as conn:
        conn.execute(
            sa.text("DELETE FROM e_pri_person WHERE personid IN :k").bindparams(
                sa.bindparam("k", expanding=True)
            ),
            {"k": gone},
        )
        conn.execute(
            sa.text("UPDATE e_pri_person SET mobtel = '13000000000' WHERE personid IN :k").bindparams(
                sa.bindparam("k", expanding=True)
            ),
            {"k": altered},
        )
        conn.execute(
            sa.text("UPDATE e_pri_person SET natdate = NULL WHERE personid = :k"), {"k": all_keys[900]}
        )
        zz = family(conn).concat(["'zz'", "personid"])
        conn.exec_driver_sql(
            f"INSERT INTO e_pri_person SELECT {zz}, pripid, name, sex, natdate, certype, cerno, position, "
            "position_cn, lerepsign, appounit, country, mobtel, dsc_biz_record_id, dsc_biz_operation, "
            "dsc_biz_timestamp FROM e_pri_person WHERE personid = '" + all_keys[20] + "'"
        )
    diff = reconcile(table, source, target)
    assert sorted(diff.missing) == sorted((k,) for k in gone)
    assert sorted(diff.changed) == sorted((k,) for k in [*altered, all_keys[900]])
    assert diff.extra == [("zz" + all_keys[20],)]
    assert diff.groups_compared > 1
    report = diff_report(diff)
    assert "目标端缺失 4 条" in report and "目标端多出 1 条" in report and "内容不一致 3 条" in report

    untouched = [k for k in snapshot(target, table) if k[0] == all_keys[100]]
    fixed = repair(table, source, target, diff)
    assert (fixed.copied, fixed.deleted) == (7, 1)
    assert snapshot(target, table) == province_live(source, table)
    assert [k for k in snapshot(target, table) if k[0] == all_keys[100]] == untouched
    assert reconcile(table, source, target).equal


def test_comparing_given_keys_finds_exactly_their_differences_and_nothing_outside_them(loaded) -> None:
    """The nightly comparison of a window's changed keys (``compare_keys``): exact for the keys given, by primary
    key, whatever differs elsewhere in the table."""
    table, source, target = loaded
    all_keys = [k for (k,) in keys(target, "SELECT personid FROM e_pri_person ORDER BY personid")]
    gone, altered, outside = all_keys[10:12], all_keys[500], all_keys[-5]
    with target.begin() as conn:
        conn.execute(
            sa.text("DELETE FROM e_pri_person WHERE personid IN :k").bindparams(
                sa.bindparam("k", expanding=True)
            ),
            {"k": [*gone, outside]},
        )
        conn.execute(
            sa.text("UPDATE e_pri_person SET mobtel = '13000000000' WHERE personid = :k"), {"k": altered}
        )
        zz = family(conn).concat(["'zz'", "personid"])
        conn.exec_driver_sql(
            f"INSERT INTO e_pri_person SELECT {zz}, pripid, name, sex, natdate, certype, cerno, position, "
            "position_cn, lerepsign, appounit, country, mobtel, dsc_biz_record_id, dsc_biz_operation, "
            "dsc_biz_timestamp FROM e_pri_person WHERE personid = '" + all_keys[20] + "'"
        )
    # the altered key is given twice (also among the 1,000): compared and counted once
    given = [(k,) for k in [*gone, altered, "zz" + all_keys[20], *all_keys[30:1030], "no-such-key"]]
    diff = compare_keys(table, source, target, given, chunk=300)
    assert sorted(diff.missing) == [(k,) for k in gone] and diff.changed == [(altered,)]
    assert diff.extra == [("zz" + all_keys[20],)] and diff.complete and diff.mode.endswith("-by-key")
    assert (diff.source_rows, diff.target_rows) == (1002, 1001)  # the keys each side holds
    assert compare_keys(table, source, target, [(k,) for k in all_keys[30:40]]).equal
    assert reconcile(table, source, target).missing_total == 3  # the whole table: the key outside too


@pytest.mark.postgres
def test_sqlite_and_postgres_holding_the_same_data_compare_equal(
    sqlite_dbs: Dbs, pg_dbs: Dbs, catalog: Catalog
) -> None:
    """Values normalised to one text form: dates, timestamps, decimals and NULLs hash the same on both."""
    simulate_into(pg_dbs.province, catalog, end=dt.date(2026, 3, 2))
    for name in ("E_BASEINFO", "E_INV_INVESTMENT"):  # decimals, dates, timestamps, NULLs
        table = catalog.table(name)
        full_reload(table, pg_dbs.engine("province"), sqlite_dbs.engine("front"))
        diff = reconcile(table, pg_dbs.engine("province"), sqlite_dbs.engine("front"))
        assert diff.equal and diff.mode == "md5-normalised", diff.summary()
        with sqlite_dbs.engine("front").begin() as conn:
            conn.exec_driver_sql(
                f"UPDATE {table.db_name} SET dsc_biz_timestamp = '2026-03-01 09:00:00.000001' WHERE rowid = 7"
            )
        assert len(reconcile(table, pg_dbs.engine("province"), sqlite_dbs.engine("front")).changed) == 1


def test_reconcile_table_records_its_result(loaded, dbs: Dbs) -> None:
    table, source, target = loaded
    ops = ExchangeRecords(dbs.engine("front")).ensure()
    with target.begin() as conn:
        conn.exec_driver_sql(
            "DELETE FROM e_pri_person WHERE personid IN (SELECT personid FROM (SELECT personid FROM e_pri_person LIMIT 5) x)"
        )
    outcome = reconcile_table(table, source, target, ops, fix=True)
    assert len(outcome.diff.missing) == 5 and outcome.after is not None and outcome.after.equal
    with target.connect() as conn:
        row = conn.execute(sa.select(ops.tables.reconciliations)).mappings().one()
    assert (row["table_name"], row["missing"], row["repaired"]) == ("E_PRI_PERSON", 5, True)


def test_a_wiped_target_is_counted_exactly_sampled_and_repaired_in_bounded_batches(loaded) -> None:
    """More keys differ than a comparison keeps: the counts are exact, at most ``max_keys`` keys are held and
    reported, the days of a ranged check add up to the count, and the repair copies the groups the target lost
    holding at most ``batch`` rows at a time."""
    table, source, target = loaded
    live = province_live(source, table)
    with target.begin() as conn:
        conn.exec_driver_sql("DELETE FROM e_pri_person")
    diff = reconcile(table, source, target, max_keys=50)
    assert (diff.missing_total, diff.extra_total, diff.changed_total) == (len(live), 0, 0)
    assert len(diff.missing) == 50 and not diff.extra and not diff.changed and not diff.complete
    assert set(diff.missing) <= {(r[0],) for r in live}
    assert diff.summary()["missing"] == len(live) and f"目标端缺失 {len(live):,} 条" in diff_report(diff)

    # the nightly check keeps MAX_KEYS_REPORTED keys; those beyond are counted on the window's first day
    days = health.reconcile_days(table, source, target, dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 3))
    assert days["2026-03-01"].metadata["missing"] == len(live) > MAX_KEYS_REPORTED
    assert sum(o.metadata.get("day_missing", 0) for o in days.values()) == len(live)

    fixed = repair(table, source, target, diff, batch=40)
    assert (fixed.copied, fixed.deleted) == (len(live), 0)
    assert 0 < fixed.largest_batch <= 40 and fixed.batches >= len(live) / 40
    assert snapshot(target, table) == live
    assert reconcile(table, source, target).equal


def test_an_overfilled_target_is_counted_exactly_and_repaired_in_bounded_batches(loaded) -> None:
    """Extra rows by the thousand (a group the source does not hold, deleted by its key range) and missing,
    changed and extra keys among the source's own, more than ``max_keys``: exact counts, a capped sample, and a
    repair holding at most ``batch`` keys at a time that leaves the target equal to the source."""
    table, source, target = loaded
    live = province_live(source, table)
    all_keys = [k for (k,) in keys(target, "SELECT personid FROM e_pri_person ORDER BY personid")]
    columns = (
        "pripid, name, sex, natdate, certype, cerno, position, position_cn, lerepsign, appounit, country, "
        "mobtel, dsc_biz_record_id, dsc_biz_operation, dsc_biz_timestamp"
    )
    in_keys = sa.bindparam("k", expanding=True)
    with target.begin() as conn:
        zz, x = family(conn).concat(["'zz'", "personid"]), family(conn).concat(["personid", "'x'"])
        conn.exec_driver_sql(f"INSERT INTO e_pri_person SELECT {zz}, {columns} FROM e_pri_person")
        conn.execute(
            sa.text(
                f"INSERT INTO e_pri_person SELECT {x}, {columns} FROM e_pri_person WHERE personid IN :k"
            ).bindparams(in_keys),
            {"k": all_keys[::30]},
        )
        conn.execute(
            sa.text("UPDATE e_pri_person SET mobtel = '13000000000' WHERE personid IN :k").bindparams(
                in_keys
            ),
            {"k": all_keys[1::25]},
        )
        conn.execute(
            sa.text("DELETE FROM e_pri_person WHERE personid IN :k").bindparams(in_keys),
            {"k": all_keys[2::40]},
        )
    expected = (len(all_keys[2::40]), len(all_keys) + len(all_keys[::30]), len(all_keys[1::25]))
    diff = reconcile(table, source, target, max_keys=50)
    assert (diff.missing_total, diff.extra_total, diff.changed_total) == expected
    assert len(diff.missing) + len(diff.extra) + len(diff.changed) == 50
    report = diff_report(diff)
    assert f"目标端多出 {expected[1]:,} 条" in report and f"内容不一致 {expected[2]:,} 条" in report

    fixed = repair(table, source, target, diff, batch=40)
    assert (fixed.copied, fixed.deleted) == (expected[0] + expected[2], expected[1])
    assert 0 < fixed.largest_batch <= 40
    assert snapshot(target, table) == live
    assert reconcile(table, source, target).equal


def test_reconcile_table_repairs_a_wiped_target_and_records_the_exact_counts(loaded, dbs: Dbs) -> None:
    table, source, target = loaded
    live = province_live(source, table)
    ops = ExchangeRecords(dbs.engine("front")).ensure()
    with target.begin() as conn:
        conn.exec_driver_sql("DELETE FROM e_pri_person")
    outcome = reconcile_table(table, source, target, ops, fix=True)
    assert outcome.diff.missing_total == len(live) > MAX_KEYS_REPORTED == len(outcome.diff.missing)
    assert outcome.after is not None and outcome.after.equal and snapshot(target, table) == live
    with target.connect() as conn:
        row = conn.execute(sa.select(ops.tables.reconciliations)).mappings().one()
    assert (row["missing"], row["extra"], row["changed"], row["repaired"]) == (len(live), 0, 0, True)


def test_reinitialisation_is_refused_without_reason_or_approver(loaded, dbs: Dbs) -> None:
    table, source, target = loaded
    ops = ExchangeRecords(dbs.engine("front")).ensure()
    for reason, approver in (("", "王科长"), ("代码集变更", ""), ("  ", "  ")):
        with pytest.raises(ApprovalMissing, match=r"原因.*审批人"):
            reinitialise(table, source, target, ops, Approval(reason, approver))
    assert ops.reinits() == []


def test_reinitialisation_audits_and_readers_never_see_a_half_table(loaded, dbs: Dbs) -> None:
    table, source, target = loaded
    ops = ExchangeRecords(dbs.engine("front")).ensure()
    with target.begin() as conn:  # the front has drifted: rows lost and rows that should not be there
        conn.exec_driver_sql(
            "DELETE FROM e_pri_person WHERE personid IN (SELECT personid FROM (SELECT personid FROM e_pri_person LIMIT 40) x)"
        )
    before = len(snapshot(target, table))
    expected = len(province_live(source, table))
    seen: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            with target.connect() as conn:
                seen.append(
                    conn.execute(sa.select(sa.func.count()).select_from(sa_table(table))).scalar_one()
                )

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        _, check = reinitialise(
            table,
            source,
            target,
            ops,
            Approval("代码集调整导致差异较大", "市局管理员 王某", run_id="test-run"),
        )
    finally:
        stop.set()
        thread.join()
    assert check.diff.equal and snapshot(target, table) == province_live(source, table)
    assert seen and set(seen) <= {before, expected}, sorted(set(seen))
    (audit,) = ops.reinits()
    assert (audit["table_name"], audit["approved_by"], audit["status"]) == (
        "E_PRI_PERSON",
        "市局管理员 王某",
        "succeeded",
    )
    assert (audit["rows_before"], audit["rows_after"]) == (before, expected)
    assert audit["reason"] == "代码集调整导致差异较大" and audit["finished_at"] >= audit["requested_at"]
    assert '"missing": 0' in audit["reconciliation"]


@pytest.mark.postgres
def test_a_read_only_province_account_is_enough(pg_dbs: Dbs, catalog: Catalog) -> None:
    """The province grants SELECT and nothing else (no temporary tables): loads and reconciliations as of a
    moment, with keys in flux left out, still work."""
    from shaoxing_ops.exchange import make_engine

    simulate_into(pg_dbs.province, catalog, end=dt.date(2026, 3, 2))
    owner = pg_dbs.engine("province")
    role = f"sxops_ro_{uuid.uuid4().hex[:8]}"
    database = sa.engine.make_url(pg_dbs.province).database
    with owner.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC')
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    try:
        ro_url = sa.engine.make_url(pg_dbs.province).set(username=role).render_as_string(hide_password=False)
        province, front = make_engine(ro_url, role="province"), pg_dbs.engine("front")
        with province.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.exec_driver_sql("CREATE TEMPORARY TABLE t (k int)")
        table = catalog.table("E_PRI_PERSON")
        copy_window(table, province, front, dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 3))
        keys = [(r[0],) for r in province_live(province, table)[:3]]
        diff = reconcile(table, province, front, as_of=dt.datetime(2026, 3, 3), ignore=keys)
        assert diff.equal and diff.source_rows == len(province_live(province, table)) - 3
        province.dispose()
    finally:
        with owner.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        owner.dispose()


def test_row_count_with_the_reconciliations_totals_says_what_it_says_alone(loaded) -> None:
    """The nightly checks scan each table once a side: the row count taking its whole-table totals from the
    reconciliation of the same window answers exactly as counting by itself, with differences in the front
    and keys changed after the window on both sides."""
    table, source, target = loaded
    all_keys = [k for (k,) in keys(target, "SELECT personid FROM e_pri_person ORDER BY personid")]
    start, end = dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 3)
    late = end + dt.timedelta(hours=1)
    with target.begin() as conn:
        conn.execute(
            sa.text("DELETE FROM e_pri_person WHERE personid IN :k").bindparams(
                sa.bindparam("k", expanding=True)
            ),
            {"k": all_keys[10:13]},
        )
        conn.execute(
            sa.text("UPDATE e_pri_person SET dsc_biz_timestamp = :t WHERE personid = :k"),
            {"t": late, "k": all_keys[300]},
        )
        zz = family(conn).concat(["'zz'", "personid"])
        conn.exec_driver_sql(
            f"INSERT INTO e_pri_person SELECT {zz}, pripid, name, sex, natdate, certype, cerno, position, "
            "position_cn, lerepsign, appounit, country, mobtel, dsc_biz_record_id, dsc_biz_operation, "
            "dsc_biz_timestamp FROM e_pri_person WHERE personid = '" + all_keys[20] + "'"
        )
    with source.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE e_pri_person SET mobtel = '13900000000', dsc_biz_timestamp = :t WHERE personid = :k"
            ),
            {"t": late, "k": all_keys[400]},
        )
    moving = health.flux(table, source, target, end)
    assert moving.keys == {(all_keys[300],), (all_keys[400],)}
    reconciled = health.reconcile_days(table, source, target, start, end, moving)
    alone = health.row_count(table, source, target, start, end)
    shared = health.row_count(
        table, source, target, start, end, 0.0, moving, health.reconciled_totals(reconciled)
    )

    def said(days: health.Days) -> dict:
        return {d: (o.passed, o.description, o.metadata) for d, o in days.items()}

    assert said(shared) == said(alone)
    # The check step's tallies: one statement a side serves the row count, freshness and volume checks, the
    # source's with the volume check's history, and they answer as each check does by itself.
    seen: dict[str, int] = {"source": 0, "target": 0}

    def counter(side: str):  # type: ignore[no-untyped-def]
        def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
            if statement.lstrip().upper().startswith("SELECT"):  # SQLite's engine begins its own transactions
                seen[side] += 1

        return count

    listeners = [(source, counter("source")), (target, counter("target"))]
    for engine, listener in listeners:
        sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        tallies = health.step_tallies(table, source, target, start, end, totals=True, history=True)
    finally:
        for engine, listener in listeners:
            sa.event.remove(engine, "before_cursor_execute", listener)
    assert seen == {"source": 1, "target": 1}
    assert said(health.row_count(table, source, target, start, end, 0.0, moving, None, tallies)) == said(
        alone
    )
    assert said(health.freshness(table, source, target, start, end, tallies=tallies)) == said(
        health.freshness(table, source, target, start, end)
    )
    by_itself = health.volume(table, source, start, end, 40.0)
    assert said(health.volume(table, source, start, end, 40.0, tallies[0])) == said(by_itself)
    assert by_itself["2026-03-02"].metadata["rows"] == len(
        keys(
            source,
            "SELECT personid FROM e_pri_person WHERE dsc_biz_timestamp >= '2026-03-02' "
            "AND dsc_biz_timestamp < '2026-03-03'",
        )
    )
    whole = alone["2026-03-02"].metadata
    assert whole["total_difference"] == -3 + 1 and whole["keys_changed_after_window"] == 2
    assert (
        whole["total_source_rows"] == len(province_live(source, table)) - 2
    )  # the two keys in flux left out
    # a window compared by its changed keys has no whole-table totals to share: the row count counts alone
    changed_only = health.reconcile_days(table, source, target, start, end, moving, whole_table=False)
    assert health.reconciled_totals(changed_only) is None
    assert {o.metadata["scope"] for o in changed_only.values()} == {"changed_in_window"}
    # given the window's start, the keys in flux come with the keys changed in the window, one query a side
    windowed = health.flux(table, source, target, end, since=start)
    assert (windowed.keys, windowed.source, windowed.target) == (moving.keys, moving.source, moving.target)
    assert windowed.window == health.keys_changed(source, table, start, end) | health.keys_changed(
        target, table, start, end
    )
    assert windowed.window  # not two empty sets

    def untimed(days: health.Days) -> dict:  # a comparison's metadata says how long it took
        return {
            d: (ok, text, {k: v for k, v in meta.items() if k != "seconds"})
            for d, (ok, text, meta) in said(days).items()
        }

    assert untimed(
        health.reconcile_days(table, source, target, start, end, windowed, whole_table=False)
    ) == untimed(changed_only)


def test_on_mariadb_each_step_down_reads_a_key_range_not_the_whole_table(
    mysql_dbs: Dbs, catalog: Catalog
) -> None:
    """Where the key column already collates byte by byte (utf8mb4_bin), the reconciliation's narrower groups
    are range scans of the key's index (MariaDB's EXPLAIN says ``range``), not a scan of the whole index
    for every group: a `COLLATE` on the column would make them so."""
    simulate_into(mysql_dbs.province, catalog, end=dt.date(2026, 3, 2))
    table = catalog.table("E_PRI_PERSON")
    source, target = mysql_dbs.engine("province"), mysql_dbs.engine("front")
    full_reload(table, source, target)
    with target.begin() as conn:
        conn.exec_driver_sql("DELETE FROM e_pri_person ORDER BY personid LIMIT 1")
    ranged: list[tuple[str, dict]] = []

    def keep(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "%(lo)s" in statement and statement.lstrip().upper().startswith("SELECT"):
            ranged.append((statement, dict(parameters)))

    sa.event.listen(target, "before_cursor_execute", keep)
    diff = reconcile(table, source, target)
    sa.event.remove(target, "before_cursor_execute", keep)
    assert len(diff.missing) == 1 and ranged, "the reconciliation stepped down into a key range"
    with target.connect() as conn:
        plans = {
            conn.exec_driver_sql(f"EXPLAIN {sql}", params).mappings().first()["type"]
            for sql, params in ranged
        }
    assert plans == {"range"}
