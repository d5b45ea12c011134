"""Databases for the tests: SQLite files in a temporary folder, and fresh databases on a real PostgreSQL and
a real MariaDB.

PostgreSQL comes from ``SXOPS_TEST_PG_URL``; unset, the session starts its own server from the machine's
PostgreSQL programs (``servers.py``: in memory, durability off), and without those it goes to the local server
(trust auth). Without a server the PostgreSQL tests are skipped with the reason shown by ``-ra``; with
``SXOPS_REQUIRE_PG=1`` (set by ``.ci/run``) they fail instead, so CI can never pass by skipping them. MariaDB
likewise, from ``SXOPS_TEST_MYSQL_URL`` and ``SXOPS_REQUIRE_MYSQL``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from filelock import FileLock
from sqlalchemy.engine import Engine

from shaoxing_ops import collector
from shaoxing_ops.catalog import Catalog, Table, load_catalog
from shaoxing_ops.exchange import make_engine
from shaoxing_ops.exchange.province_store import SqlProvinceStore
from shaoxing_ops.simulate.run import simulate

from . import servers

REQUIRE_PG = os.environ.get("SXOPS_REQUIRE_PG") == "1"
REQUIRE_MYSQL = os.environ.get("SXOPS_REQUIRE_MYSQL") == "1"
# The servers the tests create their databases on: named, started by the session (``pytest_configure``), or these.
PG_VAR, PG_DEFAULT = "SXOPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MYSQL_VAR, MYSQL_DEFAULT = "SXOPS_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/"
# The folder of the servers this session started, and which (the session's own process only).
_started: dict[Path, set[str]] = {}


def pg_url() -> str:
    return os.environ.get(PG_VAR, PG_DEFAULT)


def mysql_url() -> str:
    return os.environ.get(MYSQL_VAR, MYSQL_DEFAULT)


# The small province most tests start from: the baseline and two days.
SIM_START, SIM_END, SIM_SCALE, SIM_SEED = dt.date(2026, 3, 1), dt.date(2026, 3, 2), 0.004, 11
# Folder where the default simulation's template of each backend is recorded, shared by xdist's workers.
TEMPLATES = "SXOPS_TEST_TEMPLATES"


def pytest_configure(config: pytest.Config) -> None:
    """Temporary files (SQLite databases, Dagster instances, the demo) in memory where /dev/shm is there: the
    instance's storage is not what these tests test, and on disk its fsyncs took most of the suite's time."""
    shm = Path("/dev/shm")
    if "TMPDIR" not in os.environ and shm.is_dir() and os.access(shm, os.W_OK):
        os.environ["TMPDIR"] = str(shm)  # for the subprocesses too: the demo, the webserver, the daemon
        tempfile.tempdir = None  # forget a folder chosen before
    # The collector set as in the processes that run the platform's jobs (``shaoxing_ops.collector``): the tests
    # run those jobs and simulations in their own processes.
    collector.tune()
    # The province of the tests is the stand-in: its armed faults act (a production configuration leaves it off).
    os.environ.setdefault("SXOPS_SIMULATION", "1")
    if not hasattr(config, "workerinput"):  # the session's own process: xdist's workers inherit the folder
        os.environ[TEMPLATES] = tempfile.mkdtemp(prefix="sxops_templates_")
        # and the servers: started here, where no server is named, for every worker
        wanted = {"postgres": PG_VAR, "mariadb": MYSQL_VAR}
        folder, urls, failures = servers.start(
            [name for name, var in wanted.items() if var not in os.environ]
        )
        _started[folder] = set(urls)
        for name, url in urls.items():
            os.environ[wanted[name]] = url
        for name, why in failures.items():  # the tests then go to the machine's own server, if one answers
            message = f"no {name} server of the tests' own ({why}); the tests use {wanted[name]}'s default"
            config.issue_config_time_warning(pytest.PytestWarning(message), stacklevel=2)


def pytest_unconfigure(config: pytest.Config) -> None:
    """The session's process drops the simulated templates once every worker is done with them (those on the
    servers it started go with the servers)."""
    if hasattr(config, "workerinput") or TEMPLATES not in os.environ:
        return
    folder = Path(os.environ.pop(TEMPLATES))
    ours = set().union(*_started.values())
    for made in folder.glob("*.url"):  # named by backend: `_template`
        url = made.read_text()
        if made.stem in ours:
            continue
        if url.startswith("postgresql"):
            drop_pg_database(url)
        elif url.startswith("mysql"):
            drop_mysql_database(url)
    shutil.rmtree(folder, ignore_errors=True)
    for started in _started:
        servers.stop(started)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests (marked ``slow`` or ``ui``) first, those reading the demo at their head, the rest in file
    order. Under xdist's ``worksteal`` the first worker starts on them while the other works through the rest and
    then takes from the end of the first one's queue: both end on short tests, instead of one running a long
    test begun last, alone (in file order, the UI test ran alone for the suite's last 25 s, at 60 % idle)."""

    def rank(item: pytest.Item) -> int:
        long = item.get_closest_marker("slow") or item.get_closest_marker("ui")
        return 2 if not long else 0 if "demo" in getattr(item, "fixturenames", ()) else 1

    items.sort(key=rank)  # stable: file order within each rank


@pytest.fixture(autouse=True)
def _volume_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalog's expected volumes are Shaoxing's size; the tests' province is ``SIM_SCALE`` of it."""
    monkeypatch.setenv("SXOPS_VOLUME_SCALE", str(SIM_SCALE))
    # The step retries are real; only their wait is shortened (what is tested is that they happen).
    monkeypatch.setenv("SXOPS_RETRY_DELAY_SECONDS", "0.01")


@contextmanager
def embedded_instance() -> Iterator[dg.DagsterInstance]:
    """A test instance (temporary folder) whose event log is the embedded default's (``shaoxing-ops``'s
    dagster.yaml: ``PooledSqliteEventLogStorage``), so the tests run on the storage people's runs write to."""
    from shaoxing_ops.commands.shared import embedded_event_log

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as home:
        overrides = {"event_log_storage": embedded_event_log(Path(home) / "history" / "runs")}
        with dg.instance_for_test(temp_dir=home, overrides=overrides) as instance:
            yield instance


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


def representative_tables(catalog: Catalog) -> list[Table]:
    """Tables standing for all 142 where each further one adds nothing new to a test: the core registration
    tables the tests read figures from, the first of each system, and one holding each column kind and each
    validity rule not held yet."""
    picked = ["E_BASEINFO", "E_PRI_PERSON", "E_ALTER_RECODER", "E_CANCEL", "CASE_PUB_BASEINFO"]
    for system in sorted({t.system for t in catalog.tables}):
        first = next(t for t in catalog.tables if t.system == system)
        picked += [first.name] if first.name not in picked else []
    for attr in ("kind", "check"):
        for value in sorted({getattr(c, attr) for t in catalog.tables for c in t.columns} - {None}):
            if not any(getattr(c, attr) == value for n in picked for c in catalog.table(n).columns):
                picked.append(
                    next(t.name for t in catalog.tables if any(getattr(c, attr) == value for c in t.columns))
                )
    return [catalog.table(n) for n in picked]


@dataclass
class Dbs:
    """URLs of one set of province / front / bureau databases."""

    kind: str
    province: str
    front: str
    bureau: str

    def engine(self, role: str) -> Engine:
        return make_engine(getattr(self, role), role=role)


_pg_checked: list[str | None] = []


def _pg_unavailable() -> str | None:
    if not _pg_checked:
        try:
            with make_engine(pg_url()).connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            _pg_checked.append(None)
        except Exception as exc:  # any failure to connect means: no server here
            _pg_checked.append(f"PostgreSQL not reachable at {pg_url().split('@')[-1]}: {type(exc).__name__}")
    return _pg_checked[0]


def require_pg() -> None:
    reason = _pg_unavailable()
    if reason:
        if REQUIRE_PG:
            pytest.fail(f"SXOPS_REQUIRE_PG=1 but {reason}")
        pytest.skip(reason)


def _admin() -> Engine:
    return sa.create_engine(make_engine(pg_url()).url, isolation_level="AUTOCOMMIT")


def create_pg_database(label: str) -> str:
    name = f"sxops_t_{uuid.uuid4().hex[:10]}_{label}"
    admin = _admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return str(make_engine(pg_url()).url.set(database=name).render_as_string(hide_password=False))


def drop_pg_database(url: str) -> None:
    name = sa.engine.make_url(url).database
    admin = _admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


_my_checked: list[str | None] = []


def require_mysql() -> None:
    """MariaDB/MySQL at ``SXOPS_TEST_MYSQL_URL``, or a skip saying why (a failure under SXOPS_REQUIRE_MYSQL=1)."""
    if not _my_checked:
        try:
            with make_engine(mysql_url()).connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            _my_checked.append(None)
        except Exception as exc:  # any failure to connect means: no server here
            _my_checked.append(
                f"MariaDB/MySQL not reachable at {mysql_url().split('@')[-1]}: {type(exc).__name__}"
            )
    if _my_checked[0]:
        if REQUIRE_MYSQL:
            pytest.fail(f"SXOPS_REQUIRE_MYSQL=1 but {_my_checked[0]}")
        pytest.skip(_my_checked[0])


def _my_admin(sql: str) -> None:
    engine = make_engine(mysql_url())
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def create_mysql_database(label: str) -> str:
    name = f"sxops_t_{uuid.uuid4().hex[:10]}_{label}"
    _my_admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    return str(make_engine(mysql_url()).url.set(database=name).render_as_string(hide_password=False))


def drop_mysql_database(url: str) -> None:
    _my_admin(f"DROP DATABASE IF EXISTS `{sa.engine.make_url(url).database}`")


@pytest.fixture
def mysql_dbs() -> Iterator[Dbs]:
    require_mysql()
    urls = [create_mysql_database(r) for r in ("province", "front", "bureau")]
    yield Dbs("mariadb", *urls)
    for url in urls:
        drop_mysql_database(url)


@pytest.fixture
def sqlite_dbs(tmp_path: Path) -> Dbs:
    return Dbs("sqlite", *(f"sqlite:///{tmp_path / f'{r}.db'}" for r in ("province", "front", "bureau")))


@pytest.fixture
def pg_dbs() -> Iterator[Dbs]:
    require_pg()
    urls = [create_pg_database(r) for r in ("province", "front", "bureau")]
    yield Dbs("postgres", *urls)
    for url in urls:
        drop_pg_database(url)


DB_FIXTURES = {"sqlite": "sqlite_dbs", "postgres": "pg_dbs", "mariadb": "mysql_dbs"}
ALL_BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]


@pytest.fixture(params=ALL_BACKENDS)
def dbs(request: pytest.FixtureRequest) -> Dbs:
    """Every backend: each test using it runs on SQLite, on PostgreSQL and on MariaDB."""
    return request.getfixturevalue(DB_FIXTURES[request.param])


def simulate_into(
    url: str,
    catalog: Catalog,
    start: dt.date = SIM_START,
    end: dt.date = SIM_END,
    scale: float = SIM_SCALE,
    seed: int = SIM_SEED,
) -> None:
    """Write the stand-in into ``url``; the default simulation is made once per backend and copied."""
    if (start, end, scale, seed) != (SIM_START, SIM_END, SIM_SCALE, SIM_SEED):
        _simulate(url, catalog, start, end, scale, seed)
        return
    postgres = url.startswith("postgresql")
    backend = "postgres" if postgres else "mariadb" if url.startswith("mysql") else "sqlite"
    folder = Path(os.environ.get(TEMPLATES) or tempfile.mkdtemp(prefix="sxops_templates_"))
    os.environ[TEMPLATES] = str(folder)
    # The first worker to need a backend's template simulates it; the others wait, then clone it, one clone at
    # a time (PostgreSQL refuses to clone a template another session is cloning).
    with FileLock(str(folder / f"{backend}.lock")):
        _clone(url, backend, _template(folder, backend, catalog))


def _template(folder: Path, backend: str, catalog: Catalog) -> str:
    made = folder / f"{backend}.url"
    if made.exists():
        return made.read_text()
    if backend == "postgres":
        template = create_pg_database("template")
    elif backend == "mariadb":
        template = create_mysql_database("template")
    else:
        template = f"sqlite:///{folder / 'province.db'}"
    _simulate(template, catalog, SIM_START, SIM_END, SIM_SCALE, SIM_SEED)
    made.write_text(template)
    return template


def _clone(url: str, backend: str, template: str) -> None:
    if backend == "mariadb":  # no templates in MariaDB: each table copied inside the server
        source, target = sa.engine.make_url(template).database, sa.engine.make_url(url).database
        engine = make_engine(url)
        with engine.begin() as conn:
            names = [
                r[0]
                for r in conn.exec_driver_sql(
                    f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{source}'"
                )
            ]
            for name in names:
                conn.exec_driver_sql(f"CREATE TABLE `{target}`.`{name}` LIKE `{source}`.`{name}`")
                conn.exec_driver_sql(f"INSERT INTO `{target}`.`{name}` SELECT * FROM `{source}`.`{name}`")
        engine.dispose()
    elif (
        backend == "postgres"
    ):  # cloned whole by the server: the empty database dropped, made from the template
        name = sa.engine.make_url(url).database
        admin = _admin()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(
                f'CREATE DATABASE "{name}" TEMPLATE "{sa.engine.make_url(template).database}"'
            )
        admin.dispose()
    else:
        with (
            sqlite3.connect(sa.engine.make_url(template).database) as src,
            sqlite3.connect(sa.engine.make_url(url).database) as dst,
        ):
            src.backup(dst)


def _simulate(url: str, catalog: Catalog, start: dt.date, end: dt.date, scale: float, seed: int) -> None:
    engine = make_engine(url)
    simulate(catalog, SqlProvinceStore(engine, catalog), start, end, scale=scale, seed=seed)
    engine.dispose()


@pytest.fixture
def env_dbs(dbs: Dbs, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Dbs:
    """``dbs`` made the platform's databases through the environment, as an operator would configure it."""
    monkeypatch.setenv("SXOPS_PROVINCE_URL", dbs.province)
    monkeypatch.setenv("SXOPS_FRONT_URL", dbs.front)
    monkeypatch.setenv("SXOPS_BUREAU_URL", dbs.bureau)
    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path / "data"))
    return dbs


@dataclass
class Demo:
    """One run of `shaoxing-ops demo` in a fresh folder: its output, data folder and Dagster home."""

    done: subprocess.CompletedProcess
    root: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SXOPS_") and k != "DAGSTER_HOME"}
        env.update(SXOPS_DATA_DIR=str(self.root / "data"), DAGSTER_HOME=str(self.root / "dagster"))
        return env


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Demo:
    """The demo at a tiny scale, made once for the tests that need its data (the CLI and UI tests): once per
    session, also under xdist, where the first worker to need it makes it and the others wait and reuse it."""
    # under xdist each worker's temporary folder sits in the session's own, which is shared by all of them
    shared = (
        tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    )
    root, made = shared / "demo", shared / "demo.json"
    with FileLock(str(shared / "demo.lock")):
        if not made.exists():
            root.mkdir()
            # the last whole month, whatever today is: its monthly report is written, every day of it loaded
            end = dt.date.today().replace(day=1) - dt.timedelta(days=1)
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "shaoxing_ops.cli",
                    "demo",
                    "--end",
                    str(end),
                    "--days",
                    "1",
                    "--scale",
                    "0.002",
                ],
                cwd=root,
                env=Demo(subprocess.CompletedProcess([], 0), root).env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            made.write_text(
                json.dumps(
                    {
                        "args": done.args,
                        "returncode": done.returncode,
                        "stdout": done.stdout,
                        "stderr": done.stderr,
                    }
                )
            )
        return Demo(subprocess.CompletedProcess(**json.loads(made.read_text())), root)
