"""Statistics benchmark, run by hand (not in CI): `python bench/stats.py [--entities 1200000]`.

Builds scale-1.0 registration tables in a fresh PostgreSQL database (≈0.8 M live entities among ≈1.2 M
registered over 30 years, of them ≈0.4 M deregistered and ≈30 k revoked; enterprises with registered capital,
some in 美元 or 港元), then times all 36 months of 2024-01 … 2026-12 computed by the platform (every dimension
including 私营企业, stock, flows, 注册资本, 同比/环比/累计) against one equivalent SQL aggregation (new,
deregistered and revoked per county, category and month over the same join, kept as it was so that figures
before and after the capital stay comparable) measured in the same run. Target: <= 1.5x.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from exchange import best, drop_db, new_db, say  # noqa: E402

from shaoxing_ops.catalog import load_catalog  # noqa: E402
from shaoxing_ops.exchange import ensure_table, make_engine  # noqa: E402
from shaoxing_ops.stats import Settings, compute_months, month_range  # noqa: E402

REGORGS = "ARRAY['330602','330603','330621','330604','330624','330681','330683','330600']"
ENTTYPES = "ARRAY['1130','1130','1130','1151','1150','2100','4540','5110','9100']"
INDUSTRIES = "ARRAY['F','F','F','F','C','C','L','M','E','I','H','O','A','G','K']"
CAPITALS = "ARRAY[10,30,50,100,200,500,1000,3000,5000]"  # 万元; 5110 (中外合资) in 美元, 港元 or 人民币

# One equivalent aggregation: the same join, counted per county, category and month of each event.
BASELINE = """
SELECT county, category, m, sum(new), sum(cancelled), sum(revoked) FROM (
  SELECT CASE WHEN substr(e.regorg, 1, 6) = '330621' THEN '330603' ELSE substr(e.regorg, 1, 6) END AS county,
         CASE WHEN e.src = 'pb' THEN '2' WHEN e.enttype IN ('9100', '9200') THEN '3' ELSE '1' END AS category,
         to_char(d.day, 'YYYY-MM') AS m,
         (d.kind = 'n')::int AS new, (d.kind = 'c')::int AS cancelled, (d.kind = 'r')::int AS revoked
  FROM (SELECT 'ent' AS src, pripid, regorg, enttype, estdate FROM e_baseinfo
        UNION ALL SELECT 'pb', pripid, regorg, enttype, estdate FROM e_pb_baseinfo) e
  LEFT JOIN e_cancel c ON c.pripid = e.pripid LEFT JOIN e_revoke r ON r.pripid = e.pripid
  CROSS JOIN LATERAL (VALUES ('n', e.estdate), ('c', c.candate), ('r', r.revdate)) d(kind, day)
  WHERE d.day >= DATE '2024-01-01' AND d.day < DATE '2027-01-01'
) x GROUP BY 1, 2, 3
"""


def build(url: str, entities: int) -> dict[str, int]:
    """The four registration tables at scale 1.0, generated inside the database."""
    catalog = load_catalog()
    engine = make_engine(url)
    for name in ("E_BASEINFO", "E_PB_BASEINFO", "E_CANCEL", "E_REVOKE"):
        ensure_table(engine, catalog.table(name))
    ent = int(entities * 0.36)
    platform = "'r' || g, 'I', timestamp '2026-12-31 20:00'"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"""
            INSERT INTO e_baseinfo (pripid, entname, enttype, industryphy, estdate, regorg, regstate, regcap,
                                    regcapcur, dsc_biz_record_id, dsc_biz_operation, dsc_biz_timestamp)
            SELECT 'e' || lpad(g::text, 9, '0'), '企业' || g, ({ENTTYPES})[1 + g %% 9], ({INDUSTRIES})[1 + g %% 15],
                   DATE '2027-01-01' - (power(random(), 1.6) * 365 * 30)::int, ({REGORGS})[1 + (g * 7) %% 8], '1',
                   ({CAPITALS})[1 + (g / 9) %% 9],
                   CASE WHEN g %% 9 = 7 THEN (ARRAY['840','344','156'])[1 + (g / 9) %% 3] ELSE '156' END,
                   {platform}
            FROM generate_series(1, {ent}) g""")
        conn.exec_driver_sql(f"""
            INSERT INTO e_pb_baseinfo (pripid, traname, enttype, industryphy, estdate, regorg, regstate,
                                       dsc_biz_record_id, dsc_biz_operation, dsc_biz_timestamp)
            SELECT 'p' || lpad(g::text, 9, '0'), '个体' || g, '9600', ({INDUSTRIES})[1 + g %% 15],
                   DATE '2027-01-01' - (power(random(), 1.4) * 365 * 30)::int, ({REGORGS})[1 + (g * 5) %% 8], '1',
                   {platform}
            FROM generate_series(1, {entities - ent}) g""")
        for t in ("e_baseinfo", "e_pb_baseinfo"):  # a third deregistered some time after set-up
            conn.exec_driver_sql(f"""
                INSERT INTO e_cancel (pripid, candate, dsc_biz_record_id, dsc_biz_operation, dsc_biz_timestamp)
                SELECT pripid, least(estdate + (random() * 365 * 12)::int, DATE '2026-12-31'), {platform.replace("g", "1")}
                FROM {t} WHERE random() < 0.33""")
            conn.exec_driver_sql(f"""
                INSERT INTO e_revoke (pripid, revdate, dsc_biz_record_id, dsc_biz_operation, dsc_biz_timestamp)
                SELECT pripid, least(estdate + (random() * 365 * 8)::int, DATE '2026-12-31'), {platform.replace("g", "1")}
                FROM {t} WHERE random() < 0.025""")
        for t in ("e_baseinfo", "e_pb_baseinfo", "e_cancel", "e_revoke"):
            conn.exec_driver_sql(f"ANALYZE {t}")
        return {
            t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
            for t in ("e_baseinfo", "e_pb_baseinfo", "e_cancel", "e_revoke")
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entities", type=int, default=1_200_000, help="registered entities (live and dead)")
    args = parser.parse_args()
    url = new_db("stats")
    try:
        say(f"building {args.entities:,} entities …")
        counts = build(url, args.entities)
        say("   " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        engine = make_engine(url)
        months = month_range("2024-01", "2026-12")
        settings = Settings(since="2024-01")

        def baseline() -> int:
            with engine.connect() as conn:
                return len(conn.exec_driver_sql(BASELINE).all())

        base_s, groups = best(baseline)
        say(f"== {len(months)} months of statistics, PostgreSQL")
        say(f"   one equivalent SQL aggregation ({groups:,} groups):      {base_s:7.2f} s")
        ours_s, frame = best(lambda: compute_months(engine, months, settings))
        live = frame.total("2026-12")["stock"]
        say(
            f"   platform, all dimensions and measures ({frame.long.height:,} rows): {ours_s:7.2f} s   "
            f"ratio {ours_s / base_s:5.2f}x  (target <= 1.5x)"
        )
        say(f"   stock at 2026-12: {live:,} entities; cube of {frame.cube_rows:,} rows")
        engine.dispose()
    finally:
        drop_db(url)


if __name__ == "__main__":
    main()
