"""Writing mentions: the idempotent upsert every ingest path ends in.

A mention is unique on (platform, post_id). Storing it again updates its counts and content only
when the new observation is newer (``crawled_at`` later than the stored one), and appends an
engagement snapshot only when a count changed, so re-ingesting a file stores nothing twice and an
out-of-order replay never overwrites fresher data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from sqlalchemy import JSON, String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.db import Store
from storage.models import EngagementSnapshot, Mention, TopicMatch
from storage.retry import retrying
from storage.search import search_text
from storage.types import UTCDateTime

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
_MATCH_COLUMNS = (
    "mention_id",
    "topic",
    "published_at",
    "matched_at",
    "matched",
    "sentiment_score",
    "sentiment_label",
)


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
    # Optional: storage.search.search_text(title, text), when computed ahead; else done here.
    search_text: str


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


class _Statements:
    """The write path's SQL for one dialect, as driver text with values converted by the
    columns' own bind processors (stored exactly as SQLAlchemy stores them).

    Why not Core: SQLAlchemy's per-parameter processing of a 400-row multi-row INSERT (10,800
    values) cost more than SQLite's work, and psycopg re-parsed the whole statement text every
    time (it caches no query over 4 KB). SQLite gets one multi-row ``VALUES`` statement per
    batch (the same text for every full batch, so sqlite3 keeps it prepared); PostgreSQL gets
    one array parameter per column and ``unnest``, a short text whatever the batch size.
    Errors are still raised through SQLAlchemy (``exec_driver_sql``), so a refused value is the
    same ``DataError`` or ``IntegrityError`` as before.
    """

    def __init__(self, dialect):
        self.dialect = dialect
        self.postgres = dialect.name == "postgresql"
        self._convert: dict[tuple[str, str], Any] = {}
        self._sql: dict[tuple, str] = {}

    def converter(self, table, column: str):
        key = (table.name, column)
        if key not in self._convert:
            sql_type = table.c[column].type
            if isinstance(sql_type, JSON):
                # What SQLAlchemy's JSON type sends (its default serializer; None is JSON null),
                # without its per-value wrapping.
                self._convert[key] = json.dumps
            elif isinstance(sql_type, UTCDateTime):
                self._convert[key] = _utc if self.postgres else _sqlite_utc
            else:
                self._convert[key] = sql_type._cached_bind_processor(self.dialect)
        return self._convert[key]

    def values(self, table, columns: Sequence[str], rows: Sequence[dict]):
        """Parameters for :meth:`insert`: a flat tuple (SQLite) or one list per column."""
        converters = [self.converter(table, c) for c in columns]
        if self.postgres:
            return tuple(
                [v if f is None else f(v) for v in (row[c] for row in rows)]
                for c, f in zip(columns, converters, strict=True)
            )
        flat = []
        for row in rows:
            for column, f in zip(columns, converters, strict=True):
                value = row[column]
                flat.append(value if f is None else f(value))
        return tuple(flat)

    def insert(self, table, columns: Sequence[str], rows: int, tail: str) -> str:
        """``INSERT INTO table (columns) <rows of values> tail``."""
        key = (table.name, tuple(columns), 0 if self.postgres else rows, tail)
        sql = self._sql.get(key)
        if sql is None:
            names = ", ".join(columns)
            if self.postgres:
                arrays = ", ".join(f"%s::{self._array_type(table.c[c].type)}[]" for c in columns)
                source = f"SELECT * FROM unnest({arrays})"
            else:
                one = "(" + ", ".join("?" * len(columns)) + ")"
                source = "VALUES " + ", ".join([one] * rows)
            sql = self._sql[key] = f"INSERT INTO {table.name} ({names}) {source} {tail}"
        return sql

    def _array_type(self, sql_type) -> str:
        # Strings as text: a cast to varchar(64) would cut a longer value silently, where
        # storing it into the column refuses it (as a row the database refuses should be).
        if isinstance(sql_type, String):
            return "text"
        return sql_type.compile(dialect=self.dialect)

    def keys_in(self, pairs: Sequence[tuple[str, str]]) -> tuple[str, tuple]:
        """A condition on (platform, post_id) matching ``pairs``, and its parameters."""
        if self.postgres:
            params = ([p for p, _ in pairs], [i for _, i in pairs])
            return "(platform, post_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))", params
        marks = ", ".join(["(?, ?)"] * len(pairs))
        return f"(platform, post_id) IN (VALUES {marks})", tuple(v for p in pairs for v in p)


def _utc(value: datetime | None) -> datetime | None:
    """:class:`UTCDateTime`'s bind value on PostgreSQL."""
    return None if value is None else UTCDateTime().process_bind_param(value, _POSTGRES)


def _sqlite_utc(value: datetime | None) -> str | None:
    """:class:`UTCDateTime`'s stored text on SQLite (``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, as
    SQLAlchemy's SQLite DATETIME writes it), at a third of its cost."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        UTCDateTime().process_bind_param(value, _SQLITE)  # raises its error for a naive time
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return text if value.microsecond else text + ".000000"


_statements: dict[int, _Statements] = {}
_POSTGRES, _SQLITE = postgresql.dialect(), sqlite.dialect()
_WITH_DEFAULT = frozenset(c.name for c in Mention.__table__.c if c.default is not None)


def _statements_for(session: Session) -> _Statements:
    dialect = session.bind.dialect
    found = _statements.get(id(dialect))
    if found is None or found.dialect is not dialect:
        found = _statements[id(dialect)] = _Statements(dialect)
    return found


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
    sql = _statements_for(session)
    conn = session.connection()
    keys = [(r["platform"], r["post_id"]) for r in rows]
    where, params = sql.keys_in(keys)
    before = {
        (platform, post_id): (mention_id, counts)
        for mention_id, platform, post_id, *counts in conn.exec_driver_sql(
            f"SELECT id, platform, post_id, {', '.join(COUNTS)} FROM mention WHERE {where}",
            params,
        )
    }
    values = []
    for row in rows:
        value = {k: v for k, v in row.items() if k not in ("topics", "topic_sentiment")}
        value.setdefault("keywords", [])
        value.setdefault("extra", {})
        # Segmented on the one write path, so the full-text index always matches the text
        # (ingest's workers compute the same function ahead, in parallel).
        if value.get("search_text") is None:
            value["search_text"] = search_text(value.get("title"), value.get("text"))
        value["first_seen_at"] = row["crawled_at"] if seen_at_crawled else now
        values.append(value)
    # Every row of a multi-row INSERT needs the same columns: fill gaps with column defaults,
    # and columns no row has get their default too (as Core's INSERT gave them).
    given = set().union(*values)
    columns = sorted(given | _WITH_DEFAULT)
    for value in values:
        for column in columns:
            if column not in value:
                value[column] = _default(column)
    table = Mention.__table__
    # Only what the rows say is refreshed on a newer observation.
    update = ", ".join(f"{c} = excluded.{c}" for c in _UPDATABLE if c in given)
    tail = (
        f"ON CONFLICT (platform, post_id) DO UPDATE SET {update} "
        "WHERE mention.crawled_at < excluded.crawled_at RETURNING id, platform, post_id"
    )
    written = {
        (platform, post_id): mention_id
        for mention_id, platform, post_id in conn.exec_driver_sql(
            sql.insert(table, columns, len(values), tail), sql.values(table, columns, values)
        )
    }

    result = UpsertResult()
    ids: dict[tuple[str, str], int] = {k: m[0] for k, m in before.items()}
    ids.update(written)
    missing = [k for k in keys if k not in ids]
    if missing:  # inserted by a concurrent writer between our SELECT and INSERT, with newer data
        where, params = sql.keys_in(missing)
        ids.update(
            {
                (platform, post_id): mention_id
                for mention_id, platform, post_id in conn.exec_driver_sql(
                    f"SELECT id, platform, post_id FROM mention WHERE {where}", params
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
        counts = [row.get(c, 0) for c in COUNTS]
        if key in written and (old is None or list(old[1]) != counts):
            snapshots.append(
                {"mention_id": ids[key], "observed_at": row["crawled_at"]}
                | dict(zip(COUNTS, counts, strict=True))
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
        table = EngagementSnapshot.__table__
        columns = ["mention_id", "observed_at", *COUNTS]
        done = conn.exec_driver_sql(
            sql.insert(
                table,
                columns,
                len(snapshots),
                "ON CONFLICT (mention_id, observed_at) DO NOTHING RETURNING id",
            ),
            sql.values(table, columns, snapshots),
        )
        result.snapshots = len(done.all())
    table = TopicMatch.__table__
    columns = list(_MATCH_COLUMNS)
    if matches:
        tail = "ON CONFLICT (mention_id, topic) DO NOTHING"
        conn.exec_driver_sql(
            sql.insert(table, columns, len(matches), tail), sql.values(table, columns, matches)
        )
    if rescored:
        tail = (
            "ON CONFLICT (mention_id, topic) DO UPDATE SET "
            "sentiment_score = excluded.sentiment_score, sentiment_label = excluded.sentiment_label"
        )
        conn.exec_driver_sql(
            sql.insert(table, columns, len(rescored), tail), sql.values(table, columns, rescored)
        )
    return result
