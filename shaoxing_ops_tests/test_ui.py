"""The Dagster UI in a real browser: the webserver on the demo's data, pages rendered by headless Chromium,
what a user sees asserted, and a partition materialised through the webserver's GraphQL API."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .browser import Browser, find_chromium
from .conftest import Demo
from .production import ROOT, Stack, stack

pytestmark = pytest.mark.ui
REQUIRE_UI = os.environ.get("SXOPS_REQUIRE_UI") == "1"
ARTIFACTS = Path(os.environ.get("SXOPS_ARTIFACTS_DIR") or ROOT / "var" / "test-artifacts")
GROUPS = {
    "province_registration": 67,
    "province_enforcement": 42,
    "province_food_safety": 33,
    "bureau": 14,
    "statistics": 2,
    "ops": 7,
}


def shown_counts(text: str) -> dict[str, int]:
    """Each group's assets as the lineage page lists them: a number alone (``bureau 14``), or, once statuses
    have arrived and differ within the group, one number per status (``ops 1 6``: the year-end summary not yet
    materialised, six assets that are), summed."""
    found = {}
    for group in GROUPS:
        if m := re.search(rf"\b{group}((?: \d+)+)\b", text):
            found[group] = sum(int(n) for n in m.group(1).split())
    return found


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    found = find_chromium()
    if not found:
        if REQUIRE_UI:
            pytest.fail("SXOPS_REQUIRE_UI=1 but no Chromium: .ci/run installs Debian's chromium package")
        pytest.skip(
            "no Chromium on this machine (apt-get install chromium); the UI test needs a real browser"
        )
    if REQUIRE_UI and not cjk_fonts():
        pytest.fail("SXOPS_REQUIRE_UI=1 but no CJK font: .ci/run installs Debian's fonts-noto-cjk")
    with Browser(found, tmp_path / "chromium") as b:
        yield b


def cjk_fonts() -> bool:
    """Whether fontconfig knows a Chinese font (without one the screenshots show empty boxes)."""
    fc = shutil.which("fc-list")
    return bool(fc and subprocess.run([fc, ":lang=zh"], capture_output=True, text=True).stdout.strip())


def has_all(*words: str):
    return lambda text: all(w in text for w in words)


def wait_run(s: Stack, run_id: str, timeout: float = 300) -> str:
    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
    deadline, status = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        status = s.graphql(query, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(2)
    raise AssertionError(f"run {run_id} still {status} after {timeout:.0f}s\n{s.log_tail()}")


def test_the_asset_graph_in_a_browser_and_a_partition_launched(
    demo: Demo, browser: Browser, tmp_path: Path
) -> None:
    assert demo.done.returncode == 0, demo.done.stdout[-2000:] + demo.done.stderr[-2000:]
    # As `make ui` (dg dev) does, the daemon runs beside the webserver: launched runs go through its queue.
    with stack(demo.env, tmp_path / "logs", daemon=True) as s:
        s.graphql("mutation { setNuxSeen }")  # the first-visit newsletter dialog would cover the graph

        text = browser.open(
            f"{s.url}/asset-groups", lambda t: "Global asset lineage" in t and shown_counts(t) == GROUPS
        )
        assert "Global asset lineage" in text
        assert shown_counts(text) == GROUPS, "groups and their asset counts as the lineage page shows them"
        # For the picture only: give the groups' statuses a while to arrive (they are not what is asserted).
        browser.wait(lambda t: "fetching statuses" not in t, timeout=60)
        browser.screenshot(ARTIFACTS / "ui_global_lineage.png")

        names = (
            "market_entities",
            "market_entity_report",
            "e_baseinfo",
            "e_pb_baseinfo",
            "e_cancel",
            "e_revoke",
            "monthly_report",
        )
        stats = browser.open(
            f"{s.url}/locations/shaoxing_ops/asset-groups/statistics/lineage", has_all(*names)
        )
        for name in names:
            assert name in stats, f"{name} not in the statistics lineage: {stats[:800]}"
        browser.screenshot(ARTIFACTS / "ui_statistics_lineage.png")

        # The lineage the graph draws: provincial (front) tables feed the bureau tables and the statistics.
        nodes = s.graphql(
            "{ assetNodes { assetKey { path } groupName dependencyKeys { path } description } }"
        )
        deps = {
            "/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]}
            for n in nodes["assetNodes"]
        }
        assert "province/registration/e_baseinfo" in deps["bureau/scjg_ztxx"]
        assert "province/registration/e_pri_person" in deps["bureau/scjg_fddbrxx"]
        assert {"province/registration/e_baseinfo", "province/registration/e_cancel"} <= deps[
            "stats/market_entities"
        ]
        assert deps["stats/market_entity_report"] == {"stats/market_entities"}
        assert all(n["description"] for n in nodes["assetNodes"])
        bureau = browser.open(
            f"{s.url}/assets/bureau/scjg_ztxx?view=lineage&lineageScope=upstream&lineageDepth=1",
            has_all("scjg_ztxx", "e_baseinfo", "e_pb_baseinfo"),
        )
        assert "scjg_ztxx" in bureau and "e_baseinfo" in bureau and "e_pb_baseinfo" in bureau
        browser.screenshot(ARTIFACTS / "ui_bureau_upstream.png")

        # Every loaded day of a table carries that day's result of every check (the demo loads ranges).
        day, first = demo_day(demo), demo_first_day(demo)
        for path in (["province", "registration", "e_baseinfo"], ["bureau", "scjg_ztxx"]):
            statuses = check_statuses(s, path)
            assert len(statuses) >= 5, statuses
            for name, ranges in statuses.items():
                assert ranges and ranges[0] == (first, day, "SUCCEEDED"), (path, name, ranges)
        checks = browser.open(
            f"{s.url}/assets/province/registration/e_baseinfo?view=checks",
            has_all("row_count", "volume", "freshness"),
        )
        assert "volume" in checks and "Skipped" not in checks, checks[:1500]
        browser.screenshot(ARTIFACTS / "ui_checks_e_baseinfo.png")

        # Materialise a partition on demand, as from the launchpad, and wait for it.
        run_id = s.launch(
            "province_nightly", [["province", "enforcement", "case_clue"]], {"dagster/partition": day}
        )
        assert wait_run(s, run_id) == "SUCCESS"
        page = browser.open(f"{s.url}/runs/{run_id}", lambda t: "Success" in t or "SUCCESS" in t.upper())
        assert "case_clue" in page and day in page, page[:800]
        browser.screenshot(ARTIFACTS / "ui_run.png")

        # That night's reconcile result, as a person opens it: what it compared and when the whole table is.
        reconcile = browser.open(
            f"{s.url}/assets/province/enforcement/case_clue?view=checks&checkDetail=reconcile",
            has_all("whole_table_schedule", day),
        )
        assert "全表校验和每周" in reconcile and "scope" in reconcile, reconcile[:1500]
        assert "逐条比对一致" in reconcile or "校验和一致" in reconcile, reconcile[:1500]
        browser.screenshot(ARTIFACTS / "ui_check_case_clue_reconcile.png")


def check_statuses(s: Stack, path: list[str]) -> dict[str, list[tuple[str, str, str]]]:
    """Each check of an asset: its partition ranges (first day, last day, status), as the Checks tab reads
    them."""
    query = """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { ... on AssetNode {
        assetChecksOrError { ... on AssetChecks { checks { name partitionStatuses {
            ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } } } } } } } } }"""
    node = s.graphql(query, {"key": {"path": path}})["assetNodeOrError"]
    return {
        c["name"]: [(r["startKey"], r["endKey"], r["status"]) for r in c["partitionStatuses"]["ranges"]]
        for c in node["assetChecksOrError"]["checks"]
    }


def test_the_demos_monthly_report_in_a_browser(demo: Demo, browser: Browser) -> None:
    """The monthly report the demo wrote, as the client opens it: every day of the month loaded (none
    未开始), the rows exchanged per day on a chart of its own."""
    assert demo.done.returncode == 0, demo.done.stdout[-2000:] + demo.done.stderr[-2000:]
    found = re.search(r"ops/monthly_report \S+: run \S+ succeeded\s+(\S+\.html)", demo.done.stdout)
    assert found, demo.done.stdout[-2000:]
    text = browser.open(Path(found.group(1)).as_uri(), has_all("每日交换行数", "每日交换表运行结果"))
    assert "每日交换行数" in text and "日期" in text and "未开始 0；" in text, text[:1500]
    browser.screenshot(ARTIFACTS / "report_monthly.png")


def demo_first_day(demo: Demo) -> str:
    found = re.search(r"simulate the province, (\d{4}-\d{2}-\d{2}) …", demo.done.stdout)
    assert found, demo.done.stdout[-2000:]
    return found.group(1)


def demo_day(demo: Demo) -> str:
    """The last day the demo loaded, from its own output."""
    found = re.findall(r"inspection sheet of (\d{4}-\d{2}-\d{2})", demo.done.stdout)
    assert found, demo.done.stdout[-2000:]
    return found[-1]
