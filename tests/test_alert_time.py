"""When a mention counts for the alert rules and an incident's evidence (issue 13): by when it was
published, with one allowance for late arrival (``alerts.late_arrival_minutes``). Posts found long
after they were published (a backfill, a first crawl, an old thread bumped) or dated in the future
open nothing and stay out of the evidence; a crisis-word post that is not negative is never listed
as a top negative post. On SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alerts.render import Options, body
from pipeline.alerting import evaluate
from pipeline.config import parse_config
from storage import incidents
from storage.mentions import upsert_mentions

NOW = datetime(2026, 11, 18, 6, 0, tzinfo=UTC)  # a Wednesday, 14:00 in Beijing
_ids = itertools.count(1)

BASE = """
[[topics]]
name = "星澜咖啡"
[topics.keywords]
any = ["星澜咖啡"]

[alerts]
bucket_minutes = 5
"""

RULES = {
    "crisis_words": "options = { count = { warning = 1, critical = 5 } }",
    "influencer_post": "",
    "negative_share": "",
    "viral_post": "",
    "negative_spike": "",
}


def config_with(kind: str, alerts_extra: str = ""):
    rule = f'\n[[alerts.rules]]\nname = "{kind}"\nkind = "{kind}"\n{RULES[kind]}\n'
    return parse_config(BASE + alerts_extra + rule, "test.toml")


def mention(published: datetime, text: str, *, sentiment="negative", **over) -> dict:
    n = next(_ids)
    row = {
        "platform": "weibo",
        "post_id": str(n),
        "url": f"https://m.weibo.cn/detail/{n}",
        "author_name": f"用户{n}",
        "author_followers": 100,
        "text": text,
        "raw_text": text,
        "published_at": published,
        "crawled_at": published,
        "sentiment_score": {"negative": 0.05, "neutral": 0.5, "positive": 0.95}[sentiment],
        "sentiment_label": sentiment,
        "topics": {"星澜咖啡": []},
    }
    row.update(over)
    return row


def found_at(store, at: datetime, rows: list[dict]) -> None:
    """Store ``rows`` as a crawl (or an ingest) at ``at`` finds them."""
    upsert_mentions(store, [dict(r, crawled_at=at) for r in rows], now=at)


def burst(published: datetime, n: int = 30) -> list[dict]:
    """Negative posts every rule fires on when they are news: crisis words near the brand, a
    media account with ten million followers, thousands of reposts."""
    return [
        mention(
            published,
            f"星澜咖啡门店起火，第{i}位顾客受伤",
            author_followers=20_000_000,
            author_verified=True,
            author_verified_type=3,
            reposts=5000,
            comments=800,
        )
        for i in range(n)
    ]


def quiet_history(store, days: int = 2) -> None:
    """A negative post an hour, each found two minutes after it was posted: the spike rule's
    baseline, so a burst is a spike to it."""
    start = NOW - timedelta(days=days)
    for hour in range(days * 24):
        at = start + timedelta(hours=hour)
        found_at(store, at + timedelta(minutes=2), [mention(at, "星澜咖啡排队太久了")])


# (name, published relative to when the burst is found, an incident opens)
AGES = [
    ("fresh", timedelta(minutes=-1), True),
    ("published 200 days before found", timedelta(days=-200), False),
    ("dated 3 days in the future", timedelta(days=3), False),
]


@pytest.mark.parametrize("kind", list(RULES))
@pytest.mark.parametrize(("age", "offset", "opens"), AGES, ids=[a[0] for a in AGES])
def test_only_news_opens_an_incident(store, kind, age, offset, opens):
    config = config_with(kind)
    if kind == "negative_spike":
        quiet_history(store)
    found_at(store, NOW, burst(NOW + offset))
    # After the burst's 5-minute bucket is complete, so the spike rule sees it too.
    result = evaluate(config, store, NOW + timedelta(minutes=6), notify=lambda n: None)
    opened = incidents.list_incidents(store, status=None)
    if opens:  # the control: the same posts as news do fire this rule
        assert [i["rule"] for i in opened] == [kind], result.signals
    else:
        assert opened == [] and result.signals == [], age


def test_a_post_found_late_counts_within_the_allowance_and_not_beyond(store):
    # Found 90 minutes after it was posted: older than the crisis rule's 60-minute window, but
    # within the default 120-minute allowance, so the rule still sees it when it arrives.
    found_at(store, NOW, [mention(NOW - timedelta(minutes=90), "星澜咖啡门店起火了")])
    evaluate(config_with("crisis_words"), store, NOW + timedelta(minutes=1), notify=lambda n: None)
    assert [i["rule"] for i in incidents.list_incidents(store)] == ["crisis_words"]


def test_late_arrival_minutes_is_the_allowance(store):
    config = config_with("crisis_words", "late_arrival_minutes = 30\n")
    assert config.alerts.late_arrival_minutes == 30
    found_at(store, NOW, [mention(NOW - timedelta(minutes=40), "星澜咖啡门店起火了")])
    result = evaluate(config, store, NOW + timedelta(minutes=1), notify=lambda n: None)
    assert result.signals == [] and incidents.list_incidents(store, status=None) == []


def test_a_window_sees_only_mentions_found_by_its_end(store):
    # Replaying history: a post found at 10:30 is not known to a pass at 10:10, though it was
    # published before that pass.
    found_at(store, NOW, [mention(NOW - timedelta(minutes=30), "星澜咖啡门店起火了")])
    config = config_with("crisis_words")
    early = evaluate(config, store, NOW - timedelta(minutes=20), notify=lambda n: None)
    assert early.signals == []
    assert evaluate(config, store, NOW + timedelta(minutes=1), notify=lambda n: None).opened


def test_old_posts_stay_out_of_an_incidents_evidence(store):
    # Two fresh complaints open a crisis-word incident. Forty posts published ten days ago,
    # found now (an export ingested, an old thread bumped), are negative, complain about
    # something else and are copies of one another: none of that may reach the evidence.
    fresh = [
        mention(NOW - timedelta(minutes=5), "星澜咖啡门店起火，顾客受伤", cause="店内事故"),
        mention(NOW - timedelta(minutes=3), "星澜咖啡起火现场视频", cause="店内事故"),
    ]
    old = [
        mention(
            NOW - timedelta(days=10),
            f"星澜咖啡店员态度差 {i}",
            cause="服务态度",
            cluster_id=7,
            keywords=["店员", "态度"],
        )
        for i in range(40)
    ]
    found_at(store, NOW, fresh + old)
    evaluate(config_with("crisis_words"), store, NOW + timedelta(minutes=1), notify=lambda n: None)
    [incident] = incidents.list_incidents(store)
    evidence = incident["evidence"]
    assert evidence["negative_mentions"] == 2 and evidence["observed"] == 2
    assert [list(c) for c in evidence["causes"]] == [["店内事故", 2]]
    assert evidence["near_duplicate_share"] == 0.0
    assert evidence["platform_counts"] == {"weibo": 2}
    assert "店员" not in dict(map(tuple, evidence["keywords"]))
    assert {p["post_id"] for p in evidence["top_posts"]} == {m["post_id"] for m in fresh}


def test_a_neutral_crisis_word_post_is_not_listed_as_negative(store):
    # The crisis-word rule fires on a post the sentiment model calls neutral (a warning to
    # others, not a complaint). It is shown, under its own label, not among 热门负面帖.
    warning = mention(
        NOW - timedelta(minutes=4), "星澜咖啡门店起火了，大家注意安全", sentiment="neutral"
    )
    complaint = mention(NOW - timedelta(minutes=2), "星澜咖啡的拿铁太难喝了", reposts=3)
    found_at(store, NOW, [warning, complaint])
    sent = []
    evaluate(config_with("crisis_words"), store, NOW + timedelta(minutes=1), notify=sent.append)
    [notification] = sent
    evidence = notification["evidence"]
    assert [p["post_id"] for p in evidence["top_posts"]] == [complaint["post_id"]]
    assert all(p["sentiment_label"] == "negative" for p in evidence["top_posts"])
    assert [p["post_id"] for p in evidence["crisis_posts"]] == [warning["post_id"]]
    assert evidence["crisis_posts"][0]["crisis_words"] == ["起火"]

    text = body([notification], "text", Options(tz=ZoneInfo("Asia/Shanghai")))
    negative_part, crisis_part = text.split("含危机词的其他帖（未判为负面）")
    assert "拿铁太难喝" in negative_part.split("热门负面帖")[1]
    assert "大家注意安全" not in negative_part and "大家注意安全" in crisis_part


def test_spike_counts_every_match_of_a_bucket(store):
    """Matches made at different moments of one bucket add up (a crawl flush at 10:01 and
    another at 10:03 are one 5-minute bucket, not two that overwrite each other)."""
    from storage.aggregates import bucket_counts

    start = NOW - timedelta(minutes=30)
    for second in (60, 180, 200):
        at = start + timedelta(seconds=second)
        found_at(
            store,
            at,
            [mention(at, "星澜咖啡有异物"), mention(at, "星澜咖啡还行", sentiment="neutral")],
        )
    counts = bucket_counts(store, start, NOW, 5)
    assert counts == {"星澜咖啡": {start: (6, 3)}}
