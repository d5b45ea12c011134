"""The names people and machines depend on, pinned: asset keys, checks, jobs, schedules and sensors.

Run history, backfills, the re-push sensors' cursors and every report find a table-day by its asset key and
check name; a schedule's name carries its tick history. An accidental rename would orphan all of that without
any other test failing, so the whole set is compared with `snapshots/definitions.json`. A deliberate rename:
run `SXOPS_UPDATE_SNAPSHOTS=1 pytest shaoxing_ops_tests/test_definitions_snapshot.py`, then review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def _partitions(definition: Any) -> str | None:
    partitions = definition.partitions_def
    return None if partitions is None else type(partitions).__name__


def current() -> dict[str, Any]:
    from shaoxing_ops.definitions import defs

    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "partitions": _partitions(node),
            "checks": sorted(c.name for c in node.check_keys),
        }
    return {
        "assets": assets,
        "jobs": sorted(job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")),
        "schedules": {
            s.name: {"job": s.job_name, "cron": s.cron_schedule, "timezone": s.execution_timezone}
            for s in sorted(
                (defs.resolve_schedule_def(u.name) for u in defs.schedules or []), key=lambda s: s.name
            )
        },
        "sensors": sorted(s.name for s in defs.sensors or []),
    }


def test_asset_keys_checks_jobs_schedules_and_sensors_are_as_pinned() -> None:
    now = current()
    if os.environ.get("SXOPS_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(
            json.dumps(now, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    pinned = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    for part in ("jobs", "schedules", "sensors"):
        assert now[part] == pinned[part], (
            f"{part} changed; if on purpose, update the snapshot (see docstring)"
        )
    gone = sorted(set(pinned["assets"]) - set(now["assets"]))
    added = sorted(set(now["assets"]) - set(pinned["assets"]))
    assert (gone, added) == ([], []), "asset keys changed; if on purpose, update the snapshot (see docstring)"
    changed = [k for k in pinned["assets"] if pinned["assets"][k] != now["assets"][k]]
    assert changed == [], f"groups, partitions or checks of {changed[:5]} changed"
    assert len(now["assets"]) > 150 and now["jobs"] and now["schedules"]
