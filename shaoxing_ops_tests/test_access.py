"""Access control (issue 15): `shaoxing-ops serve` for real, nginx with basic auth in front of a writable
webserver for operators and a read-only one for viewers, runs tagged with the launching user, TLS with a
self-signed certificate; and the audit's ``launched_by`` column, added in place to an older ops store."""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.defs.province.assets import asset_key
from shaoxing_ops.exchange import make_engine
from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.files import write_private_text
from shaoxing_ops.reports.publish import write_index
from shaoxing_ops.serve.proxy import find_nginx

from .conftest import Dbs, simulate_into
from .production import BIN, LAUNCH, LOCATION, ROOT, free_port


def test_ensure_adds_the_launched_by_column_to_an_older_store(dbs: Dbs) -> None:
    engine = dbs.engine("front")
    store = ExchangeRecords(engine)
    old = sa.MetaData(schema=store.metadata.schema)
    for table in (
        store.tables.reinit_audit,
        store.tables.reconciliations,
    ):  # as the version before launched_by made them
        columns = [
            sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in table.columns
            if c.name != "launched_by"
        ]
        sa.Table(table.name, old, *columns)
    with engine.begin() as conn:
        if store.metadata.schema:
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {store.metadata.schema}")
        old.create_all(conn)
    store.ensure()
    audit = store.start_reinit("E_BASEINFO", "代码集变更", "市局 王科长", None, launched_by="ops-wang")
    store.finish_reinit(audit, status="succeeded")
    ExchangeRecords(engine).ensure()  # a second time: nothing left to add
    (row,) = ExchangeRecords(engine).reinits()
    assert (row["approved_by"], row["launched_by"]) == ("市局 王科长", "ops-wang")
    inspector = sa.inspect(engine)
    held = {
        c["name"]
        for c in inspector.get_columns(store.tables.reconciliations.name, schema=store.metadata.schema)
    }
    assert "launched_by" in held


# -- the production set behind nginx, for real -------------------------------------------------------------
OPERATOR, OPERATOR_PW = "ops-wang", "op-Secret-1"
VIEWER, VIEWER_PW = "zhang-viewer", "view-Secret-2"
TABLE = "CASE_COURT_ENFORCE"  # the smallest provincial table of the tests' simulation: one row

BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  }
}"""
CANCEL = "mutation Cancel($id: String!) { cancelPartitionBackfill(backfillId: $id) { __typename } }"
BACKFILL_TAGS = """
query Tags($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { tags { key value } } } }"""
RUN = """
query Run($id: ID!) {
  runOrError(runId: $id) { __typename ... on Run { status tags { key value } } }
}"""


def require_proxy() -> str:
    nginx = find_nginx()
    if nginx is None or shutil.which("openssl") is None:
        reason = "nginx (Debian: apt-get install nginx apache2-utils) or openssl is not installed"
        if os.environ.get("SXOPS_REQUIRE_PROXY") == "1":
            pytest.fail(f"{reason}, and SXOPS_REQUIRE_PROXY=1")
        pytest.skip(reason)
    return nginx


@dataclass
class ServedSet:
    """``shaoxing-ops serve`` running with TLS, and how to talk to it."""

    process: subprocess.Popen
    port: int
    operator_port: int
    viewer_port: int
    cert: Path
    log: Path
    front: str
    data: Path

    def request(
        self,
        method: str,
        path: str,
        user: tuple[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One https request, the certificate verified against the test's own."""
        context = ssl.create_default_context(cafile=str(self.cert))
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=context, timeout=120)
        sent = dict(headers or {})
        if user:
            sent["Authorization"] = "Basic " + base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
        data = None
        if body is not None:
            data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def graphql(
        self,
        user: tuple[str, str],
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        status, _, body = self.request(
            "POST", "/graphql", user, {"query": query, "variables": variables or {}}, headers
        )
        assert status == 200, (status, body[:2000], self.log_tail())
        payload = json.loads(body)
        assert "errors" not in payload, payload["errors"]
        return dict(payload["data"])

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _add_user(env: dict[str, str], users: Path, name: str, role: str, password: str) -> None:
    done = subprocess.run(
        [str(BIN / "shaoxing-ops"), "serve", "user", "add", name, "--role", role, "--users-dir", str(users)],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert password not in done.stdout + done.stderr


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> Iterator[ServedSet]:
    """The set started once for the module: the embedded default's SQLite instance (whose queued run coordinator
    needs the daemon to start a launched run), SQLite databases, TLS with a self-signed certificate."""
    require_proxy()
    root = tmp_path_factory.mktemp("access")
    urls = {role: f"sqlite:///{root / f'{role}.db'}" for role in ("province", "front", "bureau")}
    simulate_into(urls["province"], catalog)
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SXOPS_", "DAGSTER_"))},
        "DAGSTER_HOME": str(root / "dagster"),
        "SXOPS_DATA_DIR": str(root / "data"),
        "SXOPS_PROVINCE_URL": urls["province"],
        "SXOPS_FRONT_URL": urls["front"],
        "SXOPS_BUREAU_URL": urls["bureau"],
    }
    users = root / "users"
    _add_user(env, users, OPERATOR, "operator", OPERATOR_PW)
    _add_user(env, users, VIEWER, "viewer", VIEWER_PW)
    assert (users.stat().st_mode & 0o777, {f.stat().st_mode & 0o777 for f in users.iterdir()}) == (
        0o700,
        {0o600},
    )
    ports = [free_port() for _ in range(3)]
    log = root / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [
                str(BIN / "shaoxing-ops"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports[0]),
                "--operator-port",
                str(ports[1]),
                "--viewer-port",
                str(ports[2]),
                "--users-dir",
                str(users),
                "--state-dir",
                str(root / "serve"),
                "--tls-cert",
                str(cert),
                "--tls-key",
                str(key),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    s = ServedSet(process, ports[0], ports[1], ports[2], cert, log, urls["front"], root / "data")
    try:
        deadline = time.monotonic() + 240
        while f"https://127.0.0.1:{ports[0]}/" not in log.read_text(errors="replace"):
            assert process.poll() is None, f"serve exited with {process.returncode}\n{s.log_tail()}"
            assert time.monotonic() < deadline, f"serve did not come up within 240 s\n{s.log_tail()}"
            time.sleep(0.5)
        yield s
    finally:
        if process.poll() is None:  # the test stops it with SIGTERM; this is for a failure before that
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _launch(s: ServedSet, user: tuple[str, str], headers: dict[str, str] | None = None) -> dict[str, Any]:
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": "__repository__",
            "jobName": "reinitialise",
        },
        "runConfigData": {
            "ops": {
                "reinitialise_tables": {
                    "config": {"tables": [TABLE], "reason": "访问控制测试", "approved_by": "市局 王科长"}
                }
            }
        },
        # a client's own launcher tag, which the operators' webserver replaces
        "executionMetadata": {"tags": [{"key": "sxops/launched_by", "value": "mallory"}]},
    }
    return dict(s.graphql(user, LAUNCH, {"params": params}, headers)["launchRun"])


@pytest.mark.slow
def test_operators_and_viewers_through_the_proxy(
    served: ServedSet, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, operator, viewer = served, (OPERATOR, OPERATOR_PW), (VIEWER, VIEWER_PW)
    # Nobody in without the right credentials: none, a wrong password, a user in neither file.
    for user in (None, (OPERATOR, "wrong"), (VIEWER, OPERATOR_PW), ("mallory", "x")):
        status, headers, _ = s.request("GET", "/server_info", user)
        assert status == 401 and headers["www-authenticate"].startswith("Basic"), (user, status)
    # Plain HTTP on the TLS port is sent to https.
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    conn.request("GET", "/server_info")
    plain = conn.getresponse()
    assert (plain.status, plain.getheader("Location")) == (301, f"https://127.0.0.1:{s.port}/server_info")
    conn.close()

    # A viewer reads (the workspace, the UI) but cannot launch: the read-only webserver refuses.
    workspace = s.graphql(viewer, "{ workspaceOrError { __typename } }")
    assert workspace["workspaceOrError"]["__typename"] == "Workspace"
    assert s.request("GET", "/", viewer)[0] == 200
    refused = _launch(s, viewer)
    assert refused["__typename"] == "UnauthorizedError", refused
    # Dagster's UI subscribes over a WebSocket on /graphql: the upgrade goes through.
    status, headers, _ = s.request(
        "GET",
        "/graphql",
        operator,
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
            "Sec-WebSocket-Protocol": "graphql-ws",
        },
    )
    assert status == 101 and headers["upgrade"].lower() == "websocket", (status, headers)

    # An operator launches the re-initialisation; a client-sent X-Forwarded-User and launcher tag are ignored.
    launched = _launch(s, operator, {"X-Forwarded-User": "mallory"})
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 180
    while True:
        run = s.graphql(viewer, RUN, {"id": run_id})["runOrError"]  # the viewer follows it
        if run["status"] in ("SUCCESS", "FAILURE", "CANCELED") or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert run["status"] == "SUCCESS", (run, s.log_tail())
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["sxops/launched_by"] == OPERATOR
    (audit,) = ExchangeRecords(make_engine(s.front)).reinits()
    assert (
        audit["table_name"],
        audit["approved_by"],
        audit["launched_by"],
        audit["run_id"],
        audit["status"],
    ) == (TABLE, "市局 王科长", OPERATOR, run_id, "succeeded")

    # A backfill launched by the operator carries the tag its runs inherit (cancelled at once: only its record
    # is looked at).
    params = {
        "assetSelection": [{"path": asset_key(catalog.table(TABLE)).path}],
        "partitionNames": ["2026-03-01"],
        "tags": [{"key": "sxops/launched_by", "value": "mallory"}],
    }
    backfill = s.graphql(operator, BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert backfill["__typename"] == "LaunchBackfillSuccess", backfill
    s.graphql(operator, CANCEL, {"id": backfill["backfillId"]})
    record = s.graphql(viewer, BACKFILL_TAGS, {"id": backfill["backfillId"]})["partitionBackfillOrError"]
    assert {t["key"]: t["value"] for t in record["tags"]}["sxops/launched_by"] == OPERATOR

    # The reports, behind the same log-in for either role: the index by kind and month, and each file.
    monkeypatch.setenv("SXOPS_DATA_DIR", str(s.data))
    sheet = write_private_text(
        s.data / "reports" / "inspection" / "巡检单_2026-03-01.html", "<p>巡检单 3 月 1 日</p>"
    )
    write_index()
    href = "/reports/inspection/" + urllib.parse.quote("巡检单_2026-03-01.html")
    for user in (viewer, operator):
        status, _, body = s.request("GET", "/reports/", user)
        assert status == 200 and "数据交换运维交付报告" in body.decode() and "2026年03月" in body.decode(), (
            status
        )
        assert href.removeprefix("/reports/") in body.decode()
        assert s.request("GET", href, user)[2].decode() == sheet.read_text(encoding="utf-8")
    assert (
        s.request("GET", "/reports/", None)[0] == 401 and s.request("GET", href, (VIEWER, "wrong"))[0] == 401
    )

    # SIGTERM stops the set: serve and every child it started.
    s.process.send_signal(signal.SIGTERM)
    assert s.process.wait(timeout=60) == 0, s.log_tail()
    for port in (s.port, s.operator_port, s.viewer_port):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
