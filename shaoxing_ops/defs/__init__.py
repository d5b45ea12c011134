"""Thin Dagster wiring over the catalog, the engine and the rules: one folder per domain.

The wiring deliberately uses a few of Dagster's beta and preview parameters (single-run backfill policy,
partitioned check specs, the automation sensor's options). Dagster warns about each on every definition it
builds, a thousand lines per demo that tell an operator nothing they can act on, so those two warning categories
are silenced here, where the wiring is imported (the engine never imports this package). pyproject.toml's pytest
settings silence the same two, since pytest resets warning filters around each test.

It also lets Dagster hand events to the instance in batches (``DAGSTER_EVENT_BATCH_SIZE``, read by Dagster when
an event is stored): a ranged step's materialisations and check results, one per day, are then written by the
embedded default's event log in one transaction (``dagster_internals.PooledSqliteEventLogStorage``).
"""

import os
import warnings

import dagster as dg

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")
