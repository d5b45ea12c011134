"""The statistics as tables of the front database: the long table and two ready pivots, replaced per month."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .compute import LONG_MEASURES, StatsFrame
from .dimensions import COUNTIES

LONG_TABLE = "stats_market_entity"
COUNTY_CATEGORY_TABLE = "stats_pivot_county_category"
INDUSTRY_COUNTY_TABLE = "stats_pivot_industry_county"
CATEGORY_SLUGS = {"1": "enterprise", "2": "individual", "3": "cooperative", "": "total"}
PIVOT_MEASURES = ("stock", "new", "cancelled", "revoked", "net")

metadata = sa.MetaData()


def _measure_type(name: str) -> sa.types.TypeEngine:
    return sa.Float() if name.endswith(("_yoy", "_mom")) or name.startswith("ratio") else sa.BigInteger()


long_table = sa.Table(
    LONG_TABLE, metadata,
    sa.Column("month", sa.String(7), primary_key=True, comment="统计月份"),
    sa.Column("dimension", sa.String(32), primary_key=True, comment="统计维度"),
    sa.Column("code1", sa.String(12), primary_key=True, comment="维度代码"),
    sa.Column("name1", sa.String(60), nullable=False, comment="维度名称"),
    sa.Column("code2", sa.String(12), primary_key=True, comment="交叉维度代码"),
    sa.Column("name2", sa.String(60), nullable=False, comment="交叉维度名称"),
    *[sa.Column(m, _measure_type(m)) for m in LONG_MEASURES],
)  # fmt: skip
county_category_table = sa.Table(
    COUNTY_CATEGORY_TABLE, metadata,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("county_code", sa.String(12), primary_key=True),
    sa.Column("county_name", sa.String(60), nullable=False),
    *[sa.Column(f"{m}_{slug}", sa.BigInteger, nullable=False) for m in PIVOT_MEASURES
      for slug in CATEGORY_SLUGS.values()],
)  # fmt: skip
industry_county_table = sa.Table(
    INDUSTRY_COUNTY_TABLE, metadata,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("industry_code", sa.String(12), primary_key=True),
    sa.Column("industry_name", sa.String(60), nullable=False),
    *[sa.Column(f"{m}_{c}", sa.BigInteger, nullable=False) for m in ("stock", "new") for c in [*COUNTIES, "999999"]],
    sa.Column("stock_total", sa.BigInteger, nullable=False),
    sa.Column("new_total", sa.BigInteger, nullable=False),
)  # fmt: skip


def county_category_pivot(frame: StatsFrame) -> pl.DataFrame:
    """One row per county and month: each measure by 企业 / 个体工商户 / 农民专业合作社 and in total."""
    parts = frame.long.filter(pl.col("dimension").is_in(["county_category", "county"]))
    rows = []
    for (month, code), group in parts.group_by(["month", "code1"], maintain_order=True):
        row = {"month": month, "county_code": code, "county_name": group["name1"][0]}
        for rec in group.iter_rows(named=True):
            slug = CATEGORY_SLUGS[rec["code2"]]
            for m in PIVOT_MEASURES:
                row[f"{m}_{slug}"] = rec[m]
        rows.append(row)
    return pl.DataFrame(rows).fill_null(0) if rows else pl.DataFrame()


def industry_county_pivot(frame: StatsFrame) -> pl.DataFrame:
    """One row per industry section and month: stock and new registrations in each county."""
    parts = frame.long.filter(pl.col("dimension").is_in(["county_industry", "industry"]))
    rows = {}
    for rec in parts.iter_rows(named=True):
        industry = rec["code2"] if rec["dimension"] == "county_industry" else rec["code1"]
        row = rows.setdefault((rec["month"], industry), {"month": rec["month"], "industry_code": industry})
        if rec["dimension"] == "industry":
            row.update(industry_name=rec["name1"], stock_total=rec["stock"], new_total=rec["new"])
        else:
            row.update({f"stock_{rec['code1']}": rec["stock"], f"new_{rec['code1']}": rec["new"]})
    return pl.DataFrame(list(rows.values())).fill_null(0) if rows else pl.DataFrame()


def _records(df: pl.DataFrame, table: sa.Table) -> list[dict]:
    names = [c.name for c in table.columns]
    out = []
    for rec in df.iter_rows(named=True):
        out.append({n: rec.get(n, 0) for n in names})
    return out


def write(engine: Engine, frame: StatsFrame, months: Sequence[str] | None = None) -> dict[str, int]:
    """Replace the given months (default: all of the frame's) in the three tables, in one transaction."""
    months = list(months or frame.months)
    selected = StatsFrame(frame.settings, months, frame.long.filter(pl.col("month").is_in(months)))
    payload = {
        long_table: _records(selected.long, long_table),
        county_category_table: _records(county_category_pivot(selected), county_category_table),
        industry_county_table: _records(industry_county_pivot(selected), industry_county_table),
    }
    with engine.begin() as conn:
        metadata.create_all(conn, checkfirst=True)
        for table, rows in payload.items():
            conn.execute(table.delete().where(table.c.month.in_(months)))
            if rows:
                conn.execute(table.insert(), rows)
    return {t.name: len(rows) for t, rows in payload.items()}


def read_long(engine: Engine, months: Sequence[str]) -> pl.DataFrame:
    with engine.connect() as conn:
        rows = (
            conn.execute(sa.select(long_table).where(long_table.c.month.in_(list(months)))).mappings().all()
        )
    return pl.DataFrame([dict(r) for r in rows]) if rows else pl.DataFrame()
