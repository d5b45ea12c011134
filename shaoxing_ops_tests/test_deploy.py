"""The scale-out examples stay in step with the production instance: same storage, queue and retries; only the
run launcher and the workspace differ."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def test_docker_instance_differs_from_production_only_by_its_run_launcher() -> None:
    production, docker = load("dagster.yaml"), load("deploy/docker/dagster.yaml")
    for section in ("storage", "run_retries", "run_monitoring", "run_coordinator"):
        assert docker[section] == production[section], section
    assert docker["concurrency"]["pools"] == production["concurrency"]["pools"]
    runs, prod_runs = docker["concurrency"]["runs"], production["concurrency"]["runs"]
    assert runs["tag_concurrency_limits"] == prod_runs["tag_concurrency_limits"]
    assert (
        docker["run_coordinator"]["class"] == production["run_coordinator"]["class"] == "QueuedRunCoordinator"
    )
    assert docker["run_launcher"] == {
        **docker["run_launcher"],
        "module": "dagster_docker",
        "class": "DockerRunLauncher",
    }
    assert "SXOPS_FRONT_URL" in docker["run_launcher"]["config"]["env_vars"]
    assert (
        load("deploy/docker/workspace.yaml")["load_from"][0]["grpc_server"]["location_name"] == "shaoxing_ops"
    )
    compose = load("deploy/docker/docker-compose.yaml")
    assert {"dagster_postgres", "user_code", "webserver", "daemon"} <= set(compose["services"])
    assert "shaoxing_ops.definitions" in compose["services"]["user_code"]["command"]


def test_kubernetes_values_use_dagsters_launcher_and_the_same_limits() -> None:
    values, production = load("deploy/k8s/values.yaml"), load("dagster.yaml")
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "shaoxing_ops.definitions"]
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queue["tagConcurrencyLimits"] == production["concurrency"]["runs"]["tag_concurrency_limits"]
    assert values["dagsterDaemon"]["runRetries"]["maxRetries"] == production["run_retries"]["max_retries"]
    for path in ("deploy/k8s/values.yaml", "deploy/docker/docker-compose.yaml", "deploy/docker/dagster.yaml"):
        text = (ROOT / path).read_text(encoding="utf-8")
        # a password is only ever a reference (${VAR} or {env: VAR}), never a value
        assert not re.search(r"(?i)password:\s*(?!\$\{|\{env:)\S", text), path


def test_production_instance_config_is_valid_for_this_dagster(tmp_path: Path) -> None:
    """Dagster validates dagster.yaml when an instance starts; this catches a rejected setting without one."""
    from dagster._core.instance.config import dagster_instance_config

    (tmp_path / "dagster.yaml").write_text(
        (ROOT / "dagster.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 4
