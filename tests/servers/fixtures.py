"""Fixtures and config builders shared by the delivery tests (import them into a test module)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from pipeline.config import Config, parse_config
from storage.models import Incident
from tests.servers import http_sink
from tests.servers.http_sink import Sink
from tests.servers.smtp_sink import SmtpSink

T0 = datetime(2026, 11, 20, 4, 50, tzinfo=UTC)

NOTIFICATION = {
    "incident_id": 1,
    "event": "opened",
    "sequence": 1,
    "topic": "星澜咖啡",
    "rule": "negative-spike",
    "rules": ["negative-spike", "crisis-words"],
    "severity": "critical",
    "previous_severity": None,
    "status": "open",
    "opened_at": "2026-11-20T04:47:00+00:00",
    "last_seen_at": "2026-11-20T04:50:00+00:00",
    "resolved_at": None,
    "platforms": ["weibo", "tieba"],
    "evidence": {
        "summary": "负面声量激增：近30分钟 42 条，预期 6.1 条",
        "observed": 42,
        "expected": 6.1,
        "window_minutes": 30,
        "signals": [
            {
                "rule": "negative-spike",
                "kind": "negative_spike",
                "severity": "critical",
                "detail": "42 条 / 预期 6.1 条",
            }
        ],
        "top_posts": [
            {
                "platform": "weibo",
                "url": "https://m.weibo.cn/detail/4999000111222333",
                "author_name": "咖啡爱好者",
                "author_followers": 812,
                "author_verified": False,
                "reposts": 4213,
                "comments": 3587,
                "likes": 15892,
                "text": "星澜咖啡喝出异物，客服还不给退款！",
                "published_at": "2026-11-20T04:47:00+00:00",
            }
        ],
        "keywords": [["退款", 20], ["异物", 18]],
        "causes": [["产品质量", 12], ["服务态度", 5]],
        "near_duplicate_share": 0.25,
        "platform_counts": {"weibo": 30, "tieba": 12},
        "guidance": ["尽快回应，说明正在采取的措施", "不要与用户争辩，不删帖"],
    },
}


def notification(**changes) -> dict:
    n = copy.deepcopy(NOTIFICATION)
    n.update(changes)
    return n


def running_sink():
    """For a test module's ``sink`` fixture: ``yield from running_sink()``."""
    server = Sink(hang_seconds=1.0).start()
    yield server
    server.stop()


def running_smtp():
    server = SmtpSink().start()
    yield server
    server.stop()


def channels_toml(sink: Sink, smtp: SmtpSink | None, outbox_path, *, at_mobiles=True) -> str:
    mobiles = 'at_mobiles = ["13800000000"]' if at_mobiles else ""
    email = (
        """
[[alerts.receivers.channels]]
type = "email"
to = ["pr@example.com", "boss@example.com"]
"""
        if smtp
        else ""
    )
    smtp_section = (
        f"""
[alerts.smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "plain"
sender = "yuqing@example.com"
timeout_seconds = 2
"""
        if smtp
        else ""
    )
    return f"""
[[alerts.receivers.channels]]
type = "dingtalk"
webhook = "{sink.dingtalk_url()}"
secret = "{http_sink.DINGTALK_SECRET}"
{mobiles}

[[alerts.receivers.channels]]
type = "wecom"
key = "{http_sink.WECOM_KEY}"
base_url = "{sink.base}"

[[alerts.receivers.channels]]
type = "feishu"
webhook = "{sink.feishu_url()}"
secret = "{http_sink.FEISHU_SECRET}"

[[alerts.receivers.channels]]
type = "slack"
webhook = "{sink.slack_url()}"

[[alerts.receivers.channels]]
type = "webhook"
url = "{sink.webhook_url()}"
token = "{http_sink.WEBHOOK_TOKEN}"

[[alerts.receivers.channels]]
type = "file"
path = "{outbox_path}"
{email}
{smtp_section}
"""


def make_config(sink, smtp, tmp_path, delivery: str = "", extra: str = "") -> Config:
    text = f"""
[general]
timezone = "Asia/Shanghai"

[[topics]]
name = "星澜咖啡"
[topics.keywords]
any = ["星澜咖啡"]

[alerts]
default_receiver = "pr-team"

[alerts.delivery]
backoff_seconds = 30
http_timeout_seconds = 0.5
lease_seconds = 60
{delivery}

[[alerts.receivers]]
name = "pr-team"
{channels_toml(sink, smtp, tmp_path / "outbox.jsonl")}
{extra}
"""
    return parse_config(text, "delivery-test.toml")


def add_incidents(store, count: int) -> list[int]:
    """Incident rows for the notifications to point at (delivery.incident_id is a foreign key)."""
    ids = []
    with store.session() as session:
        for i in range(count):
            incident = Incident(
                topic="星澜咖啡",
                rule="negative-spike",
                severity="critical",
                dedup_key=f"星澜咖啡:negative-spike:{i}",
                status="open",
                opened_at=T0,
                last_seen_at=T0,
                evidence={},
            )
            session.add(incident)
            session.flush()
            ids.append(incident.id)
    return ids
