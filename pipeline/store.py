"""Step 4 of the item path, for Scrapy: buffer enriched rows and upsert them in batches.

The buffer is flushed every ``YUQING_STORE_BATCH`` items (default 100) and when the spider
closes. A failed flush keeps its rows for the next attempt (the upsert is idempotent).
``YUQING_NOW`` (ISO 8601) stamps the rows as crawled and matched at that time instead of the
clock, for crawls in simulated time (the demo): alerting counts them in the simulated bucket and
engagement snapshots get simulated times too.
"""

from __future__ import annotations

import logging
from datetime import datetime

from storage.db import Store
from storage.mentions import upsert_mentions

log = logging.getLogger(__name__)


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
        try:
            result = upsert_mentions(self.store, rows, now=self.now)
        except Exception:
            # Keep the rows: the next flush (or close) tries again; the upsert is idempotent.
            self.buffer = rows + self.buffer
            self.stats.inc_value("yuqing/store/failed_flushes")
            log.exception("storing %d mentions failed; will retry", len(rows))
            raise
        for name in ("inserted", "updated", "unchanged", "snapshots"):
            self.stats.inc_value(f"yuqing/store/{name}", getattr(result, name))

    def close_spider(self, spider=None):
        try:
            self.flush()
        finally:
            if self.store is not None:
                self.store.close()
