"""Benchmark: one alert-evaluation pass over 1,000 topics on SQLite.

Builds a database with ``--topics`` topics and ``--days`` days of mentions (a daily cycle, about
``--per-day`` mentions per topic per day, a fifth of them negative), runs the first pass (which
replays the spike detector's history for every topic), then times steady-state passes one
bucket apart, the way the scheduler runs them. Prints a results table.

    .venv/bin/python bench/alert_eval.py --topics 1000 --days 7
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.alerting import evaluate
from pipeline.config import parse_config
from storage.db import Store
from storage.mentions import upsert_mentions


def build_config(topics: int, url: str):
    text = [f"[storage]\nurl = '{url}'\n"]
    for i in range(topics):
        text.append(
            f"[[topics]]\nname = 'brand{i:04d}'\n[topics.keywords]\nany = ['品牌{i:04d}']\n"
        )
    return parse_config("".join(text), "bench.toml")


def fill(store: Store, topics: int, days: int, per_day: int, end: datetime, seed: int) -> int:
    rng = random.Random(seed)
    start = end - timedelta(days=days)
    rows, total, n = [], 0, 0
    buckets = days * 288
    for b in range(buckets):
        at = start + timedelta(minutes=5 * b)
        # Busier by Beijing day than by night.
        factor = 1 + 0.8 * math.sin((at.hour + 8 - 9) / 24 * 2 * math.pi)
        for t in range(topics):
            if rng.random() < per_day / 288 * factor:
                n += 1
                negative = rng.random() < 0.2
                rows.append(
                    {
                        "platform": "weibo",
                        "post_id": str(n),
                        "url": f"https://m.weibo.cn/{n}",
                        "text": f"品牌{t:04d} 内容 {n}",
                        "raw_text": f"品牌{t:04d} 内容 {n}",
                        "published_at": at,
                        "crawled_at": at + timedelta(minutes=2),
                        "sentiment_score": 0.1 if negative else 0.8,
                        "sentiment_label": "negative" if negative else "positive",
                        "topics": {f"brand{t:04d}": []},
                    }
                )
        if rows:  # each bucket's mentions become known in it (matched_at drives counting)
            upsert_mentions(store, rows, now=at + timedelta(minutes=2))
            total += len(rows)
            rows = []
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--per-day", type=int, default=24)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        config = build_config(args.topics, url)
        store = Store.open(url)
        end = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
        t0 = time.perf_counter()
        mentions = fill(store, args.topics, args.days, args.per_day, end, args.seed)
        fill_s = time.perf_counter() - t0

        sent = []
        t0 = time.perf_counter()
        evaluate(config, store, end, notify=sent.append)
        first_s = time.perf_counter() - t0
        times = []
        for i in range(1, args.passes + 1):
            t0 = time.perf_counter()
            evaluate(config, store, end + timedelta(minutes=5 * i), notify=sent.append)
            times.append(time.perf_counter() - t0)
        store.close()

    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print("| topics | mentions | first pass (history replay) | steady pass p50 | steady pass max |")
    print("| --- | --- | --- | --- | --- |")
    print(
        f"| {args.topics} | {mentions} | {first_s:.2f} s | {statistics.median(times):.2f} s "
        f"| {max(times):.2f} s |"
    )
    kinds = Counter(s["kind"] for n in sent for s in n["evidence"]["signals"])
    print(f"(data load {fill_s:.0f} s; {len(sent)} notifications in all passes: {dict(kinds)})")


if __name__ == "__main__":
    main()
