"""The one notifier: alerts in, one message per channel out, each alert delivered once per channel.

An alert is identified by its cause, its subject and the day it is about (``volume`` × ``E_BASEINFO`` ×
``2026-11-12``); the operations' records remember which channel received which, so a re-run of the checks, a
second sensor tick or a restart never sends it again, while a channel that failed is tried again the next time
(and retried a few times at once, with a short pause). A failing channel is logged, never raised: alerting must
not fail the load or the inspection that triggered it. Text is masked of ID and phone numbers before it leaves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shaoxing_ops.operations.records import OperationsRecords
from shaoxing_ops.reports.safety import redact

from .channels import Channel, ChannelError, Message

log = logging.getLogger("shaoxing_ops.alerts")
SEVERITY_ORDER = ("严重", "警告", "通知")


@dataclass(frozen=True)
class Alert:
    cause: str  # volume | freshness | run_failed | escalated | disk | system_silent | daily_summary | test
    subject: str  # what it is about: a table, a job, a disk, a source system
    day: str  # the day (YYYY-MM-DD) it is about
    text: str  # one line of Chinese
    severity: str = "严重"  # 严重 | 警告 | 通知

    @property
    def key(self) -> tuple[str, str, str]:
        return self.cause, self.subject, self.day


@dataclass
class Outcome:
    """What one notification did, per channel."""

    sent: dict[str, int] = field(default_factory=dict)  # channel -> alerts delivered now
    skipped: dict[str, int] = field(default_factory=dict)  # channel -> alerts it had already received
    failed: dict[str, str] = field(default_factory=dict)  # channel -> why

    @property
    def ok(self) -> bool:
        return not self.failed


class Notifier:
    def __init__(
        self,
        channels: Sequence[Channel],
        store: OperationsRecords | None = None,
        *,
        attempts: int = 3,
        pause_seconds: float = 1.0,
    ) -> None:
        self.channels, self.store = list(channels), store
        self.attempts, self.pause_seconds = attempts, pause_seconds

    def notify(self, title: str, alerts: Iterable[Alert], *, lines_before: Sequence[str] = ()) -> Outcome:
        """One message per channel holding the ``alerts`` that channel has not yet received."""
        alerts = list({a.key: a for a in alerts}.values())
        outcome = Outcome()
        if not alerts:
            return outcome
        for channel in self.channels:
            done = self.store.alerts_delivered(channel.name, [a.key for a in alerts]) if self.store else set()
            fresh = [a for a in alerts if a.key not in done]
            outcome.skipped[channel.name] = len(alerts) - len(fresh)
            if not fresh:
                continue
            message = compose(title, fresh, lines_before)
            error = self.deliver(channel, message)
            if self.store is not None:
                items = [(a.cause, a.subject, a.day, redact(a.text)) for a in fresh]
                self.store.record_alerts(channel.name, items, delivered=error is None, error=error)
            if error is None:
                outcome.sent[channel.name] = len(fresh)
            else:
                outcome.failed[channel.name] = error
        return outcome

    def deliver(self, channel: Channel, message: Message) -> str | None:
        """Send one message on one channel with the retries; the error, or None when it went."""
        error = ""
        for attempt in range(1, self.attempts + 1):
            try:
                channel.send(message)
                return None
            except ChannelError as exc:
                error = str(exc)
                log.warning(
                    "alert channel %s failed (attempt %d/%d): %s", channel.name, attempt, self.attempts, error
                )
            except Exception as exc:  # a channel must never take the caller down with it
                error = f"{channel.name}: {type(exc).__name__}"
                log.warning(
                    "alert channel %s failed (attempt %d/%d): %s", channel.name, attempt, self.attempts, error
                )
            if attempt < self.attempts:
                time.sleep(self.pause_seconds * attempt)
        return error[:300]


def compose(title: str, alerts: Sequence[Alert], lines_before: Sequence[str] = ()) -> Message:
    """The message of ``alerts``: the worst severity first, every line masked of personal data."""
    ordered = sorted(alerts, key=lambda a: (SEVERITY_ORDER.index(a.severity), a.day, a.cause, a.subject))
    severity = ordered[0].severity if ordered else "通知"
    lines = tuple(redact(line) for line in [*lines_before, *(a.text for a in ordered)])
    facts: dict[str, Any] = {
        "alerts": [
            {
                "cause": a.cause,
                "subject": a.subject,
                "day": a.day,
                "severity": a.severity,
                "text": redact(a.text),
            }
            for a in ordered
        ]
    }
    return Message(redact(title), lines, severity, facts)
