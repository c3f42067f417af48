"""Alertmanager-style routing, and the delivery commands (routes, test-channel, deliveries)."""

from __future__ import annotations

import json

import pytest

from alerts.routing import channels_for, find_channels, route
from pipeline import exit_codes
from pipeline.config import ConfigError, parse_config
from tests.servers.fixtures import notification, running_sink

TOPICS = """
[[topics]]
name = "星澜咖啡"
[topics.keywords]
any = ["星澜咖啡"]

[[topics]]
name = "青禾手机"
[topics.keywords]
any = ["青禾手机"]
"""

ROUTED = """
[alerts]
default_receiver = "ops"

[[alerts.receivers]]
name = "ops"
[[alerts.receivers.channels]]
type = "file"
path = "ops.jsonl"

[[alerts.receivers]]
name = "pr-team"
[[alerts.receivers.channels]]
type = "file"
path = "pr.jsonl"
[[alerts.receivers.channels]]
type = "webhook"
url = "http://127.0.0.1:9/hook"

[[alerts.receivers]]
name = "weibo-desk"
[[alerts.receivers.channels]]
type = "file"
path = "weibo.jsonl"

[[alerts.receivers]]
name = "execs"
[[alerts.receivers.channels]]
type = "file"
path = "execs.jsonl"

[[alerts.routes]]
receiver = "execs"
severities = ["危机"]
continue = true

[[alerts.routes]]
receiver = "weibo-desk"
platforms = ["weibo"]
topics = ["星澜咖啡"]

[[alerts.routes]]
receiver = "pr-team"
topics = ["星澜咖啡", "青禾手机"]
severities = ["warning", "critical"]
"""


@pytest.fixture
def alerts():
    return parse_config(TOPICS + ROUTED, "routes.toml").alerts


def names(matches):
    return [m.receiver for m in matches]


def test_first_match_wins_continue_goes_on_default_catches_the_rest(alerts):
    assert names(route(alerts, "星澜咖啡", "critical", ["weibo", "tieba"])) == [
        "execs",
        "weibo-desk",
    ]
    assert names(route(alerts, "星澜咖啡", "预警", ["tieba"])) == ["pr-team"]
    assert names(route(alerts, "青禾手机", "critical", ["news"])) == ["execs", "pr-team"]
    assert names(route(alerts, "青禾手机", "info", ["news"])) == ["ops"]
    assert [m.route for m in route(alerts, "x", "info")] == [None]


def test_channels_and_ids(alerts):
    pairs = channels_for(alerts, notification(severity="warning", platforms=["tieba"]))
    assert [cid for cid, _ in pairs] == ["pr-team/0:file", "pr-team/1:webhook"]
    assert [cid for cid, _ in find_channels(alerts, "pr-team/1:webhook")] == ["pr-team/1:webhook"]
    assert len(find_channels(alerts, "pr-team")) == 2
    assert find_channels(alerts, "nobody") == []


def test_unknown_receivers_are_config_errors():
    with pytest.raises(ConfigError, match=r"routes\[0\].receiver: unknown receiver 'pr'"):
        parse_config('[[alerts.routes]]\nreceiver = "pr"', "t.toml")
    with pytest.raises(ConfigError, match="unknown severity"):
        bad = '\n[[alerts.routes]]\nreceiver = "ops"\nseverities = ["严重"]'
        parse_config(TOPICS + ROUTED + bad, "t")


def _append(tmp_path, text: str) -> None:
    with open(tmp_path / "yuqing.toml", "a", encoding="utf-8") as fh:
        fh.write(text)


def test_routes_command(run, tmp_path):
    _append(tmp_path, ROUTED)
    result = run("alerts", "routes", "星澜咖啡", "危机", "--platform", "weibo")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "execs  (routes[0])",
        "  execs/0:file",
        "weibo-desk  (routes[1])",
        "  weibo-desk/0:file",
    ]
    assert run("alerts", "routes", "星澜咖啡", "严重").exit_code == exit_codes.USAGE


def test_test_channel_and_deliveries_commands(run, tmp_path):
    sink = running_sink()
    server = next(sink)
    try:
        _append(
            tmp_path,
            f"""
[alerts]
default_receiver = "pr-team"
[alerts.delivery]
http_timeout_seconds = 0.5
rate_per_minute = {{ slack = 6000 }}
[[alerts.receivers]]
name = "pr-team"
[[alerts.receivers.channels]]
type = "file"
path = "outbox.jsonl"
[[alerts.receivers.channels]]
type = "slack"
webhook = "{server.slack_url()}"
""",
        )
        result = run("alerts", "test-channel", "pr-team")
        assert result.exit_code == 0, result.output
        assert "pr-team/0:file: sent" in result.output and "pr-team/1:slack: sent" in result.output
        assert len(server.of("slack")) == 1
        line = json.loads((tmp_path / "outbox.jsonl").read_text(encoding="utf-8"))
        assert line["title"] == "【测试】yuqing 告警通道测试"

        server.fail("slack", "500")
        result = run("alerts", "test-channel", "pr-team/1:slack")
        assert result.exit_code == exit_codes.FAILURE
        assert "NOT sent (pending): 127.0.0.1 answered HTTP 500" in result.output

        result = run("alerts", "deliveries", "--format", "json")
        [pending] = json.loads(result.output)
        assert pending["state"] == "pending" and pending["channel"] == "pr-team/1:slack"
        assert run("alerts", "deliveries", "--check").exit_code == 0
        assert len(json.loads(run("alerts", "deliveries", "--all", "--format", "json").output)) == 3
        assert run("alerts", "test-channel", "nobody").exit_code == 1
    finally:
        sink.close()
