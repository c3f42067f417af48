"""Reading mentions: filtered listings as plain dicts or a pandas DataFrame, and summaries.

Every function takes a :class:`storage.db.Store` and a :class:`MentionFilter`; times in the
filter are timezone-aware and results carry UTC datetimes (callers convert for display).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select, text

from storage.db import Store
from storage.models import Mention, TopicMatch
from storage.search import prefer_time_scan, search_match

MENTION_COLUMNS = (
    "id",
    "platform",
    "post_id",
    "url",
    "author_id",
    "author_name",
    "author_followers",
    "author_verified",
    "title",
    "text",
    "published_at",
    "crawled_at",
    "reposts",
    "comments",
    "likes",
    "parent_post_id",
    "sentiment_score",
    "sentiment_label",
    "cause",
    "keywords",
)


ORDERS = ("newest", "engagement")


@dataclass
class MentionFilter:
    topic: str | None = None
    platform: str | None = None
    sentiment: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    contains: str | None = None
    limit: int | None = 100
    order: str = "newest"  # or "engagement": reposts + comments + likes, highest first
    # Full-text query in the language of storage/query_language.py: 品牌 AND (质量 OR 退款) NOT 招聘
    search: str | None = None
    cause: str | None = None
    min_engagement: int | None = None  # reposts + comments + likes at least this

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}")
        if self.search:
            # Parsed now so a malformed query fails here (QuerySyntaxError is a ValueError).
            search_match(self.search)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(stmt: Select, f: MentionFilter, *, scan: bool = False) -> Select:
    if f.topic is not None:
        # Filter on topic_match's own copy of published_at so its (topic, published_at) index
        # serves both conditions.
        stmt = stmt.join(TopicMatch, TopicMatch.mention_id == Mention.id).where(
            TopicMatch.topic == f.topic
        )
        published = TopicMatch.published_at
    else:
        published = Mention.published_at
    if f.platform is not None:
        stmt = stmt.where(Mention.platform == f.platform)
    if f.sentiment is not None:
        # Within a topic, the sentiment toward it (a post may praise it while attacking a
        # rival); rows stored before topic-level sentiment existed fall back to the post's.
        label = (
            func.coalesce(TopicMatch.sentiment_label, Mention.sentiment_label)
            if f.topic is not None
            else Mention.sentiment_label
        )
        stmt = stmt.where(label == f.sentiment)
    if f.since is not None:
        stmt = stmt.where(published >= f.since)
    if f.until is not None:
        stmt = stmt.where(published < f.until)
    if f.contains:
        pattern = f"%{_escape_like(f.contains)}%"
        stmt = stmt.where(
            or_(Mention.text.like(pattern, escape="\\"), Mention.title.like(pattern, escape="\\"))
        )
    if f.search:
        stmt = stmt.where(search_match(f.search, scan=scan))
    if f.cause is not None:
        stmt = stmt.where(Mention.cause == f.cause)
    if f.min_engagement is not None:
        stmt = stmt.where(Mention.reposts + Mention.comments + Mention.likes >= f.min_engagement)
    return stmt


def find_mentions(store: Store, f: MentionFilter | None = None) -> list[dict[str, Any]]:
    """Mentions matching ``f``, newest first, each a dict with a ``topics`` list."""
    return list(iter_mentions(store, f))


def iter_mentions(
    store: Store, f: MentionFilter | None = None, chunk: int = 500
) -> Iterator[dict[str, Any]]:
    """Like :func:`find_mentions`, streamed ``chunk`` rows at a time: exports of any size.
    Each row also has ``topic_sentiment``: ``{topic: {"label": ..., "score": ...}}`` toward
    each matched topic where it was scored."""
    f = f or MentionFilter()
    with store.session() as session:
        if store.dialect == "postgresql":
            # yield_per reads through a cursor, which PostgreSQL plans for the first 10% of the
            # rows by default: for a rare search word it then walks the whole time index instead
            # of asking the full-text index (seconds instead of a millisecond). We read them all.
            session.execute(text("SET LOCAL cursor_tuple_fraction = 1"))
        # The newest few of many full-text matches: walk the time index (see prefer_time_scan).
        scan = (
            bool(f.search)
            and f.limit is not None
            and f.order == "newest"
            and store.dialect == "sqlite"
            and prefer_time_scan(session, f.search, f.limit)
        )
        stmt = _filtered(select(*[getattr(Mention, c) for c in MENTION_COLUMNS]), f, scan=scan)
        if f.order == "engagement":
            stmt = stmt.order_by((Mention.reposts + Mention.comments + Mention.likes).desc())
        stmt = stmt.order_by(Mention.published_at.desc(), Mention.id.desc())
        if f.limit is not None:
            stmt = stmt.limit(f.limit)
        result = session.execute(stmt.execution_options(yield_per=chunk))
        for part in result.partitions():
            rows = [dict(r._mapping) for r in part]
            topics: dict[int, list[str]] = {}
            toward: dict[int, dict[str, dict[str, Any]]] = {}
            # A second cursor beside the streaming one: fine on both backends (psycopg buffers
            # the named cursor server-side, SQLite steps statements independently).
            for mention_id, topic, label, score in session.execute(
                select(
                    TopicMatch.mention_id,
                    TopicMatch.topic,
                    TopicMatch.sentiment_label,
                    TopicMatch.sentiment_score,
                )
                .where(TopicMatch.mention_id.in_([r["id"] for r in rows]))
                .order_by(TopicMatch.topic)
            ):
                topics.setdefault(mention_id, []).append(topic)
                if label is not None:
                    toward.setdefault(mention_id, {})[topic] = {"label": label, "score": score}
            for row in rows:
                row["topics"] = topics.get(row["id"], [])
                row["topic_sentiment"] = toward.get(row["id"], {})
                yield row


def mentions(store: Store, **filters):
    """Mentions as a pandas DataFrame; keyword arguments are :class:`MentionFilter` fields.

    >>> df = mentions(store, topic="星澜咖啡", sentiment="negative", limit=None)
    """
    import pandas as pd

    rows = find_mentions(store, MentionFilter(**filters))
    return pd.DataFrame(rows, columns=[*MENTION_COLUMNS, "topics", "topic_sentiment"])


def sentiment_summary(store: Store, f: MentionFilter | None = None) -> list[dict[str, Any]]:
    """Per topic (``None`` for unmatched mentions) and platform: counts by sentiment label and the
    mean score, sorted by topic then platform."""
    f = f or MentionFilter()
    base = select(Mention.platform, TopicMatch.topic)
    if f.topic is None:  # otherwise _filtered joins topic_match itself
        base = base.select_from(Mention).outerjoin(TopicMatch, TopicMatch.mention_id == Mention.id)
    label = Mention.sentiment_label
    stmt = _filtered(
        base.add_columns(
            func.count().label("mentions"),
            func.sum(case((label == "negative", 1), else_=0)).label("negative"),
            func.sum(case((label == "neutral", 1), else_=0)).label("neutral"),
            func.sum(case((label == "positive", 1), else_=0)).label("positive"),
            func.avg(Mention.sentiment_score).label("mean_score"),
        ),
        f,
    ).group_by(TopicMatch.topic, Mention.platform)
    with store.session() as session:
        rows = [dict(r._mapping) for r in session.execute(stmt)]
    rows.sort(key=lambda r: (r["topic"] is None, r["topic"] or "", r["platform"]))
    return rows


def top_keywords(store: Store, f: MentionFilter, n: int = 10) -> list[tuple[str, int]]:
    """The ``n`` keywords seen in most mentions matching ``f`` (``f.limit`` is ignored)."""
    stmt = _filtered(select(Mention.keywords), f)
    counter: Counter[str] = Counter()
    with store.session() as session:
        for (words,) in session.execute(stmt):
            counter.update(set(words or ()))
    return counter.most_common(n)
