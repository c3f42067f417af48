"""Synthetic mentions for the query benchmarks: N posts about 50 fictional brands over 90 days.

The schema is the real one (``Store.open`` runs the migrations); only the write path is a bulk
one (executemany on SQLite, COPY on PostgreSQL) because ``upsert_mentions`` at a few thousand
rows a second would take most of an hour for a million. Values go through the column types' own
bind processors, so they are stored exactly as the ORM stores them, and ``search_text`` is the
output of :func:`storage.search.search_text` (computed once per sentence: jieba cuts at
punctuation, so a post's tokens are its sentences' tokens joined, which the first rows check).

    nice .venv/bin/python bench/generate_mentions.py --url sqlite:///var/bench/mentions.db
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from storage.db import Store  # noqa: E402
from storage.models import Mention, TopicMatch  # noqa: E402
from storage.search import search_text, tokens  # noqa: E402

PREFIXES = [
    "星澜",
    "青禾",
    "云栖",
    "北辰",
    "锦鲤",
    "蓝鲸",
    "若水",
    "松果",
    "橙光",
    "墨砚",
    "白鹭",
    "山岚",
    "海盐",
    "知秋",
    "暖阳",
    "银杏",
    "赤兔",
    "飞鱼",
    "麦田",
    "晨曦",
    "竹影",
    "雪松",
    "极光",
    "鹿鸣",
    "花间",
]
CATEGORIES = {
    "咖啡": ("拿铁", "门店", "外卖", "会员卡", "新品"),
    "手机": ("屏幕", "电池", "系统更新", "售后", "充电器"),
    "奶茶": ("珍珠", "杯子", "门店", "小程序", "新品"),
    "汽车": ("4S店", "刹车", "车机", "保养", "试驾"),
    "家电": ("空调", "安装师傅", "售后", "洗衣机", "冰箱"),
    "快递": ("包裹", "快递员", "驿站", "运单", "派送"),
    "酒店": ("前台", "房间", "早餐", "预订", "会员"),
    "超市": ("生鲜", "收银台", "会员", "促销", "停车场"),
}
PLATFORMS = [("weibo", 0.6), ("tieba", 0.15), ("discuz", 0.1), ("news", 0.15)]
CAUSES = {
    "服务态度": [
        "店员态度太差了",
        "客服一直敷衍我",
        "问了三遍都没人理",
        "服务员翻白眼",
        "电话打了五次没人接",
    ],
    "产品质量": [
        "产品质量太差",
        "用了两天就坏了",
        "{item}有质量问题",
        "喝出来一股怪味",
        "做工粗糙到离谱",
    ],
    "促销活动": [
        "促销活动就是套路",
        "优惠券根本用不了",
        "满减规则写得不清不楚",
        "说好的赠品没有发",
    ],
    "服务承诺": [
        "说好七天退款到现在没退",
        "承诺的上门服务一直拖",
        "申请退款三天没人处理",
        "保修承诺成了空话",
    ],
    "产品标识": [
        "标签上的日期被改过",
        "配料表和宣传不一致",
        "包装上没有生产日期",
    ],
    "店内事故": [
        "在店里滑倒了没人管",
        "{item}里发现了异物",
        "店里的玻璃门砸到小孩",
    ],
    "物流/快递": [
        "快递一周都没到",
        "{item}送到的时候已经压坏了",
        "物流信息三天没更新",
    ],
    "其他": ["反正体验很糟糕", "以后再也不买了", "大家避雷吧"],
}
POSITIVE = [
    "体验非常好",
    "{item}真的很赞",
    "客服很耐心地帮我解决了问题",
    "性价比很高",
    "退款很快就到账了",
    "新品味道不错",
    "包装很用心",
    "会一直支持的",
    "值得推荐给朋友",
]
NEUTRAL = [
    "今天去了一趟{brand}",
    "有人用过{brand}的{item}吗",
    "{brand}发布了秋季新品",
    "{brand}宣布在上海开设新门店",
    "{brand}公布了第三季度业绩",
    "听说{brand}要涨价了",
    "{brand}的{item}和别家比怎么样",
    "{brand}回应了网友的关注",
    "{brand}招聘店员若干名",
]
FILLER = [
    "周末人好多",
    "下班路上顺便看了看",
    "朋友推荐的",
    "第一次发帖",
    "顺便吐槽一下天气",
    "坐标杭州",
    "坐标成都",
    "昨天晚上",
    "有图有真相",
    "转发扩散",
]
# The long tail real posts have: shops, product models, order numbers (rare words to search).
CITIES = [
    "杭州",
    "成都",
    "南京",
    "武汉",
    "西安",
    "长沙",
    "青岛",
    "厦门",
    "苏州",
    "重庆",
    "天津",
    "郑州",
    "昆明",
    "合肥",
    "福州",
    "济南",
    "沈阳",
    "大连",
    "宁波",
    "无锡",
]
LANDMARKS = [
    "万象城",
    "湖滨",
    "春熙路",
    "新街口",
    "光谷",
    "钟楼",
    "五一广场",
    "中山路",
    "观前街",
    "解放碑",
    "滨江道",
    "二七广场",
    "翠湖",
    "天鹅湖",
    "东街口",
    "泉城路",
    "中街",
    "星海广场",
    "天一广场",
    "崇安寺",
]
LONG_TAIL = [
    "在{city}{landmark}店买的",
    "{city}{landmark}店的{item}",
    "型号{model}",
    "订单号{order}",
]
TITLES = ["求助：{brand}{item}的问题", "{brand}最新消息", "关于{brand}的讨论", "{brand}{item}体验"]
NEGATIVE_ENDINGS = ["太失望了", "希望给个说法", "已经投诉到12315了", "@{brand}官方 出来解释一下"]
PUNCTUATION = ["，", "。", "！", "？"]


def brands(n: int, rng: random.Random) -> list[tuple[str, str]]:
    """``n`` (brand, category) pairs, like 星澜咖啡."""
    pairs = [(p + c, c) for p in PREFIXES for c in CATEGORIES]
    rng.shuffle(pairs)
    return pairs[:n]


class Sentences:
    """Sentence templates filled for one brand, with their search tokens computed once."""

    def __init__(self):
        self._tokens: dict[str, list[str]] = {}

    def tokens(self, sentence: str) -> list[str]:
        found = self._tokens.get(sentence)
        if found is None:
            found = self._tokens[sentence] = tokens(sentence)
        return found


def weighted(rng: random.Random, pairs):
    r, total = rng.random(), 0.0
    for value, weight in pairs:
        total += weight
        if r < total:
            return value
    return pairs[-1][0]


def generate(n: int, topics: int, days: int, end: datetime, seed: int):
    """Yields ``(mention values, [topic match values])`` in publication order."""
    rng = random.Random(seed)
    cache = Sentences()
    brand_list = brands(topics, rng)
    # Popularity is skewed (a few brands draw most posts), as it is in real monitoring.
    weights = [1 / (i + 1) ** 0.6 for i in range(topics)]
    start = end - timedelta(days=days)
    # Each brand has a few bad days when most of its posts turn negative.
    bad_days = {b: set(rng.sample(range(days), 3)) for b, _ in brand_list}
    authors = [
        (f"u{i}", f"用户{i:06d}", int(math.exp(rng.gauss(6, 2.2))), rng.random() < 0.03)
        for i in range(200_000)
    ]
    recent: dict[str, list[tuple[int, str, str | None, str, list[str]]]] = {}
    cause_names = list(CAUSES)
    seconds = days * 86400
    for i in range(1, n + 1):
        # Evenly spread in time with a daily rhythm: quiet at night (Beijing), busy evenings.
        t = start + timedelta(seconds=seconds * (i - 1 + rng.random()) / n)
        hour = (t.hour + 8) % 24
        if hour < 7 and rng.random() < 0.5:
            t += timedelta(hours=rng.uniform(8, 12))
            if t >= end:
                t = end - timedelta(seconds=rng.uniform(1, 3600))
        b = rng.choices(range(topics), weights)[0] if rng.random() < 0.97 else 0
        brand, category = brand_list[b]
        day = (t - start).days
        bad = day in bad_days[brand]
        platform = weighted(rng, PLATFORMS)
        roll = rng.random()
        label = (
            "negative"
            if roll < (0.7 if bad else 0.22)
            else "positive"
            if roll < (0.8 if bad else 0.5)
            else "neutral"
        )
        item = rng.choice(CATEGORIES[category])
        fill = {"brand": brand, "item": item}
        cause = None
        copies = recent.setdefault(brand, [])
        cluster = None
        if copies and rng.random() < 0.08:
            # A near-duplicate: the same post copied with a different tail.
            cluster, base_title, base_text, base_tokens, keywords = rng.choice(copies)
            title = base_title
            tail = rng.choice(FILLER)
            body = base_text + "。" + tail
            words = base_tokens + cache.tokens(tail)
            label = "negative" if "negative" in keywords else label
        else:
            parts = [rng.choice(NEUTRAL[:4]).format(**fill)]
            keywords = [brand, item]
            if label == "negative":
                cause = rng.choice(cause_names)
                parts += [s.format(**fill) for s in rng.sample(CAUSES[cause], 2)]
                parts.append(rng.choice(NEGATIVE_ENDINGS).format(**fill))
                keywords.append(cause)
            elif label == "positive":
                parts += [s.format(**fill) for s in rng.sample(POSITIVE, 2)]
            else:
                parts.append(rng.choice(NEUTRAL).format(**fill))
            if rng.random() < 0.5:
                parts.insert(rng.randrange(len(parts) + 1), rng.choice(FILLER))
            if rng.random() < 0.3:
                detail = rng.choice(LONG_TAIL).format(
                    city=rng.choice(CITIES),
                    landmark=rng.choice(LANDMARKS),
                    item=item,
                    model=f"{rng.choice('ABCDKMQSX')}{rng.randrange(100, 1000)}",
                    order=rng.randrange(10**11, 10**12),
                )
                parts.insert(rng.randrange(1, len(parts) + 1), detail)
            title = rng.choice(TITLES).format(**fill) if platform != "weibo" else None
            body = ""
            words = cache.tokens(title) if title else []
            for k, part in enumerate(parts):
                body += part + (rng.choice(PUNCTUATION) if k < len(parts) - 1 else "")
                words = words + cache.tokens(part)
            cluster = i
            if len(copies) > 50:
                copies.pop(0)
            copies.append((cluster, title, body, words, keywords + [label]))
        author_id, author_name, followers, verified = rng.choice(authors)
        spread = int(math.exp(rng.gauss(1, 1.6))) * (4 if verified else 1)
        crawled = t + timedelta(minutes=rng.uniform(2, 90))
        if i <= 2000:  # per-sentence tokens must equal the real segmentation of the post
            assert " ".join(words) == search_text(title, body), (title, body)
        mention = {
            "id": i,
            "platform": platform,
            "post_id": f"{platform}-{i}",
            "url": f"https://example.com/{platform}/{i}",
            "author_id": author_id,
            "author_name": author_name,
            "author_followers": followers,
            "author_verified": verified,
            "author_verified_type": 0 if verified else -1,
            "title": title,
            "text": body,
            "raw_text": body,
            "published_at": t,
            "crawled_at": crawled,
            "first_seen_at": crawled,
            "reposts": spread // 3,
            "comments": spread // 2,
            "likes": spread,
            "parent_post_id": None,
            "sentiment_score": {"negative": 0.15, "neutral": 0.5, "positive": 0.85}[label],
            "sentiment_label": label,
            "cause": cause,
            "cluster_id": cluster,
            "keywords": [k for k in keywords if k not in ("negative", "positive", "neutral")],
            "extra": {},
            "search_text": " ".join(words),
        }
        matched = [brand]
        if rng.random() < 0.03:  # some posts compare two brands
            matched.append(brand_list[rng.randrange(topics)][0])
        matches = [
            {
                "mention_id": i,
                "topic": topic,
                "published_at": t,
                "matched_at": crawled,
                "matched": [topic],
            }
            for topic in dict.fromkeys(matched)
        ]
        yield mention, matches


def _processors(table, dialect):
    return [(c.name, c.type.bind_processor(dialect)) for c in table.columns]


def _encode(values: dict, processors) -> tuple:
    encoded = (p(values.get(name)) if p else values.get(name) for name, p in processors)
    # psycopg's JSON processor hands dicts and lists to the driver; COPY needs the JSON text.
    return tuple(json.dumps(v) if isinstance(v, dict | list) else v for v in encoded)


def load(store: Store, n: int, topics: int, days: int, end: datetime, seed: int, batch: int):
    dialect = store.engine.dialect
    tables = [Mention.__table__, TopicMatch.__table__]
    procs = [_processors(t, dialect) for t in tables]
    with store.engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM mention")).scalar():
            raise SystemExit("the database already holds mentions; start from an empty one")
    started = time.monotonic()
    pending: list[list[tuple]] = [[], []]
    written = 0
    if store.dialect == "postgresql":
        dropped = _drop_indexes(store)
    for mention, matches in generate(n, topics, days, end, seed):
        pending[0].append(_encode(mention, procs[0]))
        pending[1].extend(_encode(m, procs[1]) for m in matches)
        if len(pending[0]) >= batch:
            written += _flush(store, tables, pending)
            rate = written / (time.monotonic() - started)
            print(f"{written:>9,} mentions  {rate:,.0f}/s", file=sys.stderr, flush=True)
    written += _flush(store, tables, pending)
    if store.dialect == "postgresql":
        _restore_indexes(store, dropped)
    with store.engine.begin() as conn:
        # Planner statistics, as any database that has lived a while has them (ANALYZE).
        conn.execute(text("ANALYZE"))
    print(f"{written:,} mentions in {time.monotonic() - started:,.0f} s", file=sys.stderr)


def _flush(store: Store, tables, pending) -> int:
    count = len(pending[0])
    if not count:
        return 0
    with store.engine.begin() as conn:
        raw = conn.connection.driver_connection
        if store.dialect == "sqlite":
            # A bigger page cache for this connection only: index upkeep is the load's cost.
            raw.execute("PRAGMA cache_size = -400000")
        for table, rows in zip(tables, pending, strict=True):
            names = [c.name for c in table.columns]
            if store.dialect == "sqlite":
                marks = ", ".join("?" * len(names))
                raw.executemany(
                    f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})", rows
                )
            else:
                cursor = raw.cursor()
                with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
    pending[0].clear()
    pending[1].clear()
    return count


def _drop_indexes(store: Store) -> list[str]:
    """PostgreSQL: drop the secondary indexes for the load and return their exact definitions,
    so the same indexes come back built in one pass each (faster than row-by-row upkeep)."""
    with store.engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "JOIN pg_class c ON c.relname = i.indexname "
                "JOIN pg_index x ON x.indexrelid = c.oid "
                "WHERE i.schemaname = current_schema() "
                "AND i.tablename IN ('mention', 'topic_match') "
                "AND NOT x.indisprimary AND NOT x.indisunique"
            )
        ).all()
        for name, _ in rows:
            conn.execute(text(f'DROP INDEX "{name}"'))
    return [definition for _, definition in rows]


def _restore_indexes(store: Store, definitions: list[str]) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("SET maintenance_work_mem = '256MB'"))
        for definition in definitions:
            conn.execute(text(definition))
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence('mention', 'id'), max(id)) FROM mention")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="sqlite:///var/bench/mentions.db")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--topics", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--end", default="2026-11-20T00:00:00+00:00", help="Newest post time.")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--batch", type=int, default=20_000)
    args = parser.parse_args()
    end = datetime.fromisoformat(args.end).astimezone(UTC)
    store = Store.open(args.url, auto_migrate=True)
    try:
        load(store, args.rows, args.topics, args.days, end, args.seed, args.batch)
    finally:
        store.close()


if __name__ == "__main__":
    main()
