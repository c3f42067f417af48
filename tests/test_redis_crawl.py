"""Distributed crawling (issue 7): two real crawler processes on one topic share a request queue
and dupefilter in the real Redis (127.0.0.1:6379) and split the work: every page fetched once,
every mention stored once, one watermark decision for the round, the keys gone afterwards.

Needs Redis; ``YUQING_SKIP_REDIS=1`` skips explicitly, anything else fails without it.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
import redis
from replica.harness import CLOCK, FAST, harness, replica  # noqa: F401 (fixtures)
from test_crawl_weibo import ALL_STORED, sample_site

from crawlers.redis_scheduler import merge_progress, redacted
from storage.crawl_state import load_watermarks
from storage.db import Store

REDIS = "127.0.0.1:6379/0"
# The local server has no password; its nopass default user accepts any, so the URL can carry
# one and the test can check it never reaches the output.
PASSWORD = "s3cret-" + uuid.uuid4().hex[:8]
TOPIC = "星澜咖啡"


@pytest.fixture
def redis_prefix():
    if os.environ.get("YUQING_SKIP_REDIS") == "1":
        pytest.skip("YUQING_SKIP_REDIS=1")
    server = redis.Redis.from_url(f"redis://{REDIS}")
    try:
        server.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS} is needed (or set YUQING_SKIP_REDIS=1): {exc}")
    prefix = f"yuqing-test-{uuid.uuid4().hex[:12]}"
    yield server, prefix
    for key in server.scan_iter(f"{prefix}:*"):
        server.delete(key)
    server.close()


def test_two_processes_share_one_crawl_through_redis(harness, replica, redis_prefix):  # noqa: F811
    server, prefix = redis_prefix
    harness.configure(
        f'[crawl.redis]\nurl = {{ env = "YUQING_TEST_REDIS_URL" }}\nkey_prefix = "{prefix}"\n'
    )
    os.environ["YUQING_TEST_REDIS_URL"] = f"redis://default:{PASSWORD}@{REDIS}"
    sample_site().install(replica)
    # Every page takes a second and each process fetches one at a time, so the crawl outlasts
    # the 5 s an idle process waits before asking the queue again: both get work.
    replica.fault("/", delay=1.0, times=999)
    one_at_a_time = {"CONCURRENT_REQUESTS": 1, "CONCURRENT_REQUESTS_PER_DOMAIN": 1}

    Store.open(harness.db_url).close()  # create the schema once, not from two threads at once
    results = [None, None]

    def crawl(slot: int) -> None:
        results[slot] = harness.run("weibo", TOPIC, **one_at_a_time)

    try:
        threads = [threading.Thread(target=crawl, args=(slot,)) for slot in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        os.environ.pop("YUQING_TEST_REDIS_URL", None)

    for result in results:
        assert result is not None and result.status == "finished", result and result.output[-3000:]
        assert PASSWORD not in result.output
        assert "redis://127.0.0.1:6379/0" in result.output  # where, without the password

    # Each page was fetched once (robots.txt is per process, outside the scheduler) ...
    fetched = Counter(url for url in replica.hits if url != "/robots.txt")
    assert fetched and set(fetched.values()) == {1}, fetched.most_common(3)
    assert sum("getIndex" in url for url in fetched) == 4  # three pages of posts, one empty
    # ... each mention was yielded by one process only, and the two shared the work.
    assert set(harness.mentions()) == ALL_STORED
    assert sum(r.items for r in results) == len(ALL_STORED)
    runs = [harness.run_record(r.run_id) for r in results]
    dequeued = [run["stats"]["scrapy"].get("scheduler/dequeued/redis", 0) for run in runs]
    assert all(n > 0 for n in dequeued), dequeued
    assert sum(dequeued) == sum(fetched.values())

    # The round's last process decided the watermark, over both processes' pages.
    advanced = [run["stats"]["streams"].get(TOPIC, {}).get("watermark_advanced") for run in runs]
    assert sorted(map(bool, advanced)) == [False, True]
    store = Store.open(harness.db_url)
    try:
        marks = load_watermarks(store, "weibo", TOPIC)
    finally:
        store.close()
    assert marks == {TOPIC: datetime.fromisoformat(CLOCK).astimezone(UTC)}
    assert list(server.scan_iter(f"{prefix}:*")) == []  # the round cleaned up after itself


def test_merged_progress_is_complete_only_if_every_member_was():
    now = "2025-06-01T04:00:00+00:00"
    first = {"ok": True, "reason": "finished", "streams": {"s": _stream(1, now, None)}}
    last = {"ok": True, "reason": "finished", "streams": {"s": _stream(2, None, "end")}}
    merged = merge_progress([first, last], tainted=False)["s"]
    assert (merged.pages, merged.newest.isoformat(), merged.complete) == (3, now, True)
    timed_out = first | {"ok": False, "reason": "closespider_timeout"}
    assert not merge_progress([timed_out, last], tainted=False)["s"].complete
    assert merge_progress([first, last], tainted=True)["s"].failed == "member_lost"
    assert redacted("redis://u:pw@db.internal:6380/2") == "redis://db.internal:6380/2"


def _stream(pages: int, newest: str | None, stopped: str | None) -> dict:
    return {"pages": pages, "newest": newest, "stopped": stopped, "failed": None}
