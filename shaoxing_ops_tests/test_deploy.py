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
    production, docker = load("deploy/dagster.yaml"), load("deploy/docker/dagster.yaml")
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
    values, production = load("deploy/k8s/values.yaml"), load("deploy/dagster.yaml")
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
        (ROOT / "deploy" / "dagster.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 4


def test_host_collect_units_are_valid_and_run_our_command(tmp_path: Path) -> None:
    """The systemd service and timer pass systemd's own check (an unknown key or a missing ExecStart fails), and
    what they and the cron line run is a command our parser takes, reading only settings the platform reads."""
    import argparse
    import shlex
    import shutil
    import subprocess

    from shaoxing_ops.commands import hosts as host_commands

    folder = ROOT / "deploy" / "hosts"
    service = (folder / "shaoxing-ops-host-collect.service").read_text(encoding="utf-8")
    cron = (folder / "shaoxing-ops-host-collect.cron").read_text(encoding="utf-8")
    (exec_start,) = re.findall(r"^ExecStart=(.+)$", service, flags=re.M)
    (cron_line,) = [ln for ln in cron.splitlines() if ln.startswith("*/5")]
    parser = argparse.ArgumentParser(prog="shaoxing-ops")
    host_commands.add_parsers(parser.add_subparsers(dest="command", required=True))
    for command in (exec_start, cron_line.split("; ")[-1].split(" 2>&1")[0]):
        argv = shlex.split(command)
        assert argv[0] == "/opt/shaoxing-ops/.venv/bin/shaoxing-ops"
        assert parser.parse_args(argv[1:]).func.__name__ == "cmd_host_collect"
    named = set(re.findall(r"\b(SXOPS_[A-Z_]+)=", service))
    assert named == {"SXOPS_HOST_NAME", "SXOPS_HOST_ROLE", "SXOPS_OPS_URL_FILE", "SXOPS_HOST_DB_URL_FILE"}
    code = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "shaoxing_ops").glob("settings.py"))
    for variable in named:  # SXOPS_X_FILE is read by _from_env_or_file("SXOPS_X")
        assert f'"{variable.removesuffix("_FILE")}"' in code, variable
    if shutil.which("systemd-analyze") is None:
        return
    for name in ("shaoxing-ops-host-collect.service", "shaoxing-ops-host-collect.timer"):
        shutil.copy(folder / name, tmp_path / name)
    done = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "shaoxing-ops-host-collect.timer")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "Unknown" not in done.stderr, done.stderr
