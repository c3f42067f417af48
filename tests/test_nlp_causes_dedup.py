"""Near-duplicate clusters across runs (the complaint-cause tests are in test_nlp_causes.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nlp.dedup import NearDuplicateIndex, cluster_id_for
from pipeline.config import parse_config
from pipeline.enrich import Enricher, recent_posts_from_database
from storage.clusters import near_duplicate_share, recent_cluster_posts
from storage.db import Store
from storage.mentions import upsert_mentions
from tests.conftest import TEST_CONFIG

COPY = "星澜咖啡新品上市，第二杯半价，全国门店同步开启，快来打卡吧！#星澜咖啡#"


def test_near_duplicates_share_a_stable_cluster():
    index = NearDuplicateIndex(threshold=0.7)
    first = index.assign("weibo:1", COPY)
    assert first == cluster_id_for("weibo:1")
    assert index.assign("weibo:2", COPY.replace("快来打卡吧", "快来打卡")) == first
    assert index.assign("weibo:3", "青禾手机用了三天就黑屏，售后还不给换，大家别买") != first
    assert index.assign("weibo:4", "好评") is None  # too short to compare
    assert index.assign("weibo:1", "text changed") == first  # a post keeps its cluster
    # A rebuilt index (a later run) puts new copies in the same cluster.
    rebuilt = NearDuplicateIndex(threshold=0.7)
    rebuilt.add_known("weibo:2", COPY, first)
    assert rebuilt.assign("tieba:9", "转给大家：" + COPY) == first


def test_index_forgets_the_oldest_posts_beyond_capacity():
    index = NearDuplicateIndex(capacity=2)
    for i in range(3):
        index.assign(f"weibo:{i}", f"第{i}条完全不同的内容，这里是一段足够长的测试文字{i * 7}")
    assert len(index) == 2


def _row(post_id: str, text: str, published_at: datetime) -> dict:
    return {
        "platform": "weibo",
        "post_id": post_id,
        "url": f"https://weibo.com/{post_id}",
        "text": text,
        "raw_text": text,
        "published_at": published_at,
        "crawled_at": published_at,
        "topics": {"星澜咖啡": ["星澜咖啡"]},
        "extra": {},
    }


def test_clusters_are_stable_across_runs_and_queryable_per_topic(store_factory, config):
    store = store_factory()
    now = datetime.now(UTC).replace(microsecond=0)

    def stored_posts():
        return recent_cluster_posts(store, now - timedelta(days=7))

    first_run = Enricher(config, recent_posts=stored_posts)
    rows = [
        _row("1", COPY, now - timedelta(hours=3)),
        _row("2", "今天的拿铁有点苦，不过还可以", now),
    ]
    first_run.enrich(rows)
    upsert_mentions(store, rows)
    assert rows[0]["sentiment_label"] and rows[0]["keywords"]

    second_run = Enricher(config, recent_posts=stored_posts)
    later = [_row("3", "转发：" + COPY, now - timedelta(hours=1)), _row("4", COPY + "[哈哈]", now)]
    second_run.enrich(later)
    upsert_mentions(store, later)
    assert later[0]["cluster_id"] == later[1]["cluster_id"] == rows[0]["cluster_id"]

    share = near_duplicate_share(store, "星澜咖啡", now - timedelta(days=1), now + timedelta(1))
    assert share["total"] == 4 and share["duplicates"] == 3
    assert share["share"] == 0.75
    assert share["clusters"] == [{"cluster_id": rows[0]["cluster_id"], "mentions": 3}]
    empty = near_duplicate_share(store, "青禾手机", now - timedelta(days=1), now)
    assert empty == {"total": 0, "duplicates": 0, "share": 0.0, "clusters": []}


def test_enricher_seeds_from_the_configured_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'y.db'}"
    config = parse_config(TEST_CONFIG + f"\n[storage]\nurl = '{url}'\n")
    assert recent_posts_from_database(config)() == []
    assert not (tmp_path / "y.db").exists()  # a missing database is never created
    store = Store.open(url)
    rows = [_row("1", COPY, datetime.now(UTC))]
    Enricher(config).enrich(rows)
    upsert_mentions(store, rows)
    store.close()
    later = [_row("2", COPY + "！", datetime.now(UTC))]
    Enricher(config).enrich(later)
    assert later[0]["cluster_id"] == rows[0]["cluster_id"] == cluster_id_for("weibo:1")
