"""Step 4 of the item path: store enriched rows in batches, isolating a row the database refuses.

:func:`store_rows` is what every writer of the item path calls (``yuqing ingest`` and, for
Scrapy, :class:`StorePipeline`). When the database refuses a batch because of one row (a value
it cannot hold, a constraint; validation should have caught it, this is the net under it), the
batch is retried row by row: the refused row is reported with the database's reason and every
other row is stored, so one bad row cannot block every later flush. Any other failure (database
gone after the retries, disk full, read-only file) is the database's and is raised.

:class:`StorePipeline` flushes its buffer every ``YUQING_STORE_BATCH`` items (default 100) and
when the spider closes. A failed flush keeps the rows it did not get to for the next attempt
(the upsert is idempotent); a refused row is dropped and counted as
``yuqing/dropped/database_refused``, listed with the run's other dropped items.
``YUQING_NOW`` (ISO 8601) stamps the rows as crawled and matched at that time instead of the
clock, for crawls in simulated time (the demo): alerting counts them in the simulated bucket and
engagement snapshots get simulated times too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from storage.db import Store
from storage.mentions import BATCH_ROWS, MentionRow, UpsertResult, upsert_mentions

log = logging.getLogger(__name__)


def _data_fault(exc: BaseException) -> bool:
    """Surely the row's fault: the database (SQLSTATE class 22: value too long, out of range,
    NUL) or the driver converting a value (SQLite: an int beyond 64 bits; either driver: a lone
    surrogate that cannot be encoded as UTF-8) refused a value."""
    if isinstance(exc, DataError):
        return True
    if isinstance(exc, DBAPIError):
        return False
    orig = exc.orig if isinstance(exc, StatementError) and exc.orig is not None else exc
    return isinstance(orig, OverflowError | UnicodeError | ValueError | TypeError)


def _maybe_the_rows(exc: BaseException) -> bool:
    """Worth retrying row by row: a data fault, or a constraint violation (one row's, or every
    row's: that shows when the other rows store or not). Anything else (an outage the retries
    gave up on, a full disk, a read-only file, a missing table, a bug in our code) is raised at
    once: rows that happen to fit must not make the others look refused."""
    return isinstance(exc, IntegrityError) or _data_fault(exc)


def refused_reason(exc: BaseException) -> str:
    """The database's or driver's own words, one line: ``NumericValueOutOfRange: bigint out of
    range``."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return f"{type(orig).__name__}: {text.splitlines()[0] if text else '?'}"


@dataclass
class StoreOutcome:
    """What :func:`store_rows` did: counts of stored rows, and the refused rows by position."""

    stored: UpsertResult = field(default_factory=UpsertResult)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (index in rows, reason)
    # Rows [0, done) are stored or refused; a failure leaves the rest for another attempt.
    done: int = 0


def store_rows(
    store: Store,
    rows: list[MentionRow],
    now: datetime | None = None,
    outcome: StoreOutcome | None = None,
) -> StoreOutcome:
    """Upsert ``rows`` in transactions of at most :data:`BATCH_ROWS`, isolating refused rows.

    When a transaction fails for a value or a constraint, its rows are tried one at a time: a
    row refused for a value, or for a constraint while other rows of the batch store fine, is
    refused alone; when no row can be stored and not for a value, the first error is raised.
    Pass ``outcome`` to learn how far a failed call got:
    ``outcome.done`` rows were already stored or refused and need not be tried again."""
    outcome = outcome if outcome is not None else StoreOutcome()
    while outcome.done < len(rows):
        start = outcome.done
        chunk = rows[start : start + BATCH_ROWS]
        try:
            outcome.stored += upsert_mentions(store, chunk, now=now)
            outcome.done += len(chunk)
            continue
        except Exception as exc:
            if not _maybe_the_rows(exc):
                raise
            first_error = exc
        stored, failed = UpsertResult(), []
        for offset, row in enumerate(chunk):
            try:
                stored += upsert_mentions(store, [row], now=now)
            except Exception as exc:
                if not _maybe_the_rows(exc):
                    raise  # an outage midway: the whole chunk is tried again (idempotent)
                failed.append((offset, exc))
        stored_any = len(failed) < len(chunk)
        if not stored_any and not all(_data_fault(exc) for _, exc in failed):
            raise first_error
        outcome.stored += stored
        for offset, exc in failed:
            reason = refused_reason(exc)
            outcome.refused.append((start + offset, reason))
            row = chunk[offset]
            log.warning(
                "database refused mention %s/%s: %s",
                row.get("platform"),
                row.get("post_id"),
                reason,
            )
        outcome.done = start + len(chunk)
    return outcome


class StorePipeline:
    def __init__(self, url: str, batch: int, stats, now: datetime | None = None):
        self.url = url
        self.batch = batch
        self.stats = stats
        self.now = now
        self.store: Store | None = None
        self.buffer: list = []

    @classmethod
    def from_crawler(cls, crawler):
        from pipeline.config import config_for_crawler

        config = config_for_crawler(crawler)
        fixed_now = crawler.settings.get("YUQING_NOW")
        return cls(
            config.database_url(),
            crawler.settings.getint("YUQING_STORE_BATCH", 100),
            crawler.stats,
            datetime.fromisoformat(fixed_now) if fixed_now else None,
        )

    def open_spider(self, spider=None):
        self.store = Store.open(self.url)

    def process_item(self, item, spider=None):
        self.buffer.append(item)
        if len(self.buffer) >= self.batch:
            self.flush()
        return item

    def flush(self) -> None:
        if not self.buffer:
            return
        rows, self.buffer = self.buffer, []
        if self.now is not None:
            for row in rows:
                row["crawled_at"] = self.now
        outcome = StoreOutcome()
        try:
            store_rows(self.store, rows, now=self.now, outcome=outcome)
        except Exception:
            # Keep the rows not yet handled: the next flush (or close) tries them again.
            self.buffer = rows[outcome.done :] + self.buffer
            self.stats.inc_value("yuqing/store/failed_flushes")
            log.exception("storing %d mentions failed; will retry", len(rows) - outcome.done)
            raise
        finally:
            self._count(outcome)

    def _count(self, outcome: StoreOutcome) -> None:
        for name in ("inserted", "updated", "unchanged", "snapshots"):
            self.stats.inc_value(f"yuqing/store/{name}", getattr(outcome.stored, name))
        if outcome.refused:
            self.stats.inc_value("yuqing/dropped/database_refused", len(outcome.refused))

    def close_spider(self, spider=None):
        try:
            self.flush()
        finally:
            if self.store is not None:
                self.store.close()
