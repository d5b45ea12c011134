"""Reconciliation benchmark, run by hand (not in CI): `python bench/reconcile.py [--rows 1000000] [--only pg|mariadb]`.

Checksum comparison of two identical >= 1 M-row E_BASEINFO tables in two databases of one server, and of two
that differ in 10 rows, each as a ratio to a full copy of the table measured in the same run: on PostgreSQL
the raw `psql COPY | psql COPY` pipe of bench/exchange.py, on MariaDB `mysqldump | mysql` of
bench/mariadb_reload.py. Targets: <= 0.3x when identical, <= 0.5x with 10 differences. MariaDB is skipped, and
said so, where no server answers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import exchange  # noqa: E402
import mariadb_reload  # noqa: E402

from shaoxing_ops.catalog import load_catalog  # noqa: E402
from shaoxing_ops.exchange import full_reload, make_engine  # noqa: E402
from shaoxing_ops.exchange.reconcile import reconcile  # noqa: E402

say, best = exchange.say, exchange.best


def plant_ten(target: sa.Engine) -> None:
    """4 rows missing, 3 changed, 3 extra, in SQL both servers speak."""
    with target.begin() as conn:
        pick = "SELECT pripid FROM e_baseinfo ORDER BY pripid"
        gone = [r[0] for r in conn.exec_driver_sql(f"{pick} LIMIT 4 OFFSET 1000")]
        changed = [r[0] for r in conn.exec_driver_sql(f"{pick} DESC LIMIT 3")]
        copied = [r[0] for r in conn.exec_driver_sql(f"{pick} LIMIT 3")]
        keys = sa.bindparam("k", expanding=True)
        conn.execute(sa.text("DELETE FROM e_baseinfo WHERE pripid IN :k").bindparams(keys), {"k": gone})
        conn.execute(
            sa.text("UPDATE e_baseinfo SET dom = concat(dom, '（改）') WHERE pripid IN :k").bindparams(keys),
            {"k": changed},
        )
        cols = [c.name for c in load_catalog().table("E_BASEINFO").columns if c.name != "pripid"]
        conn.execute(
            sa.text(
                f"INSERT INTO e_baseinfo (pripid, {', '.join(cols)}) SELECT concat('x', substr(pripid, 2)), "
                f"{', '.join(cols)} FROM e_baseinfo WHERE pripid IN :k"
            ).bindparams(keys),
            {"k": copied},
        )


def measure(src: str, tgt: str, copy_s: float, copy_label: str) -> None:
    table = load_catalog().table("E_BASEINFO")
    source, target = make_engine(src), make_engine(tgt)
    say(f"   {copy_label + ':':<41}{copy_s:7.2f} s")
    same_s, diff = best(lambda: reconcile(table, source, target))
    assert diff.equal, diff.summary()
    say(
        f"   checksum comparison, identical tables:   {same_s:7.2f} s   ratio {same_s / copy_s:5.2f}x  "
        f"(target <= 0.3x), {diff.source_rows:,} rows, {diff.mode}"
    )
    plant_ten(target)
    ten_s, diff = best(lambda: reconcile(table, source, target))
    found = (diff.missing_total, diff.changed_total, diff.extra_total)
    assert found == (4, 3, 3), found
    say(
        f"   checksum comparison, 10 differences:     {ten_s:7.2f} s   ratio {ten_s / copy_s:5.2f}x  (target <= 0.5x)"
    )
    say(
        f"   found exactly: {found[0]} missing, {found[1]} changed, {found[2]} extra; "
        f"{diff.groups_compared} groups compared"
    )
    source.dispose()
    target.dispose()


def on_postgres(rows: int) -> None:
    src, tgt = exchange.new_db("rsrc"), exchange.new_db("rtgt")
    try:
        n = exchange.grow_baseinfo(src, rows)
        full_reload(load_catalog().table("E_BASEINFO"), make_engine(src), make_engine(tgt))
        say(f"== reconciliation of E_BASEINFO, {n:,} rows, PostgreSQL vs PostgreSQL")
        copy_s = min(exchange.raw_pipe(src, tgt, indexed=False) for _ in range(2))
        measure(src, tgt, copy_s, "full COPY of the table (raw pipe)")
    finally:
        exchange.drop_db(src)
        exchange.drop_db(tgt)


def on_mariadb(rows: int) -> None:
    src, tgt = mariadb_reload.new_db("rsrc"), mariadb_reload.new_db("rtgt")
    try:
        n = mariadb_reload.grow_baseinfo(src, rows)
        say(f"== reconciliation of E_BASEINFO, {n:,} rows, MariaDB vs MariaDB")
        copy_s = min(mariadb_reload.floor(src, tgt) for _ in range(2))  # leaves the target without the table
        full_reload(load_catalog().table("E_BASEINFO"), make_engine(src), make_engine(tgt))
        measure(src, tgt, copy_s, "mysqldump | mysql of the table")
    finally:
        for url in (src, tgt):
            mariadb_reload.server_sql(f"DROP DATABASE IF EXISTS `{sa.engine.make_url(url).database}`")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["pg", "mariadb"])
    args = parser.parse_args()
    if args.only in (None, "pg"):
        on_postgres(args.rows)
    if args.only in (None, "mariadb"):
        mariadb_reload.when_server("MariaDB", on_mariadb, args.rows)


if __name__ == "__main__":
    main()
