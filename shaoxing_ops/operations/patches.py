"""Patch status (补丁情况) of the host, told offline: OS, kernel, uptime, last update, pending security fixes.

Nothing here needs the network or root: pending updates come from the package manager's local indexes (as
fresh as its last ``apt-get update``, reported alongside), and any tool that is missing or fails is reported
in the result instead of raising, so an inspection sheet always gets its section.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

from shaoxing_ops import settings
from shaoxing_ops.exchange.windows import SHANGHAI
from shaoxing_ops.files import write_private_text

TOOL_TIMEOUT = 120  # seconds: a simulated upgrade resolves dependencies but must not hang an inspection


def _local(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, SHANGHAI).replace(tzinfo=None, microsecond=0)


def _mtime(path: str) -> dt.datetime | None:
    try:
        return _local(os.path.getmtime(path))
    except OSError:
        return None


def os_name() -> str:
    try:
        info = platform.freedesktop_os_release()
        return info.get("PRETTY_NAME") or info.get("NAME") or platform.system()
    except OSError:
        return f"{platform.system()} {platform.version()}"


def uptime_text(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    return f"{days} 天 {rest // 3600} 小时 {rest % 3600 // 60} 分钟"


def last_dpkg_upgrade(
    logs: tuple[str, ...] = ("/var/log/dpkg.log", "/var/log/dpkg.log.1"),
) -> dt.datetime | None:
    """The newest "upgrade" line of dpkg's log (local time of the host), converted to Shanghai time."""
    latest: str | None = None
    for log in logs:
        try:
            with open(log, encoding="utf-8", errors="replace") as fh:
                stamps = [line[:19] for line in fh if line[20:28] == "upgrade "]
        except OSError:
            continue
        if stamps and (latest is None or stamps[-1] > latest):
            latest = stamps[-1]
    if latest is None:
        return None
    try:
        moment = dt.datetime.strptime(latest, "%Y-%m-%d %H:%M:%S").astimezone()  # host's own time zone
    except ValueError:
        return None
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


def _run(command: list[str]) -> tuple[str | None, str | None]:
    """Output of a command, or the reason there is none (missing, timed out, failed)."""
    if shutil.which(command[0]) is None:
        return None, f"未找到 {command[0]}"
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT,
            env={**os.environ, "LANG": "C", "LC_ALL": "C"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{' '.join(command)} 执行失败: {type(exc).__name__}"
    if done.returncode not in (0, 100):  # dnf check-update: 100 means "updates available"
        return None, f"{' '.join(command)} 退出码 {done.returncode}: {done.stderr.strip()[:200]}"
    return done.stdout, None


def _apt_security() -> tuple[list[str] | None, str | None]:
    """Packages with a pending security fix, by a simulated upgrade (4-5 s with Debian's full lists). The answer
    only changes when the installed packages or the package lists do, so it is kept, in this process and in a
    file every run process of the platform reads, until one of them does."""
    lists = Path("/var/lib/apt/lists")
    stamps = [p.stat().st_mtime for p in lists.glob("*") if p.is_file()] if lists.is_dir() else []
    installed = _mtime("/var/lib/dpkg/status")
    key = f"{installed.isoformat() if installed else '-'}|{max(stamps, default=0.0)}"
    packages, error = _apt_security_as_of(key)
    return (list(packages) if packages is not None else None), error  # a copy: the cached list stays as found


@functools.lru_cache(maxsize=1)
def _apt_security_as_of(key: str) -> tuple[list[str] | None, str | None]:
    cache = settings.data_dir() / "cache" / "apt_security.json"
    try:
        kept = json.loads(cache.read_text(encoding="utf-8"))
        if kept["key"] == key:
            return kept["packages"], None
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none yet, or unreadable: ask apt
    out, error = _run(["apt-get", "-s", "-o", "Debug::NoLocking=1", "upgrade"])
    if out is None:
        return None, error
    # "Inst openssl [3.0.11-1] (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])"
    packages = sorted(
        {ln.split()[1] for ln in out.splitlines() if ln.startswith("Inst ") and "-security" in ln}
    )
    write_private_text(cache, json.dumps({"key": key, "packages": packages}))
    return packages, None


def _dnf_security() -> tuple[list[str] | None, str | None]:
    tool = "dnf" if shutil.which("dnf") else "yum"
    out, error = _run([tool, "-q", "-C", "updateinfo", "list", "--security"])  # -C: the local cache only
    if out is None:
        return None, error
    # "FEDORA-2024-1234 Important/Sec. openssl-1:3.1.4-2.fc39.x86_64"
    return sorted({ln.split()[-1] for ln in out.splitlines() if "/Sec." in ln}), None


def patch_status() -> dict[str, Any]:
    """The host's patch situation as plain values (JSON-ready except datetimes)."""
    booted = psutil.boot_time()
    status: dict[str, Any] = {
        "os": os_name(),
        "kernel": platform.release(),
        "boot_time": _local(booted),
        "uptime_seconds": int(time.time() - booted),
        "package_manager": None,
        "last_update": None,
        "last_update_source": None,
        "package_index_updated": None,
        "security_updates": None,  # number of packages with a pending security fix, None when unknown
        "security_packages": [],
        "security_check_error": None,
        "reboot_required": Path("/var/run/reboot-required").exists(),
    }
    status["uptime"] = uptime_text(status["uptime_seconds"])
    if Path("/var/lib/dpkg/status").exists():
        status["package_manager"] = "dpkg"
        upgraded = last_dpkg_upgrade()
        status["last_update"] = upgraded or _mtime("/var/lib/dpkg/status")
        status["last_update_source"] = "/var/log/dpkg.log" if upgraded else "/var/lib/dpkg/status"
        lists = Path("/var/lib/apt/lists")
        stamps = [p.stat().st_mtime for p in lists.glob("*Release")] if lists.is_dir() else []
        status["package_index_updated"] = _local(max(stamps)) if stamps else None
        packages, error = _apt_security()
    elif any(Path(p).exists() for p in ("/var/lib/rpm", "/usr/lib/sysimage/rpm")):
        status["package_manager"] = "rpm"
        for db in (
            "/usr/lib/sysimage/rpm/rpmdb.sqlite",
            "/var/lib/rpm/rpmdb.sqlite",
            "/var/lib/rpm/Packages",
        ):
            if (moment := _mtime(db)) is not None:
                status["last_update"], status["last_update_source"] = moment, db
                break
        packages, error = _dnf_security()
    else:
        packages, error = None, "未识别的软件包管理器（既无 dpkg 也无 rpm），无法判断待装安全补丁"
    if packages is not None:
        status["security_updates"], status["security_packages"] = len(packages), packages
    status["security_check_error"] = error
    return status
