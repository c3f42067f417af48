"""Aggregates the alert engine evaluates: per-topic counts per time bucket, recent mentions of a
topic for the rule checks, engagement velocity from snapshots, and evidence breakdowns.

When a mention counts (README "Alerts"; ``alerts.late_arrival_minutes``):

* A rule's window ``[since, until]`` counts mentions by when they were **published**. A post
  found a little late still counts: a mention published up to ``late_arrival`` before ``since``
  and found (matched) after ``since`` belongs to the window too, so crawl lag never hides a
  post from a rule.
* A mention found more than ``late_arrival`` after it was published (a backfill, the first
  crawl of a topic fetching its history, an old thread bumped) is not news: it counts in no
  window, so on its own it never opens an alert nor swells an incident's evidence.
* A mention dated more than :data:`FUTURE_SKEW` after it was found (a wrong clock or time
  zone) counts nowhere either.
* A window evaluated at ``until`` sees only mentions matched by ``until``: replaying history in
  simulated time gives the answers a live run would have given.

The spike rule's :func:`bucket_counts` buckets on ``topic_match.matched_at`` (when the mention
became known for the topic) instead: a bucket's count is then final once the bucket has passed,
which keeps online detection causal. It drops backfill and future-dated posts the same way."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Integer, case, cast, func, or_, select

from storage.db import Store
from storage.models import EngagementSnapshot, Mention, TopicMatch

# The default of ``alerts.late_arrival_minutes``: how long after its publication a post may be
# found and still be news. It covers the default 15-minute crawl schedule with a missed run or
# two, the crawl's 30-minute re-read, hourly news listings and search-index lag.
LATE_ARRIVAL = timedelta(minutes=120)
# A post dated this far after it was found is still taken as published "now" (a platform's clock
# a little ahead); later than that, its date is wrong and it counts nowhere.
FUTURE_SKEW = timedelta(minutes=10)

EVENT_COLUMNS = (
    Mention.id,
    Mention.platform,
    Mention.post_id,
    Mention.url,
    Mention.author_name,
    Mention.author_followers,
    Mention.author_verified,
    Mention.author_verified_type,
    Mention.title,
    Mention.text,
    Mention.published_at,
    Mention.reposts,
    Mention.comments,
    Mention.likes,
    Mention.sentiment_label,
    Mention.sentiment_score,
    Mention.cause,
    Mention.cluster_id,
    Mention.keywords,
)


def _epoch(store: Store, column):
    if store.dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def _news(store: Store, late_arrival: timedelta) -> tuple:
    """Conditions of a mention that is news: found at most ``late_arrival`` after it was
    published, and dated at most :data:`FUTURE_SKEW` after it was found."""
    lag = _epoch(store, TopicMatch.matched_at) - _epoch(store, TopicMatch.published_at)
    return (
        lag <= int(late_arrival.total_seconds()),
        lag >= -int(FUTURE_SKEW.total_seconds()),
    )


def _in_window(
    store: Store, since: datetime, until: datetime, late_arrival: timedelta | None
) -> tuple:
    """Conditions of a mention that counts in the window ``[since, until]`` evaluated at
    ``until`` (the module docstring has the rules). ``late_arrival=None`` means "published
    since ``since``", nothing else: the hot-post re-crawl, which is no rule and runs on the
    wall clock, refreshes every recent negative post however late it was found."""
    if late_arrival is None:
        return (TopicMatch.published_at >= since,)
    return (
        TopicMatch.matched_at <= until,
        TopicMatch.published_at <= until + FUTURE_SKEW,
        *_news(store, late_arrival),
        # Implied by the next two conditions; spelled out so the (topic, published_at) index
        # narrows the scan.
        TopicMatch.published_at >= since - late_arrival,
        or_(TopicMatch.published_at >= since, TopicMatch.matched_at >= since),
    )


def bucket_counts(
    store: Store,
    since: datetime,
    until: datetime,
    bucket_minutes: int,
    *,
    topics: list[str] | None = None,
    late_arrival: timedelta = LATE_ARRIVAL,
) -> dict[str, dict[datetime, tuple[int, int]]]:
    """``{topic: {bucket start: (mentions, negative mentions)}}`` for matches made in
    ``[since, until)``; buckets with no mention are absent. Mentions found more than
    ``late_arrival`` after publication, or dated more than :data:`FUTURE_SKEW` after they were
    found, are not counted."""
    width = bucket_minutes * 60
    bucket = (_epoch(store, TopicMatch.matched_at) // width).label("bucket")
    stmt = (
        select(
            TopicMatch.topic,
            bucket,
            func.count().label("total"),
            func.sum(case((Mention.sentiment_label == "negative", 1), else_=0)).label("negative"),
        )
        .join(Mention, Mention.id == TopicMatch.mention_id)
        .where(TopicMatch.matched_at >= since, TopicMatch.matched_at < until)
        .where(*_news(store, late_arrival))
        .group_by(TopicMatch.topic, bucket)
    )
    if topics is not None:
        stmt = stmt.where(TopicMatch.topic.in_(topics))
    found: dict[str, dict[datetime, tuple[int, int]]] = defaultdict(dict)
    with store.session() as session:
        for topic, number, total, negative in session.execute(stmt):
            start = datetime.fromtimestamp(int(number) * width, UTC)
            found[topic][start] = (int(total), int(negative or 0))
    return dict(found)


def topic_totals(
    store: Store,
    since: datetime,
    until: datetime,
    *,
    topics: list[str] | None = None,
    late_arrival: timedelta = LATE_ARRIVAL,
) -> dict[str, tuple[int, int]]:
    """``{topic: (mentions, negative mentions)}`` in the window ``[since, until]`` evaluated at
    ``until`` (see the module docstring)."""
    stmt = (
        select(
            TopicMatch.topic,
            func.count(),
            func.sum(case((Mention.sentiment_label == "negative", 1), else_=0)),
        )
        .join(Mention, Mention.id == TopicMatch.mention_id)
        .where(*_in_window(store, since, until, late_arrival))
        .group_by(TopicMatch.topic)
    )
    if topics is not None:
        stmt = stmt.where(TopicMatch.topic.in_(topics))
    with store.session() as session:
        return {t: (int(n), int(neg or 0)) for t, n, neg in session.execute(stmt)}


def _grouped_by_topic(
    store: Store, stmt, topics: list[str] | None
) -> dict[str, list[dict[str, Any]]]:
    """Run a mention query that selects ``TopicMatch.topic`` and group its rows by topic."""
    if topics is not None:
        stmt = stmt.where(TopicMatch.topic.in_(topics))
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with store.session() as session:
        for row in session.execute(stmt):
            found[row.topic].append(dict(row._mapping))
    return dict(found)


def recent_mentions(
    store: Store,
    since: datetime,
    until: datetime,
    *,
    topics: list[str] | None = None,
    sentiment: str | None = None,
    late_arrival: timedelta = LATE_ARRIVAL,
) -> dict[str, list[dict[str, Any]]]:
    """``{topic: [mention dict, ...]}`` in the window ``[since, until]`` evaluated at ``until``
    (see the module docstring)."""
    stmt = (
        select(TopicMatch.topic, TopicMatch.matched_at, *EVENT_COLUMNS)
        .join(Mention, Mention.id == TopicMatch.mention_id)
        .where(*_in_window(store, since, until, late_arrival))
    )
    if sentiment is not None:
        stmt = stmt.where(Mention.sentiment_label == sentiment)
    return _grouped_by_topic(store, stmt, topics)


def negative_mentions_published(
    store: Store,
    since: datetime,
    until: datetime,
    *,
    topics: list[str] | None = None,
    min_engagement: int = 0,
    late_arrival: timedelta | None = LATE_ARRIVAL,
) -> dict[str, list[dict[str, Any]]]:
    """``{topic: [negative mention dict, ...]}`` in the window ``[since, until]`` evaluated at
    ``until`` (see the module docstring) with at least ``min_engagement`` reposts + comments
    (the candidates for the viral-post check)."""
    stmt = (
        select(TopicMatch.topic, *EVENT_COLUMNS)
        .join(Mention, Mention.id == TopicMatch.mention_id)
        .where(*_in_window(store, since, until, late_arrival))
        .where(Mention.sentiment_label == "negative")
        .where(Mention.reposts + Mention.comments >= min_engagement)
    )
    return _grouped_by_topic(store, stmt, topics)


def velocities(
    store: Store, mentions: list[dict[str, Any]], now: datetime, window: timedelta
) -> dict[int, dict[str, float]]:
    """Reposts, comments and likes per hour for each mention.

    Over the snapshots of the last ``window`` when there are two or more; otherwise, for a post
    published within ``window``, the average since publication (all one crawl can tell); an older
    post with no recent re-crawl counts as not growing.
    """
    ids = [m["id"] for m in mentions]
    history: dict[int, list] = defaultdict(list)
    with store.session() as session:
        for start in range(0, len(ids), 500):
            stmt = (
                select(EngagementSnapshot)
                .where(EngagementSnapshot.mention_id.in_(ids[start : start + 500]))
                .where(EngagementSnapshot.observed_at >= now - window)
                # Causal: a pass at ``now`` (a replay too) sees no re-crawl made after it.
                .where(EngagementSnapshot.observed_at <= now)
                .order_by(EngagementSnapshot.observed_at)
            )
            for snap in session.scalars(stmt):
                history[snap.mention_id].append(snap)
    rates: dict[int, dict[str, float]] = {}
    for m in mentions:
        snaps = history.get(m["id"], [])
        if len(snaps) >= 2 and snaps[-1].observed_at > snaps[0].observed_at:
            first, last = snaps[0], snaps[-1]
            hours = (last.observed_at - first.observed_at).total_seconds() / 3600
            rates[m["id"]] = {
                k: max(0, getattr(last, k) - getattr(first, k)) / hours
                for k in ("reposts", "comments", "likes")
            }
        elif now - m["published_at"] <= window:
            hours = max((now - m["published_at"]).total_seconds() / 3600, 0.25)
            rates[m["id"]] = {k: m[k] / hours for k in ("reposts", "comments", "likes")}
        else:
            # Old and not re-crawled lately: nothing shows it is still spreading. (An average
            # since publication would keep a day-old viral post "viral" all day long.)
            rates[m["id"]] = {"reposts": 0.0, "comments": 0.0, "likes": 0.0}
    return rates


def breakdown(mentions: list[dict[str, Any]], n: int = 8) -> dict[str, Any]:
    """Evidence summary of a set of mention dicts: keywords, causes, platforms, copy share."""
    keywords: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    platforms: Counter[str] = Counter()
    clusters: Counter[int] = Counter()
    for m in mentions:
        keywords.update(set(m.get("keywords") or ()))
        if m.get("cause"):
            causes[m["cause"]] += 1
        platforms[m["platform"]] += 1
        if m.get("cluster_id") is not None:
            clusters[m["cluster_id"]] += 1
    # A mention is a near-duplicate when its cluster holds another mention of this set.
    copies = sum(size for size in clusters.values() if size > 1)
    return {
        "keywords": keywords.most_common(n),
        "causes": causes.most_common(),
        "platform_counts": dict(platforms.most_common()),
        "near_duplicate_share": round(copies / len(mentions), 3) if mentions else 0.0,
    }


def first_matches(store: Store, topics: list[str]) -> dict[str, datetime]:
    """When each topic got its first mention (topics without one are absent)."""
    with store.session() as session:
        rows = session.execute(
            select(TopicMatch.topic, func.min(TopicMatch.matched_at))
            .where(TopicMatch.topic.in_(topics))
            .group_by(TopicMatch.topic)
        ).all()
    return {topic: first for topic, first in rows if first is not None}


def hot_negative_mentions(
    store: Store,
    now: datetime,
    *,
    hours: float = 24,
    limit: int = 20,
    platforms: tuple[str, ...] = ("weibo",),
    window: timedelta = timedelta(hours=6),
) -> list[dict[str, Any]]:
    """The fastest-growing negative mentions published in the last ``hours``: mention dicts
    with their ``topics`` and ``velocity`` (reposts + comments per hour, from
    :func:`velocities` over ``window``), fastest first, at most ``limit``. These are what the
    hot-post re-crawl refreshes; ``platforms`` are the ones that can be re-read one post at a
    time."""
    # Refreshing a post found late costs one request; the viral rule decides whether it is news.
    by_topic = negative_mentions_published(
        store, now - timedelta(hours=hours), now, late_arrival=None
    )
    found: dict[int, dict[str, Any]] = {}
    for topic, mentions in by_topic.items():
        for m in mentions:
            if m["platform"] in platforms and m["published_at"] <= now:
                found.setdefault(m["id"], m | {"topics": []})["topics"].append(topic)
    candidates = list(found.values())
    rates = velocities(store, candidates, now, window)
    for m in candidates:
        rate = rates[m["id"]]
        m["velocity"] = rate["reposts"] + rate["comments"]
    # Ties (say, nothing moved) go to the newer post, which has more spreading ahead of it.
    candidates.sort(key=lambda m: (m["velocity"], m["published_at"]), reverse=True)
    return candidates[:limit]
