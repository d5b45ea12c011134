"""The production stack for the rehearsal and UI tests: the real `dagster-webserver` and `dagster-daemon`
processes on a given DAGSTER_HOME, and the webserver's GraphQL API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOCATION = "shaoxing_ops"

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on UnauthorizedError { message }
  }
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """A started webserver (and optionally the daemon) and how to reach them."""

    def __init__(self, port: int, logs: Path) -> None:
        self.port, self.logs = port, logs
        self.url = f"http://127.0.0.1:{port}"

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"GraphQL {exc.code}: {exc.read()[:3000]!r}\n{self.log_tail()}") from None
        assert "errors" not in payload, payload["errors"]
        return payload["data"]

    def launch(self, job: str, asset_paths: list[list[str]], tags: dict[str, str]) -> str:
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": "__repository__",
                "jobName": job,
                "assetSelection": [{"path": p} for p in asset_paths],
            },
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
        }
        result = self.graphql(LAUNCH, {"params": params})["launchRun"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return str(result["run"]["runId"])

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.logs.glob("*.log"))
        )


def _wait_http(url: str, timeout: float, procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{p.args[0]} exited with {p.returncode} before the webserver answered")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"the webserver did not answer at {url} within {timeout:.0f}s")


@contextmanager
def stack(env: dict[str, str], logs: Path, *, daemon: bool) -> Iterator[Stack]:
    """Run `dagster-webserver` (and `dagster-daemon run`) as their own processes until the block ends."""
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    commands = [[str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]]
    if daemon:
        commands.append([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"])
    procs = []
    try:
        for cmd in commands:
            log = open(logs / f"{Path(cmd[0]).name}.log", "w")  # noqa: SIM115  (closed with the process)
            procs.append(
                subprocess.Popen(
                    cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
        s = Stack(port, logs)
        try:
            _wait_http(s.url, 180, procs)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n{s.log_tail()}") from None
        yield s
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
