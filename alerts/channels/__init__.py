"""Delivery channels: one sender class per channel type of ``alerts.receivers``."""

from __future__ import annotations

from alerts.channels.base import Rate, Sender, SendError
from alerts.channels.dingtalk import DingTalk
from alerts.channels.email import Email
from alerts.channels.feishu import Feishu
from alerts.channels.file import File
from alerts.channels.slack import Slack
from alerts.channels.webhook import Webhook
from alerts.channels.wecom import WeCom

SENDERS: dict[str, type[Sender]] = {
    cls.type: cls for cls in (DingTalk, WeCom, Feishu, Slack, Webhook, Email, File)
}


def sender_for(channel, alerts, channel_id: str) -> Sender:
    return SENDERS[channel.type](channel, alerts, channel_id)


__all__ = ["SENDERS", "Rate", "SendError", "Sender", "sender_for"]
