"""``shaoxing-ops serve``: the production set on one machine, in the foreground. The daemon, the operators'
webserver (``serve/webserver.py``, runs tagged with the launching user) and the viewers' ``dagster-webserver
--read-only``, both bound to 127.0.0.1, and nginx on the public port in front of them (deploy/nginx). Ctrl-C or
SIGTERM stops every child."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from shaoxing_ops import settings
from shaoxing_ops.files import write_private_text

from .users import ensure_files

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "nginx.conf.j2"
BIN = Path(sys.executable).parent


class ServeError(RuntimeError):
    """The set cannot start as configured; the message says what to change."""


@dataclass
class ServeConfig:
    host: str
    port: int
    operator_port: int
    viewer_port: int
    state_dir: Path
    users_dir: Path
    workspace: Path
    tls_cert: Path | None = None
    tls_key: Path | None = None
    daemon: bool = True

    @property
    def url(self) -> str:
        scheme = "https" if self.tls_cert else "http"
        shown = socket.gethostname() if self.host in ("0.0.0.0", "::", "") else self.host
        return f"{scheme}://{shown}:{self.port}/"


def default_state_dir() -> Path:
    """``serve`` beside the Dagster home (``./var/serve`` for the embedded default)."""
    home = os.environ.get("DAGSTER_HOME")
    return (Path(home).absolute().parent if home else Path("var").absolute()) / "serve"


def find_nginx() -> str | None:
    """Debian's nginx, also where /usr/sbin is not on PATH (a non-root account)."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def render(config: ServeConfig) -> Path:
    """Write the nginx configuration of ``config`` into its state folder; returns its path."""
    import jinja2

    if bool(config.tls_cert) != bool(config.tls_key):
        raise ServeError(
            "TLS needs both --tls-cert and --tls-key (SXOPS_TLS_CERT, SXOPS_TLS_KEY), or neither"
        )
    for path in (config.tls_cert, config.tls_key):
        if path and not path.is_file():
            raise ServeError(f"TLS file {path} does not exist")
    operators, viewers = ensure_files(config.users_dir)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (config.state_dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    listen = f"[{config.host}]:{config.port}" if ":" in config.host else f"{config.host}:{config.port}"
    text = jinja2.Template(TEMPLATE.read_text(encoding="utf-8"), keep_trailing_newline=True).render(
        state_dir=config.state_dir,
        operator_port=config.operator_port,
        viewer_port=config.viewer_port,
        listen=listen,
        tls=bool(config.tls_cert),
        tls_cert=config.tls_cert,
        tls_key=config.tls_key,
        operators=operators,
        viewers=viewers,
        run_as="root" if os.geteuid() == 0 else None,
        data_dir=settings.data_dir(),
        reports=settings.data_dir() / "reports",
    )
    return write_private_text(config.state_dir / "nginx.conf", text)


def commands(config: ServeConfig, nginx: str, conf: Path) -> dict[str, list[str]]:
    """Each child's command line, in start order."""
    workspace = str(config.workspace)
    started = {}
    if config.daemon:
        started["dagster-daemon"] = [str(BIN / "dagster-daemon"), "run", "-w", workspace]
    started["webserver (operators)"] = [
        sys.executable,
        "-m",
        "shaoxing_ops.serve.webserver",
        "-w",
        workspace,
        "-h",
        "127.0.0.1",
        "-p",
        str(config.operator_port),
    ]
    started["webserver (viewers, read-only)"] = [
        str(BIN / "dagster-webserver"),
        "--read-only",
        "-w",
        workspace,
        "-h",
        "127.0.0.1",
        "-p",
        str(config.viewer_port),
    ]
    started["nginx"] = [nginx, "-e", "stderr", "-p", str(config.state_dir), "-c", str(conf)]
    return started


def _prepare_instance() -> None:
    """Open the instance once before the children do: on a fresh home, two processes creating its storage at
    once race in its schema migrations (seen: "alembic_version has more than one head")."""
    import dagster as dg

    with dg.DagsterInstance.get():
        pass


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=3) as r:
            return bool(r.status == 200)
    except OSError:
        return False


class _Stop(Exception):
    pass


def _on_signal(signum: int, _frame: object) -> None:
    raise _Stop(signal.Signals(signum).name)


def serve(config: ServeConfig, say=print) -> int:  # type: ignore[no-untyped-def]
    """Start the set, wait for the webservers, say where to browse, and run until a signal or a child's exit."""
    nginx = find_nginx()
    if nginx is None:
        raise ServeError("nginx is not installed: apt-get install nginx apache2-utils")
    for port in (config.port, config.operator_port, config.viewer_port):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                raise ServeError(
                    f"port {port} is in use; choose another (--port, --operator-port, --viewer-port)"
                )
    conf = render(config)
    _prepare_instance()
    check = subprocess.run(
        [nginx, "-t", "-q", "-e", "stderr", "-p", str(config.state_dir), "-c", str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        raise ServeError(f"nginx refuses {conf}: {check.stderr.strip()}")
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    children: dict[str, subprocess.Popen] = {}
    try:
        for name, cmd in commands(config, nginx, conf).items():
            if name == "nginx":
                deadline = time.monotonic() + 300
                while not (_answers(config.operator_port) and _answers(config.viewer_port)):
                    _exited(children)
                    if time.monotonic() > deadline:
                        raise ServeError("the webservers did not answer within 300 s")
                    time.sleep(0.5)
            # each child in its own session: the terminal's Ctrl-C reaches this process, which stops them in order
            children[name] = subprocess.Popen(
                cmd, cwd=config.workspace.parent, start_new_session=True, preexec_fn=_die_with_parent
            )
        say(f"shaoxing-ops 已启动 / serving: {config.url}  (运维人员: 完整界面; 查看人员: 只读界面)")
        say(f"  users: {config.users_dir}  nginx: {conf}  stop: Ctrl-C")
        while True:
            _exited(children)
            time.sleep(0.5)
    except _Stop as stop:
        say(f"stopping ({stop}) …")
        return 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _stop_all(children)


def _die_with_parent() -> None:
    """In the child before it runs: SIGTERM when serve dies, even by SIGKILL, so no webserver is left orphaned
    holding its port (Linux's PR_SET_PDEATHSIG; elsewhere nothing)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _exited(children: dict[str, subprocess.Popen]) -> None:
    for name, child in children.items():
        if child.poll() is not None:
            raise ServeError(f"{name} exited with code {child.returncode}; stopping the others")


def _stop_all(children: dict[str, subprocess.Popen]) -> None:
    """nginx first (no new requests), then the webservers and the daemon; SIGKILL whatever ignores SIGTERM."""
    for child in reversed(list(children.values())):
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
