"""The few names shaoxing-ops needs from Dagster's internals, imported in this one module.

Dagster's public API does not export them; pinning Dagster (pyproject.toml) and reading them from one place
keeps an upgrade's breakage to this file. Everything else in the project uses ``import dagster as dg``.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
import sqlalchemy as sa
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData as TargetMaterialization,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition as AssetJob,  # what dg.define_asset_job returns, for type hints
)
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.events import ASSET_EVENTS, DagsterEvent, DagsterEventBatchMetadata, DagsterEventType
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget


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
    (deploy/dagster.yaml) and is not concerned.
    """

    MAX_OPEN = 8  # databases kept open; a webserver reads many runs' databases

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        self._active: dict[
            str, tuple[int, sa.Connection]
        ] = {}  # shard -> (thread, connection in a transaction)
        self._tables: set[str] = set()
        self._index_cols: bool | None = None
        super().__init__(base_dir, inst_data)
        self._db_lock = threading.RLock()  # a batch holds its connections while each event is stored

    @classmethod
    def config_type(cls) -> Any:
        # base_dir may be left out: the instance's own place for run databases, as Dagster's default storage.
        return {"base_dir": dg.Field(dg.StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> PooledSqliteEventLogStorage:  # type: ignore[override]
        base_dir = config_value.get("base_dir")
        if not base_dir:
            home = os.environ.get("DAGSTER_HOME")
            if not home:
                raise ValueError(
                    "PooledSqliteEventLogStorage: no base_dir in dagster.yaml and no DAGSTER_HOME; set DAGSTER_HOME "
                    "to the instance's folder or give event_log_storage.config.base_dir"
                )
            base_dir = os.path.join(home, "history", "runs")
        return cls(base_dir=base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> sa.Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = sa.create_engine(
                self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
            )
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
        """Each run's events in one transaction on its database and one on the index, set-wise where they are
        the asset and check events a run writes in bulk (``_store_set_wise``), otherwise one by one."""
        by_run: dict[str, list[Any]] = {}
        for event in events:
            by_run.setdefault(event.run_id, []).append(event)
        for run_id, batch in by_run.items():
            with self.run_connection(run_id), self.index_connection():
                if run_id and all(_set_wise(e) for e in batch):
                    self._store_set_wise(run_id, batch)
                else:
                    for event in batch:
                        self.store_event(event)

    def _store_set_wise(self, run_id: str, events: Sequence[Any]) -> None:
        """What ``store_event`` does for each of ``events``, in a few statements for the whole batch.

        A ranged run's batches are its planned events (one per asset and day, one per check with the range),
        each step's materialisations (one per day) and each check step's results (one per check and day).
        Dagster's path per event: insert it in the run's database and in the index, then update the asset's
        row, or the check execution row its planned event made, serialising the event up to twice more. Here
        each event is serialised once (``_event_to_row``, Dagster's row), inserted into both databases by one
        executemany each; the asset rows are updated from each asset's last event (what Dagster's PostgreSQL
        storage does for a batch), check execution rows inserted or updated by one executemany each, all with
        the values Dagster writes.
        """
        events_t = SqlEventLogStorageTable
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(run_id) as conn:
            conn.execute(events_t.insert(), rows)
        with self.index_connection() as conn:
            inserted = conn.execute(
                events_t.insert().returning(events_t.c.id, sort_by_parameter_order=True), rows
            )
            ids = list(inserted.scalars())
            assets = [
                (e, i) for e, i in zip(events, ids, strict=True) if e.dagster_event_type in ASSET_EVENTS
            ]
            if assets:
                self._store_asset_event_tags(conn, [e for e, _ in assets], [i for _, i in assets])
                last = {(e.dagster_event.asset_key, e.dagster_event_type): (e, i) for e, i in assets}
                for event, event_id in sorted(last.values(), key=lambda pair: pair[1]):
                    self._store_asset_event(conn, event, event_id)
            planned, evaluated = [], []
            for event, row, event_id in zip(events, rows, ids, strict=True):
                if event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
                    planned += _planned_executions(event, row, event_id)
                elif event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                    evaluated.append(_evaluated_execution(event, row, event_id))
            if planned:
                conn.execute(AssetCheckExecutionsTable.insert(), planned)
            if evaluated:
                _record_evaluations(conn, run_id, evaluated)

    def _store_asset_check_evaluation_planned(self, event: Any, event_id: int | None) -> None:
        """Dagster's own, serialising the planned event once instead of once per partition (61 times for a
        ranged run of 61 days)."""
        with self.index_connection() as conn:
            conn.execute(
                AssetCheckExecutionsTable.insert(),
                _planned_executions(event, self._event_to_row(event), event_id),
            )

    def _has_asset_key_index_cols_on_connection(self, conn: sa.Connection) -> bool:
        # inspected before every asset event is stored; a column, once there, stays
        if self._index_cols is None:
            self._index_cols = super()._has_asset_key_index_cols_on_connection(conn)
        return self._index_cols

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


_SET_WISE = {
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    DagsterEventType.ASSET_OBSERVATION,
    DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
}


def _set_wise(event: Any) -> bool:
    """Events ``_store_set_wise`` writes: materialisations (planned and done), observations, and check events of
    a day (partition); anything else (a failed materialisation, a freshness change) goes Dagster's own way."""
    kind = event.dagster_event_type
    if kind in _SET_WISE:
        return True
    return (
        kind == DagsterEventType.ASSET_CHECK_EVALUATION and event.dagster_event.event_specific_data.partition
    )


def _planned_executions(event: Any, row: dict[str, Any], event_id: int | None) -> list[dict[str, Any]]:
    """The execution rows a planned check event makes: one per planned partition (as Dagster writes them)."""
    planned = event.dagster_event.event_specific_data
    keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
    return [
        {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "partition": key,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": row["event"],
            "evaluation_event_timestamp": row["timestamp"],
            "evaluation_event_storage_id": event_id,
        }
        for key in keys
    ]


def _evaluated_execution(event: Any, row: dict[str, Any], event_id: int) -> dict[str, Any]:
    """The execution row of a check result: as Dagster's ``_update_asset_check_evaluation`` writes it."""
    evaluation = event.dagster_event.event_specific_data
    target = evaluation.target_materialization_data
    status = (
        AssetCheckExecutionRecordStatus.SUCCEEDED
        if evaluation.passed
        else AssetCheckExecutionRecordStatus.FAILED
    )
    return {
        "asset_key": evaluation.asset_key.to_string(),
        "check_name": evaluation.check_name,
        "partition": evaluation.partition,
        "run_id": event.run_id,
        "execution_status": status.value,
        "evaluation_event": row["event"],
        "evaluation_event_timestamp": row["timestamp"],
        "evaluation_event_storage_id": event_id,
        "materialization_event_storage_id": target.storage_id if target else None,
    }


_EXECUTION_KEY = ("asset_key", "check_name", "run_id", "partition")
_EXECUTION_VALUES = (
    "execution_status",
    "evaluation_event",
    "evaluation_event_timestamp",
    "evaluation_event_storage_id",
    "materialization_event_storage_id",
)


def _record_evaluations(conn: sa.Connection, run_id: str, evaluated: list[dict[str, Any]]) -> None:
    """Update the execution rows the run planned with their results; insert those it did not plan (Dagster's
    fallback for a result without a planned event)."""
    executions = AssetCheckExecutionsTable
    columns = (executions.c.asset_key, executions.c.check_name, executions.c.partition)
    assets = {v["asset_key"] for v in evaluated}  # a check step's results are of one asset
    found = conn.execute(
        sa.select(*columns).where(executions.c.run_id == run_id, executions.c.asset_key.in_(assets))
    )
    planned = {tuple(r) for r in found}
    known = [v for v in evaluated if (v["asset_key"], v["check_name"], v["partition"]) in planned]
    unknown = [v for v in evaluated if (v["asset_key"], v["check_name"], v["partition"]) not in planned]
    if known:
        conn.execute(
            executions.update()
            .where(*(executions.c[k] == sa.bindparam(f"w_{k}") for k in _EXECUTION_KEY))
            .values({c: sa.bindparam(f"v_{c}") for c in _EXECUTION_VALUES}),
            [
                {**{f"w_{k}": v[k] for k in _EXECUTION_KEY}, **{f"v_{c}": v[c] for c in _EXECUTION_VALUES}}
                for v in known
            ],
        )
    if unknown:
        conn.execute(executions.insert(), unknown)


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
        message = (
            f"Asset check '{evaluation.check_name}' on '{evaluation.asset_key.to_user_string()}' "
            + ("passed." if evaluation.passed else "did not pass.")
            + (f" Description: '{evaluation.description}'" if evaluation.description else "")
        )
        yield DagsterEvent.from_step(
            DagsterEventType.ASSET_CHECK_EVALUATION,
            step,
            evaluation,
            message,
            batch_metadata=DagsterEventBatchMetadata(batch, i == last),
        )


def workspace_process_context(instance: Any, workspace_file: str, version: str) -> WorkspaceProcessContext:
    """What ``dagster-webserver -w WORKSPACE`` builds before serving (its ``cli.py``): the code locations of the
    workspace file, loaded for a webserver. Our own writable webserver (``shaoxing_ops/serve/webserver.py``) needs
    it to serve Dagster's app with one GraphQL middleware added; Dagster exports no public constructor for it."""
    return WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[workspace_file]), version=version)


__all__ = [
    "ASSET_PARTITION_RANGE_END_TAG",
    "ASSET_PARTITION_RANGE_START_TAG",
    "IN_PROGRESS_RUN_STATUSES",
    "PARTITION_NAME_TAG",
    "AssetJob",
    "PartitionKeyFilter",
    "PooledSqliteEventLogStorage",
    "TargetMaterialization",
    "check_evaluation_events",
    "workspace_process_context",
]
