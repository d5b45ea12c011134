"""The one ``Definitions`` object of shaoxing-ops: what `dg dev`, the webserver and the daemon load."""

from __future__ import annotations

import dagster as dg

from shaoxing_ops import collector
from shaoxing_ops.defs.bureau.definitions import definitions as bureau_definitions
from shaoxing_ops.defs.maintenance import reconcile_job, reinitialise_job
from shaoxing_ops.defs.ops.definitions import definitions as ops_definitions
from shaoxing_ops.defs.province.definitions import definitions as province_definitions
from shaoxing_ops.defs.repush import definitions as repush_definitions
from shaoxing_ops.defs.resources import databases_from_env
from shaoxing_ops.defs.stats.definitions import definitions as stats_definitions

collector.tune()  # every process that loads the definitions runs the platform's jobs (``collector``)

defs = dg.Definitions.merge(
    province_definitions(),
    bureau_definitions(),
    repush_definitions(),  # both legs'
    stats_definitions(),
    ops_definitions(),
    dg.Definitions(
        jobs=[reconcile_job, reinitialise_job],
        resources={"databases": databases_from_env()},
        executor=dg.in_process_executor,
    ),
)
