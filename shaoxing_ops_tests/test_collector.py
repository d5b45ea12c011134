"""The collector's setting (``shaoxing_ops.collector``) reaches the processes that run the platform's jobs."""

from __future__ import annotations

import subprocess
import sys

from shaoxing_ops import collector


def _threshold(code: str) -> tuple[int, ...]:
    out = subprocess.run(
        [sys.executable, "-c", f"import gc\n{code}\nprint(*gc.get_threshold())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return tuple(int(n) for n in out.stdout.split())


def test_a_process_loading_the_definitions_collects_young_objects_less_often() -> None:
    # what Dagster's run worker, code server and the demo's workers import before they run a job
    tuned = (collector.YOUNG, collector.OLDER, collector.OLDER)
    assert _threshold("import shaoxing_ops.definitions") == tuned
    assert _threshold("pass")[0] == 700  # CPython's default, which the platform's processes leave
