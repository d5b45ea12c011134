"""Local receivers for the alert tests: a real HTTP server standing in for the robots and the JSON endpoint, and
a real SMTP server (aiosmtpd). Each records what reached it, as a person's phone or mailbox would."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class Received:
    path: str
    query: dict[str, str]
    body: dict[str, Any]


@dataclass
class HttpReceiver:
    """Answers POSTs as a robot does (``{"errcode": 0}``), or fails with ``fail_status`` while it is set.
    Paths under ``/dingtalk`` are checked for the robot's 加签 when ``dingtalk_secret`` is set."""

    port: int = 0
    dingtalk_secret: str | None = None
    fail_status: int | None = None
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def _signed(self, query: dict[str, str]) -> bool:
        if not self.dingtalk_secret:
            return True
        stamp = query.get("timestamp", "")
        if not stamp.isdigit() or abs(int(stamp) - time.time() * 1000) > 3_600_000:
            return False
        digest = hmac.new(
            self.dingtalk_secret.encode(), f"{stamp}\n{self.dingtalk_secret}".encode(), hashlib.sha256
        )
        return query.get("sign") == base64.b64encode(digest.digest()).decode()


@contextmanager
def http_receiver(**options: Any) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(**options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parts.query))  # parse_qsl undoes the URL-encoding of sign
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if receiver.fail_status:
                self._answer(receiver.fail_status, {"errcode": 500, "errmsg": "down"})
                return
            if parts.path.startswith("/dingtalk") and not receiver._signed(query):
                receiver.refused.append(parts.path)
                self._answer(200, {"errcode": 310000, "errmsg": "sign not match"})
                return
            receiver.received.append(Received(parts.path, query, json.loads(raw.decode("utf-8"))))
            self._answer(200, {"errcode": 0, "errmsg": "ok"})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    port: int = 0
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)  # (user, password) of each AUTH

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else auth_data.login
        password = (
            auth_data.password.decode() if isinstance(auth_data.password, bytes) else auth_data.password
        )
        self.logins.append((login, password))
        return AuthResult(success=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"


@contextmanager
def smtp_receiver() -> Iterator[Mailbox]:
    with socket.socket() as probe:  # a free port: aiosmtpd checks its server by connecting to the given one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox(port)
    # AUTH over plain SMTP, on loopback only: the client's login path is exercised without a certificate
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=mailbox.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
