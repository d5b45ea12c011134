"""Monthly figures of Shaoxing's market entities from the front database.

The database does the heavy part in one grouped scan: every entity (enterprises and cooperatives from
E_BASEINFO, individual businesses from E_PB_BASEINFO, with their E_CANCEL and E_REVOKE dates) is counted into
a small cube by registration authority, type, industry and the months it was set up, deregistered and
revoked. Events before the first statistics month collapse into one opening bucket, so the cube stays small
whatever the register's age. polars turns the cube into every dimension's monthly figures: stock is the
running sum of set-ups minus exits, and 同比/环比/累计 are read off the complete month grid, so a county or
industry with no activity still appears, with zeros.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shaoxing_ops import settings as platform_settings
from shaoxing_ops.catalog import Catalog, load_catalog
from shaoxing_ops.domain.mapping import INDIVIDUAL_TYPES
from shaoxing_ops.exchange.dbs import is_postgres, reading
from shaoxing_ops.exchange.dialects import family
from shaoxing_ops.exchange.schema import table_exists

from . import dimensions as dims

OPENING = "0000-00"  # every event before the first statistics month
UNDATED = -1  # an entity without a set-up date: counted aside, reported
COUNTS = ("stock", "new", "cancelled", "revoked", "net")
FLOWS = ("new", "cancelled", "revoked", "net")


@dataclass(frozen=True)
class Settings:
    """How the figures are counted. ``since`` is the first month the statistics (and their comparisons) cover."""

    since: str = "2024-01"
    revoked_in_stock: bool = False  # whether 吊销未注销 entities still count in 实有
    individual_code: str = "9600"  # the type code 个体工商户 rows carry in the type dimension (9600 or 9999)

    def __post_init__(self) -> None:
        try:
            dt.date.fromisoformat(f"{self.since}-01")
        except ValueError:
            raise ValueError(
                f"statistics start month {self.since!r} is not YYYY-MM (SXOPS_STATS_SINCE)"
            ) from None
        if self.individual_code not in INDIVIDUAL_TYPES:
            raise ValueError(
                f"个体工商户 type code {self.individual_code!r} is not one of {sorted(INDIVIDUAL_TYPES)} "
                "(SXOPS_STATS_INDIVIDUAL_CODE)"
            )

    @classmethod
    def from_env(cls) -> Settings:
        """``SXOPS_STATS_SINCE`` (default: January two years before the exchange's first day), and the two
        counting choices ``SXOPS_STATS_REVOKED_IN_STOCK`` (0/1) and ``SXOPS_STATS_INDIVIDUAL_CODE``."""
        since = os.environ.get("SXOPS_STATS_SINCE") or f"{platform_settings.start_date().year - 2}-01"
        revoked = os.environ.get("SXOPS_STATS_REVOKED_IN_STOCK", "0").strip().lower() in ("1", "true", "yes")
        return cls(since, revoked, os.environ.get("SXOPS_STATS_INDIVIDUAL_CODE", "9600"))


def month_range(first: str, last: str) -> list[str]:
    """``YYYY-MM`` months from ``first`` to ``last`` included."""
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def month_end(month: str) -> dt.date:
    """The first day after ``month``."""
    y, m = int(month[:4]), int(month[5:7])
    return dt.date(y + 1, 1, 1) if m == 12 else dt.date(y, m + 1, 1)


@dataclass
class StatsFrame:
    """The figures of some months: a long table (one row per month, dimension and member) and what it rests on."""

    settings: Settings
    months: list[str]
    long: pl.DataFrame
    cube_rows: int = 0
    notes: dict[str, int] = field(default_factory=dict)

    def of(self, dimension: str, month: str) -> pl.DataFrame:
        return self.long.filter((pl.col("dimension") == dimension) & (pl.col("month") == month))

    def total(self, month: str) -> dict[str, Any]:
        rows = self.of("total", month).to_dicts()
        if not rows:
            raise KeyError(f"no figures for {month}; computed months: {self.months[0]} … {self.months[-1]}")
        return rows[0]


# -- the cube, in the database --------------------------------------------------------------------------
def _cube_sql(engine: Engine, catalog: Catalog) -> str:
    q = engine.dialect.identifier_preparer.quote
    cancel, revoke = q(catalog.table("E_CANCEL").db_name), q(catalog.table("E_REVOKE").db_name)

    def bucket(col: str) -> str:  # NULL: not (yet) happened; 0: before the first statistics month
        return (
            f"CASE WHEN {col} IS NULL OR {col} >= :until THEN NULL WHEN {col} < :since THEN 0 "
            f"ELSE {family(engine).month_of(col)} END"
        )

    parts = []
    for source, name in (("ent", "E_BASEINFO"), ("pb", "E_PB_BASEINFO")):
        t = q(catalog.table(name).db_name)
        parts.append(
            f"SELECT '{source}' AS src, substr(e.regorg, 1, 6) AS regorg, e.enttype, e.industryphy, "
            f"CASE WHEN e.estdate IS NULL THEN {UNDATED} ELSE {bucket('e.estdate')} END AS est_m, "
            f"{bucket('c.candate')} AS can_m, {bucket('r.revdate')} AS rev_m "
            f"FROM {t} e LEFT JOIN {cancel} c ON c.pripid = e.pripid LEFT JOIN {revoke} r ON r.pripid = e.pripid "
            f"WHERE e.estdate < :until OR e.estdate IS NULL"
        )
    return (
        "SELECT src, regorg, enttype, industryphy, est_m, can_m, rev_m, count(*) AS n FROM ("
        + " UNION ALL ".join(parts)
        + ") x GROUP BY src, regorg, enttype, industryphy, est_m, can_m, rev_m"
    )


def _event_counts_sql(engine: Engine, catalog: Catalog) -> dict[str, str]:
    """All deregistrations and revocations of the period, to tell those the cube could not place."""
    q = engine.dialect.identifier_preparer.quote
    return {
        label: f"SELECT count(*) FROM {q(catalog.table(name).db_name)} WHERE {col} >= :since AND {col} < :until"
        for label, name, col in (("can_m", "E_CANCEL", "candate"), ("rev_m", "E_REVOKE", "revdate"))
    }


def load_cube(engine: Engine, settings: Settings, last_month: str, catalog: Catalog | None = None
              ) -> tuple[pl.DataFrame, dict[str, int]]:  # fmt: skip
    """The grouped counts up to the end of ``last_month``, with the counts of records it could not place:
    entities without a set-up date, deregistrations and revocations of no known entity. Never silently lost."""
    catalog = catalog or load_catalog()
    missing = [n for n in ("E_BASEINFO", "E_PB_BASEINFO", "E_CANCEL", "E_REVOKE")
               if not table_exists(engine, catalog.table(n).db_name)]  # fmt: skip
    if missing:
        raise LookupError(
            f"the front database has no {', '.join(missing)} yet: load the registration tables first "
            "(materialise province/registration/* or run `shaoxing-ops demo`)"
        )
    params = {"since": dt.date.fromisoformat(f"{settings.since}-01"), "until": month_end(last_month)}
    binds = [sa.bindparam("since", type_=sa.Date), sa.bindparam("until", type_=sa.Date)]
    with reading(engine.connect()) as conn:
        if is_postgres(engine):  # tens of thousands of groups: hash them rather than sort a million rows
            conn.exec_driver_sql("SET LOCAL enable_sort = off")
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        rows = conn.execute(sa.text(_cube_sql(engine, catalog)).bindparams(*binds), params).all()
        events = {
            col: int(conn.execute(sa.text(sql).bindparams(*binds), params).scalar_one())
            for col, sql in _event_counts_sql(engine, catalog).items()
        }
    schema = {"src": pl.String, "regorg": pl.String, "enttype": pl.String, "industryphy": pl.String,
              "est_m": pl.Int32, "can_m": pl.Int32, "rev_m": pl.Int32, "n": pl.Int64}  # fmt: skip
    cube = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    undated = cube.filter(pl.col("est_m") == UNDATED)
    cube = cube.filter(pl.col("est_m") != UNDATED)
    placed = {col: int(cube.filter(pl.col(col) > 0)["n"].sum()) for col in events}
    notes = {
        "undated_entities": int(undated["n"].sum()),
        "unmatched_cancellations": events["can_m"] - placed["can_m"],
        "unmatched_revocations": events["rev_m"] - placed["rev_m"],
    }

    def label(col: str) -> pl.Expr:
        m = pl.col(col)
        text = (m // 100).cast(pl.String) + "-" + (m % 100).cast(pl.String).str.zfill(2)
        return pl.when(m == 0).then(pl.lit(OPENING)).otherwise(text).alias(col)

    return cube.with_columns(label("est_m"), label("can_m"), label("rev_m")), notes


def _classify(cube: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Each cube row's county, category, type family, industry section and sector (mapped once per distinct key)."""
    keys = cube.select("src", "regorg", "enttype", "industryphy").unique()
    mapped = []
    for src, regorg, enttype, industryphy in keys.iter_rows():
        category = dims.category_of(src, enttype, tuple(INDIVIDUAL_TYPES))
        industry = dims.industry_of(industryphy)
        mapped.append((src, regorg, enttype, industryphy, dims.county_of(regorg), category,
                       dims.family_of(category, enttype, settings.individual_code), industry,
                       dims.SECTOR_OF.get(industry, dims.UNKNOWN)))  # fmt: skip
    schema = {c: pl.String for c in ("src", "regorg", "enttype", "industryphy", "county", "category", "family",
                                     "industry", "sector")}  # fmt: skip
    table = pl.DataFrame(mapped, schema=schema, orient="row")
    return cube.join(table, on=["src", "regorg", "enttype", "industryphy"], how="left", nulls_equal=True)


# -- the figures, in polars -----------------------------------------------------------------------------
def _pct(cur: pl.Expr, prev: pl.Expr) -> pl.Expr:
    """Growth in percent; none where the base is missing or zero (no infinities, no invented zeros)."""
    return (
        pl.when(prev.is_null() | (prev == 0))
        .then(None)
        .otherwise(((cur - prev) / prev.abs() * 100).round(2))
        .cast(pl.Float64)
    )


def _grid(columns: Sequence[str], data: pl.DataFrame, settings: Settings, months: list[str]) -> pl.DataFrame:
    """Every member (those the report always shows, plus any other the data holds) × every month."""
    grid = pl.DataFrame({"m": [OPENING, *months]})
    for col in columns:
        known = list(dims.members(col, settings.individual_code))
        extra = sorted(set(data.get_column(col).unique().to_list()) - set(known) - {None})
        values = known + extra
        grid = grid.join(pl.DataFrame({col: values, f"{col}_ord": list(range(len(values)))}), how="cross")
    return grid


def _dimension(
    cube: pl.DataFrame, dim: dims.Dimension, settings: Settings, months: list[str]
) -> pl.DataFrame:
    cols = list(dim.columns)
    events = []
    for name, bucket in (("new", "est_m"), ("cancelled", "can_m"), ("revoked", "rev_m"), ("exits", "exit_m")):
        events.append(
            cube.filter(pl.col(bucket).is_not_null())
            .group_by([*cols, bucket])
            .agg(pl.col("n").sum().alias(name))
            .rename({bucket: "m"})
        )
    grid = _grid(cols, cube, settings, months)
    frame = grid
    for ev in events:
        frame = frame.join(ev, on=[*cols, "m"], how="left")
    order = [f"{c}_ord" for c in cols]  # report order of the members (the six units, then 市本级; A … T)
    frame = frame.with_columns(pl.col("new", "cancelled", "revoked", "exits").fill_null(0)).sort(
        [*order, "m"]
    )
    over = cols or None

    def within(expr: pl.Expr) -> pl.Expr:
        return expr.over(over) if over else expr

    frame = frame.with_columns(
        stock=within(pl.col("new").cum_sum() - pl.col("exits").cum_sum()),
        net=pl.col("new") - pl.col("cancelled"),
    ).filter(pl.col("m") != OPENING)
    year = pl.col("m").str.slice(0, 4)
    ytd_known = (year + "-01") >= settings.since  # a year that started before the data has no honest 累计
    shifted = {}
    for c in COUNTS:
        shifted[f"{c}_mom"] = _pct(pl.col(c), within(pl.col(c).shift(1)))
        shifted[f"{c}_yoy"] = _pct(pl.col(c), within(pl.col(c).shift(12)))
    for c in FLOWS:
        shifted[f"{c}_ytd"] = pl.when(ytd_known).then(pl.col(c).cum_sum().over([*cols, year])).otherwise(None)
    frame = frame.with_columns(**shifted)
    frame = frame.with_columns(
        ratio=pl.when(pl.col("cancelled") > 0)
        .then((pl.col("new") / pl.col("cancelled")).round(2))
        .otherwise(None),
        ratio_ytd=pl.when(pl.col("cancelled_ytd") > 0)
        .then((pl.col("new_ytd") / pl.col("cancelled_ytd")).round(2))
        .otherwise(None),
    )
    c1, c2 = [*cols, None, None][:2]
    named = []
    for code_col, name_col, col in (("code1", "name1", c1), ("code2", "name2", c2)):
        if col is None:
            named += [
                pl.lit("").alias(code_col),
                pl.lit("全市" if code_col == "code1" else "").alias(name_col),
            ]
        else:
            names = {
                v: dims.member_name(col, v, settings.individual_code) for v in frame[col].unique().to_list()
            }
            named += [pl.col(col).alias(code_col), pl.col(col).replace_strict(names).alias(name_col)]
    return frame.select(
        pl.col("m").alias("month"), pl.lit(dim.name).alias("dimension"), *named, *LONG_MEASURES
    )


LONG_MEASURES = [
    "stock", "stock_yoy", "stock_mom",
    "new", "new_yoy", "new_mom", "new_ytd",
    "cancelled", "cancelled_yoy", "cancelled_mom", "cancelled_ytd",
    "revoked", "revoked_yoy", "revoked_mom", "revoked_ytd",
    "net", "net_yoy", "net_mom", "net_ytd",
    "ratio", "ratio_ytd",
]  # fmt: skip


def figures(cube: pl.DataFrame, settings: Settings, months: list[str]) -> pl.DataFrame:
    """The long table of ``months`` (all of them from ``settings.since`` are needed for stock and comparisons)."""
    last = max(months)
    full = month_range(settings.since, last)
    classified = _classify(cube, settings)
    # An entity leaves the stock when deregistered, or already when revoked unless 吊销未注销 still counts.
    classified = classified.with_columns(
        exit_m=pl.col("can_m") if settings.revoked_in_stock else pl.min_horizontal("can_m", "rev_m"),
    )
    frames = [_dimension(classified, d, settings, full) for d in dims.DIMENSIONS]
    long = pl.concat(frames, how="vertical_relaxed")
    return long.filter(pl.col("month").is_in(months)).sort(
        "month", maintain_order=True
    )  # stable: keeps report order


def compute_months(engine: Engine, months: Sequence[str], settings: Settings | None = None,
                   catalog: Catalog | None = None) -> StatsFrame:  # fmt: skip
    """The statistics of ``months`` (``YYYY-MM``) from the front database."""
    settings = settings or Settings.from_env()
    months = sorted(set(months))
    if not months:
        raise ValueError("no month to compute")
    early = [m for m in months if m < settings.since]
    if early:
        raise ValueError(
            f"{', '.join(early)} is before the statistics start {settings.since} (SXOPS_STATS_SINCE); "
            "choose a later month or an earlier start"
        )
    cube, notes = load_cube(engine, settings, months[-1], catalog)
    return StatsFrame(settings, list(months), figures(cube, settings, list(months)), cube.height, notes)
