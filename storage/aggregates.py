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

import itertools
from bisect import bisect_left, insort
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Integer, and_, case, cast, func, literal_column, or_, select

from storage.db import Store
from storage.models import EngagementSnapshot, Mention, TopicMatch

# The default of ``alerts.late_arrival_minutes``: how long after its publication a post may be
# found and still be news. It covers the default 15-minute crawl schedule with a missed run or
# two, the crawl's 30-minute re-read, hourly news listings and search-index lag.
LATE_ARRIVAL = timedelta(minutes=120)
# A post dated this far after it was found is still taken as published "now" (a platform's clock
# a little ahead); later than that, its date is wrong and it counts nowhere.
FUTURE_SKEW = timedelta(minutes=10)
# Seconds of leeway for julianday()'s rounding in :func:`_news` (its error is about 1 ms).
_MARGIN = 0.01

# The sentiment toward the topic, where known (nlp/target_sentiment.py), else the post's own:
# the negative-volume rules count what is said about the topic.
TOPIC_LABEL = func.coalesce(TopicMatch.sentiment_label, Mention.sentiment_label)
TOPIC_SCORE = func.coalesce(TopicMatch.sentiment_score, Mention.sentiment_score)

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
# The same, in queries from topic_match: the post's sentiment is the one toward the topic.
TOPIC_EVENT_COLUMNS = tuple(
    TOPIC_LABEL.label("sentiment_label")
    if column is Mention.sentiment_label
    else TOPIC_SCORE.label("sentiment_score")
    if column is Mention.sentiment_score
    else column
    for column in EVENT_COLUMNS
)


def _epoch(dialect: str, column):
    if dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def _news(store: Store, late_arrival: timedelta) -> tuple:
    """Conditions of a mention that is news: found at most ``late_arrival`` after it was
    published, and dated at most :data:`FUTURE_SKEW` after it was found.

    The lag is counted in whole seconds (each time truncated to its second, as ``_epoch``
    does). Working that out takes four date functions a row, the biggest cost of a 7-day
    window; so a cheap difference of the two times settles nearly every row first, and only a
    lag within a second of either limit is worked out in whole seconds."""
    return _news_condition(store.dialect, int(late_arrival.total_seconds()))


# Built once per dialect and allowance: building it anew took longer than running a narrow query.
@lru_cache(maxsize=16)
def _news_condition(dialect: str, late: int) -> tuple:
    skew = int(FUTURE_SKEW.total_seconds())
    lag = _epoch(dialect, TopicMatch.matched_at) - _epoch(dialect, TopicMatch.published_at)
    whole_seconds = and_(lag <= late, lag >= -skew)
    if dialect == "sqlite":
        # julianday() keeps SQLite's milliseconds, so this is the lag give or take 1 ms.
        near = (func.julianday(TopicMatch.matched_at) - func.julianday(TopicMatch.published_at)) * (
            86400.0
        )
        inside = near.between(-skew + _MARGIN, late - _MARGIN)
        edge = near.between(-skew - 1 - _MARGIN, late + 1 + _MARGIN)
    else:
        near = TopicMatch.matched_at - TopicMatch.published_at
        inside = near.between(timedelta(seconds=-skew), timedelta(seconds=late))
        edge = near.between(timedelta(seconds=-skew - 1), timedelta(seconds=late + 1))
    # A lag inside the limits is inside them in whole seconds too; one more than a second
    # outside is outside in whole seconds; between the two, whole seconds decide.
    return (or_(inside, and_(edge, whole_seconds)),)


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
    bucket = (_epoch(store.dialect, TopicMatch.matched_at) // width).label("bucket")
    stmt = (
        select(
            TopicMatch.topic,
            bucket,
            func.count().label("total"),
            func.sum(case((TOPIC_LABEL == "negative", 1), else_=0)).label("negative"),
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
    memory: NewsMemory | None = None,
) -> dict[str, tuple[int, int]]:
    """``{topic: (mentions, negative mentions)}`` in the window ``[since, until]`` evaluated at
    ``until`` (see the module docstring). A replay passes its :class:`NewsMemory`."""
    if memory is not None and topics is not None and late_arrival == memory.late_arrival:
        return memory.totals(since, until, topics)
    stmt = (
        select(
            TopicMatch.topic,
            func.count(),
            func.sum(case((TOPIC_LABEL == "negative", 1), else_=0)),
        )
        .join(Mention, Mention.id == TopicMatch.mention_id)
        .where(*_in_window(store, since, until, late_arrival))
        .group_by(TopicMatch.topic)
    )
    if topics is not None:
        stmt = stmt.where(TopicMatch.topic.in_(topics))
    with store.session() as session:
        return {t: (int(n), int(neg or 0)) for t, n, neg in session.execute(stmt)}


class NewsMemory:
    """The news matches of a replay's topics, kept in memory from one pass to the next, so the
    rules' windows are counted without reading days of posts again in every pass.

    Each pass reads only the matches made since the last one (``topic_match`` rows never
    change). A window ending at ``until`` counts a news post published before
    ``until - late_arrival - 2 s`` whatever ``until`` is (news is found within ``late_arrival``,
    give or take the second it is truncated to, so it was matched by then): such *settled* posts
    are counted by prefix sums, and only the last hours are checked one by one, with the same
    conditions as :func:`_in_window` (the news test itself is made by the database, as
    :func:`_news`). Posts come in the order of the windows' queries (by topic, then by the
    ``(topic, published_at)`` index), and mention dicts already read are kept.

    Only a replay can promise what this needs: every pass at a time no earlier than the last,
    and every mention stored after it matched after it, nothing deleted. It calls
    :meth:`forget` when a re-crawl rewrites a stored mention, whose sentiment, engagement or
    text may have changed."""

    SLACK = timedelta(seconds=2)

    def __init__(self, store: Store, late_arrival: timedelta):
        self.store = store
        self.late_arrival = late_arrival
        self.forget()

    def forget(self) -> None:
        """Drop everything; the next window reads it again."""
        self.seen: datetime | None = None  # matches made by this time are read
        self.cut: datetime | None = None  # settled: published before this
        # Per topic, settled posts in index order: their rows, negatives among the first i.
        self.settled: dict[str, list[tuple]] = {}
        self.negatives: dict[str, list[int]] = {}
        self.published: dict[str, list[datetime]] = {}
        self.negative_at: dict[str, list[int]] = {}  # positions of the negative settled posts
        # Per topic, the other posts read, in index order.
        self.recent: dict[str, list[tuple]] = {}
        self.posts: dict[int, dict[str, Any]] = {}  # mention dicts (EVENT_COLUMNS) by id

    def _read(self, topics: list[str], since: datetime | None, until: datetime) -> list[tuple]:
        """News matches of ``topics`` made in ``(since, until]``: rows of (published_at, index
        position, matched_at, mention id, sentiment label, reposts + comments, topic); their
        mention dicts go to ``posts``."""
        # SQLite's index orders equal publication times by rowid (a replay is always SQLite).
        position = literal_column("topic_match.rowid") if self.store.dialect == "sqlite" else None
        stmt = (
            select(
                TopicMatch.published_at,
                TopicMatch.mention_id if position is None else position,
                TopicMatch.matched_at,
                Mention.id,
                TOPIC_LABEL,
                Mention.reposts + Mention.comments,
                TopicMatch.topic,
                *TOPIC_EVENT_COLUMNS,
            )
            .join(Mention, Mention.id == TopicMatch.mention_id)
            .where(TopicMatch.topic.in_(topics), TopicMatch.matched_at <= until)
            .where(*_news(self.store, self.late_arrival))
        )
        if since is not None:
            stmt = stmt.where(TopicMatch.matched_at > since)
        rows = []
        with self.store.session() as session:
            # The mention dicts come along: the windows will want most of them.
            keys = [column.key for column in TOPIC_EVENT_COLUMNS]
            for row in session.execute(stmt):
                rows.append(tuple(row[:7]))
                self.posts[row[3]] = dict(zip(keys, row[7:], strict=True))
        return rows

    def _catch_up(self, until: datetime, topics: list[str]) -> None:
        new = [t for t in dict.fromkeys(topics) if t not in self.recent]
        for topic in new:
            self.recent[topic] = []
            self.settled[topic], self.negatives[topic], self.published[topic] = [], [0], []
            self.negative_at[topic] = []
        if new and self.seen is not None:  # a topic first asked for now: its history so far
            for row in sorted(self._read(new, None, self.seen)):
                self.recent[row[6]].append(row)
            for topic in new:
                self._settle(topic)
        if self.seen is not None and until <= self.seen:
            return
        for row in self._read(list(self.recent), self.seen, until):
            if self.cut is not None and row[0] < self.cut:
                raise ValueError("NewsMemory: a match older than the replay's clock appeared")
            insort(self.recent[row[6]], row)
        self.seen = until
        self.cut = until - self.late_arrival - self.SLACK
        for topic in self.recent:
            self._settle(topic)

    def _settle(self, topic: str) -> None:
        """Move the posts of ``topic`` published before the cut to the settled ones."""
        rows, moved = self.recent[topic], 0
        while self.cut is not None and moved < len(rows) and rows[moved][0] < self.cut:
            row = rows[moved]
            if row[4] == "negative":
                self.negative_at[topic].append(len(self.settled[topic]))
            self.settled[topic].append(row)
            self.published[topic].append(row[0])
            self.negatives[topic].append(len(self.negative_at[topic]))
            moved += 1
        del rows[:moved]

    def _counting(self, topic: str, since: datetime, until: datetime):
        """The posts of ``topic`` in the window ``[since, until]`` evaluated at ``until``, in
        index order: the rows published up to ``late_arrival`` before ``since`` (and matched
        since it), a range of settled positions that all count, the rows after them."""
        settled, published = self.settled[topic], self.published[topic]
        # Published before ``until - late_arrival - 2 s``: matched by ``until``.
        whole_end = bisect_left(published, until - self.late_arrival - self.SLACK)
        whole_start = min(bisect_left(published, since), whole_end)
        early = bisect_left(published, since - self.late_arrival)
        late = [row for row in settled[early:whole_start] if row[2] >= since]
        latest, rest = until + FUTURE_SKEW, []
        for row in itertools.chain(settled[whole_end:], self.recent[topic]):
            if row[0] > latest:
                break
            if (
                row[2] <= until
                and row[0] >= since - self.late_arrival
                and (row[0] >= since or row[2] >= since)
            ):
                rest.append(row)
        return late, range(whole_start, whole_end), rest

    def totals(
        self, since: datetime, until: datetime, topics: list[str]
    ) -> dict[str, tuple[int, int]]:
        """What :func:`topic_totals` gives."""
        self._catch_up(until, topics)
        found = {}
        for topic in sorted(set(topics)):
            late, whole, rest = self._counting(topic, since, until)
            negatives = self.negatives[topic]
            total = len(late) + len(whole) + len(rest)
            negative = negatives[whole.stop] - negatives[whole.start]
            negative += sum(row[4] == "negative" for row in itertools.chain(late, rest))
            if total:
                found[topic] = (total, negative)
        return found

    def mentions(
        self,
        since: datetime,
        until: datetime,
        topics: list[str],
        keep,
        *,
        with_matched_at: bool,
        negative_only: bool = False,
    ) -> dict[str, list[dict[str, Any]]]:
        """What :func:`_grouped_by_topic` gives for the window's posts for which
        ``keep(sentiment label, reposts + comments)`` holds, as :func:`recent_mentions` (with
        ``matched_at``) or :func:`negative_mentions_published` (without) selects them.
        ``negative_only``: ``keep`` holds for negative posts only (a shortcut)."""
        self._catch_up(until, topics)
        chosen: dict[str, list[tuple]] = {}
        for topic in sorted(set(topics)):
            late, whole, rest = self._counting(topic, since, until)
            settled = self.settled[topic]
            if negative_only:
                at = self.negative_at[topic]
                counted = [
                    settled[i]
                    for i in at[bisect_left(at, whole.start) : bisect_left(at, whole.stop)]
                ]
            else:
                counted = settled[whole.start : whole.stop]
            picked = [r for r in itertools.chain(late, counted, rest) if keep(r[4], r[5])]
            if picked:
                chosen[topic] = picked
        missing = list({row[3] for rows in chosen.values() for row in rows} - self.posts.keys())
        if missing:
            with self.store.session() as session:
                for start in range(0, len(missing), 500):
                    chunk = missing[start : start + 500]
                    result = session.execute(select(*EVENT_COLUMNS).where(Mention.id.in_(chunk)))
                    keys = list(result.keys())
                    for row in result:
                        self.posts[row.id] = dict(zip(keys, row, strict=True))
        if with_matched_at:
            return {
                t: [
                    {"topic": t, "matched_at": r[2]} | self.posts[r[3]] | {"sentiment_label": r[4]}
                    for r in rows
                ]
                for t, rows in chosen.items()
            }
        # A post in two topics is one dict; its label is the one toward each topic (r[4]).
        return {
            t: [{"topic": t} | self.posts[r[3]] | {"sentiment_label": r[4]} for r in rows]
            for t, rows in chosen.items()
        }


def _grouped_by_topic(
    store: Store, stmt, topics: list[str] | None
) -> dict[str, list[dict[str, Any]]]:
    """Run a mention query that selects ``TopicMatch.topic`` and group its rows by topic."""
    if topics is not None:
        stmt = stmt.where(TopicMatch.topic.in_(topics))
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with store.session() as session:
        result = session.execute(stmt)
        keys = list(result.keys())
        for row in result:
            found[row.topic].append(dict(zip(keys, row, strict=True)))
    return dict(found)


def recent_mentions(
    store: Store,
    since: datetime,
    until: datetime,
    *,
    topics: list[str] | None = None,
    sentiment: str | None = None,
    late_arrival: timedelta = LATE_ARRIVAL,
    memory: NewsMemory | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """``{topic: [mention dict, ...]}`` in the window ``[since, until]`` evaluated at ``until``
    (see the module docstring). A replay passes its :class:`NewsMemory`."""
    if memory is not None and topics is not None and late_arrival == memory.late_arrival:
        return memory.mentions(
            since,
            until,
            topics,
            lambda label, _: sentiment is None or label == sentiment,
            with_matched_at=True,
            negative_only=sentiment == "negative",
        )
    where = [*_in_window(store, since, until, late_arrival)]
    if sentiment is not None:
        where.append(TOPIC_LABEL == sentiment)
    stmt = (
        select(TopicMatch.topic, TopicMatch.matched_at, *TOPIC_EVENT_COLUMNS)
        .join(Mention, Mention.id == TopicMatch.mention_id)
        .where(*where)
    )
    return _grouped_by_topic(store, stmt, topics)


def negative_mentions_published(
    store: Store,
    since: datetime,
    until: datetime,
    *,
    topics: list[str] | None = None,
    min_engagement: int = 0,
    late_arrival: timedelta | None = LATE_ARRIVAL,
    memory: NewsMemory | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """``{topic: [negative mention dict, ...]}`` in the window ``[since, until]`` evaluated at
    ``until`` (see the module docstring) with at least ``min_engagement`` reposts + comments
    (the candidates for the viral-post check). A replay passes its :class:`NewsMemory`."""
    if memory is not None and topics is not None and late_arrival == memory.late_arrival:
        return memory.mentions(
            since,
            until,
            topics,
            lambda label, engagement: label == "negative" and engagement >= min_engagement,
            with_matched_at=False,
            negative_only=True,
        )
    where = [
        *_in_window(store, since, until, late_arrival),
        TOPIC_LABEL == "negative",
        Mention.reposts + Mention.comments >= min_engagement,
    ]
    stmt = (
        select(TopicMatch.topic, *TOPIC_EVENT_COLUMNS)
        .join(Mention, Mention.id == TopicMatch.mention_id)
        .where(*where)
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
