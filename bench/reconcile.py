"""Reconciliation benchmark, run by hand (not in CI): `python bench/reconcile.py [--rows 1000000]`.

Checksum comparison of two identical >= 1 M-row E_BASEINFO tables on two PostgreSQL databases, and of two that
differ in 10 rows, each as a ratio to a full COPY of the table measured in the same run (the raw pipe of
bench/exchange.py). Targets: <= 0.3x when identical, <= 0.5x with 10 differences.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from exchange import drop_db, grow_baseinfo, new_db, raw_pipe, say  # noqa: E402

from shaoxing_ops.catalog import load_catalog  # noqa: E402
from shaoxing_ops.exchange import full_reload, make_engine  # noqa: E402
from shaoxing_ops.exchange.reconcile import reconcile  # noqa: E402


def best(fn, times: int = 3) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    out, best_s = None, float("inf")
    for _ in range(times):
        started = time.perf_counter()
        out = fn()
        best_s = min(best_s, time.perf_counter() - started)
    return best_s, out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    table = load_catalog().table("E_BASEINFO")
    src, tgt = new_db("rsrc"), new_db("rtgt")
    try:
        n = grow_baseinfo(src, args.rows)
        source, target = make_engine(src), make_engine(tgt)
        full_reload(table, source, target)
        say(f"== reconciliation of E_BASEINFO, {n:,} rows, PostgreSQL vs PostgreSQL")
        copy_s = min(raw_pipe(src, tgt, indexed=False) for _ in range(2))
        say(f"   full COPY of the table (raw pipe):       {copy_s:7.2f} s")
        same_s, diff = best(lambda: reconcile(table, source, target))
        assert diff.equal, diff.summary()
        say(
            f"   checksum comparison, identical tables:   {same_s:7.2f} s   ratio {same_s / copy_s:5.2f}x  (target <= 0.3x)"
        )
        with target.begin() as conn:  # 10 differences: 4 missing, 3 changed, 3 extra
            conn.exec_driver_sql("DELETE FROM e_baseinfo WHERE pripid IN (SELECT pripid FROM e_baseinfo "
                                 "ORDER BY pripid OFFSET 1000 LIMIT 4)")  # fmt: skip
            conn.exec_driver_sql("UPDATE e_baseinfo SET dom = dom || '（改）' WHERE pripid IN (SELECT pripid FROM "
                                 "e_baseinfo ORDER BY pripid DESC LIMIT 3)")  # fmt: skip
            conn.exec_driver_sql("INSERT INTO e_baseinfo SELECT 'x' || substr(pripid, 2), uniscid, entname, regno, "
                                 "enttype, enttype_cn, industryphy, industryco, estdate, apprdate, regorg, regorg_cn, "
                                 "localadm, regstate, regstate_cn, domdistrict, dom, postalcode, opscope, opfrom, opto, "
                                 "regcap, regcapcur, name, tel, empnum, dsc_biz_record_id, dsc_biz_operation, "
                                 "dsc_biz_timestamp FROM e_baseinfo ORDER BY pripid LIMIT 3")  # fmt: skip
        ten_s, diff = best(lambda: reconcile(table, source, target))
        found = (len(diff.missing), len(diff.changed), len(diff.extra))
        assert found == (4, 3, 3), found
        say(
            f"   checksum comparison, 10 differences:     {ten_s:7.2f} s   ratio {ten_s / copy_s:5.2f}x  (target <= 0.5x)"
        )
        say(f"   found exactly: {found[0]} missing, {found[1]} changed, {found[2]} extra; "
            f"{diff.groups_compared} groups compared")  # fmt: skip
    finally:
        drop_db(src)
        drop_db(tgt)


if __name__ == "__main__":
    main()
