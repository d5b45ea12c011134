"""The few names shaoxing-ops needs from Dagster's internals, imported in this one module.

Dagster's public API does not export them; pinning Dagster (pyproject.toml) and reading them from one place
keeps an upgrade's breakage to this file. Everything else in the project uses ``import dagster as dg``.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData as TargetMaterialization,
)
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.events import DagsterEvent, DagsterEventBatchMetadata, DagsterEventType
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, keeping its databases open and writing a batch of events in one transaction.

    The stock storage creates an engine, opens the file, commits, closes it (so SQLite checkpoints the WAL)
    and disposes the engine for every statement, eight of them per check evaluation, and writes batched events
    one by one. A ranged load records one evaluation per check and day (issue 12: 360 per table for 60 days),
    which at ~50 ms an event made the embedded default instance the bottleneck. Here each database (the run's
    and the index) keeps a small pool, a batch of events (Dagster hands one over when
    ``DAGSTER_EVENT_BATCH_SIZE`` is set: a ranged step's materialisations, and ``check_evaluation_events``)
    is written in one transaction per database, and commits in WAL mode use ``synchronous=NORMAL``, which
    SQLite documents as safe against corruption: a power cut may lose the instance's last events, never the
    exchanged data. Schema, files and every statement are Dagster's own; production uses PostgreSQL storage
    (dagster.yaml) and is not concerned.
    """

    MAX_OPEN = 8  # databases kept open; a webserver reads many runs' databases

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        self._active: dict[
            str, tuple[int, sa.Connection]
        ] = {}  # shard -> (thread, connection in a transaction)
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data)
        self._db_lock = threading.RLock()  # a batch holds its connections while each event is stored

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> PooledSqliteEventLogStorage:  # type: ignore[override]
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> sa.Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = sa.create_engine(self.conn_string_for_shard(shard),
                                      connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})  # fmt: skip
            sa.event.listen(engine, "connect", _sqlite_wal_normal)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            self._engines[shard] = engine
        self._engines.move_to_end(shard)
        while len(self._engines) > self.MAX_OPEN:
            evicted, old = next((k, e) for k, e in self._engines.items() if k not in self._active)
            del self._engines[evicted]
            old.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:  # type: ignore[override]
        with self._db_lock:
            active = self._active.get(shard)
            if active is not None and active[0] == threading.get_ident():
                yield active[1]  # inside a batch: the same connection and transaction
                return
            with self._engine(shard).connect() as conn, conn.begin():
                self._active[shard] = (threading.get_ident(), conn)
                try:
                    yield conn
                finally:
                    del self._active[shard]

    def store_event_batch(self, events: Sequence[Any]) -> None:
        """Each run's events in one transaction on its database and one on the index."""
        by_run: dict[str, list[Any]] = {}
        for event in events:
            by_run.setdefault(event.run_id, []).append(event)
        for run_id, batch in by_run.items():
            with self.run_connection(run_id), self.index_connection():
                for event in batch:
                    self.store_event(event)

    def has_table(self, table_name: str) -> bool:
        # asked before every check evaluation is stored; a table, once there, stays
        if table_name not in self._tables and super().has_table(table_name):
            self._tables.add(table_name)
        return table_name in self._tables

    def dispose(self) -> None:
        super().dispose()
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


def _sqlite_wal_normal(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def check_evaluation_events(context: Any, evaluations: Sequence[Any]) -> Iterator[DagsterEvent]:
    """The events a check step records for ``evaluations`` (``dg.AssetCheckEvaluation``), as Dagster's own step
    makes them for a yielded evaluation, but handed to the instance as one batch: yield them from the step.

    ``context`` is the step's ``AssetCheckExecutionContext``. With ``DAGSTER_EVENT_BATCH_SIZE`` unset, or a
    storage without batch writes, each is stored as it is made, exactly as before.
    """
    step = context.get_step_execution_context()
    batch, last = uuid.uuid4().hex, len(evaluations) - 1
    for i, evaluation in enumerate(evaluations):
        message = (f"Asset check '{evaluation.check_name}' on '{evaluation.asset_key.to_user_string()}' "
                   + ("passed." if evaluation.passed else "did not pass.")
                   + (f" Description: '{evaluation.description}'" if evaluation.description else ""))  # fmt: skip
        yield DagsterEvent.from_step(
            DagsterEventType.ASSET_CHECK_EVALUATION, step, evaluation, message,
            batch_metadata=DagsterEventBatchMetadata(batch, i == last),
        )  # fmt: skip


__all__ = [
    "ASSET_PARTITION_RANGE_END_TAG",
    "ASSET_PARTITION_RANGE_START_TAG",
    "IN_PROGRESS_RUN_STATUSES",
    "PARTITION_NAME_TAG",
    "PartitionKeyFilter",
    "PooledSqliteEventLogStorage",
    "TargetMaterialization",
    "check_evaluation_events",
]
