"""Sentiment toward each topic: the rules (nlp/target_sentiment.py), their measured accuracy on
the held-out hand-written set, and the path from ingest to `mentions` and the alert counts."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nlp.sentiment import label_for
from nlp.target_sentiment import TargetSentiment, brands_for
from pipeline.config import parse_config
from pipeline.ingest import ingest_file
from storage.aggregates import topic_totals
from storage.query import MentionFilter, find_mentions
from tests.conftest import TEST_CONFIG

NLP = Path(__file__).parent / "fixtures" / "nlp"
BRANDS = brands_for(
    {"星澜咖啡": ["星澜咖啡", "星澜"], "青禾手机": ["青禾手机", "青禾X5"]},
    {"星澜咖啡": ["瑞幸", "星巴克", "库迪", "蓝岸咖啡"], "青禾手机": ["小米", "华为", "苹果"]},
)


def lexicon_scores(texts):
    """A stand-in clause model: negative words -> 0.1, praise -> 0.9, else 0.5."""
    out = []
    for text in texts:
        if any(w in text for w in ("坑", "难喝", "虫子", "差")):
            out.append(0.1)
        elif any(w in text for w in ("好喝", "靠谱", "不错")):
            out.append(0.9)
        else:
            out.append(0.5)
    return out


@pytest.fixture
def toward():
    return TargetSentiment(lexicon_scores)


def test_a_post_about_the_topic_alone_keeps_its_own_score(toward):
    calls = []
    scorer = TargetSentiment(lambda texts: calls.append(texts) or lexicon_scores(texts))
    assert scorer.brand_scores("星澜咖啡的拿铁太难喝了", 0.2, BRANDS) == {"星澜咖啡": 0.2}
    assert not calls  # nothing more is computed for the common case
    assert toward.brand_scores("今天天气不错", 0.9, BRANDS) == {}


def test_praise_of_the_topic_beside_an_attack_on_a_rival(toward):
    scores = toward.brand_scores("瑞幸太坑了，又贵又难喝，还是星澜咖啡靠谱", 0.16, BRANDS)
    assert scores["星澜咖啡"] > 0.6 and scores["瑞幸"] < 0.4


def test_comparisons(toward):
    better = toward.brand_scores("星澜咖啡比星巴克好喝多了", 0.5, BRANDS)
    assert better["星澜咖啡"] > 0.6 and better["星巴克"] < 0.4
    worse = toward.brand_scores("星澜咖啡不如瑞幸", 0.5, BRANDS)
    assert worse["星澜咖啡"] < 0.4 and worse["瑞幸"] > 0.6
    not_worse = toward.brand_scores("星澜咖啡不比星巴克差", 0.5, BRANDS)
    assert not_worse["星澜咖啡"] > 0.6
    beats = toward.brand_scores("瑞幸完爆星澜咖啡", 0.5, BRANDS)
    assert beats["星澜咖啡"] < 0.4 and beats["瑞幸"] > 0.6


def test_a_rebuttal_defends_the_topic_unless_negated(toward):
    rebut = toward.brand_scores("有人说星澜咖啡的杯子里有虫子，纯属造谣", 0.41, BRANDS)
    assert rebut["星澜咖啡"] > 0.6
    confirmed = toward.brand_scores("星澜咖啡杯子里有虫子，营销号没乱说", 0.2, BRANDS)
    assert confirmed["星澜咖啡"] < 0.4


def held_out_accuracy(path: Path) -> tuple[float, float]:
    """(accuracy over every row, over rows about a configured topic) with the shipped engine."""
    from nlp.sentiment import get_engine

    engine = get_engine("weibo")
    scorer = TargetSentiment(lambda texts: engine.scores(list(texts)))
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    posts = engine.scores([r["text"] for r in rows])
    right = [
        label_for(scorer.brand_scores(r["text"], p, BRANDS).get(r["topic"], p)) == r["label"]
        for r, p in zip(rows, posts, strict=True)
    ]
    client = [
        ok for ok, r in zip(right, rows, strict=True) if r["topic"] in ("星澜咖啡", "青禾手机")
    ]
    return sum(right) / len(right), sum(client) / len(client)


def test_held_out_set_accuracy_stays_above_what_was_measured():
    # Measured 2026-12-02 with the linear weibo engine: 0.84 over all 50 rows (post-level
    # sentiment: 0.42), 0.89 on the 36 rows about a client topic (post-level: 0.47).
    overall, client = held_out_accuracy(NLP / "topic_sentiment_test.csv")
    assert overall >= 0.75 and client >= 0.75


CONFIG = TEST_CONFIG.replace(
    'name = "星澜咖啡"\n', 'name = "星澜咖啡"\ncompetitors = ["瑞幸"]\n', 1
)


def test_topic_sentiment_is_stored_queried_and_counted_by_the_rules(store, tmp_path):
    config = parse_config(CONFIG, "test.toml")
    now = datetime.now(UTC).replace(microsecond=0)
    posts = [
        ("1", "瑞幸太坑了，又贵又难喝，还是星澜咖啡靠谱"),
        ("2", "星澜咖啡的拿铁太难喝了，再也不买了"),
    ]
    path = tmp_path / "in.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "platform": "weibo",
                    "post_id": post_id,
                    "url": f"https://m.weibo.cn/detail/{post_id}",
                    "text": text,
                    "published_at": (now - timedelta(minutes=5)).isoformat(),
                    "crawled_at": now.isoformat(),
                    "topics": ["星澜咖啡"],
                },
                ensure_ascii=False,
            )
            + "\n"
            for post_id, text in posts
        ),
        encoding="utf-8",
    )
    ingest_file(path, config, store)
    rows = {m["post_id"]: m for m in find_mentions(store, MentionFilter(limit=None))}
    # The post is negative overall, positive toward the client.
    assert rows["1"]["sentiment_label"] == "negative"
    assert rows["1"]["topic_sentiment"]["星澜咖啡"]["label"] == "positive"
    assert rows["2"]["topic_sentiment"]["星澜咖啡"]["label"] == "negative"

    def ids(**filters):
        return {m["post_id"] for m in find_mentions(store, MentionFilter(limit=None, **filters))}

    assert ids(topic="星澜咖啡", sentiment="negative") == {"2"}
    assert ids(topic="星澜咖啡", sentiment="positive") == {"1"}
    assert ids(sentiment="negative") == {"1", "2"}  # without a topic: the post's own
    # The negative-volume rules count what is said about the topic.
    totals = topic_totals(store, now - timedelta(hours=1), now + timedelta(minutes=1))
    assert totals["星澜咖啡"] == (2, 1)
