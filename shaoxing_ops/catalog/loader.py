"""Read and validate the catalog YAML files.

A column is written on one line, ``name: <type> <中文名> [flag ...]``, for example
``uniscid: str(18) 统一社会信用代码 check=credit_code index``. Types: ``str(n)``, ``text``, ``int``,
``bigint``, ``dec(p,s)``, ``date``, ``datetime``. Flags: ``req`` (not null), ``index``, ``code=CODESET``,
``check=credit_code|id_number|phone``, ``gen=...`` (simulator hint, see ``GENERATORS``).
Every error names the file, the table and the field, so a typo is found without reading a traceback.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .model import (
    PLATFORM_COLUMNS,
    BureauTable,
    Catalog,
    CodeSet,
    Column,
    Expr,
    MapPart,
    System,
    Table,
    Translation,
    VolumeRules,
)

CHECKS = ("credit_code", "id_number", "phone")
SIM_KINDS = ("generic", "core")
# Simulator hints a generic table may use; ``simulate.generic`` implements each of them.
GENERATORS = (
    "uuid",  # 32-hex key
    "seq",  # running number
    "entity",  # entity.<attr>: a field of a random market entity (see ENTITY_ATTRS)
    "enterprise",  # enterprise.<attr>: the same, enterprises and cooperatives only
    "individual",  # individual.<attr>: the same, 个体工商户 only
    "person_name",
    "id_number",
    "phone",
    "address",
    "ent_name",
    "credit_code",
    "date",  # a date within the last days before the change
    "past_date",  # a date in the last years
    "future_date",  # a date in the coming years (validity ends)
    "datetime",
    "amount",  # money, 万元 or 元
    "count",
    "text",  # text:<label> — a Chinese sentence about <label>
    "doc_no",  # doc_no:<prefix> — 绍市监<prefix>〔2026〕123号
    "org",  # an authority name
    "officer",  # an enforcement officer's name
    "enum",  # enum:a|b|c
    "const",  # const:VALUE
    "division",  # a Shaoxing division code
    "localadm",  # an 8-digit supervising office code
    "year",
    "ref",  # ref:TABLE — the key of an existing row of another generic table (a foreign key that joins)
)

# Fields of a market entity that generic tables can copy, so their rows point at real entities.
ENTITY_ATTRS = (
    "pripid",
    "uniscid",
    "entname",
    "regno",
    "regorg",
    "dom",
    "name",
    "enttype",
    "industryphy",
    "localadm",
    "estdate",
    "district",
)

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TABLE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_TYPE = re.compile(r"^(str)\((\d+)\)$|^(dec)\((\d+),(\d+)\)$|^(text|int|bigint|date|datetime)$")

PLATFORM_SPECS = {
    "dsc_biz_record_id": "str(64) 交换记录标识 req",
    "dsc_biz_operation": "str(1) 交换操作类型 req",
    "dsc_biz_timestamp": "datetime 交换时间戳 req index",
}


class CatalogError(ValueError):
    """The catalog files are inconsistent; the message names the file, table and field."""


def _valid_gen(value: str) -> bool:
    head, _, arg = value.partition(":")
    kind, _, attr = head.partition(".")
    if kind not in GENERATORS:
        return False
    if kind in ("entity", "enterprise", "individual"):
        return attr in ENTITY_ATTRS
    if kind in ("text", "doc_no", "enum", "const", "ref"):
        return bool(arg)
    return not attr


def parse_column(where: str, name: str, spec: Any) -> Column:
    if not isinstance(name, str) or not _NAME.match(name):
        raise CatalogError(f"{where}: column name {name!r} must be lower-case letters, digits and _")
    if not isinstance(spec, str) or len(spec.split()) < 2:
        raise CatalogError(f"{where}.{name}: expected '<type> <中文名> [flags]', got {spec!r}")
    type_text, title, *flags = spec.split()
    m = _TYPE.match(type_text)
    if not m:
        raise CatalogError(f"{where}.{name}: unknown type {type_text!r}")
    kw: dict[str, Any] = {"name": name, "title": title}
    if m.group(1):
        kw.update(kind="str", length=int(m.group(2)))
    elif m.group(3):
        kw.update(kind="dec", precision=int(m.group(4)), scale=int(m.group(5)))
    else:
        kw["kind"] = m.group(6)
    for flag in flags:
        key, _, value = flag.partition("=")
        if key == "req" and not value:
            kw["nullable"] = False
        elif key == "index" and not value:
            kw["index"] = True
        elif key == "code" and value:
            kw["codeset"] = value
        elif key == "check" and value in CHECKS:
            kw["check"] = value
        elif key == "gen" and _valid_gen(value):
            kw["gen"] = value
        else:
            raise CatalogError(f"{where}.{name}: unknown flag {flag!r}")
    return Column(**kw)


def _columns(where: str, raw: Any, key: tuple[str, ...], platform: bool) -> tuple[Column, ...]:
    if not isinstance(raw, dict) or not raw:
        raise CatalogError(f"{where}: 'columns' must be a non-empty mapping")
    cols = []
    for name, spec in raw.items():
        if name in PLATFORM_COLUMNS:
            raise CatalogError(
                f"{where}.{name}: platform columns are added by the catalog, do not declare them"
            )
        col = parse_column(where, name, spec)
        if name in key and col.nullable:
            col = Column(**{**col.__dict__, "nullable": False})
        cols.append(col)
    names = [c.name for c in cols]
    for k in key:
        if k not in names:
            raise CatalogError(f"{where}.key: key column {k!r} is not among the columns")
    if platform:
        cols += [parse_column(where, n, s) for n, s in PLATFORM_SPECS.items()]
    return tuple(cols)


def _key(where: str, raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(k, str) for k in raw):
        raise CatalogError(f"{where}.key: expected a column name or a list of them, got {raw!r}")
    return tuple(raw)


def volume_rules(where: str, raw: Any, base: VolumeRules) -> VolumeRules:
    """``base`` with the fields ``raw`` (a mapping, or nothing) overrides; every value a number >= 0."""
    if raw is None:
        return base
    fields = VolumeRules.__dataclass_fields__
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a mapping of {', '.join(fields)}")
    values = dict(base.__dict__)
    for name, value in raw.items():
        if name not in fields:
            raise CatalogError(f"{where}.{name}: unknown field; known: {', '.join(fields)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise CatalogError(f"{where}.{name}: expected a number >= 0, got {value!r}")
        values[name] = type(getattr(base, name))(value)
    return VolumeRules(**values)


def _table(path: str, system: str, name: str, raw: Any, rules: VolumeRules) -> Table:
    where = f"{path}: {name}"
    if not _TABLE.match(str(name)):
        raise CatalogError(f"{where}: table name must be upper-case letters, digits and _")
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a mapping with title, key, columns")
    unknown = set(raw) - {"title", "key", "columns", "volume", "base", "sim", "description", "volume_check"}
    if unknown:
        raise CatalogError(f"{where}.{sorted(unknown)[0]}: unknown field")
    if not isinstance(raw.get("title"), str) or not raw["title"]:
        raise CatalogError(f"{where}.title: a Chinese title is required")
    key = _key(where, raw.get("key"))
    volume = raw.get("volume", 0)
    if not isinstance(volume, int | float) or volume < 0:
        raise CatalogError(f"{where}.volume: expected a number >= 0, got {volume!r}")
    base = raw.get("base", round(volume * 365))
    if not isinstance(base, int) or base < 0:
        raise CatalogError(f"{where}.base: expected an integer >= 0, got {base!r}")
    sim = raw.get("sim", "generic")
    if sim not in SIM_KINDS:
        raise CatalogError(f"{where}.sim: expected one of {SIM_KINDS}, got {sim!r}")
    return Table(
        system=system,
        name=name,
        title=raw["title"],
        key=key,
        columns=_columns(where, raw.get("columns"), key, platform=True),
        volume=float(volume),
        base=base,
        sim=sim,
        description=str(raw.get("description", "")),
        volume_rules=volume_rules(f"{where}.volume_check", raw.get("volume_check"), rules),
    )


MAP_FUNCTIONS = {"label": 2, "translate": 2, "district": 1, "category": 1, "first": -1}
_CALL = re.compile(r"^(\w+)\((.*)\)$")


def _split_args(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def parse_expr(where: str, text: Any, source: Table, joined: Table | None, codesets: dict[str, CodeSet],
               translations: dict[str, Translation]) -> Expr:  # fmt: skip
    if not isinstance(text, str) or not text.strip():
        raise CatalogError(f"{where}: expected an expression, got {text!r}")
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return Expr("lit", text[1:-1])
    if text.startswith("join."):
        if joined is None or text[5:] not in joined.column_names:
            raise CatalogError(f"{where}: {text!r} names no column of the joined table")
        return Expr("join", text[5:])
    m = _CALL.match(text)
    if m:
        fn, args = m.group(1), _split_args(m.group(2))
        if fn not in MAP_FUNCTIONS:
            raise CatalogError(f"{where}: unknown function {fn!r}; known: {', '.join(MAP_FUNCTIONS)}")
        arity = MAP_FUNCTIONS[fn]
        if (arity >= 0 and len(args) != arity) or not args:
            raise CatalogError(f"{where}: {fn}() takes {arity if arity >= 0 else 'one or more'} arguments")
        name = None
        if fn in ("label", "translate"):
            name, args = args[0], args[1:]
            known = codesets if fn == "label" else translations
            if name not in known:
                raise CatalogError(
                    f"{where}: {fn}({name}, …): no such {'code set' if fn == 'label' else 'translation'}"
                )
        parsed = tuple(parse_expr(where, a, source, joined, codesets, translations) for a in args)
        return Expr("fn", fn, parsed, name)
    if text not in source.column_names:
        raise CatalogError(f"{where}: {source.name} has no column {text!r}")
    return Expr("col", text)


def _map_part(where: str, raw: Any, columns: tuple[Column, ...], key: tuple[str, ...], tables: dict[str, Table],
              codesets: dict[str, CodeSet], translations: dict[str, Translation]) -> MapPart:  # fmt: skip
    if not isinstance(raw, dict) or raw.get("from") not in tables:
        raise CatalogError(
            f"{where}.from: expected a provincial table, got {raw.get('from') if isinstance(raw, dict) else raw!r}"
        )
    source = tables[raw["from"]]
    joined = None
    join_on: tuple[tuple[str, str], ...] = ()
    if raw.get("join"):
        j = raw["join"]
        if not isinstance(j, dict) or j.get("table") not in tables or not isinstance(j.get("match"), dict):
            raise CatalogError(f"{where}.join: expected {{table: T, match: {{source_col: joined_col}}}}")
        joined = tables[j["table"]]
        join_on = tuple((str(a), str(b)) for a, b in j["match"].items())
        for a, b in join_on:
            if a not in source.column_names or b not in joined.column_names:
                raise CatalogError(f"{where}.join.match: {a} = {b} names a missing column")
        if tuple(b for _, b in join_on) != joined.key:
            raise CatalogError(
                f"{where}.join.match: must name the key of {joined.name} ({', '.join(joined.key)})"
            )
    conds = []
    for col, values in (raw.get("where") or {}).items():
        if col not in source.column_names:
            raise CatalogError(f"{where}.where: {source.name} has no column {col!r}")
        vals = values if isinstance(values, list) else [values]
        conds.append((col, tuple(str(v) for v in vals)))
    names = {c.name for c in columns}
    mapped = []
    for col, text in (raw.get("columns") or {}).items():
        if col not in names:
            raise CatalogError(f"{where}.columns: the bureau table has no column {col!r}")
        mapped.append(
            (col, parse_expr(f"{where}.columns.{col}", text, source, joined, codesets, translations))
        )
    got = dict(mapped)
    for c in columns:
        if (c.name in key or not c.nullable) and c.name not in got and not c.name.startswith("dsc_biz_"):
            raise CatalogError(f"{where}.columns: required column {c.name!r} is not mapped")
    for k in key:
        if got[k].kind != "col" or got[k].value not in source.key:
            raise CatalogError(f"{where}.columns.{k}: a bureau key must be a key column of {source.name}")
    return MapPart(source.name, tuple(mapped), tuple(conds), joined.name if joined else None, join_on)


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path.name}: not valid YAML: {exc}") from exc


def load_catalog_from(folder: Path) -> Catalog:
    codesets: dict[str, CodeSet] = {}
    for path in sorted(folder.glob("codesets*.yaml")):
        for name, raw in (_load_yaml(path) or {}).items():
            if not isinstance(raw, dict) or not isinstance(raw.get("codes"), dict) or "title" not in raw:
                raise CatalogError(f"{path.name}: {name}: expected title and codes")
            if name in codesets:
                raise CatalogError(f"{path.name}: {name}: code set declared twice")
            codesets[name] = CodeSet(name, raw["title"], {str(k): str(v) for k, v in raw["codes"].items()})

    vraw = _load_yaml(folder / "volume.yaml") if (folder / "volume.yaml").exists() else {}
    defaults = volume_rules("volume.yaml: defaults", (vraw or {}).get("defaults"), VolumeRules())

    # A system may be spread over several files (registration.yaml, registration_filings.yaml, ...).
    systems: dict[str, tuple[str, list[Table]]] = {}
    seen: dict[str, str] = {}
    for path in sorted((folder / "province").glob("*.yaml")):
        raw = _load_yaml(path)
        if not isinstance(raw, dict) or not {"system", "title", "tables"} <= set(raw):
            raise CatalogError(f"{path.name}: expected system, title and tables")
        title, tables = systems.setdefault(raw["system"], (raw["title"], []))
        if title != raw["title"]:
            raise CatalogError(f"{path.name}: system {raw['system']!r} is titled {title!r} elsewhere")
        for name, traw in (raw["tables"] or {}).items():
            if name in seen:
                raise CatalogError(f"{path.name}: {name}: already declared in {seen[name]}")
            seen[name] = path.name
            table = _table(path.name, raw["system"], name, traw, defaults)
            for col in table.columns:
                if col.codeset and col.codeset not in codesets:
                    raise CatalogError(f"{path.name}: {name}.{col.name}: unknown code set {col.codeset!r}")
            tables.append(table)

    for _, tables in systems.values():
        for table in tables:
            for col in table.columns:
                if col.gen and col.gen.startswith("ref:") and col.gen[4:] not in seen:
                    raise CatalogError(
                        f"{seen[table.name]}: {table.name}.{col.name}: gen={col.gen} names no table"
                    )

    braw = _load_yaml(folder / "bureau.yaml") or {}
    translations = {}
    for name, raw in (braw.get("translations") or {}).items():
        if not isinstance(raw, dict) or not isinstance(raw.get("codes"), dict):
            raise CatalogError(f"bureau.yaml: translations.{name}: expected title and codes")
        translations[name] = Translation(name, str(raw.get("title", name)),
                                         {str(k): str(v) for k, v in raw["codes"].items()})  # fmt: skip
    tables_by_name = {t.name: t for _, ts in systems.values() for t in ts}
    bureau = []
    for name, raw in (braw.get("tables") or {}).items():
        where = f"bureau.yaml: {name}"
        if not isinstance(raw, dict) or not isinstance(raw.get("title"), str):
            raise CatalogError(f"{where}: expected title, key, columns, sources, map")
        key = _key(where, raw.get("key"))
        sources = tuple(raw.get("sources") or ())
        for src in sources:
            if src not in seen:
                raise CatalogError(f"{where}.sources: {src!r} is not a provincial table")
        columns = _columns(where, raw.get("columns"), key, platform=True)
        for col in columns:
            if col.codeset and col.codeset not in codesets:
                raise CatalogError(f"{where}.{col.name}: unknown code set {col.codeset!r}")
        parts = tuple(
            _map_part(f"{where}.map[{i}]", part, columns, key, tables_by_name, codesets, translations)
            for i, part in enumerate(raw.get("map") or ())
        )
        for part in parts:
            if part.source not in sources:
                raise CatalogError(f"{where}.map: {part.source} is not among the sources")
        rules = volume_rules(f"{where}.volume_check", raw.get("volume_check"), defaults)
        bureau.append(BureauTable(name, raw["title"], key, columns, sources, parts, rules))
    ordered = tuple(System(name, title, tuple(tables)) for name, (title, tables) in systems.items())
    return Catalog(ordered, codesets, tuple(bureau), translations)


@cache
def load_catalog() -> Catalog:
    """The packaged catalog, validated once per process."""
    return load_catalog_from(Path(str(resources.files("shaoxing_ops.catalog"))))
