"""Benchmark: alert latency, from the first bucket of a negative spike to the message in the sink.

Simulated time on a real SQLite database: every simulated minute a "crawl" stores the mentions
published in the minute before (a 1-minute crawl interval), then the alert job runs (evaluation
+ delivery to a file channel, the same functions the daemon calls). ``--days`` of quiet history
(3 by default) with a daily cycle come first; then the negative rate jumps to ``--factor`` times
its baseline.
Latency = when the first notification is delivered minus when the spike began. Repeated over
``--runs`` seeds and several spike sizes; prints a table.

    .venv/bin/python bench/alert_latency.py
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.outbox import deliver_due
from pipeline.alerting import evaluate
from pipeline.config import parse_config
from storage.db import Store
from storage.mentions import upsert_mentions

CONFIG = """
[storage]
url = "{url}"

[[topics]]
name = "星澜咖啡"
[topics.keywords]
any = ["星澜咖啡"]

[[alerts.rules]]
name = "spike"
kind = "negative_spike"
options = {{ history_days = 15 }}

[[alerts.receivers]]
name = "sink"
[[alerts.receivers.channels]]
type = "file"
path = "{outbox}"

[alerts]
default_receiver = "sink"
"""


def rate(at: datetime, base: float) -> float:
    """Negative mentions per minute: busier by Beijing day than by night."""
    hour = (at.hour + 8) % 24
    return base * (1 + 0.8 * math.sin((hour - 9) / 24 * 2 * math.pi))


def poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means here.
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def post(n: int, at: datetime) -> dict:
    return {
        "platform": "weibo",
        "post_id": str(n),
        "url": f"https://m.weibo.cn/detail/{n}",
        "text": "星澜咖啡 喝出异物",
        "raw_text": "星澜咖啡 喝出异物",
        "published_at": at,
        "crawled_at": at + timedelta(minutes=1),
        "sentiment_score": 0.05,
        "sentiment_label": "negative",
        "topics": {"星澜咖啡": []},
    }


def one_run(seed: int, factor: float, base: float, days: int = 3) -> tuple[float | None, float]:
    """(latency in minutes or None when nothing fired within 2 hours, seconds of compute)."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        outbox = Path(tmp) / "outbox.jsonl"
        config = parse_config(CONFIG.format(url=f"sqlite:///{Path(tmp) / 'b.db'}", outbox=outbox))
        store = Store.open(config.database_url())
        spike = datetime(2026, 11, 19, 2, 3, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 600))
        start, n = spike - timedelta(days=days), 0
        history = []
        at = start
        while at < spike - timedelta(minutes=1):
            for _ in range(poisson(rng, rate(at, base))):
                n += 1
                history.append((at + timedelta(minutes=1), post(n, at)))
            at += timedelta(minutes=1)
        # History goes in quickly, still stamped with the minute it was "crawled" in.
        by_minute: dict[datetime, list] = {}
        for seen, row in history:
            by_minute.setdefault(seen, []).append(row)
        for seen, rows in sorted(by_minute.items()):
            upsert_mentions(store, rows, now=seen)
        # The first pass replays the history into the detector (not timed).
        evaluate(config, store, spike - timedelta(minutes=1))
        started = time.perf_counter()
        latency = None
        for minute in range(120):
            now = spike + timedelta(minutes=minute)
            published = now - timedelta(minutes=1)
            multiplier = factor if published >= spike else 1
            rows = []
            for _ in range(poisson(rng, rate(published, base) * multiplier)):
                n += 1
                rows.append(post(n, published))
            if rows:
                upsert_mentions(store, rows, now=now)
            evaluate(config, store, now)
            deliver_due(store, config.alerts, config.tz, now)
            if outbox.exists() and outbox.read_text(encoding="utf-8").strip():
                latency = minute
                break
        store.close()
    return latency, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--base", type=float, default=0.4, help="negative mentions a minute")
    parser.add_argument("--factors", default="3,5,10")
    parser.add_argument("--days", type=int, default=3, help="days of quiet history first")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print(
        f"baseline {args.base} negative mentions/min (daily cycle), {args.days} days of history, "
        "1-minute crawl interval"
    )
    print("| spike size | detected | latency p50 | latency max | compute per simulated minute |")
    print("| --- | --- | --- | --- | --- |")
    for factor in [float(f) for f in args.factors.split(",")]:
        found, costs = [], []
        for seed in range(args.runs):
            latency, seconds = one_run(seed, factor, args.base, args.days)
            if latency is not None:
                found.append(latency)
                costs.append(seconds / (latency + 1))
        p50 = f"{statistics.median(found):.0f} min" if found else "-"
        worst = f"{max(found):.0f} min" if found else "-"
        cost = f"{statistics.median(costs) * 1000:.0f} ms" if costs else "-"
        print(f"| x{factor:g} | {len(found)}/{args.runs} | {p50} | {worst} | {cost} |")


if __name__ == "__main__":
    main()
