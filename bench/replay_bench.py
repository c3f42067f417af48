"""Benchmark: ``yuqing alerts backtest --mentions`` over a 3-day history of 20,000 mentions.

Generates the history deterministically into a temporary folder (Beijing time: brand chatter
every 6 to 20 seconds for ``--days`` days, a seventh of it mildly negative, and on the last day a
crisis-word post followed by a burst of 40 complaints), replays it through every default rule in
simulated time (``pipeline.replay.replay_file``, the code path of the command) and prints the
wall time, the evaluation passes and what fired.

    .venv/bin/python bench/replay_bench.py --mentions 20000 --days 3
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.config import parse_config  # noqa: E402
from pipeline.replay import replay_file  # noqa: E402

BEIJING = ZoneInfo("Asia/Shanghai")
BRAND = "星澜咖啡"
CONFIG = """
[general]
timezone = "Asia/Shanghai"

[[topics]]
name = "星澜咖啡"
[topics.keywords]
any = ["星澜咖啡", "星澜"]
exclude = ["招聘"]

[[topics]]
name = "青禾手机"
platforms = ["tieba", "weibo"]
[topics.keywords]
any = ["青禾手机", "青禾X5"]

[storage]
url = 'sqlite:///{never}'
"""
CHATTER = [
    "{b}的新品燕麦拿铁真的好喝",
    "路过{b}排队的人有点多",
    "今天在{b}买了一杯美式",
    "{b}第二杯半价太香了",
    "和同事在{b}开了个小会，环境不错",
    "{b}出了秋季限定杯",
    "{b}今天的拿铁有点淡，不太满意",
]
COMPLAINTS = [
    "气死了，{b}店员态度太差了，再也不去了{n}",
    "{b}喝出塑料碎片太吓人了，食品安全呢，必须给个说法{n}",
    "{b}的品控太差了，退钱有什么用{n}",
    "作为老顾客，{b}这次真的让人失望，差评{n}",
]


def line(post_id: str, text: str, published: datetime, crawled: datetime) -> dict:
    return {
        "platform": "weibo",
        "post_id": post_id,
        "url": f"https://m.weibo.cn/detail/{post_id}",
        "text": text,
        "published_at": published.isoformat(),
        "crawled_at": crawled.isoformat(),
        "author": {"id": f"u{post_id}", "name": f"用户{post_id}", "followers": 100},
    }


def history(mentions: int, days: int, seed: int) -> list[dict]:
    """``mentions`` lines over ``days`` days ending at midnight after the crisis day."""
    rng = random.Random(seed)
    end = datetime(2026, 11, 21, tzinfo=BEIJING)
    start = end - timedelta(days=days)
    crisis_at = end - timedelta(hours=14)  # 10:00 on the last day
    gap = (end - start).total_seconds() / (mentions - 41)
    lines, moment, n = [], start, 0
    while len(lines) < mentions - 41:
        moment += timedelta(seconds=rng.uniform(gap * 0.46, gap * 1.54))
        n += 1
        text = rng.choice(CHATTER).format(b=BRAND) + "。" * (n % 3) + "！" * (n % 5)
        lines.append(line(f"c{n}", text, moment, moment + timedelta(minutes=3)))
    lines.append(
        line(
            "crisis",
            f"{BRAND}万象城店门店起火了，现场浓烟",
            crisis_at + timedelta(minutes=2),
            crisis_at + timedelta(minutes=3),
        )
    )
    for i in range(40):
        at = crisis_at + timedelta(minutes=30, seconds=45 * i)
        text = COMPLAINTS[i % len(COMPLAINTS)].format(b=BRAND, n="！" * (i // 4))
        lines.append(line(f"burst{i}", text, at, at + timedelta(minutes=2)))
    lines.sort(key=lambda m: m["crawled_at"])
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mentions", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="yuqing-replay-bench-") as tmp:
        path = Path(tmp) / "history.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for item in history(args.mentions, args.days, args.seed):
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
        config = parse_config(CONFIG.format(never=Path(tmp) / "never.db"), "bench.toml")
        t0 = time.perf_counter()
        result = replay_file(path, config)
        wall = time.perf_counter() - t0

    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print("| mentions | days | evaluations | wall time | evaluations/s | notifications |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| {result.replayed} | {args.days} | {result.steps} | {wall:.1f} s "
        f"| {result.steps / wall:.1f} | {len(result.events)} |"
    )
    for event in result.events:
        at = event.at.astimezone(BEIJING)
        print(f"  {at:%m-%d %H:%M} {event.event} {event.severity} {','.join(event.rules)}")


if __name__ == "__main__":
    main()
