"""Ranged-load benchmark, run by hand (not in CI): `python bench/ranged.py [--days 60] [--tables 40] [--baseline REF]`.

One Dagster run loading a range of days of many provincial tables, checks included, on the embedded default
(SQLite databases, SQLite Dagster instance on disk), as `make demo` does. Measured twice in the same bench
run on the same simulated province: with this tree, and with the tree at ``--baseline`` (a git ref, default
``c089d29``: the last landing before each day got its own figures and check results), checked out aside with
`git worktree`. The ratio is this tree's wall time over the baseline's; the event counts say where it goes.
Target (issue 12): <= 1.2x.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, sys, time
import dagster as dg
from shaoxing_ops.catalog import load_catalog
from shaoxing_ops.defs.province.assets import asset_key
try:
    from shaoxing_ops.commands.runs import reconstructable_job
    from shaoxing_ops.commands.shared import ensure_dagster_home
except ImportError:  # a tree from before the commands package (the baseline): its shim of the nightly job
    from shaoxing_ops.cli import ensure_dagster_home, nightly_job

    def reconstructable_job(name):
        return dg.reconstructable(nightly_job)

ensure_dagster_home()  # the instance `make demo` makes, in each tree its own way
job = reconstructable_job("province_nightly")

start, end, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
catalog = load_catalog()
selection = [asset_key(catalog.table(n)) for n in names]
tags = {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}
instance = dg.DagsterInstance.get()
config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
began = time.perf_counter()
with dg.execute_job(job, instance, tags=tags, asset_selection=selection,
                    run_config=config) as result:
    seconds = time.perf_counter() - began
    kinds = {}
    for e in result.all_events:
        kinds[e.event_type_value] = kinds.get(e.event_type_value, 0) + 1
    print(json.dumps({"ok": result.success, "seconds": seconds, "events": len(result.all_events), "kinds": kinds}))
"""


def say(text: str) -> None:
    print(text, flush=True)


def simulate(root: Path, start: dt.date, end: dt.date, scale: float) -> None:
    env = {**os.environ, "SXOPS_DATA_DIR": str(root / "province")}
    cmd = [
        sys.executable,
        "-m",
        "shaoxing_ops.cli",
        "simulate",
        "--start",
        str(start),
        "--end",
        str(end),
        "--scale",
        str(scale),
    ]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def run(
    tree: Path, root: Path, label: str, start: dt.date, end: dt.date, names: list[str], scale: float
) -> dict:
    data, home = root / label / "data", root / label / "dagster"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SXOPS_")}
    env.update(
        PYTHONPATH=str(tree),
        DAGSTER_HOME=str(home),
        SXOPS_DATA_DIR=str(data),
        SXOPS_PROVINCE_URL=f"sqlite:///{root / 'province' / 'province.db'}",
        SXOPS_VOLUME_SCALE=str(scale),
        SXOPS_START_DATE=str(start),
    )
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(start), str(end), ",".join(names)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--tables", type=int, default=40, help="the busiest N provincial tables")
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--baseline", default="c089d29")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from shaoxing_ops.catalog import load_catalog

    catalog = load_catalog()
    names = [t.name for t in sorted(catalog.tables, key=lambda t: -t.volume)[: args.tables]]
    end = dt.date(2026, 10, 31)
    start = end - dt.timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory(prefix="sxops_ranged_") as tmp:
        root = Path(tmp)
        say(f"simulating {start} … {end} at scale {args.scale}")
        simulate(root, start, end, args.scale)
        base = root / "baseline-tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base), args.baseline],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            results = {}
            for label, tree in (("baseline", base), ("current", ROOT)):
                say(f"{label}: one run of {len(names)} tables × {args.days} days, checks included …")
                results[label] = r = run(tree, root, label, start, end, names, args.scale)
                say(
                    f"  {'ok' if r['ok'] else 'FAILED'} in {r['seconds']:.1f}s, {r['events']} events: "
                    + ", ".join(f"{k} {v}" for k, v in sorted(r["kinds"].items(), key=lambda x: -x[1])[:6])
                )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, capture_output=True)
        ratio = results["current"]["seconds"] / results["baseline"]["seconds"]
        say(
            f"ranged load with per-day figures and checks: {ratio:.2f}x the baseline ({args.baseline}); "
            f"target <= 1.2x: {'met' if ratio <= 1.2 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
