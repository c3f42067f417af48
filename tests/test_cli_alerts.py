"""``yuqing alerts ...`` through click's runner: incidents from evaluation to closure."""

from __future__ import annotations

import csv
import json
import socket
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.config import load_config
from storage import incidents
from storage.db import Store
from storage.mentions import upsert_mentions

CRISIS_RULE = """
[[alerts.rules]]
name = "crisis"
kind = "crisis_words"

[[alerts.receivers]]
name = "local"
[[alerts.receivers.channels]]
type = "file"
path = "outbox.jsonl"

[alerts]
default_receiver = "local"
"""


@pytest.fixture
def alert_run(run, tmp_path):
    with open(tmp_path / "yuqing.toml", "a", encoding="utf-8") as f:
        f.write(CRISIS_RULE)
    return run


def crisis_post(text="星澜咖啡门店起火<b>[bold]x[/bold]</b> \x1b[2J"):
    now = datetime.now(UTC)
    return {
        "platform": "weibo",
        "post_id": "1",
        "url": "https://m.weibo.cn/detail/1",
        "author_name": "目击者",
        "author_followers": 10,
        "text": text,
        "raw_text": text,
        "published_at": now - timedelta(minutes=3),
        "crawled_at": now,
        "sentiment_score": 0.1,
        "sentiment_label": "negative",
        "topics": {"星澜咖啡": []},
    }


def open_incident(tmp_path) -> int:
    config = load_config(tmp_path / "yuqing.toml")
    store = Store.open(config.database_url())
    try:
        upsert_mentions(store, [crisis_post()])
    finally:
        store.close()
    return 1


def test_evaluate_list_show_ack_note_resolve(alert_run, tmp_path):
    open_incident(tmp_path)
    result = alert_run("alerts", "evaluate")
    assert result.exit_code == 0, result.output
    assert "1 opened" in result.output and "1 notification(s) queued" in result.output
    assert "sent 1" in result.output  # the file channel took it
    [line] = (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert "【预警】星澜咖啡" in json.loads(line)["title"]

    listed = json.loads(alert_run("alerts", "list", "--format", "json").output)
    assert [(i["id"], i["topic"], i["severity"], i["status"]) for i in listed] == [
        (1, "星澜咖啡", "warning", "open")
    ]
    table = alert_run("alerts", "list").output
    assert "预警" in table and "星澜咖啡" in table

    shown = alert_run("alerts", "show", "1").output
    assert "【预警】" in shown and "目击者" in shown and "不删帖" in shown
    assert "\x1b" not in shown and "[bold]x[/bold]" in shown  # crawled text stays inert

    assert (
        "acknowledged"
        in alert_run("alerts", "ack", "1", "--note", "已联系门店", "--by", "王").output
    )
    assert "note added" in alert_run("alerts", "note", "1", "官方声明已发布", "--by", "王").output
    shown = alert_run("alerts", "show", "1").output
    assert "王: 已联系门店" in shown and "官方声明已发布" in shown

    resolved = alert_run("alerts", "resolve", "1", "--note", "已平息")
    assert "resolved" in resolved.output
    assert "already resolved" in alert_run("alerts", "resolve", "1").output
    assert json.loads(alert_run("alerts", "list", "--format", "json").output) == []
    everything = json.loads(
        alert_run("alerts", "list", "--status", "all", "--format", "json").output
    )
    assert everything[0]["status"] == "resolved"


def test_unknown_incident_is_a_clear_error(alert_run):
    result = alert_run("alerts", "show", "99")
    assert result.exit_code == 1 and "no incident 99" in result.output


def test_silence_mutes_evaluation(alert_run, tmp_path):
    result = alert_run(
        "alerts", "silence", "--topic", "星澜咖啡", "--for", "2h", "--comment", "发布会"
    )
    assert result.exit_code == 0 and "until" in result.output
    silences = json.loads(alert_run("alerts", "silences", "--format", "json").output)
    assert silences[0]["topic"] == "星澜咖啡" and silences[0]["comment"] == "发布会"
    open_incident(tmp_path)
    assert "1 muted by silences" in alert_run("alerts", "evaluate").output


def test_silence_needs_a_duration_and_a_known_topic(alert_run):
    assert alert_run("alerts", "silence", "--topic", "星澜咖啡").exit_code == 2
    assert alert_run("alerts", "silence", "--topic", "不存在", "--for", "1h").exit_code == 2


def burst_series(path):
    """Four days of 5-minute counts, quiet but for 50 minutes of 40 a bucket on day four."""
    start = datetime(2026, 1, 5, tzinfo=UTC)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "value"])
        for i in range(4 * 288):
            value = 40 if 3 * 288 + 100 <= i < 3 * 288 + 110 else 3 + (i % 3)
            w.writerow([(start + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S"), value])
    return path


def test_backtest_writes_one_row_per_bucket(alert_run, tmp_path):
    series = burst_series(tmp_path / "series.csv")
    out = tmp_path / "alerts.csv"
    result = alert_run("alerts", "backtest", str(series), "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4 * 288
    fired = [i for i, r in enumerate(rows) if r["alert"] == "1"]
    assert fired and 3 * 288 + 100 <= fired[0] < 3 * 288 + 103


def test_backtest_uses_the_configured_spike_settings(run, tmp_path):
    series = burst_series(tmp_path / "series.csv")
    # A rule that needs a thousand mentions in a window: the same burst no longer alerts.
    with open(tmp_path / "yuqing.toml", "a", encoding="utf-8") as f:
        f.write(
            '\n[[alerts.rules]]\nname = "spike"\nkind = "negative_spike"\n'
            "options = { detector = { min_count = 1000 } }\n"
        )
    out = tmp_path / "alerts.csv"
    result = run("alerts", "backtest", str(series), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "0 alert(s)" in result.output
    assert all(r["alert"] == "0" for r in csv.DictReader(out.open()))


def test_incident_storage_round_trip_for_cli(store):
    now = datetime.now(UTC)
    created = incidents.create_incident(
        store, topic="t", rule="r", severity="info", rules=["r"], now=now, evidence={}
    )
    assert (
        incidents.create_incident(
            store, topic="t", rule="r", severity="info", rules=["r"], now=now, evidence={}
        )
        is None
    )  # the live dedup key is taken
    incidents.resolve_incident(store, created["id"], now, "x", None)
    assert incidents.create_incident(
        store, topic="t", rule="r", severity="info", rules=["r"], now=now, evidence={}
    )


FAILING_CHANNELS = """
[[alerts.rules]]
name = "crisis"
kind = "crisis_words"

[[alerts.receivers]]
name = "pr"
[[alerts.receivers.channels]]
type = "webhook"
url = "http://127.0.0.1:{port}/hook"
[[alerts.receivers.channels]]
type = "slack"
webhook = "http://127.0.0.1:{port}/services/T0/B0/s3cr3tKEY"

[alerts]
default_receiver = "pr"
"""


def test_evaluate_exits_5_while_every_channel_fails(run, tmp_path):
    with socket.socket() as probe:  # a loopback port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with open(tmp_path / "yuqing.toml", "a", encoding="utf-8") as f:
        f.write(FAILING_CHANNELS.replace("{port}", str(port)))
    open_incident(tmp_path)

    result = run("alerts", "evaluate")
    assert result.exit_code == 5, result.output
    assert "1 opened" in result.stdout and "retried 2" in result.stdout
    problem = result.stderr.strip()
    assert "2 delivery(ies) failing (2 waiting for retry)" in problem
    assert "pr/0:webhook (1)" in problem and "pr/1:slack (1)" in problem
    assert "s3cr3tKEY" not in result.output  # the Slack URL is the secret

    # Run again at once: the rows wait out their backoff, nothing is tried, the channels are still
    # failing, and the exit code still says so.
    again = run("alerts", "evaluate")
    assert again.exit_code == 5 and "none due" in again.stdout
    assert "2 delivery(ies) failing" in again.stderr
