"""Fault injection, the faults test_faults.py and friends do not cover: a real PostgreSQL
restart in the middle of an ingest, a crawl process killed with SIGKILL and run again, and
hostile post content carried end to end through ingest, alerting and every place that shows
it (mail, IM markdown, the report, the dashboard, the terminal)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from pipeline import crawl
from pipeline.config import parse_config
from pipeline.ingest import ingest_file
from storage.db import Store
from storage.models import CrawlRun, Mention, TopicMatch
from tests.conftest import PG_URL, TEST_CONFIG
from tests.replica.harness import harness, replica  # noqa: F401 (fixtures)
from tests.test_crawl_weibo import ALL_STORED, sample_site

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


# --- PostgreSQL restarts during ingest ---------------------------------------------------------


def _pg_cluster() -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql"))
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]


def _pg_ready(timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def restartable_schema():
    """A fresh schema on a server this test may restart. Unlike conftest's pg_schema no
    connection is kept across the test (a pooled one would die with the restart), and the
    server is up again afterwards whatever happened: the tests after this one share it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"

    def admin(sql: str) -> None:
        engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    # A spread checkpoint in progress would make the shutdown wait for it: finish it now.
    admin(f'CREATE SCHEMA "{schema}"; CHECKPOINT')
    try:
        yield PG_URL, {"options": f"-c search_path={schema}"}
    finally:
        if not _pg_ready(1):
            subprocess.run([*_pg_cluster(), "start"], check=False, capture_output=True)
        assert _pg_ready(60), "PostgreSQL did not come back after the restart test"
        admin(f'DROP SCHEMA "{schema}" CASCADE')


def _write_mentions(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            row = {
                "platform": "weibo",
                "post_id": f"r{i}",
                "url": f"https://m.weibo.cn/detail/r{i}",
                "text": f"星澜咖啡 第{i}条 有点失望",
                "published_at": T0.isoformat(),
                "crawled_at": (T0 + timedelta(minutes=5)).isoformat(),
                "topics": ["星澜咖啡"],
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


@pytest.mark.postgres
def test_postgres_restart_mid_ingest_stores_every_item_once(restartable_schema, tmp_path, caplog):
    url, connect_args = restartable_schema
    path = tmp_path / "big.jsonl"
    _write_mentions(path, 3000)
    config = parse_config(TEST_CONFIG, "t.toml")
    store = Store.open(url, auto_migrate=True, connect_args=connect_args)
    # The ingest pauses at line 1000 (900 rows stored) until the server is down, so the restart
    # always lands mid-file whatever the machine's speed; the next batch then meets a dead
    # server and must ride out the restart. (A connection killed inside a transaction is
    # test_postgres_concurrency.py's case.)
    reached, down = threading.Event(), threading.Event()
    restarted: list[subprocess.CompletedProcess] = []
    lines = 0

    def progress(_bytes: int) -> None:
        nonlocal lines
        lines += 1
        if lines == 1000:
            reached.set()
            assert down.wait(60), "the server never went down"

    def restart() -> None:
        if not reached.wait(120):
            return
        restarting = subprocess.Popen(
            [*_pg_cluster(), "restart"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        while restarting.poll() is None and _pg_ready(0.01):
            time.sleep(0.01)
        down.set()
        out, err = restarting.communicate(timeout=120)
        restarted.append(
            subprocess.CompletedProcess(restarting.args, restarting.returncode, out, err)
        )

    restarter = threading.Thread(target=restart)
    restarter.start()
    caplog.set_level("WARNING", logger="storage.retry")
    try:
        result = ingest_file(path, config, store, batch_size=100, progress=progress)
    finally:
        down.set()
        restarter.join()
    try:
        assert restarted and restarted[0].returncode == 0, restarted
        assert any("retry" in r.getMessage() for r in caplog.records), "nothing was retried"
        assert result.valid == 3000
        stored = result.stored
        assert stored.inserted + stored.updated + stored.unchanged == 3000
        with store.session() as s:
            mentions = s.scalar(select(func.count()).select_from(Mention))
            distinct = s.scalar(
                select(func.count()).select_from(
                    select(Mention.platform, Mention.post_id).distinct().subquery()
                )
            )
            matches = s.scalar(select(func.count()).select_from(TopicMatch))
            [run] = s.scalars(select(CrawlRun).where(CrawlRun.spider == "ingest")).all()
            run_status = run.status
        assert mentions == distinct == matches == 3000
        assert run_status == "finished"
    finally:
        store.close()


# --- SIGKILL mid-crawl, then rerun -------------------------------------------------------------


def test_sigkilled_crawl_is_recorded_failed_and_the_rerun_has_no_gap_or_duplicate(
    harness,  # noqa: F811
    replica,  # noqa: F811
):
    sample_site().install(replica)
    # Page 2 answers slowly, so the kill lands while the crawl is mid-stream: page 1 fetched
    # (perhaps stored, perhaps still buffered) and page 2 in flight.
    replica.fault("page=2", delay=5)
    results = []
    worker = threading.Thread(target=lambda: results.append(harness.run("weibo", "星澜咖啡")))
    worker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not replica.hit_count("page=2"):
        time.sleep(0.05)
    with crawl._running_lock:
        [child] = list(crawl._running)
    # SIGKILL: no handler runs, nothing is flushed, the crawl-state extension records nothing.
    child.send_signal(signal.SIGKILL)
    worker.join(timeout=60)
    [killed] = results
    assert killed.returncode == -signal.SIGKILL
    record = harness.run_record(killed.run_id)
    assert record["status"] == "failed", record
    assert record["finished_at"] is not None
    assert "exited with code -9" in (record["message"] or "")

    rerun = harness.run("weibo", "星澜咖啡")
    assert rerun.status == "finished", harness.last_output[-3000:]
    assert set(harness.mentions()) == ALL_STORED
    store = Store.open(harness.db_url)
    try:
        with store.session() as s:
            doubled = s.execute(
                select(Mention.platform, Mention.post_id)
                .group_by(Mention.platform, Mention.post_id)
                .having(func.count() > 1)
            ).all()
            statuses = dict(s.execute(select(CrawlRun.id, CrawlRun.status)).all())
    finally:
        store.close()
    assert doubled == []
    assert statuses == {killed.run_id: "failed", rerun.run_id: "finished"}
