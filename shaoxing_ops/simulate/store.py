"""What the simulator needs from the province database, and a day's pending writes on top of it.

The simulator stays free of SQL: the command line hands it a store (``exchange.province_store``) that
reads current rows and writes new versions. Rows are plain dicts keyed by column name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from shaoxing_ops.catalog import Catalog, Table

Row = dict[str, Any]
Key = tuple[Any, ...]


class Store(Protocol):
    def load_state(self) -> dict[str, Any] | None: ...

    def fetch(self, table: Table, keys: list[Key]) -> dict[Key, Row]:
        """Current rows (tombstones included) for the given keys; missing keys are absent."""
        ...

    def find(self, table: Table, column: str, values: list[Any]) -> list[Row]:
        """Current non-deleted rows whose ``column`` is one of ``values``, in key order."""
        ...

    def write_day(
        self, rows: dict[str, list[Row]], state: dict[str, Any] | None, *, fresh: bool = False
    ) -> None:
        """Upsert rows per table name and save the state, all in one transaction.

        ``fresh`` promises the rows are all new (the baseline), which lets the store bulk-insert.
        """
        ...

    def opener(self) -> Callable[[Catalog], Store] | None:
        """A picklable callable that opens this store again in another process, or None where it cannot be
        (a database in this process's memory): the baselines are then made here, table by table."""
        ...


def key_of(table: Table, row: Row) -> Key:
    return tuple(row[k] for k in table.key)


class DayBuffer:
    """Rows written during one simulated day, read through before the store."""

    def __init__(self, store: Store, *, local_only: bool = False) -> None:
        self.store = store
        # While the baseline is built every row an entity touches is its own new row: no need to ask the store.
        self.local_only = local_only
        self.pending: dict[str, dict[Key, Row]] = {}
        # table -> column -> value -> keys of pending rows holding it, for the columns ``find`` is asked about:
        # scanning every pending row per question made the baseline quadratic in the entities it had built.
        self._index: dict[str, dict[str, dict[Any, dict[Key, None]]]] = {}

    def put(self, table: Table, row: Row) -> None:
        mine = self.pending.setdefault(table.name, {})
        key = key_of(table, row)
        for column, by_value in self._index.get(table.name, {}).items():
            if key in mine:
                by_value.get(mine[key].get(column), {}).pop(key, None)
            by_value.setdefault(row.get(column), {})[key] = None
        mine[key] = row

    def fetch(self, table: Table, keys: Iterable[Key]) -> dict[Key, Row]:
        keys = list(dict.fromkeys(keys))
        mine = self.pending.get(table.name, {})
        found = {k: mine[k] for k in keys if k in mine}
        rest = [k for k in keys if k not in found]
        if rest and not self.local_only:
            found.update(self.store.fetch(table, rest))
        return found

    def find(self, table: Table, column: str, value: Any) -> list[Row]:
        """Live rows with ``column == value`` as they stand after today's pending writes."""
        mine = self.pending.get(table.name, {})
        stored = [] if self.local_only else self.store.find(table, column, [value])
        rows = {key_of(table, r): r for r in stored}
        rows.update((k, mine[k]) for k in list(rows) if k in mine)  # today's version of a stored row
        rows.update((k, mine[k]) for k in self._keys_with(table, column, value))
        return [
            r for _, r in sorted(rows.items()) if r.get(column) == value and r["dsc_biz_operation"] != "D"
        ]

    def _keys_with(self, table: Table, column: str, value: Any) -> list[Key]:
        columns = self._index.setdefault(table.name, {})
        by_value = columns.get(column)
        if by_value is None:
            by_value = columns[column] = {}
            for k, r in self.pending.get(table.name, {}).items():
                by_value.setdefault(r.get(column), {})[k] = None
        return list(by_value.get(value, ()))

    def take(self) -> dict[str, list[Row]]:
        out = {name: list(rows.values()) for name, rows in self.pending.items()}
        self.pending = {}
        self._index = {}
        return out
