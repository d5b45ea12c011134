"""The channels an alert can take, each configured by environment variables and spoken to over its own protocol.

- 钉钉 / 浙政钉 custom robot (``SXOPS_DINGTALK_WEBHOOK``, optional ``SXOPS_DINGTALK_SECRET``): a markdown message
  POSTed as JSON; with the robot's 加签 secret the URL carries ``timestamp`` (milliseconds) and ``sign``, the
  Base64 of HMAC-SHA256 over ``"{timestamp}\\n{secret}"`` keyed by the secret, URL-encoded, as the robot's
  documentation specifies. The robot answers ``{"errcode": 0}`` when it took the message.
- 企业微信 group robot (``SXOPS_WECOM_WEBHOOK``): a markdown message; it also answers ``errcode`` 0.
- e-mail (``SXOPS_SMTP_URL`` = ``smtp://``, ``smtps://`` or ``smtp+starttls://[user:password@]host[:port]``,
  ``SXOPS_ALERT_EMAIL_TO`` = addresses separated by commas, optional ``SXOPS_ALERT_EMAIL_FROM``).
- any JSON endpoint (``SXOPS_ALERT_WEBHOOK``): the message as JSON; any 2xx answer is success.

A URL may hold a secret (a robot's access token, a mail password): no error message or log line here shows one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

TIMEOUT_SECONDS = 10.0


class ChannelError(RuntimeError):
    """A channel could not deliver a message; the text names the channel and the cause, never a secret."""


class ChannelConfigError(ValueError):
    """An alert variable is set but unusable; the text names the variable and what it should look like."""


@dataclass(frozen=True)
class Message:
    """One alert message: a title and lines of Chinese text, already free of personal data."""

    title: str
    lines: tuple[str, ...]
    severity: str = "通知"  # 严重 | 警告 | 通知
    facts: Mapping[str, Any] = field(default_factory=dict)  # machine-readable, for the JSON endpoint

    def markdown(self) -> str:
        return f"### 【{self.severity}】{self.title}\n\n" + "\n".join(f"- {line}" for line in self.lines)

    def text(self) -> str:
        return f"【{self.severity}】{self.title}\n\n" + "\n".join(f"· {line}" for line in self.lines)


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None:
        """Deliver ``message`` or raise ``ChannelError``."""


def _post_json(channel: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise ChannelError(f"{channel}: the endpoint answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ChannelError(
            f"{channel}: cannot reach the endpoint ({type(reason).__name__}: {reason})"
        ) from None
    try:
        answer = json.loads(raw.decode("utf-8") or "{}")
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _robot_answer(channel: str, answer: dict[str, Any]) -> None:
    if answer.get("errcode", 0) != 0:
        raise ChannelError(
            f"{channel}: the robot refused the message: errcode {answer.get('errcode')} "
            f"{str(answer.get('errmsg', ''))[:100]}"
        )


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The robot's 加签: Base64(HMAC-SHA256(key=secret, "timestamp\\nsecret")), URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


@dataclass
class DingTalk:
    webhook: str
    secret: str | None = None
    name: str = "dingtalk"

    def url(self, now_ms: int | None = None) -> str:
        if not self.secret:
            return self.webhook
        stamp = now_ms if now_ms is not None else int(time.time() * 1000)
        joiner = "&" if "?" in self.webhook else "?"
        return f"{self.webhook}{joiner}timestamp={stamp}&sign={dingtalk_sign(self.secret, stamp)}"

    def send(self, message: Message) -> None:
        body = {"msgtype": "markdown", "markdown": {"title": message.title, "text": message.markdown()}}
        _robot_answer(self.name, _post_json(self.name, self.url(), body))


@dataclass
class WeCom:
    webhook: str
    name: str = "wecom"

    def send(self, message: Message) -> None:
        body = {"msgtype": "markdown", "markdown": {"content": message.markdown()}}
        _robot_answer(self.name, _post_json(self.name, self.webhook, body))


@dataclass
class Webhook:
    url: str
    name: str = "webhook"

    def send(self, message: Message) -> None:
        body = {
            "title": message.title,
            "severity": message.severity,
            "lines": list(message.lines),
            "text": message.text(),
            "facts": dict(message.facts),
        }
        _post_json(self.name, self.url, body)


SMTP_SCHEMES = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}


@dataclass
class Email:
    url: str
    recipients: tuple[str, ...]
    sender: str = ""
    name: str = "email"

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
            raise ChannelConfigError(
                "SXOPS_SMTP_URL: expected smtp://, smtps:// or smtp+starttls://"
                "[user:password@]host[:port], e.g. smtp+starttls://user:pass@mail.example:587"
            )
        if not self.recipients:
            raise ChannelConfigError(
                "SXOPS_ALERT_EMAIL_TO: set the addresses to write to, separated by commas"
            )
        self._scheme, self._host = parts.scheme, parts.hostname
        self._port = parts.port or SMTP_SCHEMES[parts.scheme]
        self._user = urllib.parse.unquote(parts.username) if parts.username else None
        self._password = urllib.parse.unquote(parts.password) if parts.password else None
        self.sender = self.sender or self._user or "shaoxing-ops@localhost"

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["Subject"] = f"【{message.severity}】{message.title}"
        mail["From"], mail["To"] = self.sender, ", ".join(self.recipients)
        mail["Date"], mail["Message-ID"] = formatdate(localtime=True), make_msgid(domain="shaoxing-ops")
        mail.set_content(message.text(), charset="utf-8")
        try:
            if self._scheme == "smtps":
                server: smtplib.SMTP = smtplib.SMTP_SSL(
                    self._host, self._port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
                )
            else:
                server = smtplib.SMTP(self._host, self._port, timeout=TIMEOUT_SECONDS)
            with server:
                if self._scheme == "smtp+starttls":
                    server.starttls(context=ssl.create_default_context())
                if self._user:
                    server.login(self._user, self._password or "")
                server.send_message(mail)
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(
                f"{self.name}: {self._host}:{self._port}: {type(exc).__name__}: {str(exc)[:120]}"
            ) from None


CHANNEL_VARIABLES = {
    "dingtalk": ("SXOPS_DINGTALK_WEBHOOK", "SXOPS_DINGTALK_SECRET"),
    "wecom": ("SXOPS_WECOM_WEBHOOK",),
    "email": ("SXOPS_SMTP_URL", "SXOPS_ALERT_EMAIL_TO", "SXOPS_ALERT_EMAIL_FROM"),
    "webhook": ("SXOPS_ALERT_WEBHOOK",),
}


def _http_url(variable: str, value: str) -> str:
    if urllib.parse.urlsplit(value).scheme not in ("http", "https"):
        raise ChannelConfigError(f"{variable}: expected an http:// or https:// URL")
    return value


def channels_from_env(env: Mapping[str, str] | None = None) -> list[Channel]:
    """Every channel whose variables are set, in a fixed order; a channel set wrongly is a ``ChannelConfigError``."""
    env = os.environ if env is None else env
    out: list[Channel] = []
    if env.get("SXOPS_DINGTALK_WEBHOOK"):
        webhook = _http_url("SXOPS_DINGTALK_WEBHOOK", env["SXOPS_DINGTALK_WEBHOOK"])
        out.append(DingTalk(webhook, env.get("SXOPS_DINGTALK_SECRET") or None))
    if env.get("SXOPS_WECOM_WEBHOOK"):
        out.append(WeCom(_http_url("SXOPS_WECOM_WEBHOOK", env["SXOPS_WECOM_WEBHOOK"])))
    if env.get("SXOPS_SMTP_URL"):
        to = tuple(a.strip() for a in env.get("SXOPS_ALERT_EMAIL_TO", "").split(",") if a.strip())
        out.append(Email(env["SXOPS_SMTP_URL"], to, env.get("SXOPS_ALERT_EMAIL_FROM", "")))
    if env.get("SXOPS_ALERT_WEBHOOK"):
        out.append(Webhook(_http_url("SXOPS_ALERT_WEBHOOK", env["SXOPS_ALERT_WEBHOOK"])))
    return out
