"""Writing mentions: the idempotent upsert every ingest path ends in.

A mention is unique on (platform, post_id). Storing it again updates its counts and content only
when the new observation is newer (``crawled_at`` later than the stored one), and appends an
engagement snapshot only when a count changed, so re-ingesting a file stores nothing twice and an
out-of-order replay never overwrites fresher data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from sqlalchemy import select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.db import Store
from storage.models import EngagementSnapshot, Mention, TopicMatch
from storage.retry import retrying
from storage.search import search_text

COUNTS = ("reposts", "comments", "likes")
# Columns a newer observation may change. first_seen_at and published_at never change.
_UPDATABLE = (
    "url",
    "author_id",
    "author_name",
    "author_followers",
    "author_verified",
    "author_verified_type",
    "title",
    "text",
    "raw_text",
    "crawled_at",
    *COUNTS,
    "parent_post_id",
    "sentiment_score",
    "sentiment_label",
    "cause",
    "keywords",
    "extra",
    "search_text",
)
# SQLite allows 32766 bound parameters per statement; 400 rows x ~26 columns stays well under.
BATCH_ROWS = 400


class MentionRow(TypedDict, total=False):
    """A normalised mention as the pipeline hands it to storage (column names of ``mention``)."""

    platform: str
    post_id: str
    url: str
    author_id: str | None
    author_name: str | None
    author_followers: int | None
    author_verified: bool
    author_verified_type: int | None
    title: str | None
    text: str
    raw_text: str
    published_at: datetime
    crawled_at: datetime
    reposts: int
    comments: int
    likes: int
    parent_post_id: str | None
    sentiment_score: float | None
    sentiment_label: str | None
    cause: str | None
    cluster_id: int | None
    keywords: list[str]
    extra: dict[str, Any]
    # Not a column: {topic name: matched keywords}, stored in topic_match.
    topics: dict[str, list[str]]
    # Not a column: {topic name: (score, label)} toward each topic, stored in topic_match.
    topic_sentiment: dict[str, tuple[float, str]]


@dataclass
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    snapshots: int = 0

    def __iadd__(self, other: UpsertResult) -> UpsertResult:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.snapshots += other.snapshots
        return self


def _default(column: str):
    """The model's Python-side default of a ``mention`` column (None when it has none)."""
    default = Mention.__table__.c[column].default
    if default is None:
        return None
    if default.is_callable:
        return default.arg(None)
    return default.arg


def _insert(session: Session, model):
    # On the table, not the ORM class: an ORM-enabled INSERT goes through the ORM's bulk
    # persistence, which splits the rows into groups by which values are None and, on SQLite
    # with RETURNING, ran most of them one row per statement (242 statements for 800 rows).
    # Core sends each batch as a few multi-row VALUES statements.
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(model.__table__)


def _newest_per_key(rows: Iterable[MentionRow]) -> list[MentionRow]:
    """One row per (platform, post_id): the latest observation. Sorted by key, so concurrent
    writers on PostgreSQL lock rows in the same order and cannot deadlock."""
    newest: dict[tuple[str, str], MentionRow] = {}
    for row in rows:
        key = (row["platform"], row["post_id"])
        if key not in newest or row["crawled_at"] > newest[key]["crawled_at"]:
            newest[key] = row
    return [newest[k] for k in sorted(newest)]


def upsert_mentions(
    store: Store,
    rows: Iterable[MentionRow],
    now: datetime | None = None,
    *,
    seen_at_crawled: bool = False,
) -> UpsertResult:
    """Insert new mentions, refresh known ones, append snapshots and topic matches.

    ``now`` (default: the clock) stamps ``first_seen_at`` and ``topic_match.matched_at``;
    simulations and tests pass their own. With ``seen_at_crawled`` each row is stamped with its
    own ``crawled_at`` instead: a replay in simulated time stores a whole step's mentions in one
    batch, yet each became known at its own arrival, not at the end of the step.

    Each batch of :data:`BATCH_ROWS` is one transaction, so a failure loses no earlier batch and
    leaves no half-written one; transient database faults are retried
    (:func:`storage.retry.retrying`).
    """
    ordered = _newest_per_key(rows)
    total = UpsertResult()
    for start in range(0, len(ordered), BATCH_ROWS):
        batch = ordered[start : start + BATCH_ROWS]

        def write(batch=batch) -> UpsertResult:
            with store.session() as session:
                return _upsert_batch(session, batch, now or datetime.now(UTC), seen_at_crawled)

        # A batch is one idempotent transaction, so a dropped connection is simply retried.
        total += retrying(write, what=f"storing {len(batch)} mentions")
    return total


def _upsert_batch(
    session: Session, rows: list[MentionRow], now: datetime, seen_at_crawled: bool = False
) -> UpsertResult:
    keys = [(r["platform"], r["post_id"]) for r in rows]
    key_cols = tuple_(Mention.platform, Mention.post_id)
    before = {
        (m.platform, m.post_id): m
        for m in session.execute(
            select(
                Mention.id,
                Mention.platform,
                Mention.post_id,
                *[getattr(Mention, c) for c in COUNTS],
            ).where(key_cols.in_(keys))
        )
    }
    values = []
    for row in rows:
        value = {k: v for k, v in row.items() if k not in ("topics", "topic_sentiment")}
        value.setdefault("keywords", [])
        value.setdefault("extra", {})
        # Segmented here, on the one write path, so the full-text index always matches the text.
        value["search_text"] = search_text(value.get("title"), value.get("text"))
        value["first_seen_at"] = row["crawled_at"] if seen_at_crawled else now
        values.append(value)
    # Every row of a multi-row INSERT needs the same columns: fill gaps with column defaults.
    columns = set().union(*values)
    for value in values:
        for column in columns - value.keys():
            value[column] = _default(column)

    # Executemany form (parameters apart from the statement): SQLAlchemy caches the compiled
    # statement and batches it as multi-row VALUES itself; a literal multi-row .values() would
    # be compiled afresh for every batch, which cost more than the writing.
    stmt = _insert(session, Mention)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Mention.platform, Mention.post_id],
        set_={c: stmt.excluded[c] for c in _UPDATABLE if c in columns},
        where=Mention.crawled_at < stmt.excluded.crawled_at,
    ).returning(Mention.id, Mention.platform, Mention.post_id)
    written = {(r.platform, r.post_id): r.id for r in session.execute(stmt, values)}

    result = UpsertResult()
    ids: dict[tuple[str, str], int] = {k: m.id for k, m in before.items()}
    ids.update(written)
    missing = [k for k in keys if k not in ids]
    if missing:  # inserted by a concurrent writer between our SELECT and INSERT, with newer data
        ids.update(
            {
                (m.platform, m.post_id): m.id
                for m in session.execute(
                    select(Mention.id, Mention.platform, Mention.post_id).where(
                        key_cols.in_(missing)
                    )
                )
            }
        )
    snapshots, matches, rescored = [], [], []
    for row, key in zip(rows, keys, strict=True):
        old = before.get(key)
        if key not in written:
            result.unchanged += 1
        elif old is None:
            result.inserted += 1
        else:
            result.updated += 1
        if key in written and (
            old is None or any(getattr(old, c) != row.get(c, 0) for c in COUNTS)
        ):
            snapshots.append(
                {"mention_id": ids[key], "observed_at": row["crawled_at"]}
                | {c: row.get(c, 0) for c in COUNTS}
            )
        toward = row.get("topic_sentiment") or {}
        for topic, matched in (row.get("topics") or {}).items():
            score, label = toward.get(topic, (None, None))
            # A newer observation (the full text of a cut post) may change the sentiment.
            (rescored if key in written else matches).append(
                {
                    "mention_id": ids[key],
                    "topic": topic,
                    "published_at": row["published_at"],
                    "matched_at": row["crawled_at"] if seen_at_crawled else now,
                    "matched": matched,
                    "sentiment_score": score,
                    "sentiment_label": label,
                }
            )
    if snapshots:
        ins = _insert(session, EngagementSnapshot)
        done = session.execute(
            ins.on_conflict_do_nothing(index_elements=["mention_id", "observed_at"]).returning(
                EngagementSnapshot.id
            ),
            snapshots,
        )
        result.snapshots = len(done.all())
    if matches:
        ins = _insert(session, TopicMatch)
        session.execute(ins.on_conflict_do_nothing(index_elements=["mention_id", "topic"]), matches)
    if rescored:
        ins = _insert(session, TopicMatch)
        session.execute(
            ins.on_conflict_do_update(
                index_elements=["mention_id", "topic"],
                set_={c: ins.excluded[c] for c in ("sentiment_score", "sentiment_label")},
            ),
            rescored,
        )
    return result
