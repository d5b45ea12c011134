"""The generic tables' baselines: table by table in this process, or on several worker processes at once.

A generic table's baseline depends only on the seed, the first day, the market entities already in the store
and the running numbers of the tables it refers to (``gen=ref:``). Handed those numbers as the table-by-table
order leaves them, a worker makes a table's rows exactly as that order does, whichever table finishes first;
the parallel path is an arrangement of the same work, never a different simulation (``test_simulate`` compares
the two).

A worker writes its own rows, a bulk insert every few thousand, so nothing is passed back but counts. The
stores' databases take writers side by side (SQLite one at a time, each waiting its turn: ``BEGIN
IMMEDIATE``). An interrupted baseline leaves rows without a state, which the next run refuses (``--reset``).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from queue import Empty
from typing import Any

from shaoxing_ops import collector
from shaoxing_ops.catalog import Catalog, Table

from .generic import GenericTables
from .population import Counters, Population
from .randomness import stream
from .store import DayBuffer, Store

Flush = Callable[[], None]
Opener = Callable[[Catalog], Store]  # opens the same store again, in another process

# How many processes make a new province's baselines from the command line and the benches: one a core, up to
# four (each writes its own tables' rows; SQLite takes them one at a time, so more would mostly wait).
WORKERS = min(4, os.cpu_count() or 1)
PROGRESS_EVERY = 1.0  # seconds between looks at what the workers have written
POOL_SIZE = 300  # entities drawn for each table's rows to refer to
FLUSH_EVERY = 5000  # rows of a table held before they are written (memory stays bounded at any scale)


def make_baseline(generic: GenericTables, table: Table, first_day: dt.date, flush: Flush) -> None:
    """The rows ``table`` holds before ``first_day``, written through ``flush`` (also called at the end)."""
    rng = stream(generic.pop.seed, "baseline", table.name)
    generic.refill_pools(rng, POOL_SIZE)
    generic.baseline(rng, table, first_day, flush, every=FLUSH_EVERY)
    flush()


def references(table: Table) -> set[str]:
    """The tables whose running numbers ``table``'s rows draw keys from."""
    return {c.gen[4:] for c in table.columns if c.gen and c.gen.startswith("ref:")}


@dataclass
class Workers:
    """The baselines' worker processes, and the queue on which they tell each bulk write as they make it."""

    pool: ProcessPoolExecutor
    written: Any  # multiprocessing queue of (table, rows)

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


def start_workers(catalog: Catalog, opener: Opener, *, seed: int, scale: float, workers: int) -> Workers:
    """The worker processes, started at once so that they import and connect while the entities are built."""
    context = multiprocessing.get_context("spawn")
    written = context.Queue()
    pool = ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(catalog, opener, seed, scale, written),
    )
    for _ in range(workers):
        pool.submit(int)
    return Workers(pool, written)


def parallel_baselines(
    workers: Workers,
    tables: list[Table],
    first_day: dt.date,
    counters: Counters,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Every table's baseline on the workers: the rows written per table. ``counters`` end as the
    table-by-table order leaves them; ``progress(table, rows)`` is told every bulk write, as it is made.

    A table referring to one before it in ``tables`` starts once that one is finished, with its final number;
    one referring to a later table sees that table's number before its baseline, as in the sequential order.
    The tables referred to go first, then the largest, so that the last to finish is a small one. On a failure
    the caller's ``Workers.close`` cancels the tables not begun.
    """
    position = {t.name: i for i, t in enumerate(tables)}
    before = {
        t.name: {r for r in references(t) if position.get(r, len(tables)) < position[t.name]} for t in tables
    }
    needed = set().union(*before.values())
    start = dict(counters.values)  # the numbers every table's baseline starts from
    waiting = sorted(tables, key=lambda t: (t.name not in needed, -t.base))
    rows: dict[str, int] = {}
    running: set[Future[tuple[str, int, int]]] = set()
    while waiting or running:
        for table in [t for t in waiting if before[t.name] <= rows.keys()]:
            numbers = {**start, **{r: counters.get(r) for r in before[table.name]}}
            running.add(workers.pool.submit(_make, table.name, first_day, numbers))
            waiting.remove(table)
        complete, running = wait(running, timeout=PROGRESS_EVERY, return_when=FIRST_COMPLETED)
        for future in complete:
            name, written, number = future.result()
            counters.values[name] = number
            rows[name] = written
        while progress:  # what the workers wrote meanwhile, in the order they wrote it
            try:
                progress(*workers.written.get_nowait())
            except Empty:
                break
    return rows


_worker: dict[str, Any] = {}


def _start_worker(catalog: Catalog, opener: Opener, seed: int, scale: float, written: Any) -> None:
    collector.tune()  # as in every process of the platform that simulates, loads or checks
    _worker.update(catalog=catalog, store=opener(catalog), seed=seed, scale=scale, written=written)


def _make(name: str, first_day: dt.date, numbers: dict[str, int]) -> tuple[str, int, int]:
    """One table's baseline in a worker: (table, rows written, its running number after them)."""
    catalog, store = _worker["catalog"], _worker["store"]
    counters = Counters(dict(numbers))
    buffer = DayBuffer(store)
    generic = GenericTables(catalog, Population(catalog, _worker["seed"], _worker["scale"], counters, buffer))
    written = 0

    def flush() -> None:
        nonlocal written
        rows = buffer.take()
        n = sum(len(batch) for batch in rows.values())
        store.write_day(rows, None, fresh=True)
        written += n
        _worker["written"].put((name, n))

    make_baseline(generic, catalog.table(name), first_day, flush)
    return name, written, counters.get(name)
