"""Drive the stand-in: a baseline before the first day, then one transaction per simulated day.

The same seed, scale and range always give the same rows, whether the range is simulated at once or
extended day by day: every random stream is seeded from (seed, day, purpose) and the running numbers are
saved with the state in the same transaction as the day's rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shaoxing_ops.catalog import Catalog

from .baseline import make_baseline, parallel_baselines, start_workers
from .generic import GenericTables
from .population import Counters, Population, build_history, simulate_day
from .randomness import day_factor, office_time, stream
from .store import DayBuffer, Row, Store

STATE_VERSION = 1
Progress = Callable[[str, int], None]  # (what was done, rows written)


class SimulationError(ValueError):
    """The request does not fit the province database as it stands; the message says what to do."""


@dataclass
class SimulationReport:
    first_day: dt.date
    last_day: dt.date
    days_simulated: list[dt.date] = field(default_factory=list)
    days_skipped: list[dt.date] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    def count(self, written: dict[str, list[Row]]) -> int:
        n = 0
        for name, rows in written.items():
            self.rows[name] = self.rows.get(name, 0) + len(rows)
            n += len(rows)
        return n


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _check_state(state: dict[str, Any], start: dt.date, seed: int, scale: float) -> tuple[dt.date, dt.date]:
    if state.get("version") != STATE_VERSION:
        raise SimulationError("the province database was written by another simulator version; use --reset")
    if state["seed"] != seed or state["scale"] != scale:
        raise SimulationError(
            f"the province database was simulated with --seed {state['seed']} --scale {state['scale']}; "
            "extend it with the same values, or start again with --reset"
        )
    first, last = dt.date.fromisoformat(state["first_day"]), dt.date.fromisoformat(state["last_day"])
    if start < first:
        raise SimulationError(f"the simulated range starts on {first}; days before it need --reset")
    if start > last + dt.timedelta(days=1):
        raise SimulationError(
            f"the province database ends on {last}; continue from {last + dt.timedelta(days=1)} (no gaps)"
        )
    return first, last


def _baseline(
    catalog: Catalog,
    store: Store,
    pop: Population,
    generic: GenericTables,
    first_day: dt.date,
    flush: Callable[..., None],
    report: SimulationReport,
    progress: Progress | None,
    workers: int,
) -> dict[str, int]:
    """A new province: the market entities with their history, then every generic table's rows before
    ``first_day``, on ``workers`` processes if the store can be opened from another; the live entities."""
    opener = store.opener() if workers > 1 else None
    pool = start_workers(catalog, opener, seed=pop.seed, scale=pop.scale, workers=workers) if opener else None
    try:
        live = build_history(pop, first_day, lambda: flush(True, "baseline: market entities"))
        pop.buffer.local_only = False
        if pool is None:
            for table in generic.all_tables():
                make_baseline(generic, table, first_day, lambda t=table: flush(True, f"baseline: {t.name}"))
            return live
        told = (lambda name, n: progress(f"baseline: {name}", n)) if progress else None
        made = parallel_baselines(pool, generic.all_tables(), first_day, pop.counters, told)
        report.rows.update({name: n for name, n in made.items() if n})  # as ``count``: tables with rows
        return live
    finally:
        if pool:
            pool.close()


def simulate(
    catalog: Catalog,
    store: Store,
    start: dt.date,
    end: dt.date,
    *,
    scale: float,
    seed: int,
    progress: Progress | None = None,
    workers: int = 1,
) -> SimulationReport:
    """Simulate ``start`` … ``end`` into ``store``; the generic tables' baselines, most of a new province's
    rows, on ``workers`` processes where the store can be opened again from another (``baseline.py``)."""
    if end < start:
        raise SimulationError(f"--end {end} is before --start {start}")
    if scale <= 0:
        raise SimulationError("--scale must be positive (1.0 is Shaoxing's real size)")
    state = store.load_state()
    counters = Counters({})
    if state is None:
        first = last = None
    else:
        first, last = _check_state(state, start, seed, scale)
        counters = Counters(dict(state["counters"]))
    report = SimulationReport(first_day=first or start, last_day=end)
    buffer = DayBuffer(store, local_only=True)
    pop = Population(catalog, seed, scale, counters, buffer)
    generic = GenericTables(catalog, pop)

    def flush(fresh: bool, note: str, new_state: dict[str, Any] | None = None) -> None:
        rows = buffer.take()
        n = report.count(rows)
        store.write_day(rows, new_state, fresh=fresh)
        if progress:
            progress(note, n)

    if state is None:
        first = start
        live = _baseline(catalog, store, pop, generic, start, flush, report, progress, workers)
        last = start - dt.timedelta(days=1)
        state = {
            "version": STATE_VERSION,
            "seed": seed,
            "scale": scale,
            "first_day": start.isoformat(),
            "last_day": last.isoformat(),
            "counters": counters.values,
            "live": live,
        }
        store.write_day({}, state)
    assert first is not None and last is not None
    buffer.local_only = False
    live = dict(state["live"])
    for day in _days(start, end):
        if day <= last:
            report.days_skipped.append(day)
            continue
        factor = day_factor(day)
        generic.refill_pools(stream(seed, "pool", day.isoformat()), 200)
        simulate_day(pop, day, first, live, factor)
        for table in generic.all_tables():
            generic.day(stream(seed, "day", day.isoformat(), table.name), table, day, factor, office_time)
        state = {**state, "last_day": day.isoformat(), "counters": counters.values, "live": live}
        flush(False, f"day {day}", state)
        report.days_simulated.append(day)
    return report
