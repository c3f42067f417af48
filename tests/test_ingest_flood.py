"""``yuqing ingest`` with worker processes, and under a copy-paste flood: the same rows,
rejects and clusters as one process, copies still clustered."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from pipeline.ingest import default_workers, ingest_file
from storage.models import Mention, TopicMatch
from tests.conftest import FIXTURES

TEMPLATES = [
    "星澜咖啡太坑了，买的咖啡里喝出了异物，投诉了{n}次都没人管，客服只会说抱歉，大家避雷{e}",
    "星澜咖啡新品真的太好喝了，口感顺滑不苦涩，强烈推荐大家去门店试试，我已经第{n}次回购了{e}",
]

CHARACTERS = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工"


def flood_file(path, n: int, seed: int = 1) -> dict[str, int]:
    """A flood of ``n`` lines (two templates, a number and an emoticon each), with a few
    distinct posts and bad lines among them; returns each flood post's template."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    templates = {}
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            if i % 97 == 5:
                out.write("{not json\n")
                continue
            if i % 50 == 7:
                # A post of its own: random characters share few character pairs.
                text = "星澜咖啡" + "".join(rng.sample(CHARACTERS, 20))
            else:
                t = rng.randrange(len(TEMPLATES))
                text = TEMPLATES[t].format(n=rng.randrange(1000), e=rng.choice(["", "[怒]", "！"]))
                templates[f"f{i}"] = t
            row = {
                "platform": "weibo",
                "post_id": f"f{i}",
                "url": f"https://m.weibo.cn/detail/f{i}",
                "topics": ["星澜咖啡"],
                "author": {"id": str(i % 300), "followers": i % 5000},
                "text": text,
                "published_at": (now - timedelta(seconds=i)).isoformat(),
                "likes": i % 7,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return templates


def stored(store) -> dict[str, tuple]:
    with store.session() as session:
        rows = session.execute(
            select(
                Mention.post_id,
                Mention.sentiment_score,
                Mention.sentiment_label,
                Mention.cause,
                Mention.keywords,
                Mention.cluster_id,
                Mention.search_text,
            )
        ).all()
        matches = session.execute(
            select(Mention.post_id, TopicMatch.topic, TopicMatch.sentiment_label).join(
                TopicMatch, TopicMatch.mention_id == Mention.id
            )
        ).all()
    found = {r[0]: tuple(r[1:]) for r in rows}
    for post_id, topic, label in matches:
        found[post_id] += (topic, label)
    return found


def test_workers_store_what_one_process_stores(store, config, tmp_path):
    path = tmp_path / "flood.jsonl"
    flood_file(path, 1500)
    one = ingest_file(path, config, store, rejects_path=tmp_path / "one.rejects", workers=0)
    first = stored(store)
    with store.session() as session:  # commits on leaving
        session.execute(Mention.__table__.delete())
    two = ingest_file(
        path, config, store, rejects_path=tmp_path / "two.rejects", workers=2, batch_size=64
    )
    assert (one.lines, one.valid, one.rejected) == (two.lines, two.valid, two.rejected)
    assert one.stored == two.stored
    assert (tmp_path / "one.rejects").read_text() == (tmp_path / "two.rejects").read_text()
    assert first == stored(store)


def test_a_flood_stays_clustered_by_template(store, config, tmp_path):
    path = tmp_path / "flood.jsonl"
    templates = flood_file(path, 3000, seed=4)
    result = ingest_file(path, config, store, workers=0)
    assert result.rejected == 31 and result.valid == 3000 - 31
    with store.session() as session:
        clusters = dict(session.execute(select(Mention.post_id, Mention.cluster_id)).all())
    for template in range(len(TEMPLATES)):
        mine = Counter(clusters[p] for p, t in templates.items() if t == template)
        assert mine.most_common(1)[0][1] >= 0.95 * sum(mine.values())
    # The distinct posts among them stay apart.
    distinct = [c for p, c in clusters.items() if p not in templates]
    assert len(set(distinct)) == len(distinct)


def test_small_files_are_ingested_in_one_process(tmp_path):
    assert default_workers(FIXTURES / "mentions_good.jsonl") == 0
