"""Faults of the province stand-in and of the front database, switched on from `shaoxing-ops simulate --fault`.

Data faults change rows: a day's new records withheld and delivered late, a code outside its code set, rows
missing, duplicated or altered in the target, a source column added or retyped. Connection faults are armed in
the stand-in's ``sim_faults`` table and act while a load reads the province: the connection is lost midway
(on PostgreSQL the server really terminates the session), or every read is slow. They act only where the
simulation is switched on (``SXOPS_SIMULATION=1``, set by the demo and the tests): a production configuration
never installs the hooks, so it never looks for a ``sim_faults`` table in the province, let alone obeys one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shaoxing_ops.catalog import Catalog, Table

from .copy import LOAD_LABEL
from .dbs import is_postgres
from .schema import sa_table, table_exists
from .staging import OP, RID, TS

FAULTS = {
    "late-day": "某日新增记录未按时下发，之后补发",
    "deliver-late": "补发此前未按时下发的记录",
    "connection-drop": "装载读取省端数据时连接中断",
    "slow-source": "省端数据库响应缓慢",
    "target-missing": "前置库目标表丢失部分记录",
    "target-duplicated": "前置库目标表出现重复推送的记录",
    "target-altered": "前置库目标表记录内容被改动",
    "column-added": "省端表新增了目录之外的列",
    "column-retyped": "省端表某列类型发生变化",
    "bad-code": "省端记录的代码不在代码集内",
}
FAULTS_TABLE = "sim_faults"
WITHHELD_TABLE = "sim_withheld"

_faults = sa.Table(
    FAULTS_TABLE,
    sa.MetaData(),
    sa.Column("fault", sa.String(32), primary_key=True),
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column("remaining", sa.Integer, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False, default=0.0),
)
_withheld = sa.Table(
    WITHHELD_TABLE,
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("table_name", sa.String(64), nullable=False),
    sa.Column("row_json", sa.Text, nullable=False),
)


class FaultError(ValueError):
    """A fault that cannot be applied as asked; the message says why."""


class ConnectionLost(sa.exc.OperationalError):
    """The stand-in dropped the connection (SQLite has no server that could do it for real)."""


@dataclass
class FaultReport:
    fault: str
    table: str
    rows: int
    detail: str


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else str(value)


def _choose_keys(engine: Engine, table: Table, count: int, where: Any = None) -> list[tuple[Any, ...]]:
    """A deterministic spread of keys: every n-th row in key order."""
    t = sa_table(table)
    query = sa.select(*[t.c[k] for k in table.key]).order_by(*[t.c[k] for k in table.key])
    if where is not None:
        query = query.where(where(t))
    with engine.connect() as conn:
        keys = [tuple(r) for r in conn.execute(query)]
    if not keys or count <= 0:
        return []
    step = max(len(keys) // count, 1)
    return keys[::step][:count]


def _key_filter(t: sa.Table, table: Table, keys: list[tuple[Any, ...]]) -> Any:
    if len(table.key) == 1:
        return t.c[table.key[0]].in_([k[0] for k in keys])
    return sa.tuple_(*[t.c[k] for k in table.key]).in_(keys)


# -- faults in the target (front database) ------------------------------------------------------------------
def target_missing(table: Table, target: Engine, count: int) -> FaultReport:
    keys = _choose_keys(target, table, count)
    t = sa_table(table)
    with target.begin() as conn:
        n = conn.execute(sa.delete(t).where(_key_filter(t, table, keys))).rowcount if keys else 0
    return FaultReport("target-missing", table.name, n, f"删除了 {n} 条")


def target_duplicated(table: Table, target: Engine, count: int) -> FaultReport:
    """Rows pushed twice under regenerated keys: the classic duplicate of a non-idempotent push."""
    keys = _choose_keys(target, table, count)
    t = sa_table(table)
    with target.begin() as conn:
        rows = (
            [dict(r) for r in conn.execute(sa.select(t).where(_key_filter(t, table, keys))).mappings()]
            if keys
            else []
        )
        for row in rows:
            for k in table.key:
                col = table.column(k)
                row[k] = f"dup{row[k]}"[: col.length] if col.kind in ("str", "text") else -int(row[k])
        if rows:
            conn.execute(t.insert(), rows)
    return FaultReport("target-duplicated", table.name, len(rows), f"重复推送 {len(rows)} 条")


def _alterable_column(table: Table) -> str:
    for c in table.business_columns:
        if c.name not in table.key and c.kind in ("str", "text") and not c.codeset and (c.length or 99) >= 6:
            return c.name
    raise ValueError(f"{table.name}: no text column to alter")


def target_altered(table: Table, target: Engine, count: int) -> FaultReport:
    column = _alterable_column(table)
    keys = _choose_keys(target, table, count)
    t = sa_table(table)
    with target.begin() as conn:
        n = (
            conn.execute(
                sa.update(t).where(_key_filter(t, table, keys)).values({column: "已被改动"})
            ).rowcount
            if keys
            else 0
        )
    return FaultReport("target-altered", table.name, n, f"改动了 {n} 条的 {column}")


# -- faults in the province data ----------------------------------------------------------------------------
def late_day(table: Table, province: Engine, day: dt.date) -> FaultReport:
    """Take the day's new records (I) out of the province, kept aside until ``deliver_late``."""
    t = sa_table(table)
    start = dt.datetime.combine(day, dt.time())
    window = sa.and_(t.c[TS] >= start, t.c[TS] < start + dt.timedelta(days=1), t.c[OP] == "I")
    with province.begin() as conn:
        _withheld.create(conn, checkfirst=True)
        rows = [dict(r) for r in conn.execute(sa.select(t).where(window)).mappings()]
        if rows:
            conn.execute(
                _withheld.insert(),
                [{"table_name": table.name, "row_json": json.dumps(r, default=_json_default)} for r in rows],
            )
            conn.execute(sa.delete(t).where(window))
    return FaultReport("late-day", table.name, len(rows), f"{day} 的 {len(rows)} 条新增记录暂未下发")


def deliver_late(catalog: Catalog, province: Engine) -> list[FaultReport]:
    """Deliver what ``late_day`` withheld, with the timestamps it always had."""
    if not table_exists(province, WITHHELD_TABLE):
        return []
    reports = []
    with province.begin() as conn:
        held = list(conn.execute(sa.select(_withheld).order_by(_withheld.c.id)).mappings())
        by_table: dict[str, list[dict[str, Any]]] = {}
        for h in held:
            by_table.setdefault(h["table_name"], []).append(json.loads(h["row_json"]))
        for name, rows in by_table.items():
            table = catalog.table(name)
            t = sa_table(table)
            conn.execute(t.insert(), [_revive(table, r) for r in rows])
            reports.append(FaultReport("deliver-late", name, len(rows), f"补发 {len(rows)} 条"))
        conn.execute(sa.delete(_withheld))
    return reports


def _revive(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    from decimal import Decimal

    out: dict[str, Any] = {}
    for c in table.columns:
        v = row.get(c.name)
        if v is not None and c.kind == "date":
            v = dt.date.fromisoformat(v)
        elif v is not None and c.kind == "datetime":
            v = dt.datetime.fromisoformat(v)
        elif v is not None and c.kind == "dec":
            v = Decimal(v)
        out[c.name] = v
    return out


def bad_code(table: Table, province: Engine, day: dt.date, count: int) -> FaultReport:
    """Some records of the day carry a code that is not in their code set (as a province bug would send)."""
    coded = next((c for c in table.business_columns if c.codeset and c.name not in table.key), None)
    if coded is None:
        raise ValueError(f"{table.name}: no coded column")
    bad = "Z" * min(coded.length or 2, 2)
    keys = _choose_keys(province, table, count, lambda t: t.c[OP] != "D")
    t = sa_table(table)
    moment = dt.datetime.combine(day, dt.time(15, 0))
    with province.begin() as conn:
        n = (
            conn.execute(
                sa.update(t)
                .where(_key_filter(t, table, keys))
                .values(
                    {
                        coded.name: bad,
                        OP: "U",
                        TS: moment,
                        RID: sa.func.substr(sa.literal("bad") + t.c[RID], 1, 64),
                    }
                )
            ).rowcount
            if keys
            else 0
        )
    return FaultReport("bad-code", table.name, n, f"{n} 条记录的 {coded.name} 为非法代码 {bad!r}")


def column_added(table: Table, province: Engine) -> FaultReport:
    with province.begin() as conn:
        conn.exec_driver_sql(f"ALTER TABLE {table.db_name} ADD COLUMN ext_remark VARCHAR(100)")
        conn.exec_driver_sql(f"UPDATE {table.db_name} SET ext_remark = '省局新增字段'")
    return FaultReport("column-added", table.name, 0, "新增列 ext_remark")


def column_retyped(table: Table, province: Engine) -> FaultReport:
    """An integer or decimal column becomes text on the province side, values unchanged."""
    col = next(
        c for c in table.business_columns if c.kind in ("int", "bigint", "dec") and c.name not in table.key
    )
    with province.begin() as conn:
        if is_postgres(province):
            conn.exec_driver_sql(
                f"ALTER TABLE {table.db_name} ALTER COLUMN {col.name} TYPE VARCHAR(40) USING {col.name}::text"
            )
        elif province.dialect.name in ("mysql", "mariadb"):
            conn.exec_driver_sql(f"ALTER TABLE {table.db_name} MODIFY {col.name} VARCHAR(40)")
        else:  # SQLite cannot alter a column's type: rebuild the table as it is, that column declared as text
            current = sa.Table(table.db_name, sa.MetaData(), autoload_with=conn)
            cols = [
                sa.Column(c.name, sa.String(40) if c.name == col.name else c.type, primary_key=c.primary_key)
                for c in current.columns
            ]
            names = ", ".join(c.name for c in current.columns)
            conn.exec_driver_sql(f"ALTER TABLE {table.db_name} RENAME TO {table.db_name}__old")
            sa.Table(table.db_name, sa.MetaData(), *cols).create(conn)
            conn.exec_driver_sql(
                f"INSERT INTO {table.db_name} ({names}) SELECT {names} FROM {table.db_name}__old"
            )
            conn.exec_driver_sql(f"DROP TABLE {table.db_name}__old")
    return FaultReport("column-retyped", table.name, 0, f"列 {col.name} 改为 VARCHAR(40)")


# -- connection faults ------------------------------------------------------------------------------------------
def arm(province: Engine, fault: str, table: Table, *, times: int = 1, seconds: float = 0.0) -> FaultReport:
    """Arm a connection fault against loads of ``table``: ``times`` loads are hit."""
    with province.begin() as conn:
        _faults.create(conn, checkfirst=True)
        conn.execute(
            sa.delete(_faults).where(_faults.c.fault == fault, _faults.c.table_name == table.db_name)
        )
        conn.execute(
            _faults.insert().values(fault=fault, table_name=table.db_name, remaining=times, seconds=seconds)
        )
    return FaultReport(fault, table.name, 0, f"已设置：接下来 {times} 次装载受影响")


def disarm_all(province: Engine) -> None:
    if table_exists(province, FAULTS_TABLE):
        with province.begin() as conn:
            conn.execute(sa.delete(_faults))


def install_standin_hooks(province: Engine) -> bool:
    """If the province is the stand-in with armed faults, make its reads suffer them. Returns whether armed."""
    if not table_exists(province, FAULTS_TABLE):
        return False

    def armed_for(statement: str) -> list[dict[str, Any]]:
        # Only the reads of a load: a full-row SELECT, or the label a PostgreSQL pipe puts on its session just
        # before its COPY; existence probes and counts pass.
        if RID not in statement and LOAD_LABEL not in statement:
            return []
        with province.connect() as conn:
            rows = [
                dict(r) for r in conn.execute(sa.select(_faults).where(_faults.c.remaining > 0)).mappings()
            ]
        return [r for r in rows if re.search(rf"\b{re.escape(r['table_name'])}\b", statement)]

    def consume(fault: str, table_name: str) -> None:
        with province.begin() as conn:
            conn.execute(
                sa.update(_faults)
                .where(_faults.c.fault == fault, _faults.c.table_name == table_name)
                .values(remaining=_faults.c.remaining - 1)
            )

    @sa.event.listens_for(province, "before_cursor_execute")
    def _hook(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        for fault in armed_for(statement):
            consume(fault["fault"], fault["table_name"])
            if fault["fault"] == "slow-source":
                time.sleep(fault["seconds"])
            elif fault["fault"] == "connection-drop":
                if is_postgres(province):
                    cursor.execute(
                        "SELECT pg_terminate_backend(pg_backend_pid())"
                    )  # the server ends the session
                raise ConnectionLost(
                    statement[:80], None, Exception("connection to the province was lost midway")
                )

    return True
