"""Dagster runs launched from the command line (the demo's loads, upload, statistics and reports): a job of the
platform rebuilt by name in the processes its run starts, and what each run recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shaoxing_ops.names import LAUNCHED_BY_TAG

if TYPE_CHECKING:
    import dagster as dg

LAUNCHED_BY = {LAUNCHED_BY_TAG: "demo"}  # the one tag saying who started a run (names.py)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
RunResult = tuple[bool, str, dict[str, dict]]  # succeeded, run id, figures by asset or step


def job_by_name(name: str) -> dg.JobDefinition:
    """The platform's job ``name``: module-level, so that Dagster can call it to rebuild the job in each
    process of the run it launches."""
    from shaoxing_ops.definitions import defs

    return defs.resolve_job_def(name)


def reconstructable_job(name: str) -> Any:
    """The job ``name`` as ``dagster.execute_job`` takes it (a ``ReconstructableJob``, which Dagster does not
    export): the pointer to ``job_by_name`` with the name, rebuilt wherever the run executes."""
    import dagster as dg

    return dg.build_reconstructable_job(__name__, job_by_name.__name__, (name,))


def run_partition(job: str, partition: str) -> RunResult:
    """One partition of a job as a Dagster run; the metadata of what it materialised, by asset."""
    import dagster as dg

    from shaoxing_ops.dagster_internals import PARTITION_NAME_TAG

    tags = {PARTITION_NAME_TAG: partition, **LAUNCHED_BY}
    with dg.execute_job(
        reconstructable_job(job), dg.DagsterInstance.get(), run_config=QUIET, tags=tags
    ) as result:
        metadata = {}
        for event in result.all_events:
            if event.is_step_materialization:
                m = event.step_materialization_data.materialization
                metadata[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}
        return result.success, result.run_id, metadata


def run_range(job: str, start: dt.date, end: dt.date, selection: Sequence[Any] | None = None) -> RunResult:
    """One Dagster run over ``[start, end]`` (one step per table), with the per-table figures it recorded:
    each day's rows summed over the range, the step's seconds and the table's rows afterwards."""
    import dagster as dg

    from shaoxing_ops.dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    tags = {
        ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: end.isoformat(),
        **LAUNCHED_BY,
    }
    with dg.execute_job(
        reconstructable_job(job),
        dg.DagsterInstance.get(),
        run_config=QUIET,
        tags=tags,
        asset_selection=selection,
    ) as result:
        per_table: dict[str, dict] = {}
        for event in result.all_events:
            if not event.step_key:
                continue
            info = per_table.setdefault(event.step_key, {})
            if event.is_step_success:
                info["status"] = "ok"
            elif event.is_step_failure:
                info["status"] = "FAILED"
            elif event.is_step_materialization:  # one per day, each with that day's figures
                for k, v in event.step_materialization_data.materialization.metadata.items():
                    if k.startswith("rows_"):
                        info[k] = info.get(k, 0) + int(v.value)
                    else:
                        info[k] = v.value
        return result.success, result.run_id, per_table


def run_province_range(start: dt.date, end: dt.date, tables: Sequence[str] | None = None) -> RunResult:
    """Load ``[start, end]`` of the provincial tables (those named, else all) as one Dagster run, a step per
    table."""
    from shaoxing_ops.catalog import load_catalog
    from shaoxing_ops.defs.province.assets import asset_key

    catalog = load_catalog()
    selection = [asset_key(catalog.table(name)) for name in tables] if tables is not None else None
    return run_range("province_nightly", start, end, selection)
