"""Headless Chromium driven over the DevTools protocol: open a page, wait until what a user should see is there,
then read it or photograph it.

Why not `chromium --dump-dom/--screenshot`: those wait on a virtual-time budget, and a page that keeps a
subscription open (the Dagster UI does) can hold the budget forever; CI hung there. Here every wait is on a
condition of the page itself with a wall-clock limit, and a timeout says what the page showed instead."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from websockets.sync.client import connect

TEXT_OF_PAGE = "document.documentElement ? document.documentElement.outerHTML : ''"


def find_chromium() -> str | None:
    return next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
    )


def visible_text(html: str) -> str:
    """The page's words without markup, scripts or styles, on one line."""
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


class Browser:
    """One Chromium with one tab; `open` navigates it and waits for a condition on the page's text."""

    def __init__(self, binary: str, profile: Path, *, width: int = 1600, height: int = 1000) -> None:
        profile.mkdir(parents=True, exist_ok=True)
        (profile / "DevToolsActivePort").unlink(missing_ok=True)
        self.log = profile / "chromium.log"
        args = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        # Its own process group, so closing takes the renderer and zygote processes with it.
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        self._ids = itertools.count(1)
        self._open = contextlib.ExitStack()
        try:
            port = self._port(profile / "DevToolsActivePort")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                page = next(t for t in json.load(r) if t["type"] == "page")
            self.ws = self._open.enter_context(
                connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
            )
        except BaseException:
            self.close()
            raise

    def _port(self, file: Path, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}: {self.log_tail()}")
            lines = file.read_text().splitlines() if file.exists() else []
            if lines and lines[0].isdigit():
                return int(lines[0])
            time.sleep(0.2)
        raise RuntimeError(f"chromium opened no DevTools port within {timeout:.0f}s: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def call(self, method: str, timeout: float = 60, **params: object) -> dict:
        """One DevTools command and its result; events arriving meanwhile are not needed and skipped."""
        sent = next(self._ids)
        self.ws.send(json.dumps({"id": sent, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == sent:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def text(self) -> str:
        result = self.call("Runtime.evaluate", expression=TEXT_OF_PAGE, returnByValue=True)
        return visible_text(result.get("result", {}).get("value") or "")

    def open(self, url: str, until: Callable[[str], bool], *, timeout: float = 120) -> str:
        """Navigate and return the page's text once `until(text)` holds; a timeout shows what the page did show."""
        self.call("Page.navigate", url=url)
        text = self.wait(until, timeout=timeout)
        if text is None:
            raise AssertionError(
                f"{url}: expected content not shown within {timeout:.0f}s; the page showed: {self.text()[:1500]}"
            )
        return text

    def wait(self, until: Callable[[str], bool], *, timeout: float, settle: float = 1.0) -> str | None:
        """The page's text once `until(text)` holds and still holds when re-read `settle` seconds later (a page
        still filling in has drawn what it had, and one re-rendering in between is waited out); None if it
        never held."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if until(self.text()):
                time.sleep(settle)
                text = self.text()
                if until(text):
                    return text
            time.sleep(0.5)
        return None

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        self._open.close()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(10)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
