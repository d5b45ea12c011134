"""Throwaway PostgreSQL and MariaDB servers for one test session: the machine's own server programs, started on
a data folder in memory with durability off, and stopped when the session ends.

The tests test the platform's SQL over real connections, not the servers' fsyncs. Against the machine's own
servers (data on disk, every commit and every ``CREATE DATABASE`` flushed) creating, cloning and dropping the
tests' databases took a quarter of the suite's time: 1.5 s before each PostgreSQL test, against 0.17 s here. The
programs and their versions are the machine's, so every statement runs as it would there.

Used only where no server is named (``SXOPS_TEST_PG_URL``, ``SXOPS_TEST_MYSQL_URL``) and the programs are found;
otherwise the tests go to the named or the default server as before.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from .production import free_port

PREFIX = "sxops_servers_"
PG_USER, MYSQL_USER = "postgres", "mysql"  # the system accounts the Debian packages run their servers as


def _as(user: str) -> list[str] | None:
    """The prefix running a command as ``user`` when we are root (PostgreSQL refuses to run as root), ``[]``
    when we are not, ``None`` when we are root and the account does not exist."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(user)
    except KeyError:
        return None
    return ["runuser", "-u", user, "--"]


def _own(folder: Path, user: str) -> None:
    if os.geteuid() == 0:
        shutil.chown(folder, user)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_until(ready: Callable[[], bool], what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"the tests' {what} did not start within {timeout:.0f} s; its log ends:\n{tail}"
            )
        time.sleep(0.1)


def _answers(url: str) -> bool:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


def start_postgres(folder: Path) -> str | None:
    """A PostgreSQL server on ``folder``; its URL, or ``None`` where the programs or the account are missing."""
    bindir, prefix = _postgres_bin(), _as(PG_USER)
    if bindir is None or prefix is None:
        return None
    folder.mkdir()
    _own(folder, PG_USER)
    data, log, port = folder / "data", folder / "server.log", free_port()
    initdb = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]
    subprocess.run([*prefix, *initdb, "--locale=C.UTF-8", "--no-sync"], check=True, capture_output=True)
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
        " -c full_page_writes=off"
    )
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options]
    subprocess.run([*prefix, *pg_ctl, "start"], check=True, capture_output=True)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    _wait_until(lambda: _answers(url), "PostgreSQL", log)
    return url


def start_mariadb(folder: Path) -> str | None:
    """A MariaDB server on ``folder``; its URL, or ``None`` where the programs or the account are missing."""
    install, server, prefix = shutil.which("mariadb-install-db"), shutil.which("mariadbd"), _as(MYSQL_USER)
    server = server or ("/usr/sbin/mariadbd" if Path("/usr/sbin/mariadbd").exists() else None)
    if install is None or server is None or prefix is None:
        return None
    folder.mkdir()
    _own(folder, MYSQL_USER)
    data, log, port = folder / "data", folder / "server.log", free_port()
    user = [f"--user={MYSQL_USER}"] if os.geteuid() == 0 else []
    options = [
        "--no-defaults",
        f"--datadir={data}",
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
    ]
    subprocess.run([install, *options, *user], check=True, capture_output=True)
    # The machine's server's character set and collation (Debian's defaults), the rest as built.
    settings = [
        f"--datadir={data}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--socket={folder / 'server.sock'}",
        f"--pid-file={folder / 'server.pid'}",
        f"--log-error={log}",
        "--skip-log-bin",
        "--innodb-flush-log-at-trx-commit=0",
        "--innodb-doublewrite=0",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_general_ci",
    ]
    subprocess.Popen(
        [server, "--no-defaults", *settings, *user],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # out of the session's process group, as pg_ctl's server is: stop() ends both
    )
    url = f"mysql+pymysql://root@127.0.0.1:{port}/"
    _wait_until(lambda: _answers(url), "MariaDB", log)
    return url


def stop(folder: Path) -> None:
    """End the servers of ``folder`` and remove it, without waiting: their data is thrown away. PostgreSQL
    gets its immediate shutdown (SIGQUIT, which ends its worker processes too), MariaDB is killed."""
    pid_files = {folder / "postgres" / "data" / "postmaster.pid": signal.SIGQUIT}
    pid_files[folder / "mariadb" / "server.pid"] = signal.SIGKILL
    for pid_file, how in pid_files.items():
        text = pid_file.read_text().split() if pid_file.exists() else []
        if text and text[0].isdigit():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(text[0]), how)
    shutil.rmtree(folder, ignore_errors=True)


def start(names: list[str]) -> tuple[Path, dict[str, str], dict[str, str]]:
    """Start the servers ``names`` (``postgres``, ``mariadb``) in a new folder: the folder, the URLs of those
    that started, and why each of the others did not. Folders of earlier sessions that died without stopping
    their servers are cleared first."""
    root = Path(tempfile.gettempdir())
    for old in root.glob(f"{PREFIX}*"):
        owner = (old / "owner").read_text() if (old / "owner").exists() else ""
        if owner.isdigit() and not _alive(int(owner)):
            stop(old)
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))
    folder.chmod(0o755)  # the servers' accounts reach their own folders inside
    (folder / "owner").write_text(str(os.getpid()))
    starters = {"postgres": start_postgres, "mariadb": start_mariadb}
    urls, failures = {}, {}
    for name in names:
        try:
            url = starters[name](folder / name)
        except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
            detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else exc
            failures[name] = f"{type(exc).__name__}: {str(detail).strip()[-500:]}"
            continue
        if url:
            urls[name] = url
        else:
            failures[name] = "its programs (or, as root, its system account) are not on this machine"
    return folder, urls, failures
