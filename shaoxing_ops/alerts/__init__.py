"""Alerts that reach a person: one notifier, channels chosen by the environment (钉钉/浙政钉 robot, 企业微信 robot,
e-mail, any JSON endpoint), deduplicated per cause and table-day. Plain Python; a Dagster sensor wires it."""

from .channels import Channel, ChannelConfigError, ChannelError, Message, channels_from_env
from .notifier import Alert, Notifier, Outcome

__all__ = [
    "Alert",
    "Channel",
    "ChannelConfigError",
    "ChannelError",
    "Message",
    "Notifier",
    "Outcome",
    "channels_from_env",
]
