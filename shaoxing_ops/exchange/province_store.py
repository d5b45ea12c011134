"""The province stand-in's database: catalog tables holding the latest version of every key, tombstones
included, plus the simulator's state. It implements ``simulate.store.Store``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shaoxing_ops.catalog import Catalog, Table

from .dbs import make_engine
from .dialects import family
from .results import ExchangeError
from .schema import sa_table
from .staging import write_batches

STATE_TABLE = "sim_state"
FETCH_CHUNK = 500

_state = sa.Table(
    STATE_TABLE,
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime, server_default=sa.func.current_timestamp()),
)


class SqlProvinceStore:
    def __init__(self, engine: Engine, catalog: Catalog, *, create: bool = True) -> None:
        self.engine, self.catalog = engine, catalog
        self.md = sa.MetaData()
        self.tables = {t.name: sa_table(t, self.md) for t in catalog.tables}
        self._upserts: dict[str, sa.Executable] = {}  # per table, built once: each day writes to most tables
        if create:
            with engine.begin() as conn:
                self.md.create_all(conn, checkfirst=True)
                _state.create(conn, checkfirst=True)

    def opener(self) -> Callable[[Catalog], SqlProvinceStore] | None:
        """This store's database opened again, in a simulator's worker process (not a database in memory)."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and (url.database or ":memory:") == ":memory:":
            return None
        return partial(_reopen, url.render_as_string(hide_password=False))

    def reset(self) -> None:
        with self.engine.begin() as conn:
            self.md.drop_all(conn, checkfirst=True)
            _state.drop(conn, checkfirst=True)
            self.md.create_all(conn)
            _state.create(conn)

    def load_state(self) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            text = conn.execute(sa.select(_state.c.state).where(_state.c.id == 1)).scalar_one_or_none()
            if text is not None:
                state: dict[str, Any] = json.loads(text)
                return state
            base = self.tables["E_BASEINFO"]
            if conn.execute(sa.select(sa.func.count()).select_from(base)).scalar_one():
                raise ExchangeError(
                    "the province database holds rows but no simulator state (a baseline was interrupted); "
                    "run `shaoxing-ops simulate ... --reset`"
                )
        return None

    def _key_filter(self, t: sa.Table, table: Table, keys: list[tuple[Any, ...]]) -> Any:
        if len(table.key) == 1:
            return t.c[table.key[0]].in_([k[0] for k in keys])
        return sa.tuple_(*[t.c[k] for k in table.key]).in_(keys)

    def fetch(self, table: Table, keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], dict[str, Any]]:
        t = self.tables[table.name]
        out: dict[tuple[Any, ...], dict[str, Any]] = {}
        names = [c.name for c in t.columns]
        at = [names.index(k) for k in table.key]
        with self.engine.connect() as conn:
            for i in range(0, len(keys), FETCH_CHUNK):
                chunk = keys[i : i + FETCH_CHUNK]
                # rows zipped with the names, cheaper than mapping each row (the simulator's entity sampling
                # reads 124 k rows this way at scale 0.002)
                for row in conn.execute(sa.select(t).where(self._key_filter(t, table, chunk))):
                    out[tuple(row[j] for j in at)] = dict(zip(names, row, strict=True))
        return out

    def find(self, table: Table, column: str, values: list[Any]) -> list[dict[str, Any]]:
        t = self.tables[table.name]
        query = (
            sa.select(t)
            .where(t.c[column].in_(values), t.c.dsc_biz_operation != "D")
            .order_by(*[t.c[k] for k in table.key])
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def write_day(
        self, rows: dict[str, list[dict[str, Any]]], state: dict[str, Any] | None, *, fresh: bool = False
    ) -> None:
        with self.engine.begin() as conn:
            for name, batch in rows.items():
                if batch:
                    self._write(conn, self.catalog.table(name), batch, fresh)
            if state is not None:
                self._save_state(conn, state)

    def _write(self, conn: Connection, table: Table, rows: list[dict[str, Any]], fresh: bool) -> None:
        t = self.tables[table.name]
        names = table.column_names
        if fresh:  # the baseline: every row is new, so the bulk path of each database
            write_batches(conn, table, t, iter([[tuple(r[c] for c in names) for r in rows]]), None)
            return
        upsert = self._upserts.get(table.name)
        if upsert is None:
            upsert = self._upserts[table.name] = family(conn).upsert_rows(t, table.key)
        conn.execute(upsert, rows)

    def _save_state(self, conn: Connection, state: dict[str, Any]) -> None:
        text = json.dumps(state, sort_keys=True)
        conn.execute(sa.delete(_state).where(_state.c.id == 1))
        conn.execute(sa.insert(_state).values(id=1, state=text))


def _reopen(url: str, catalog: Catalog) -> SqlProvinceStore:
    return SqlProvinceStore(make_engine(url), catalog, create=False)
