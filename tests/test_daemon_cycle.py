"""The daemon's jobs run the full cycle against the replica site: crawl -> score -> store ->
alert -> deliver, through the same functions the scheduler calls (``pipeline.scheduler.run_job``
dispatches to them), and the Prometheus endpoint reports what happened."""

from __future__ import annotations

import json
import socket
import urllib.request
from datetime import UTC, datetime

from replica.harness import harness, replica  # noqa: F401 (fixtures)
from replica.weibo import mblog
from test_crawl_weibo import PLAIN, pid, sample_site

from pipeline import jobs
from pipeline.metrics import serve_metrics
from pipeline.scheduler import run_job
from storage.db import Store

ALERTS = """
download_delay = 0

[[alerts.rules]]
name = "crisis"
kind = "crisis_words"
options = { words = ["异物"] }

[[alerts.receivers]]
name = "pr"
[[alerts.receivers.channels]]
type = "file"
path = "{outbox}"

[alerts]
default_receiver = "pr"
"""


def test_crawl_then_alert_then_deliver(harness, replica, tmp_path):  # noqa: F811
    site = sample_site()
    # The daemon crawls on the wall clock, so only a post published just now is news; the
    # sample's own 异物 post is days old and must not alert (backfill, README "Alerts").
    site.posts.append(mblog(pid(950), datetime.now(UTC), "星澜咖啡拿铁里又喝出异物了", PLAIN))
    site.install(replica)
    outbox = tmp_path / "outbox.jsonl"
    harness.configure(crawl=ALERTS.replace("{outbox}", str(outbox)))
    path = str(harness.config_path)

    run_job("crawl", path, spider="weibo", topic="星澜咖啡", period_seconds=300)
    stored = harness.mentions()
    assert stored and all(m["sentiment_label"] for m in stored.values())

    outcome = jobs.alerts_job(path)
    assert outcome.ok, outcome.detail
    assert "1 opened" in outcome.detail and "sent 1" in outcome.detail
    [message] = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert "【预警】星澜咖啡" in message["title"] and "异物" in message["text"]

    store = Store.open(harness.db_url)
    try:
        with socket.socket() as probe:  # a free port (the server does not report port 0's)
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        serve_metrics(store, port)
        body = (
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        )
    finally:
        store.close()
    assert 'yuqing_crawl_runs_total{spider="weibo",status="finished"} 1.0' in body
    assert f"yuqing_mentions_stored_total {float(len(stored))}" in body
    assert "yuqing_incidents_live 1.0" in body
    assert 'yuqing_deliveries{state="sent"} 1.0' in body
