"""The SQL each database family generates, for the families no server here can run (Oracle, 达梦 DM8) and for
the ones that run live elsewhere in the suite: every statement family parsed by sqlglot in its database's
grammar, the DDL compiled by SQLAlchemy's own dialect, and the text forms that reconciliation hashes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import sqlglot
from sqlalchemy.dialects import mssql, mysql, oracle, postgresql, sqlite

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.exchange import sa_table
from shaoxing_ops.exchange.dialects import FAMILIES, UnsupportedDatabase, family
from shaoxing_ops.exchange.dialects.oracle import number_format
from shaoxing_ops.exchange.staging import RID, TS, staging_ddl

# family -> (sqlglot grammar, SQLAlchemy dialect compiling its DDL; DM speaks Oracle's)
GRAMMARS = {  # binds compiled as :name, which every grammar parses
    "postgresql": ("postgres", postgresql.dialect(paramstyle="named")),
    "sqlite": ("sqlite", sqlite.dialect(paramstyle="named")),
    "mysql": ("mysql", mysql.dialect(paramstyle="named")),
    "mariadb": ("mysql", mysql.dialect(paramstyle="named")),
    "oracle": ("oracle", oracle.dialect()),
    "dm": ("oracle", oracle.dialect()),
}


def parses(sql: str, grammar: str) -> str:
    """``sql`` parsed in ``grammar`` (a syntax error raises); returned as sqlglot writes it back."""
    tree = sqlglot.parse_one(sql, read=grammar)
    return tree.sql(grammar)


def statements(name: str, catalog: Catalog) -> dict[str, str]:
    """One of each statement family the exchange sends, for E_BASEINFO (decimals, dates, timestamps)."""
    fam, table = FAMILIES[name], catalog.table("E_BASEINFO")
    dialect = GRAMMARS[name][1]
    q = dialect.identifier_preparer.quote
    cols = table.column_names
    staged = f"SELECT * FROM {q(fam.staging_name(table.db_name))} s WHERE s.{q(RID)} IS NOT NULL"
    values = [fam.value_text(q(c.name), c.kind, c.precision, c.scale) for c in table.columns]
    text = fam.concat([p for v in values for p in (v, fam.separator)][:-1])
    h1, h2 = fam.hashes(text)
    return {
        "merge": fam.upsert(q, table.db_name, cols, table.key, staged),
        "tombstones": fam.upsert(
            q, f"{table.db_name}__deleted", [*table.key, RID, TS], table.key, staged, skip_unchanged=False
        ),
        "counts": f"SELECT {fam.day_of(q(TS))}, count(*), {fam.count_if(q(TS) + ' IS NULL')} "
        f"FROM {q(table.db_name)} t WHERE {fam.differs(['t.' + q(c) for c in cols[1:3]], ['t.' + q(c) for c in cols[3:5]])} "
        f"GROUP BY {fam.day_of(q(TS))}",
        "months": f"SELECT {fam.month_of(q('estdate'))}, count(*) FROM {q(table.db_name)} "
        f"GROUP BY {fam.month_of(q('estdate'))}",
        "row hash": f"SELECT {q(table.key[0])}, {h1}, {h2} FROM {q(table.db_name)}",
        "key table": fam.key_table_ddl("sxops_reconcile_ignore"),
        "add column": fam.add_column(q(table.db_name), q("ext_remark"), "VARCHAR(100)"),
        "rows upsert": str(fam.upsert_rows(sa_table(table), table.key).compile(dialect=dialect)),
    }


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_statement_family_parses_in_its_databases_grammar(name: str, catalog: Catalog) -> None:
    grammar = GRAMMARS[name][0]
    for label, sql in statements(name, catalog).items():
        try:
            parses(sql, grammar)
        except sqlglot.errors.ParseError as exc:
            pytest.fail(f"{name} {label}: {exc}\n{sql}")


def test_oracle_and_dm_merge_with_merge_into_and_null_safe_comparison(catalog: Catalog) -> None:
    for name in ("oracle", "dm"):
        merge = statements(name, catalog)["merge"]
        assert merge.startswith(
            'MERGE INTO e_baseinfo t USING (SELECT * FROM "ORA$PTT_stg_e_baseinfo" s'
            if name == "oracle"
            else "MERGE INTO e_baseinfo t USING (SELECT * FROM stg_e_baseinfo s"
        )
        assert "ON (t.pripid = u.pripid)" in merge and "WHEN NOT MATCHED THEN INSERT (pripid, " in merge
        assert "WHEN MATCHED THEN UPDATE SET t.uniscid = u.uniscid" in merge
        assert (
            "DECODE(t.entname, u.entname, 0, 1) = 1" in merge
        )  # NULL equals NULL: unchanged rows not rewritten
        tomb = statements(name, catalog)["tombstones"]
        assert " WHERE " not in tomb.split("WHEN MATCHED")[1].split("WHEN NOT MATCHED")[0]


def test_mysql_merges_on_duplicate_key_and_concatenates_with_concat(catalog: Catalog) -> None:
    s = statements("mysql", catalog)
    assert "ON DUPLICATE KEY UPDATE uniscid = VALUES(uniscid), " in s["merge"]
    assert (
        " || " not in s["row hash"] and "MD5(CONCAT(coalesce(pripid, " in s["row hash"]
    )  # || means OR there
    assert "NOT (t.uniscid <=> t.regno)" in s["counts"]


def test_oracle_text_forms_match_the_other_databases() -> None:
    o = FAMILIES["oracle"]
    assert number_format(18, 6) == "FM999999999990.000000" and number_format(10, 0) == "FM9999999990"
    assert o.value_text("regcap", "dec", 18, 6) == "NVL(TO_CHAR(regcap, 'FM999999999990.000000'), '\\N')"
    assert "'YYYY-MM-DD HH24:MI:SS.FF6'" in o.value_text("t", "datetime")  # as PostgreSQL's to_char(…US)
    assert o.day_of("x") == "TO_CHAR(x, 'YYYY-MM-DD')"
    h1, h2 = o.hashes("v")
    assert h1 == "TO_NUMBER(SUBSTR(RAWTOHEX(STANDARD_HASH(v, 'MD5')), 1, 8), 'XXXXXXXX')" and "9, 8" in h2
    assert "MD5(v)" in FAMILIES["dm"].hashes("v")[0]


def test_oracle_ddl_types_and_identifier_rules(catalog: Catalog) -> None:
    """Front tables created on Oracle: VARCHAR2 in characters, NUMBER, TIMESTAMP for timestamps (DATE would
    drop microseconds), names unquoted (Oracle folds them to upper case) but for reserved words."""
    dialect = oracle.dialect()
    ddl = str(sa.schema.CreateTable(sa_table(catalog.table("E_BASEINFO"))).compile(dialect=dialect))
    assert "CREATE TABLE e_baseinfo (" in ddl and "pripid VARCHAR2(36 CHAR) NOT NULL" in ddl
    assert "regcap NUMERIC(18, 6)" in ddl and "dsc_biz_timestamp TIMESTAMP" in ddl and "estdate DATE" in ddl
    assert "PRIMARY KEY (pripid)" in ddl
    names = {n for t in catalog.tables for n in (t.db_name, *t.column_names)}
    assert max(map(len, names)) <= 30  # within Oracle 11g's and DM's limit of old
    assert sorted(n for n in names if dialect.identifier_preparer.quote(n) != n) == ["level"]
    staging = staging_ddl(catalog.table("E_BASEINFO"), dialect)
    assert staging.startswith('CREATE PRIVATE TEMPORARY TABLE "ORA$PTT_stg_e_baseinfo" (')
    assert staging.endswith("ON COMMIT DROP DEFINITION")
    e = sa_table(catalog.table("E_BASEINFO"))
    window = sa.select(e).where(e.c[TS] >= sa.bindparam("window_start"), e.c[TS] < sa.bindparam("window_end"))
    compiled = str(window.compile(dialect=dialect))
    assert "FROM e_baseinfo" in compiled and "dsc_biz_timestamp >= :window_start" in compiled


def test_mysql_ddl_keeps_codes_byte_ordered_and_microseconds(catalog: Catalog) -> None:
    ddl = str(sa.schema.CreateTable(sa_table(catalog.table("E_BASEINFO"))).compile(dialect=mysql.dialect()))
    assert "pripid VARCHAR(36) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL" in ddl
    assert "dsc_biz_timestamp DATETIME(6)" in ddl


def test_an_unknown_database_is_named() -> None:
    with pytest.raises(
        UnsupportedDatabase, match=r"database 'mssql' is not supported; use one of: dm, mariadb"
    ):
        family(mssql.dialect())
