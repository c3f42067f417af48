"""Analyst aggregations on both backends, and ``yuqing stats``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from storage.mentions import upsert_mentions
from storage.query import MentionFilter
from storage.stats import stats

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026-11-20 23:30 in Shanghai is 15:30 UTC: the same UTC day as 2026-11-20 08:00 Shanghai time
# (00:00 UTC), yet a different Shanghai day from 2026-11-21 01:00 (17:00 UTC on the 20th).
T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def row(post_id: str, at: datetime, *, platform="weibo", label="negative", **over):
    base = {
        "platform": platform,
        "post_id": post_id,
        "url": f"https://example.com/{post_id}",
        "author_id": f"a{post_id}",
        "author_name": f"作者{post_id}",
        "author_followers": 100,
        "text": "星澜咖啡 产品质量太差",
        "raw_text": "星澜咖啡 产品质量太差",
        "published_at": at,
        "crawled_at": at + timedelta(minutes=5),
        "reposts": 1,
        "comments": 1,
        "likes": 1,
        "sentiment_label": label,
        "sentiment_score": 0.1,
        "cause": "产品质量" if label == "negative" else None,
        "keywords": ["星澜咖啡", "质量"],
        "topics": {"星澜咖啡": ["星澜咖啡"]},
    }
    return base | over


ROWS = [
    row("1", T0, cluster_id=7),
    row("2", T0 + timedelta(hours=15, minutes=30), cluster_id=7),
    row("3", T0 + timedelta(hours=17), platform="tieba", label="positive", cluster_id=9),
    row(
        "4",
        T0 + timedelta(hours=17, minutes=10),
        author_id="big",
        author_name="大V",
        author_followers=2_000_000,
        author_verified=True,
        reposts=500,
        cause="服务态度",
        keywords=["服务态度", "星澜咖啡"],
        text="星澜咖啡 店员态度差 退款",
        raw_text="星澜咖啡 店员态度差 退款",
    ),
    row("5", T0, text="青禾手机", raw_text="青禾手机", topics={"青禾手机": ["青禾手机"]}),
]


def test_volume_in_local_days_with_platform_and_sentiment(store):
    upsert_mentions(store, ROWS)
    result = stats(store, MentionFilter(topic="星澜咖啡"), tz=SHANGHAI)
    assert result.total == 4
    got = [
        (r["bucket"].date().isoformat(), r["platform"], r["negative"], r["positive"], r["total"])
        for r in result.volume
    ]
    assert got == [
        ("2026-11-20", "weibo", 2, 0, 2),
        ("2026-11-21", "tieba", 0, 1, 1),
        ("2026-11-21", "weibo", 1, 0, 1),
    ]
    assert result.volume[0]["bucket"] == datetime(2026, 11, 20, tzinfo=SHANGHAI)
    hourly = stats(store, MentionFilter(topic="星澜咖啡"), bucket="hour", tz=UTC)
    assert [r["bucket"].hour for r in hourly.volume] == [0, 15, 17, 17]


def test_authors_keywords_causes_and_near_duplicates(store):
    upsert_mentions(store, ROWS)
    result = stats(store, MentionFilter(topic="星澜咖啡"), top=2)
    first = result.authors[0]
    assert (first["author_name"], first["followers"], first["verified"]) == ("大V", 2_000_000, True)
    assert (first["mentions"], first["engagement"], first["negative"]) == (1, 502, 1)
    assert len(result.authors) == 2
    assert result.keywords == [("星澜咖啡", 4), ("质量", 3)]
    assert result.causes == [("产品质量", 2), ("服务态度", 1)]
    # Posts 1 and 2 share cluster 7: two near-duplicates out of four mentions.
    assert result.near_duplicates == {"total": 4, "duplicates": 2, "share": 0.5}


def test_any_filter_narrows_every_section(store):
    upsert_mentions(store, ROWS)
    result = stats(store, MentionFilter(search="退款", sentiment="negative"))
    assert result.total == 1
    assert [a["author_id"] for a in result.authors] == ["big"]
    assert result.causes == [("服务态度", 1)]
    assert result.near_duplicates["duplicates"] == 0
    everything = stats(store, MentionFilter(since=T0, until=T0 + timedelta(hours=1)))
    assert everything.total == 2  # no topic: mentions of every topic, each counted once
    empty = stats(store, MentionFilter(topic="nobody"))
    assert (empty.total, empty.volume, empty.keywords, empty.near_duplicates["share"]) == (
        0,
        [],
        [],
        0.0,
    )


def test_stats_command_table_and_json(run, tmp_path):
    from storage.db import Store

    store = Store.open(f"sqlite:///{tmp_path / 'y.db'}")
    upsert_mentions(store, [*ROWS, row("6", T0, author_name="[bold red]x\x1b[2J")])
    store.close()
    table = run("stats", "--topic", "星澜咖啡", "--since", "2026-11-19")
    assert table.exit_code == 0, table.output
    assert "大V" in table.output and "产品质量" in table.output
    assert "\x1b[2J" not in table.output and "[bold red]x" in table.output
    as_json = run("stats", "--topic", "星澜咖啡", "--format", "json", "--bucket", "hour")
    data = json.loads(as_json.output)
    assert data["total"] == 5 and data["volume"][0]["bucket"] == "2026-11-20T08:00:00+08:00"
    bad = run("stats", "--search", "NOT x")
    assert bad.exit_code == 2 and "NOT needs" in bad.output
