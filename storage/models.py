"""SQLAlchemy models for the mention database (records as in DESIGN.md).

Every timestamp is a :class:`storage.types.UTCDateTime`. Changing a model means adding an Alembic
migration under ``storage/migrations/versions``; ``tests/test_migrations.py`` fails when the
models and the migrations disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a real bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# Deterministic constraint names keep migrations portable between SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class Mention(Base):
    """One post, reply or article, unique per (platform, post_id)."""

    __tablename__ = "mention"
    __table_args__ = (
        UniqueConstraint("platform", "post_id"),
        Index("ix_mention_published_at", "published_at"),
        Index("ix_mention_platform_published_at", "platform", "published_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    post_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str | None] = mapped_column(String(64))
    author_name: Mapped[str | None] = mapped_column(String(128))
    author_followers: Mapped[int | None] = mapped_column(BigInteger)
    author_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    author_verified_type: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    raw_text: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime]
    crawled_at: Mapped[datetime]
    first_seen_at: Mapped[datetime]
    reposts: Mapped[int] = mapped_column(BigInteger, default=0)
    comments: Mapped[int] = mapped_column(BigInteger, default=0)
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    parent_post_id: Mapped[str | None] = mapped_column(String(64))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    sentiment_label: Mapped[str | None] = mapped_column(String(8))
    cause: Mapped[str | None] = mapped_column(String(16))
    cluster_id: Mapped[int | None] = mapped_column(BigInteger)
    keywords: Mapped[list[str]] = mapped_column(default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Space-separated jieba tokens of title + text, written by upsert_mentions and indexed for
    # full-text search (storage/search.py). On SQLite, triggers on this table keep the FTS5 index
    # in sync: a migration that rebuilds ``mention`` (batch mode) must create them again.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")

    topics: Mapped[list[TopicMatch]] = relationship(
        back_populates="mention", cascade="all, delete-orphan", passive_deletes=True
    )


class TopicMatch(Base):
    """A mention matched to a configured topic; ``published_at`` is copied for fast topic scans."""

    __tablename__ = "topic_match"
    __table_args__ = (
        Index("ix_topic_match_topic_published_at", "topic", "published_at"),
        Index("ix_topic_match_topic_matched_at", "topic", "matched_at"),
    )

    mention_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("mention.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    published_at: Mapped[datetime]
    # When this mention became known as part of the topic: alert counting buckets on it, so a
    # bucket's count never grows after it was evaluated (published_at would, with crawl lag).
    matched_at: Mapped[datetime]
    matched: Mapped[list[str]] = mapped_column(default=list)
    # Sentiment toward this topic (nlp/target_sentiment.py); None for rows stored before it
    # existed or ingested without NLP: readers then use the mention's own (topic_label()).
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    sentiment_label: Mapped[str | None] = mapped_column(String(16))

    mention: Mapped[Mention] = relationship(back_populates="topics")


class EngagementSnapshot(Base):
    """Engagement counts of a mention as seen by one crawl: the raw data of spread velocity."""

    __tablename__ = "engagement_snapshot"
    __table_args__ = (UniqueConstraint("mention_id", "observed_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mention_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("mention.id", ondelete="CASCADE"), index=True
    )
    observed_at: Mapped[datetime]
    reposts: Mapped[int] = mapped_column(BigInteger)
    comments: Mapped[int] = mapped_column(BigInteger)
    likes: Mapped[int] = mapped_column(BigInteger)


class CrawlRun(Base):
    """One run of one spider (or one ingest of a file) with its counters and outcome."""

    __tablename__ = "crawl_run"
    __table_args__ = (Index("ix_crawl_run_spider_started_at", "spider", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    spider: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    pages: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="running")
    message: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Incident(Base):
    """An alerting event on one topic, tracked from open to resolved."""

    __tablename__ = "incident"
    __table_args__ = (
        # At most one incident per dedup key is live at a time; resolved ones are history.
        Index(
            "uq_incident_live_dedup_key",
            "dedup_key",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_incident_topic_opened_at", "topic", "opened_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Every rule that has signalled into this incident (signals on one topic are grouped).
    rules: Mapped[list[str]] = mapped_column(default=list)
    # Notification bookkeeping: how many were queued, when, and at which severity.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    last_notified_at: Mapped[datetime | None]
    notified_severity: Mapped[str | None] = mapped_column(String(16))

    notes: Mapped[list[IncidentNote]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", order_by="IncidentNote.id"
    )


class IncidentNote(Base):
    """A note on an incident: who said what, when (acknowledgements, actions, resolution)."""

    __tablename__ = "incident_note"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    author: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)

    incident: Mapped[Incident] = relationship(back_populates="notes")


class Delivery(Base):
    """Outbox row: one notification for one channel, committed before any send is attempted."""

    __tablename__ = "delivery"
    __table_args__ = (Index("ix_delivery_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Idempotency key chosen by the sender side: the same notification is never queued twice.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    incident_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("incident.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CrawlState(Base):
    """Where incremental crawling of one (spider, topic) stands: per stream (search term, forum
    board, feed) the newest post time of the last complete pass. ``topic`` is "" for crawls
    without one (forum boards, news feeds)."""

    __tablename__ = "crawl_state"

    spider: Mapped[str] = mapped_column(String(32), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    # {stream: ISO 8601 UTC time}; JSON because the streams differ per spider.
    watermarks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]
    last_run_id: Mapped[int | None] = mapped_column(BigId)


class DetectorState(Base):
    """An online detector's state for one topic, carried from one evaluation pass to the next."""

    __tablename__ = "detector_state"

    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    detector: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The start of the last bucket the detector has consumed.
    last_bucket: Mapped[datetime | None]
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class Silence(Base):
    """Mutes notifications for a topic and/or rule during a time box (incidents are still kept)."""

    __tablename__ = "silence"
    __table_args__ = (Index("ix_silence_ends_at", "ends_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]
    author: Mapped[str | None] = mapped_column(String(128))
    comment: Mapped[str | None] = mapped_column(Text)


class JobLease(Base):
    """A named lease held by one process until ``expires_at``: the lock that keeps two
    schedulers (or two cron hosts) on one database from running the same job at once."""

    __tablename__ = "job_lease"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


def include_in_comparison(name: str | None, type_: str, parent_names) -> bool:
    """Alembic ``include_name`` hook: leave out the full-text search objects, which migrations 0005
    and 0006 create by hand because models cannot describe them (an FTS5 virtual table and its
    shadow tables on SQLite; a generated tsvector column and its GIN index on PostgreSQL)."""
    if type_ == "table":
        return not (name or "").startswith("mention_fts")
    if type_ == "index":
        return name not in ("ix_mention_search_text", "ix_mention_search_vector")
    if type_ == "column":
        return name != "search_vector"
    return True
