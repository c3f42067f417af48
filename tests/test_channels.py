"""Each channel's real payload and signature, checked by the local servers (no database)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alerts.channels import SendError, sender_for
from alerts.channels.signing import dingtalk_sign, feishu_sign
from alerts.secrets import SecretRef
from pipeline.config import ConfigError, parse_config
from tests.servers import smtp_sink
from tests.servers.fixtures import make_config, notification, running_sink, running_smtp
from tests.servers.smtp_sink import SmtpSink

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def sink():
    yield from running_sink()


@pytest.fixture
def smtp():
    yield from running_smtp()


def sender(config, kind: str):
    for cid, _receiver, channel in config.alerts.channels():
        if channel.type == kind:
            return sender_for(channel, config.alerts, cid)
    raise AssertionError(kind)


def test_signatures_match_the_documented_algorithms():
    # DingTalk: Base64(HmacSHA256(key=secret, msg="timestamp\nsecret")), URL-encoded.
    secret, stamp = "SECabc", 1700000000000
    digest = hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode().replace("+", "%2B").replace("/", "%2F")
    assert dingtalk_sign(secret, stamp) == expected.replace("=", "%3D")
    # Feishu: Base64(HmacSHA256(key="timestamp\nsecret", msg="")).
    digest = hmac.new(b"1700000000\nfs", b"", hashlib.sha256).digest()
    assert feishu_sign("fs", 1700000000) == base64.b64encode(digest).decode()


def test_dingtalk_signed_markdown_ats_mobiles_on_critical_only(sink, tmp_path):
    config = make_config(sink, None, tmp_path)
    dingtalk = sender(config, "dingtalk")
    dingtalk.send([notification()], ["k"], TZ)
    dingtalk.send([notification(severity="warning")], ["k2"], TZ)
    dingtalk.send([notification(event="resolved", status="resolved")], ["k3"], TZ)
    critical, warning, resolved = sink.of("dingtalk")
    assert sink.rejected == []
    assert critical.query["sign"] and critical.query["timestamp"]  # checked by the sink
    assert critical.payload["msgtype"] == "markdown"
    assert critical.payload["markdown"]["title"] == "【危机】星澜咖啡 · 负面声量激增"
    assert critical.payload["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}
    assert critical.payload["markdown"]["text"].endswith("@13800000000")
    assert warning.payload["at"]["atMobiles"] == []
    assert resolved.payload["at"]["atMobiles"] == []
    assert warning.payload["markdown"]["title"].startswith("【预警】")
    assert resolved.payload["markdown"]["title"].startswith("【危机】已恢复：")
    text = critical.payload["markdown"]["text"]
    assert "[原帖 m.weibo.cn](https://m.weibo.cn/detail/4999000111222333)" in text
    assert "2026-11-20 12:47 开始" in text  # shown in the configured zone


def test_dingtalk_wrong_secret_is_a_failure(sink, tmp_path):
    config = make_config(sink, None, tmp_path)
    dingtalk = sender(config, "dingtalk")
    dingtalk.channel = dingtalk.channel.model_copy(update={"secret": SecretRef(value="SECwrong")})
    with pytest.raises(SendError, match="errcode 310000"):
        dingtalk.send([notification()], ["k"], TZ)


def test_wecom_markdown_to_the_key_within_4096_bytes(sink, tmp_path):
    config = make_config(
        sink, None, tmp_path, delivery='incident_url = "https://yq.example.com/i/{id}"'
    )
    wecom = sender(config, "wecom")
    huge = notification()
    huge["evidence"]["signals"] = [
        {"kind": "crisis_words", "detail": "维权" * 90, "rule": "c", "severity": "critical"}
    ] * 6
    huge["evidence"]["guidance"] = ["尽快回应" * 30] * 5
    huge["evidence"]["top_posts"] = huge["evidence"]["top_posts"] * 3
    wecom.send([huge], ["k"], TZ)
    [got] = sink.of("wecom")
    assert got.query == {"key": "wecom-key-123"}
    content = got.payload["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert content.endswith(
        "（内容过长，已截断，完整内容：[查看事件](https://yq.example.com/i/1)）"
    )


def test_feishu_card_and_text_signed_in_the_body(sink, tmp_path):
    config = make_config(sink, None, tmp_path)
    feishu = sender(config, "feishu")
    feishu.send([notification()], ["k"], TZ)
    feishu.channel = feishu.channel.model_copy(update={"msg_type": "text"})
    feishu.send([notification(severity="warning")], ["k2"], TZ)
    card, text = sink.of("feishu")
    assert sink.rejected == []
    assert card.payload["timestamp"].isdigit() and card.payload["sign"]
    assert card.payload["msg_type"] == "interactive"
    assert card.payload["card"]["header"]["template"] == "red"
    assert card.payload["card"]["header"]["title"]["content"] == "【危机】星澜咖啡 · 负面声量激增"
    assert text.payload["msg_type"] == "text"
    assert text.payload["content"]["text"].startswith("【预警】星澜咖啡")


def test_slack_blocks_with_text_fallback(sink, tmp_path):
    config = make_config(sink, None, tmp_path)
    slack = sender(config, "slack")
    slack.send([notification(), notification(incident_id=2)], ["a", "b"], TZ)
    [got] = sink.of("slack")
    blocks = got.payload["blocks"]
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == "【危机】2 条舆情告警：星澜咖啡"
    assert [b["type"] for b in blocks[1:]] == ["divider", "section"] * 2
    assert got.payload["text"] == "【危机】2 条舆情告警：星澜咖啡"
    assert (
        "<https://m.weibo.cn/detail/4999000111222333|原帖 m.weibo.cn>" in blocks[2]["text"]["text"]
    )


def test_slack_rate_limit_answer_carries_retry_after(sink, tmp_path):
    config = make_config(sink, None, tmp_path)
    sink.fail("slack", "throttle")
    with pytest.raises(SendError) as caught:
        sender(config, "slack").send([notification()], ["k"], TZ)
    assert caught.value.retry_after == 1 and not caught.value.in_doubt


def test_webhook_body_and_headers(sink, tmp_path):
    config = make_config(sink, None, tmp_path)
    sender(config, "webhook").send([notification()], ["1:opened:1@pr-team/4:webhook"], TZ)
    [got] = sink.of("webhook")
    assert got.headers["Idempotency-Key"] == "1:opened:1@pr-team/4:webhook"
    assert got.headers["Authorization"] == "Bearer webhook-bearer"
    body = got.payload
    assert body["version"] == 1 and body["key"] == "1:opened:1@pr-team/4:webhook"
    assert body["title"] == "【危机】星澜咖啡 · 负面声量激增"
    assert body["notification"] == notification()
    assert body["possible_duplicate"] is False


def test_timeouts_and_dropped_connections_are_in_doubt_refusals_are_not(sink, tmp_path):
    config = make_config(sink, None, tmp_path)
    webhook = sender(config, "webhook")
    for mode in ("hang", "drop"):
        sink.fail("webhook", mode)
        with pytest.raises(SendError) as caught:
            webhook.send([notification()], ["k"], TZ)
        assert caught.value.in_doubt, mode
    sink.stop()
    with pytest.raises(SendError) as caught:
        webhook.send([notification()], ["k"], TZ)
    assert not caught.value.in_doubt and "cannot connect" in str(caught.value)


def test_email_text_and_html_parts(sink, smtp, tmp_path):
    config = make_config(sink, smtp, tmp_path)
    hostile = notification()
    hostile["evidence"]["top_posts"][0]["text"] = '<script>alert(1)</script><a href="x">点</a>'
    sender(config, "email").send([hostile], ["1:opened:1@pr-team/6:email"], TZ)
    [(mail_from, rcpts, message)] = smtp.messages
    assert mail_from == "yuqing@example.com"
    assert rcpts == ["pr@example.com", "boss@example.com"]
    assert message["Subject"] == "【危机】星澜咖啡 · 负面声量激增"
    assert message["Message-ID"].endswith("@yuqing.alerts>")
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert '<a href="https://m.weibo.cn/detail/4999000111222333">原帖 m.weibo.cn</a>' in html
    assert "星澜咖啡喝出异物" not in text  # the hostile post replaced it
    assert "<script>alert(1)</script>" in text  # plain text shows it as text


def test_email_refused_by_the_server_is_a_definite_failure(sink, smtp, tmp_path):
    config = make_config(sink, smtp, tmp_path)
    smtp.fail_next = 1
    with pytest.raises(SendError, match="451") as caught:
        sender(config, "email").send([notification()], ["k"], TZ)
    assert not caught.value.in_doubt


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_over_tls_with_login(sink, tmp_path, security):
    cert = smtp_sink.make_certificate(tmp_path)
    server = SmtpSink(security, cert).start()
    try:
        config = make_config(
            sink,
            None,
            tmp_path,
            extra=f"""
[[alerts.receivers.channels]]
type = "email"
to = ["pr@example.com"]

[alerts.smtp]
host = "127.0.0.1"
port = {server.port}
security = "{security}"
username = "{smtp_sink.USERNAME}"
password = "{smtp_sink.PASSWORD}"
sender = "alerts@example.com"
ca_file = "{cert[0]}"
timeout_seconds = 3
""",
        )
        sender(config, "email").send([notification()], ["k"], TZ)
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_file_channel_appends_json_lines_and_knows_its_keys(sink, tmp_path):
    config = make_config(sink, None, tmp_path)
    file = sender(config, "file")
    file.send([notification()], ["a"], TZ)
    file.send([notification(incident_id=2)], ["b"], TZ)
    assert file.already_delivered(["a", "b", "c"]) == {"a", "b"}
    path = Path(tmp_path / "outbox.jsonl")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"key": "c", "torn')  # a crash mid-write
    assert file.already_delivered(["c"]) == set()


@pytest.mark.parametrize(
    "channel, problem",
    [
        ('type = "dingtalk"\nwebhook = "ftp://x"', "webhook: not an http(s) URL"),
        ('type = "slack"\nwebhook = "hooks.slack.com/x"', "webhook: not an http(s) URL"),
        ('type = "wecom"\nkey = "k"\nbase_url = "qyapi"', "not an http(s) URL"),
        ('type = "dingtalk"\nwebhook = "https://x"\nat_mobiles = ["abc"]', "not a mobile"),
        ('type = "feishu"\nwebhook = "https://x"\nmsg_type = "post"', "msg_type"),
    ],
)
def test_bad_channel_config_is_a_clear_error(channel, problem):
    text = f"""
[[alerts.receivers]]
name = "r"
[[alerts.receivers.channels]]
{channel}
"""
    with pytest.raises(ConfigError, match=re.escape(problem)):
        parse_config(text, "t.toml")


def test_a_bad_webhook_url_never_shows_its_token_in_errors():
    text = """
[[alerts.receivers]]
name = "r"
[[alerts.receivers.channels]]
type = "dingtalk"
webhook = "oapi.dingtalk.com/robot/send?access_token=SECRET-TOKEN"
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "t.toml")
    assert "SECRET-TOKEN" not in str(caught.value)


def test_delivery_settings_are_validated():
    text = '[alerts.delivery]\nincident_url = "https://yq.example.com/incidents"'
    with pytest.raises(ConfigError, match="must contain"):
        parse_config(text, "t.toml")
