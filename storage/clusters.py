"""Near-duplicate clusters in the mention table: the posts that rebuild the clustering index,
and each topic's near-duplicate share for the alert engine.

A mention's ``cluster_id`` is set once, when it is first stored (see ``nlp.dedup``); a cluster
counts as duplicated in a window when two or more of the topic's mentions in it share the id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from storage.db import Store
from storage.models import Mention, TopicMatch


def recent_cluster_posts(
    store: Store, since: datetime, limit: int = 200_000
) -> list[tuple[str, str, str, int]]:
    """``(platform, post_id, title + text, cluster_id)`` of clustered mentions published since
    ``since``, oldest first, at most ``limit`` (the newest ones when there are more)."""
    query = (
        select(Mention.platform, Mention.post_id, Mention.title, Mention.text, Mention.cluster_id)
        .where(Mention.cluster_id.is_not(None), Mention.published_at >= since)
        .order_by(Mention.published_at.desc(), Mention.id.desc())
        .limit(limit)
    )
    with store.session() as session:
        rows = session.execute(query).all()
    return [
        (platform, post_id, "\n".join(filter(None, [title, text])), cluster)
        for platform, post_id, title, text, cluster in reversed(rows)
    ]


def near_duplicate_share(
    store: Store, topic: str, since: datetime, until: datetime, top: int = 5
) -> dict:
    """How much of ``topic``'s volume in ``[since, until)`` is near-duplicate posts.

    Returns ``{"total", "duplicates", "share", "clusters"}`` where ``clusters`` lists the
    ``top`` largest clusters as ``{"cluster_id", "mentions"}``, largest first.
    """
    in_window = (
        TopicMatch.topic == topic,
        TopicMatch.published_at >= since,
        TopicMatch.published_at < until,
    )
    sizes = (
        select(Mention.cluster_id, func.count().label("mentions"))
        .join(TopicMatch, TopicMatch.mention_id == Mention.id)
        .where(*in_window, Mention.cluster_id.is_not(None))
        .group_by(Mention.cluster_id)
        .having(func.count() > 1)
        .subquery()
    )
    with store.session() as session:
        total = session.scalar(select(func.count()).select_from(TopicMatch).where(*in_window))
        duplicates = session.scalar(select(func.coalesce(func.sum(sizes.c.mentions), 0)))
        largest = session.execute(
            select(sizes.c.cluster_id, sizes.c.mentions)
            .order_by(sizes.c.mentions.desc(), sizes.c.cluster_id)
            .limit(top)
        ).all()
    total = int(total or 0)
    duplicates = int(duplicates or 0)
    return {
        "total": total,
        "duplicates": duplicates,
        "share": duplicates / total if total else 0.0,
        "clusters": [{"cluster_id": c, "mentions": int(n)} for c, n in largest],
    }
