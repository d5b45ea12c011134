"""Who may log in through the proxy: one htpasswd file per role, which nginx reads on every request (adding a
user needs no restart). Passwords are hashed by ``openssl passwd -6`` (SHA-512 crypt, which nginx checks
through the system's crypt(3)); Python's ``crypt`` module is deprecated and gone in 3.13."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from shaoxing_ops.files import write_private_text

ROLES = ("operator", "viewer")
FILES = {"operator": "operators.htpasswd", "viewer": "viewers.htpasswd"}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class UserError(ValueError):
    """A user that cannot be added or removed as asked; the message says why."""


def default_users_dir() -> Path:
    """``SXOPS_USERS_DIR``, else ``users`` beside the Dagster home (``./var/users`` for the embedded default)."""
    if os.environ.get("SXOPS_USERS_DIR"):
        return Path(os.environ["SXOPS_USERS_DIR"]).absolute()
    home = os.environ.get("DAGSTER_HOME")
    return (Path(home).absolute().parent if home else Path("var").absolute()) / "users"


def user_file(folder: Path, role: str) -> Path:
    return folder / FILES[role]


def _read(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _write(path: Path, lines: list[str]) -> None:
    """Owner-only, replaced in one rename: nginx never reads a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    scratch = write_private_text(path.with_name(f".{path.name}.new"), "".join(f"{line}\n" for line in lines))
    os.replace(scratch, path)


def hash_password(password: str) -> str:
    """SHA-512 crypt of ``password``, handed to openssl on stdin (never on a command line)."""
    if not password or "\n" in password:
        raise UserError("密码不能为空，也不能含换行 / the password must be one non-empty line")
    done = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.startswith("$6$"):
        raise UserError(f"openssl passwd failed: {done.stderr.strip()}")
    return done.stdout.strip()


def add_user(folder: Path, name: str, role: str, password: str) -> None:
    """Add ``name`` to ``role`` (or change its password); a user holds one role, so it leaves the other."""
    if role not in ROLES:
        raise UserError(f"角色 {role!r} 无效，可选: {', '.join(ROLES)}")
    if not NAME.fullmatch(name):
        raise UserError(f"用户名 {name!r} 无效：字母、数字和 . _ @ -，至多 64 个字符")
    line = f"{name}:{hash_password(password)}"
    for other in ROLES:
        path = user_file(folder, other)
        kept = [x for x in _read(path) if x.split(":", 1)[0] != name]
        _write(path, [*kept, line] if other == role else kept)


def remove_user(folder: Path, name: str) -> bool:
    """Remove ``name`` from every role; whether it was there."""
    found = False
    for role in ROLES:
        path = user_file(folder, role)
        lines = _read(path)
        kept = [x for x in lines if x.split(":", 1)[0] != name]
        if len(kept) != len(lines):
            found = True
            _write(path, kept)
    return found


def users(folder: Path) -> list[tuple[str, str]]:
    """(name, role) of every user, never a hash."""
    return [(x.split(":", 1)[0], role) for role in ROLES for x in _read(user_file(folder, role)) if ":" in x]


def ensure_files(folder: Path) -> tuple[Path, Path]:
    """Both files, made empty where missing (nginx refuses a missing file with 500, an empty one with 401)."""
    for role in ROLES:
        if not user_file(folder, role).exists():
            _write(user_file(folder, role), [])
    return user_file(folder, "operator"), user_file(folder, "viewer")
