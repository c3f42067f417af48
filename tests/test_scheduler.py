"""The scheduler daemon: the jobs it plans, the job store, leases between two daemons, and a
real daemon process stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline import jobs
from pipeline.config import parse_config
from pipeline.scheduler import build_scheduler, plan, run_job, sync_jobs
from storage import leases, status
from storage.db import Store

CONFIG = """
[general]
timezone = "Asia/Shanghai"

[storage]
url = "{url}"

[[topics]]
name = "星澜咖啡"
platforms = ["weibo"]
schedule = "*/10 * * * *"
[topics.keywords]
any = ["星澜咖啡"]

[[topics]]
name = "青禾手机"
platforms = ["weibo", "tieba"]
[topics.keywords]
any = ["青禾手机"]

[crawl]
default_schedule = "*/15 * * * *"
[crawl.schedules]
tieba = "0 * * * *"
"""


@pytest.fixture
def daemon_config(tmp_path):
    url = f"sqlite:///{tmp_path / 'y.db'}"
    path = tmp_path / "yuqing.toml"
    path.write_text(CONFIG.format(url=url), encoding="utf-8")
    return parse_config(path.read_text(encoding="utf-8"), str(path)), str(path)


def test_plan_has_a_crawl_per_topic_and_platform_plus_alerts(daemon_config):
    config, path = daemon_config
    planned = {p.id: p for p in plan(config, path)}
    assert set(planned) == {
        "crawl:weibo:星澜咖啡",
        "crawl:weibo:青禾手机",
        "crawl:tieba:-",
        "hot_refresh",
        "alerts:evaluate",
        "deliveries",
    }
    # The topic's own schedule wins, then the platform's, then the default.
    now = datetime(2026, 11, 20, 10, 1, tzinfo=config.tz)
    assert planned["crawl:weibo:星澜咖啡"].trigger.get_next_fire_time(None, now).minute == 10
    assert planned["crawl:weibo:青禾手机"].trigger.get_next_fire_time(None, now).minute == 15
    assert planned["crawl:tieba:-"].trigger.get_next_fire_time(None, now).hour == 11
    assert planned["crawl:weibo:星澜咖啡"].kwargs["period_seconds"] == 600


def test_jobs_persist_in_the_database_and_follow_config_changes(daemon_config, tmp_path):
    config, path = daemon_config
    scheduler = build_scheduler(config, path)
    scheduler.start(paused=True)
    sync_jobs(scheduler, plan(config, path))
    scheduler.shutdown(wait=False)
    store = Store.open(config.database_url())
    stored = {j["id"]: j["next_run_at"] for j in status.scheduler_jobs(store)}
    assert "crawl:weibo:星澜咖啡" in stored and stored["alerts:evaluate"] is not None

    # One topic removed: its job leaves the store on the next start.
    smaller = parse_config(
        Path(path).read_text(encoding="utf-8").split('[[topics]]\nname = "青禾手机"')[0]
        + "\n[crawl]\n",
        path,
    )
    scheduler = build_scheduler(smaller, path)
    scheduler.start(paused=True)
    sync_jobs(scheduler, plan(smaller, path))
    scheduler.shutdown(wait=False)
    ids = {j["id"] for j in status.scheduler_jobs(store)}
    assert "crawl:weibo:青禾手机" not in ids and "crawl:weibo:星澜咖啡" in ids
    store.close()


def test_two_daemons_run_a_job_once(daemon_config, monkeypatch):
    config, path = daemon_config
    store = Store.open(config.database_url())
    calls = []
    started = threading.Barrier(2)

    def fake_evaluate(config, store, now=None, notify=None):
        calls.append(threading.get_ident())
        time.sleep(0.3)
        from alerts.engine import EvaluationResult

        return EvaluationResult()

    monkeypatch.setattr("pipeline.alerting.evaluate", fake_evaluate)

    def daemon():
        started.wait()
        run_job("alerts", path)  # the daemon's dispatcher swallows Locked and logs it

    threads = [threading.Thread(target=daemon) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    # The lease outlives the run by most of the period: a late second scheduler skips too.
    with pytest.raises(jobs.Locked):
        jobs.alerts_job(path)
    store.close()


def test_lease_expires_after_a_crashed_holder(daemon_config):
    config, _ = daemon_config
    store = Store.open(config.database_url())
    now = datetime.now(UTC)
    assert leases.acquire(store, "alerts:evaluate", "dead-host:1", timedelta(seconds=1), now)
    with pytest.raises(jobs.Locked):
        with jobs.exclusive(store, "alerts:evaluate", timedelta(minutes=1)):
            pass
    time.sleep(1.1)
    with jobs.exclusive(store, "alerts:evaluate", timedelta(minutes=1)):
        pass
    store.close()


def test_daemon_process_stops_on_sigterm(daemon_config, tmp_path):
    config, path = daemon_config
    env = dict(os.environ, YUQING_CONFIG=path)
    env.pop("YUQING_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from pipeline.cli import main; main()", "-v", "run"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    store = Store.open(config.database_url())
    try:
        # Generous: under load, importing Scrapy, pandas and the NLP model takes a while.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not status.scheduler_jobs(store):
            time.sleep(0.2)
        assert status.scheduler_jobs(store), "the daemon never stored its jobs"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        store.close()
    assert proc.returncode == 0, err
    assert "received SIGTERM" in err and "scheduler stopped" in err
