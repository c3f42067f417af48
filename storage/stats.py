"""Aggregations for analysts over any :class:`storage.query.MentionFilter`: volume per time bucket
x platform x sentiment, top authors by reach, top keywords, complaint causes, near-duplicate share.

Everything is counted in SQL, so a summary of a million mentions moves no rows into Python. A
filter's ``limit`` and ``order`` only shape listings and are ignored here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import BigInteger, Integer, case, cast, func, select, true

from storage.db import Store
from storage.models import Mention, TopicMatch
from storage.query import MentionFilter, _filtered

BUCKETS = {"hour": 3600, "day": 86400}
LABELS = ("negative", "neutral", "positive")


@dataclass
class Stats:
    total: int = 0
    volume: list[dict[str, Any]] = field(default_factory=list)
    authors: list[dict[str, Any]] = field(default_factory=list)
    keywords: list[tuple[str, int]] = field(default_factory=list)
    causes: list[tuple[str, int]] = field(default_factory=list)
    near_duplicates: dict[str, Any] = field(default_factory=dict)


def _published(f: MentionFilter):
    # The column _filtered constrains: topic_match's copy when a topic is given (its index).
    return TopicMatch.published_at if f.topic is not None else Mention.published_at


def _epoch(store: Store, column):
    if store.dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def _offset_seconds(tz: tzinfo, at: datetime) -> int:
    offset = at.astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def volume(
    store: Store, f: MentionFilter, bucket: str = "day", tz: tzinfo = UTC
) -> list[dict[str, Any]]:
    """Counts per (bucket start, platform): one column per sentiment label plus ``unscored`` and
    ``total``. Days start at midnight in ``tz``, at its UTC offset of the filter's end (or now):
    exact for China's fixed +08:00, an hour off across a daylight-saving change elsewhere."""
    width = BUCKETS[bucket]
    offset = _offset_seconds(tz, f.until or datetime.now(UTC))
    number = ((_epoch(store, _published(f)) + offset) // width).label("bucket")
    label = Mention.sentiment_label
    counts = [func.sum(case((label == name, 1), else_=0)).label(name) for name in LABELS]
    stmt = _filtered(
        select(
            number,
            Mention.platform,
            *counts,
            func.sum(case((label.is_(None), 1), else_=0)).label("unscored"),
            func.count().label("total"),
        ).select_from(Mention),
        f,
    ).group_by(number, Mention.platform)
    rows = []
    with store.session() as session:
        for r in session.execute(stmt):
            row = dict(r._mapping)
            start = int(row.pop("bucket")) * width - offset
            row = {"bucket": datetime.fromtimestamp(start, UTC).astimezone(tz)} | {
                k: int(v or 0) if k != "platform" else v for k, v in row.items()
            }
            rows.append(row)
    rows.sort(key=lambda r: (r["bucket"], r["platform"]))
    return rows


def top_authors(store: Store, f: MentionFilter, n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` authors with the widest reach (followers, then engagement of their mentions)."""
    engagement = func.sum(Mention.reposts + Mention.comments + Mention.likes)
    followers = func.max(Mention.author_followers)
    stmt = (
        _filtered(
            select(
                Mention.platform,
                Mention.author_id,
                func.max(Mention.author_name).label("author_name"),
                followers.label("followers"),
                # max() of a boolean is not portable; any verified mention makes it 1.
                func.max(case((Mention.author_verified, 1), else_=0)).label("verified"),
                func.count().label("mentions"),
                engagement.label("engagement"),
                func.sum(case((Mention.sentiment_label == "negative", 1), else_=0)).label(
                    "negative"
                ),
            ).select_from(Mention),
            f,
        )
        .where(Mention.author_id.is_not(None))
        .group_by(Mention.platform, Mention.author_id)
        .order_by(followers.desc().nulls_last(), engagement.desc(), Mention.author_id)
        .limit(n)
    )
    with store.session() as session:
        rows = [dict(r._mapping) for r in session.execute(stmt)]
    for row in rows:
        row["verified"] = bool(row["verified"])
        for key in ("mentions", "engagement", "negative"):
            row[key] = int(row[key] or 0)
    return rows


def top_keywords(store: Store, f: MentionFilter, n: int = 20) -> list[tuple[str, int]]:
    """The ``n`` keywords found in most mentions (each mention's keywords are distinct)."""
    if store.dialect == "sqlite":
        words = func.json_each(Mention.keywords).table_valued("value")
    else:
        words = func.json_array_elements_text(Mention.keywords).table_valued("value").lateral()
    mentions = func.count().label("mentions")
    stmt = (
        _filtered(
            select(words.c.value.label("keyword"), mentions)
            .select_from(Mention)
            .join(words, true()),
            f,
        )
        .group_by(words.c.value)
        .order_by(mentions.desc(), words.c.value)
        .limit(n)
    )
    with store.session() as session:
        return [(str(k), int(c)) for k, c in session.execute(stmt)]


def causes(store: Store, f: MentionFilter) -> list[tuple[str, int]]:
    """Mentions per complaint cause, most frequent first (mentions without one are left out)."""
    number = func.count().label("mentions")
    stmt = (
        _filtered(select(Mention.cause, number).select_from(Mention), f)
        .where(Mention.cause.is_not(None))
        .group_by(Mention.cause)
        .order_by(number.desc(), Mention.cause)
    )
    with store.session() as session:
        return [(c, int(k)) for c, k in session.execute(stmt)]


def near_duplicates(store: Store, f: MentionFilter) -> dict[str, Any]:
    """``{"total", "duplicates", "share"}``: a mention is a near-duplicate when another mention
    of the same set shares its cluster (as in ``storage.clusters``)."""
    sizes = (
        _filtered(select(Mention.cluster_id, func.count().label("size")).select_from(Mention), f)
        .where(Mention.cluster_id.is_not(None))
        .group_by(Mention.cluster_id)
        .having(func.count() > 1)
        .subquery()
    )
    with store.session() as session:
        total = session.scalar(_filtered(select(func.count()).select_from(Mention), f)) or 0
        duplicates = session.scalar(select(func.coalesce(func.sum(sizes.c.size), 0))) or 0
    return {
        "total": int(total),
        "duplicates": int(duplicates),
        "share": round(int(duplicates) / total, 4) if total else 0.0,
    }


def stats(
    store: Store, f: MentionFilter, *, bucket: str = "day", tz: tzinfo = UTC, top: int = 10
) -> Stats:
    """Every aggregation above for one filter."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}")
    rows = volume(store, f, bucket, tz)
    return Stats(
        total=sum(r["total"] for r in rows),
        volume=rows,
        authors=top_authors(store, f, top),
        keywords=top_keywords(store, f, top),
        causes=causes(store, f),
        near_duplicates=near_duplicates(store, f),
    )
