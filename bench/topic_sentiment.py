"""Sentiment toward a topic (nlp/target_sentiment.py) on the hand-written sets in
tests/fixtures/nlp/topic_sentiment_{dev,test}.csv: accuracy of the topic-level label against
the post-level label used for the topic, and writes its section of docs/benchmarks.md.

    .venv/bin/python bench/topic_sentiment.py [--no-write]

Rows about a client topic go through the shipped path (``pipeline.enrich.Enricher``: cleaning,
the topics' user dictionary, the sentiment tiers, then the topic rules); rows about the rival
named in the same post are scored by the same rules with the same analyser (rivals are not
stored, so ingest never scores them).
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import machine  # noqa: E402
from bench.nab_backtest import write_docs  # noqa: E402
from nlp.sentiment import label_for  # noqa: E402
from pipeline.config import parse_config  # noqa: E402
from pipeline.enrich import Enricher  # noqa: E402

SETS = ROOT / "tests" / "fixtures" / "nlp"
SECTION = "## Sentiment toward a topic (issue 15)"
CONFIG = """
[[topics]]
name = "星澜咖啡"
competitors = ["瑞幸", "星巴克", "库迪", "蓝岸咖啡"]
[topics.keywords]
any = ["星澜咖啡", "星澜"]

[[topics]]
name = "青禾手机"
competitors = ["小米", "华为", "苹果"]
[topics.keywords]
any = ["青禾手机", "青禾X5"]
"""


def score_set(enricher: Enricher, clients: set[str], path: Path) -> dict[str, tuple[int, int, int]]:
    """{"all" | "client": (rows, topic-level right, post-level right)}."""
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    mentions = [
        {
            "platform": "weibo",
            "post_id": str(i),
            "text": r["text"],
            "title": None,
            "extra": {},
            "topics": {r["topic"]: [r["topic"]]} if r["topic"] in clients else {},
        }
        for i, r in enumerate(rows)
    ]
    enricher.enrich(mentions)
    low, high = enricher.thresholds
    counts = {"all": [0, 0, 0], "client": [0, 0, 0]}
    for row, mention in zip(rows, mentions, strict=True):
        post = mention["sentiment_score"]
        if row["topic"] in clients:
            label = mention["topic_sentiment"][row["topic"]][1]
        else:
            toward = enricher.toward.brand_scores(row["text"], post, enricher.brands)
            label = label_for(toward.get(row["topic"], post), low, high)
        for key in ("all", "client") if row["topic"] in clients else ("all",):
            counts[key][0] += 1
            counts[key][1] += label == row["label"]
            counts[key][2] += mention["sentiment_label"] == row["label"]
    return {k: tuple(v) for k, v in counts.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    config = parse_config(CONFIG, "bench.toml")
    enricher = Enricher(config, recent_posts=list)
    clients = {t.name for t in config.topics}
    lines = [
        SECTION,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()} with "
        "`.venv/bin/python bench/topic_sentiment.py`. The sets are hand-written (docs/nlp.md, "
        '"Sentiment toward each topic"); the rules were written against `dev`, `test` was '
        "written before them. Accuracy of the three-class label:",
        "",
        "| set | rows | toward the topic | post-level label |",
        "| --- | --- | --- | --- |",
    ]
    for name in ("test", "dev"):
        result = score_set(enricher, clients, SETS / f"topic_sentiment_{name}.csv")
        for key, (rows, right, post) in result.items():
            what = "all rows" if key == "all" else "rows about a client topic (shipped path)"
            lines.append(f"| {name}, {what} | {rows} | {right / rows:.2f} | {post / rows:.2f} |")
    body = "\n".join(lines) + "\n"
    print(body)
    if not args.no_write:
        write_docs(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
