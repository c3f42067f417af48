"""`yuqing crawl` and `scrapy crawl` end to end against the replica, the full item path (NLP
included), exit codes and the run timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from replica.harness import FAST, harness, replica  # noqa: F401 (fixtures)
from test_crawl_weibo import ALL_STORED, sample_site

from pipeline.cli import cli

REPO = Path(__file__).resolve().parent.parent
# Keep NLP enrichment in: these tests run the whole item path.
WITH_NLP = {k: v for k, v in FAST.items() if k != "ITEM_PIPELINES"}


def settings_args(settings: dict) -> list[str]:
    return [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]


def test_yuqing_crawl_runs_every_topic_and_stores_scored_mentions(harness, replica):  # noqa: F811
    sample_site().install(replica)
    result = CliRunner().invoke(
        cli,
        ["--config", str(harness.config_path), "crawl", "weibo", *settings_args(WITH_NLP)],
    )
    assert result.exit_code == 0, result.output
    assert "weibo [星澜咖啡]: finished" in result.output
    assert "weibo [青禾手机]: finished" in result.output  # found nothing, which is fine
    stored = harness.mentions()
    assert set(stored) == ALL_STORED
    assert all(m["sentiment_label"] in ("negative", "neutral", "positive") for m in stored.values())


def test_yuqing_crawl_exits_1_when_blocked(harness, replica):  # noqa: F811
    sample_site().install(replica)
    replica.fault("getIndex", status=418, times=99)
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(harness.config_path),
            "crawl",
            "weibo",
            "--topic",
            "星澜咖啡",
            *settings_args(FAST),
        ],
    )
    assert result.exit_code == 1
    assert "failed" in result.output
    assert "blocked" in result.output.lower()


def test_scrapy_crawl_from_the_repository_root(harness, replica):  # noqa: F811
    sample_site().install(replica)
    env = dict(os.environ, YUQING_CONFIG=str(harness.config_path))
    env.pop("SCRAPY_SETTINGS_MODULE", None)  # found through scrapy.cfg
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "weibo",
            "-a",
            "topic=星澜咖啡",
            *settings_args(FAST),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert set(harness.mentions()) == ALL_STORED
    runs = harness.run_record(1)  # recorded by the extension, no runner involved
    assert (runs["spider"], runs["topic"], runs["status"]) == ("weibo", "星澜咖啡", "finished")


def test_timeout_ends_the_run_as_partial_and_the_next_run_completes_it(harness, replica):  # noqa: F811
    site = sample_site()
    site.install(replica)
    replica.fault("page=2", delay=4)
    result = harness.run("weibo", "星澜咖啡", timeout=2, DOWNLOAD_TIMEOUT=10)
    assert result.status == "partial"
    assert "closespider_timeout" in result.message
    run = harness.run_record(result.run_id)
    assert run["stats"]["close_reason"] == "closespider_timeout"
    assert not any(s["watermark_advanced"] for s in run["stats"]["streams"].values())
    assert harness.run("weibo", "星澜咖啡").status == "finished"
    assert set(harness.mentions()) == ALL_STORED
    assert json.dumps(run["stats"])  # stats are plain JSON


def test_yuqing_crawl_exits_4_while_the_same_crawl_runs_elsewhere(harness, replica):  # noqa: F811
    from datetime import timedelta

    from pipeline.config import load_config
    from storage import leases
    from storage.db import Store

    sample_site().install(replica)
    config = load_config(harness.config_path)
    store = Store.open(config.database_url())
    leases.acquire(store, "crawl:weibo:星澜咖啡", "other-host:1:1", timedelta(minutes=5))
    store.close()
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(harness.config_path),
            "crawl",
            "weibo",
            "--topic",
            "星澜咖啡",
            *settings_args(FAST),
        ],
    )
    assert result.exit_code == 4, result.output
    assert "running elsewhere" in result.output
    assert harness.mentions() == {}


def test_stopping_daemon_closes_a_running_crawl_cleanly(harness, replica):  # noqa: F811
    """What the daemon does on SIGTERM: stop_all() asks each running crawl to close; Scrapy
    closes the spider ("shutdown"), the store flushes what was fetched and the run is recorded as
    partial, not left "running" or killed. The next run completes the stream without a gap."""
    import threading
    import time

    from pipeline.crawl import stop_all

    site = sample_site()
    site.install(replica)
    replica.fault("page=2", delay=20)
    results = []
    worker = threading.Thread(target=lambda: results.append(harness.run("weibo", "星澜咖啡")))
    worker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not replica.hit_count("page=2"):
        time.sleep(0.1)
    assert stop_all() == 1
    worker.join(timeout=90)
    [result] = results
    assert result.status == "partial" and "shutdown" in (result.message or "")
    assert harness.mentions(), "what page 1 gave was flushed to the database"
    assert harness.run("weibo", "星澜咖啡").status == "finished"
    assert set(harness.mentions()) == ALL_STORED
