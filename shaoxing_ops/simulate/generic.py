"""Rows for the tables no hand-written model covers, made from their catalog columns and ``gen`` hints.

Each row may point at a market entity (``gen=entity.pripid`` and friends), so enforcement cases, annual
reports and food-safety records refer to entities that exist in the registration tables.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from shaoxing_ops.catalog import Catalog, Column, Table
from shaoxing_ops.domain.geography import LEGACY_CODES, canonical_division
from shaoxing_ops.domain.identifiers import make_credit_code, make_id_number

from . import names
from .population import DISTRICT, Population, authority, is_live
from .randomness import make_key, poisson, record_id
from .store import Row

ENTITY_KINDS = {"entity": None, "enterprise": "E_BASEINFO", "individual": "E_PB_BASEINFO"}
OPERATION_MIX = (0.70, 0.25, 0.05)  # inserts, updates, deletes among a generic table's daily changes


def entity_attrs(row: Row) -> dict[str, Any]:
    """The fields generic tables may copy from an entity, whichever table it lives in."""
    district = canonical_division(row.get("domdistrict") or row.get("oplocdistrict") or row.get("regorg"))
    return {
        "pripid": row["pripid"],
        "uniscid": row["uniscid"],
        "entname": row.get("entname") or row.get("traname"),
        "regno": row.get("regno"),
        "regorg": row.get("regorg"),
        "dom": row.get("dom") or row.get("oploc"),
        "name": row.get("name"),
        "enttype": row.get("enttype"),
        "industryphy": row.get("industryphy"),
        "localadm": row.get("localadm"),
        "estdate": row.get("estdate"),
        "district": district,
    }


Maker = Callable[[random.Random, dt.datetime, dt.date, "dict[str, Any] | None"], Any]


def _fitter(col: Column) -> Callable[[Any], Any]:
    """What makes a generated value fit ``col`` (its length, type, precision), worked out once per column."""
    if col.kind in ("str", "text"):
        length = col.length
        return lambda v: None if v is None else (str(v)[:length] if length else str(v))
    if col.kind in ("int", "bigint"):
        return lambda v: None if v is None else int(v)
    if col.kind == "dec":
        assert col.precision is not None and col.scale is not None
        limit = Decimal(10) ** (col.precision - col.scale) - 1
        quantum = Decimal(1).scaleb(-col.scale)
        return lambda v: None if v is None else min(Decimal(v), limit).quantize(quantum)
    if col.kind == "date":
        return lambda v: v.date() if isinstance(v, dt.datetime) else v
    if col.kind == "datetime":
        return lambda v: (
            v if v is None or isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time(9, 30))
        )
    return lambda v: v


def _id_number(rng: random.Random, day: dt.date) -> str:
    male = rng.random() < 0.5
    return make_id_number(rng, rng.choice(names.ID_AREAS), names.birth_date(rng, day), male)


def _plan(col: Column) -> tuple[str, str, str]:
    """(generator, entity attribute, argument) of a column, from its ``gen`` hint, else its code set, check or
    kind: worked out once per column, as ``value`` is asked millions of times."""
    head, _, arg = (col.gen or "").partition(":")
    kind, _, attr = head.partition(".")
    if kind in ENTITY_KINDS:
        return "entity", attr, arg
    if not kind and col.codeset:
        return "codeset", "", col.codeset
    if not kind:
        kind = {"credit_code": "credit_code", "id_number": "id_number", "phone": "phone"}.get(
            col.check or "", ""
        )
    if not kind:
        kind = {
            "date": "date",
            "datetime": "datetime",
            "int": "count",
            "bigint": "count",
            "dec": "amount",
        }.get(col.kind, "text")
        arg = arg or col.title
    return kind, attr, arg


class GenericTables:
    def __init__(self, catalog: Catalog, pop: Population) -> None:
        self.catalog, self.pop = catalog, pop
        self.codes = {name: list(cs.codes) for name, cs in catalog.codesets.items()}
        self.pools: dict[str | None, list[dict[str, Any]]] = {}
        self._makers: dict[int, Maker] = {}  # id(column) -> its value maker
        self._table_makers: dict[str, list[tuple[str, Maker]]] = {}
        self._entity_kinds: dict[str, str | None] = {}  # table -> the kind of entity its rows refer to

    # -- entities -------------------------------------------------------------------------------------
    def refill_pools(self, rng: random.Random, size: int) -> None:
        """Draw the entities today's generic rows will refer to (live ones, as most records concern them)."""
        ent = [entity_attrs(r) for r in self.pop.sample(rng, "E_BASEINFO", size, is_live, exclusive=False)]
        pb = [entity_attrs(r) for r in self.pop.sample(rng, "E_PB_BASEINFO", size, is_live, exclusive=False)]
        self.pools = {"E_BASEINFO": ent, "E_PB_BASEINFO": pb, None: ent + pb}

    def _entity(self, rng: random.Random, table: Table) -> dict[str, Any] | None:
        if table.name not in self._entity_kinds:
            kinds = {c.gen.split(".")[0].split(":")[0] for c in table.columns if c.gen}
            self._entity_kinds[table.name] = next(
                (k for k in ("individual", "enterprise", "entity") if k in kinds), None
            )
        kind = self._entity_kinds[table.name]
        if kind is None:
            return None
        pool = self.pools.get(ENTITY_KINDS[kind]) or self.pools.get(None)
        return rng.choice(pool) if pool else None

    # -- values -----------------------------------------------------------------------------------------
    def value(
        self, rng: random.Random, col: Column, moment: dt.datetime, entity: dict[str, Any] | None
    ) -> Any:
        """A value for ``col`` at ``moment``, fitted to the column."""
        return self._maker(col)(rng, moment, moment.date(), entity)

    def _maker(self, col: Column) -> Maker:
        """The column's value maker, built once: ``value`` is asked millions of times. Every value first draws
        a district unless the entity has one, whatever the column makes (the streams depend on it)."""
        maker = self._makers.get(id(col))
        if maker is None:
            generate, fit, pick = self._generator(col), _fitter(col), DISTRICT.pick

            def maker(
                rng: random.Random, moment: dt.datetime, day: dt.date, entity: dict[str, Any] | None
            ) -> Any:
                district = (entity.get("district") if entity else None) or pick(rng)
                return fit(generate(rng, moment, day, district, entity))

            self._makers[id(col)] = maker
        return maker

    def _generator(self, col: Column) -> Callable[..., Any]:
        """(rng, moment, day, district, entity) -> the raw value of ``col``, from its ``gen`` hint, else its code
        set, check or kind."""
        kind, attr, arg = _plan(col)
        match kind:
            case "entity":
                return lambda r, m, d, dist, e: e.get(attr) if e else None
            case "codeset":
                codes = self.codes[arg]
                return lambda r, m, d, dist, e: r.choice(codes)
            case "uuid":
                return lambda r, m, d, dist, e: record_id(r)
            case "seq":
                return lambda r, m, d, dist, e: r.randrange(1, 10**6)
            case "person_name" | "officer":
                return lambda r, m, d, dist, e: names.person_name(r)
            case "id_number":
                return lambda r, m, d, dist, e: _id_number(r, d)
            case "phone":
                return lambda r, m, d, dist, e: names.phone(r)
            case "address":
                return lambda r, m, d, dist, e: names.address(r, dist)
            case "ent_name":
                return lambda r, m, d, dist, e: names.enterprise_name(r, dist, "F", "1130")
            case "credit_code":
                return lambda r, m, d, dist, e: make_credit_code(r, dist)
            case "date":
                return lambda r, m, d, dist, e: d - dt.timedelta(days=r.randint(0, 20))
            case "past_date":
                return lambda r, m, d, dist, e: d - dt.timedelta(days=r.randint(30, 5 * 365))
            case "future_date":
                return lambda r, m, d, dist, e: d + dt.timedelta(days=r.randint(180, 5 * 365))
            case "datetime":
                return lambda r, m, d, dist, e: m - dt.timedelta(seconds=r.randrange(3 * 86400))
            case "amount":
                return lambda r, m, d, dist, e: Decimal(round(r.lognormvariate(8, 1.5), 2))
            case "count":
                return lambda r, m, d, dist, e: int(r.expovariate(1 / 8))
            case "text":
                label = arg or col.title
                return lambda r, m, d, dist, e: names.sentence(r, label)
            case "doc_no":
                return lambda r, m, d, dist, e: f"绍市监{arg}〔{d.year}〕{r.randint(1, 2999)}号"
            case "org":
                return lambda r, m, d, dist, e: authority(LEGACY_CODES.get(dist, dist), d)
            case "enum":
                choices = arg.split("|")
                return lambda r, m, d, dist, e: r.choice(choices)
            case "const":
                return lambda r, m, d, dist, e: arg
            case "division":
                return lambda r, m, d, dist, e: dist
            case "localadm":
                return lambda r, m, d, dist, e: f"{dist}{r.randint(1, 12):02d}"
            case "year":
                return lambda r, m, d, dist, e: d.year - r.randint(0, 3)
            case "ref":  # keys are a function of running numbers, so an existing one is drawn without a query
                other = self.catalog.table(arg)
                return lambda r, m, d, dist, e: self._ref(other, r)
        # the catalog validates gens; guard anyway
        raise ValueError(f"{col.name}: no generator for {col.gen!r}")

    def _ref(self, other: Table, rng: random.Random) -> Any:
        top = self.pop.counters.get(other.name)
        return self._key(other, rng.randint(1, top))[other.key[0]] if top else None

    def _key(self, table: Table, seq: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in table.key:
            col = table.column(name)
            out[name] = (
                seq
                if col.kind in ("int", "bigint")
                else make_key(self.pop.seed, f"{table.name}.{name}", seq)[: col.length or 32]
            )
        return out

    def _row_makers(self, table: Table) -> list[tuple[str, Maker]]:
        """The makers of a new row's values, key columns aside, in column order."""
        makers = self._table_makers.get(table.name)
        if makers is None:
            makers = self._table_makers[table.name] = [
                (c.name, self._maker(c)) for c in table.business_columns if c.name not in table.key
            ]
        return makers

    def new_row(self, rng: random.Random, table: Table, moment: dt.datetime, ts: dt.datetime) -> Row:
        seq = self.pop.counters.next(table.name)
        entity = self._entity(rng, table)
        day = moment.date()
        row = {name: make(rng, moment, day, entity) for name, make in self._row_makers(table)}
        row.update(self._key(table, seq))
        self.pop.ts = ts
        return self.pop.emit(table, rng, row)

    # -- days -----------------------------------------------------------------------------------------
    def baseline(
        self, rng: random.Random, table: Table, first_day: dt.date, flush: Callable[[], None], every: int
    ) -> None:
        """The rows a table already holds before the first day, dated over its history; ``flush`` after each
        ``every`` rows."""
        count = poisson(rng, table.base * self.pop.scale)
        span_days = max(30, round(table.base / table.volume)) if table.volume else 365
        start = dt.datetime.combine(first_day, dt.time())
        for i in range(count):
            moment = start - dt.timedelta(days=rng.randint(1, span_days), seconds=rng.randrange(86400))
            self.new_row(rng, table, moment, start + dt.timedelta(seconds=rng.randrange(6 * 3600)))
            if i % every == every - 1:
                flush()

    def day(
        self, rng: random.Random, table: Table, day: dt.date, factor: float, office_time: Callable
    ) -> None:
        n = poisson(rng, table.volume * self.pop.scale * factor)
        ops = [
            "I" if (r := rng.random()) < OPERATION_MIX[0] else "U" if r < 1 - OPERATION_MIX[2] else "D"
            for _ in range(n)
        ]
        for _ in range(ops.count("I")):
            ts = office_time(rng, day)
            self.new_row(rng, table, ts, ts)
        top = self.pop.counters.get(table.name)
        changes = [op for op in ops if op != "I"]
        if not changes or not top:
            return
        keys = {}
        for _ in changes:
            k = self._key(table, rng.randint(1, top))
            keys[tuple(k[c] for c in table.key)] = None
        current = self.pop.buffer.fetch(table, list(keys))
        editable = [
            c
            for c in table.business_columns
            if c.name not in table.key and not (c.gen or "").startswith(tuple(ENTITY_KINDS))
        ]
        for op, key in zip(changes, keys, strict=False):
            row = current.get(key)
            if row is None or row["dsc_biz_operation"] == "D":
                continue
            self.pop.ts = office_time(rng, day)
            if op == "D" or not editable:
                self.pop.change(table, rng, row, op="D")
                continue
            values = {
                c.name: self.value(rng, c, self.pop.ts, None)
                for c in rng.sample(editable, min(2, len(editable)))
            }
            self.pop.change(table, rng, row, **values)

    def all_tables(self) -> list[Table]:
        return [t for t in self.catalog.tables if t.sim == "generic"]
