"""p50 latencies of the analysts' queries on a database filled by ``bench/generate_mentions.py``,
each beside its naive form (a LIKE scan instead of the topic index or the full-text index).

    nice .venv/bin/python bench/query_bench.py --url sqlite:///var/bench/mentions.db

Each query runs once to warm the cache, then ``--runs`` times over different topics or search
queries; the time is what a caller of the library sees (SQL plus turning rows into dicts).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import and_, func, not_, or_, select, text  # noqa: E402

from storage.db import Store, safe_url  # noqa: E402
from storage.models import Mention, TopicMatch  # noqa: E402
from storage.query import MentionFilter, _filtered, find_mentions  # noqa: E402
from storage.query_language import And, Not, Or, Term, parse  # noqa: E402
from storage.search import tokens  # noqa: E402
from storage.stats import volume  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Filled in with words from the database (a topic, a shop, a model, an order number) at start.
SEARCHES = [
    "退款",
    "{topic} AND (质量 OR 退款) NOT 招聘",
    '"申请退款"',
    '"{shop}" AND 退款',
    "{model}",
    "{order}",
    "不存在的词",
]


def like_condition(node):
    """The naive form of a search: every term a LIKE on title and text (no index can help)."""
    if isinstance(node, Term):
        pattern = "%" + "".join(node.tokens) + "%"
        return or_(Mention.text.like(pattern), Mention.title.like(pattern))
    if isinstance(node, Not):
        return not_(like_condition(node.item))
    if isinstance(node, And):
        return and_(*[like_condition(i) for i in node.items])
    assert isinstance(node, Or)
    return or_(*[like_condition(i) for i in node.items])


def naive_search(store: Store, query: str, limit: int = 100) -> list[dict]:
    stmt = (
        select(Mention.id, Mention.platform, Mention.post_id, Mention.title, Mention.text)
        .where(like_condition(parse(query, tokens)))
        .order_by(Mention.published_at.desc(), Mention.id.desc())
        .limit(limit)
    )
    with store.session() as session:
        return [dict(r._mapping) for r in session.execute(stmt)]


def naive_filtered(store: Store, topic: str, since, until) -> list[dict]:
    # What one would write without topic_match: the brand name in the text, time, sentiment.
    f = MentionFilter(contains=topic, since=since, until=until, sentiment="negative", limit=100)
    return find_mentions(store, f)


def ratio(value: float) -> str:
    return f"{value:.1f}x" if value < 10 else f"{value:.0f}x"


def rows_of(store: Store, stmt) -> list:
    with store.session() as session:
        return session.execute(stmt).all()


def timed(fn: Callable[[], object]) -> tuple[float, int]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, len(result)


def measure(cases: list[Callable[[], object]], runs: int) -> tuple[float, float, float]:
    """(p50 ms, max ms, mean rows) over ``runs`` calls cycling through ``cases``."""
    timed(cases[0])  # warm-up
    times, rows = [], []
    for i in range(runs):
        ms, n = timed(cases[i % len(cases)])
        times.append(ms)
        rows.append(n)
    return statistics.median(times), max(times), statistics.mean(rows)


def sample_words(store: Store, topic: str) -> dict[str, str]:
    """A shop, a product model and an order number that occur in the generated posts."""
    found = {"topic": topic}
    patterns = {
        "shop": r"在(\w{2}\w{2,4}店)买的",
        "model": r"型号([A-Z]\d{3})",
        "order": r"订单号(\d{12})",
    }
    with store.session() as session:
        for name, pattern in patterns.items():
            marker = {"shop": "%店买的%", "model": "%型号%", "order": "%订单号%"}[name]
            for (body,) in session.execute(
                select(Mention.text).where(Mention.text.like(marker)).limit(50)
            ):
                match = re.search(pattern, body)
                if match:
                    found[name] = match.group(1)
                    break
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="sqlite:///var/bench/mentions.db")
    parser.add_argument("--end", default="2026-11-20T00:00:00+00:00")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--naive-runs", type=int, default=7, help="LIKE scans are slow.")
    args = parser.parse_args()
    end = datetime.fromisoformat(args.end).astimezone(UTC)
    store = Store.open(args.url)
    with store.session() as session:
        total = session.scalar(select(func.count()).select_from(Mention))
        by_size = session.execute(
            select(TopicMatch.topic, func.count().label("n"))
            .group_by(TopicMatch.topic)
            .order_by(text("n DESC"))
        ).all()
    # Ten topics from the most to the least mentioned, so the p50 is not one lucky topic.
    topics = [t for t, _ in by_size][:: max(1, len(by_size) // 10)][:10]
    searches = [q.format(**sample_words(store, topics[0])) for q in SEARCHES]
    week, month = end - timedelta(days=7), end - timedelta(days=30)

    def filtered(t):
        f = MentionFilter(topic=t, since=week, until=end, sentiment="negative", limit=100)
        return lambda: find_mentions(store, f)

    def searched(q, **more):
        return lambda: find_mentions(store, MentionFilter(search=q, limit=100, **more))

    def daily(t, naive=False):
        which = {"contains": t} if naive else {"topic": t}
        f = MentionFilter(**which, since=month, until=end)
        return lambda: volume(store, f, "day", SHANGHAI)

    def topic_search(t, naive=False):
        if naive:
            condition = like_condition(parse("质量 OR 退款", tokens))
            f = MentionFilter(topic=t, since=month, until=end, limit=100)
            stmt = (
                _filtered(select(Mention.id, Mention.text), f)
                .where(condition)
                .order_by(Mention.published_at.desc(), Mention.id.desc())
                .limit(100)
            )
            return lambda: rows_of(store, stmt)
        return searched("质量 OR 退款", topic=t, since=month, until=end)

    plans = [
        (
            "filtered: topic + 7 days + negative, 100 newest",
            [filtered(t) for t in topics],
            [lambda t=t: naive_filtered(store, t, week, end) for t in topics],
        ),
        (
            f"full-text search, 100 newest (p50 of the {len(searches)} queries below)",
            [searched(q) for q in searches],
            [lambda q=q: naive_search(store, q) for q in searches],
        ),
        *[
            (f"&nbsp;&nbsp;`{q}`", [searched(q)], [lambda q=q: naive_search(store, q)])
            for q in searches
        ],
        (
            "full-text search in one topic, 30 days: `质量 OR 退款`",
            [topic_search(t) for t in topics],
            [topic_search(t, naive=True) for t in topics],
        ),
        (
            "30-day daily volume x platform x sentiment, one topic",
            [daily(t) for t in topics],
            [daily(t, naive=True) for t in topics],
        ),
    ]
    load = os.getloadavg()
    print(f"database: {safe_url(args.url)} ({store.dialect}), {total:,} mentions")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n")
    print("| query | indexed p50 | indexed max | naive (LIKE) p50 | speed-up | rows |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, fast, slow in plans:
        single = len(fast) == 1
        p50, worst, rows = measure(fast, 5 if single else args.runs)
        naive_p50, _, _ = measure(slow, 3 if single else args.naive_runs)
        print(
            f"| {name} | {p50:.1f} ms | {worst:.1f} ms | {naive_p50:.1f} ms "
            f"| {ratio(naive_p50 / p50)} | {rows:.0f} |",
            flush=True,
        )
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    store.close()


if __name__ == "__main__":
    main()
