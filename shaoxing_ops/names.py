"""The names shaoxing-ops gives what it puts in Dagster and later reads back: the asset keys of the two legs,
the checks of each leg, and the run tags of its own.

The wiring (``defs/``) gives these names; the reports (``reports/``), the alerts and the served webserver find
the runs, materialisations and check results again by them. Each is written here once, so a name cannot be
spelt one way where it is given and another where it is read. This module imports no Dagster and nothing of
the wiring: the reports then need not import the wiring (which builds an asset for every table of the catalog)
to know a key, and a key is kept as the path of strings ``dg.AssetKey`` takes as it is.
"""

from __future__ import annotations

from shaoxing_ops.catalog import BureauTable, Table

# The two legs. A leg's name is also the first part of its assets' keys.
PROVINCE = "province"  # 省局数据下发: province/<system>/<table>
BUREAU = "bureau"  # 数据局上报: bureau/<table>


def province_key_path(table: Table) -> tuple[str, ...]:
    """The asset key of a provincial table, e.g. ``province/registration/e_baseinfo``."""
    return (PROVINCE, table.system, table.db_name)


def bureau_key_path(bt: BureauTable) -> tuple[str, ...]:
    """The asset key of a Data Bureau table, e.g. ``bureau/scjg_ztxx``."""
    return (BUREAU, bt.db_name)


# The checks of each leg, by their stable names. The bureau's tables have no source to reconcile against.
PROVINCE_CHECKS = ("row_count", "freshness", "schema", "validity", "reconcile", "volume")
BUREAU_CHECKS = ("row_count", "freshness", "schema", "validity", "volume")
LEG_CHECKS = {PROVINCE: PROVINCE_CHECKS, BUREAU: BUREAU_CHECKS}
ALL_CHECKS = tuple(dict.fromkeys(PROVINCE_CHECKS + BUREAU_CHECKS))  # either leg's, in this order

# Run tags of shaoxing-ops' own (Dagster's own, such as the partition range, are in ``dagster_internals``).
KIND_TAG = "shaoxing-ops/kind"  # what a run is for, beside its job: inspection | repush
REPUSH_TARGET_TAG = "shaoxing-ops/repush-target"  # the table and day a re-push run is for: repush_target()
REPUSH_ATTEMPT_TAG = "shaoxing-ops/repush-attempt"  # 1, 2, … within one incident
REPUSH_REASON_TAG = "shaoxing-ops/repush-reason"  # why, as the sensor said it (Chinese)
# Who launched a run from the UI: set by the webserver behind the authenticating proxy
# (``serve/webserver.py``) to the proxy's user; the launchpad jobs record it in the audit next to the approver.
LAUNCHED_BY_TAG = "sxops/launched_by"


def repush_target(asset: str, partition: str) -> str:
    """The value of ``REPUSH_TARGET_TAG``: the asset key as the UI writes it, and the day."""
    return f"{asset}|{partition}"


def parse_repush_target(target: str) -> tuple[str, str]:
    """(asset key as the UI writes it, day) of a ``repush_target`` value."""
    asset, _, partition = target.rpartition("|")
    return asset, partition
