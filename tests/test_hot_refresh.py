"""The hot-post re-crawl (issue 5, spread velocity): the fastest-growing negative mentions of the
last 24 hours are re-read from the m.weibo.cn replica (``/statuses/show``), their counts updated
and an engagement snapshot appended, so their velocity is measured rather than averaged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.interval import IntervalTrigger
from replica.harness import FAST, harness, replica  # noqa: F401 (fixtures)
from replica.weibo import WeiboSite, mblog, user
from sqlalchemy import select

from pipeline.config import load_config
from pipeline.jobs import hot_refresh_job
from pipeline.scheduler import plan
from storage.aggregates import hot_negative_mentions, velocities
from storage.db import Store
from storage.mentions import upsert_mentions
from storage.models import EngagementSnapshot, Mention

NOW = datetime.now(UTC).replace(microsecond=0)
AUTHOR = user(5001, "顾客", followers=80)


def stored_row(post_id: str, published: datetime, reposts: int, sentiment: str) -> dict:
    """A mention as an earlier crawl stored it, two hours ago."""
    return {
        "platform": "weibo",
        "post_id": post_id,
        "url": f"https://m.weibo.cn/detail/{post_id}",
        "text": f"星澜咖啡 {post_id}",
        "raw_text": f"星澜咖啡 {post_id}",
        "published_at": published,
        "crawled_at": NOW - timedelta(hours=2),
        "reposts": reposts,
        "comments": 0,
        "likes": 0,
        "sentiment_label": sentiment,
        "topics": {"星澜咖啡": ["星澜咖啡"]},
    }


def test_hot_refresh_updates_counts_appends_snapshots_and_shows_velocity(harness, replica):  # noqa: F811
    # Stored two hours ago: "fast" and "slow" are negative and recent, "old" is two days old,
    # "happy" is positive, "gone" was deleted since. Only the first two are re-read.
    posts = {
        "fast": ("4900000000000001", NOW - timedelta(hours=3), 100, "negative"),
        "slow": ("4900000000000002", NOW - timedelta(hours=3), 10, "negative"),
        "gone": ("4900000000000003", NOW - timedelta(hours=4), 1, "negative"),
        "old": ("4900000000000004", NOW - timedelta(days=2), 9000, "negative"),
        "happy": ("4900000000000005", NOW - timedelta(hours=1), 5000, "positive"),
    }
    store = Store.open(harness.db_url)
    upsert_mentions(store, [stored_row(*p) for p in posts.values()])
    store.close()
    now_counts = {"fast": 400, "slow": 12, "old": 9100, "happy": 5100}
    WeiboSite(
        posts=[
            mblog(posts[k][0], posts[k][1], f"星澜咖啡 {posts[k][0]}", AUTHOR, reposts=n)
            for k, n in now_counts.items()
        ]
    ).install(replica)

    store = Store.open(harness.db_url)
    try:
        hot = hot_negative_mentions(store, NOW)
        assert [m["post_id"] for m in hot] == [posts[k][0] for k in ("fast", "slow", "gone")]
        assert hot[0]["topics"] == ["星澜咖啡"]
        assert hot[0]["velocity"] == 100 / 3  # one snapshot: the average since publication
        assert len(hot_negative_mentions(store, NOW, limit=1)) == 1
    finally:
        store.close()

    outcome = hot_refresh_job(str(harness.config_path), now=NOW, settings=FAST)
    assert outcome.ok, outcome.detail
    assert "3 post(s) asked" in outcome.detail
    assert replica.hit_count("/statuses/show") == 3
    assert replica.hit_count("getIndex") == 0  # a refresh, not a search

    store = Store.open(harness.db_url)
    try:
        with store.session() as session:
            mentions = {m.post_id: m for m in session.scalars(select(Mention))}
            snapshots = {
                post_id: session.scalars(
                    select(EngagementSnapshot.reposts)
                    .where(EngagementSnapshot.mention_id == mentions[post_id].id)
                    .order_by(EngagementSnapshot.observed_at)
                ).all()
                for post_id in mentions
            }
        fast, slow = (mentions[posts[k][0]] for k in ("fast", "slow"))
        assert (fast.reposts, slow.reposts) == (400, 12)
        assert snapshots[fast.post_id] == [100, 400]
        assert snapshots[slow.post_id] == [10, 12]
        assert snapshots[posts["gone"][0]] == [1]  # deleted: what we saw stays
        assert snapshots[posts["old"][0]] == [9000] and snapshots[posts["happy"][0]] == [5000]

        # Velocity now comes from the two snapshots: 300 reposts in the two hours between them.
        refreshed_at = fast.crawled_at
        rate = velocities(store, [{"id": fast.id}], refreshed_at, timedelta(hours=6))[fast.id]
        hours = (refreshed_at - (NOW - timedelta(hours=2))).total_seconds() / 3600
        assert rate["reposts"] == (400 - 100) / hours
        hot = hot_negative_mentions(store, refreshed_at)
        assert hot[0]["post_id"] == fast.post_id and hot[0]["velocity"] > 100
    finally:
        store.close()

    run = harness.run_record(1)
    assert (run["spider"], run["topic"], run["status"]) == ("weibo", None, "finished")
    assert run["stats"]["field_problems"] == {"weibo/refresh_gone": 1}


def test_daemon_plans_the_hot_refresh_every_15_minutes(harness):  # noqa: F811
    config = load_config(harness.config_path)
    planned = {p.id: p for p in plan(config, str(harness.config_path))}
    hot = planned["hot_refresh"]
    assert isinstance(hot.trigger, IntervalTrigger)
    assert hot.trigger.interval == timedelta(minutes=15)
    assert hot.kwargs == {"job": "hot_refresh", "config_path": str(harness.config_path)}
