"""Scrapy extension: the crawl-run record and incremental state of one spider run.

On open it gives the spider its per-stream watermarks (``storage.crawl_state``) and records a
``crawl_run`` (or adopts the one ``yuqing crawl`` created, ``YUQING_CRAWL_RUN_ID``). On close it
writes the run's outcome and stats, and moves the watermark of every stream the spider covered
completely. Watermarks move only when the run ended by itself ("finished") and every mention was
stored, so a run that was interrupted, timed out or blocked is re-covered by the next run: no
gaps, and no duplicates because the upsert is idempotent.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from alerts.secrets import redact
from pipeline.config import config_for_crawler
from storage.crawl_state import advance_watermarks, load_watermarks
from storage.db import Store
from storage.runs import adopt_run, finish_run, items_before, start_run

log = logging.getLogger(__name__)

# Close reasons that mean "stopped early but what was stored is good".
PARTIAL_REASONS = frozenset({"closespider_timeout", "closespider_pagecount", "shutdown"})


def run_status(reason: str, incomplete: dict[str, str]) -> str:
    if reason == "finished":
        return "partial" if incomplete else "finished"
    return "partial" if reason in PARTIAL_REASONS else "failed"


def summarise_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """Scrapy's stats as JSON, plus the counters people look for grouped by kind."""
    plain = {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in sorted(stats.items())
    }
    dropped = _group(plain, "yuqing/dropped/") | {
        f"invalid/{key}": n for key, n in _group(plain, "yuqing/invalid/").items()
    }
    errors = _group(plain, "yuqing/errors/")
    return {
        "dropped": dropped,
        "errors": errors,
        "field_problems": _group(plain, "yuqing/field/"),
        "parse_failed": _group(plain, "yuqing/parse_failed/"),
        "withheld": _group(plain, "yuqing/withheld/"),
        "scrapy": plain,
    }


def _group(stats: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {key.removeprefix(prefix): n for key, n in stats.items() if key.startswith(prefix)}


def layout_message(failures: list[tuple[str, str, str | None]]) -> str:
    """The run's message when pages parsed to nothing: the first page's kind and URL."""
    kind, url, saved = failures[0]
    more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
    kept = f"; copy in {saved}" if saved else ""
    return f"page layout changed? {kind} page {url} gave none of its entries{more}{kept}"


class CrawlStateExtension:
    def __init__(self, crawler, store: Store, run_id: int):
        self.crawler = crawler
        self.store = store
        self.run_id = run_id
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        spider = crawler.spider
        if not settings.getbool("YUQING_CRAWL_STATE", True):
            raise NotConfigured("YUQING_CRAWL_STATE is off")
        if spider is None or not hasattr(spider, "watermarks"):
            raise NotConfigured("not a yuqing spider")
        store = Store.open(config_for_crawler(crawler).database_url())
        run_id = settings.getint("YUQING_CRAWL_RUN_ID")
        if run_id:
            adopt_run(store, run_id)
        else:
            run_id = start_run(store, spider.name, spider.topic)
        spider.run_id = run_id
        if not settings.getbool("CRAWL_FULL"):
            spider.watermarks = load_watermarks(store, spider.name, spider.topic)
        if spider.watermarks:
            log.info("incremental crawl: %d stream(s) with a watermark", len(spider.watermarks))
        return cls(crawler, store, run_id)

    def spider_closed(self, spider, reason: str) -> None:
        try:
            self._record(spider, reason)
        finally:
            self.store.close()

    def _record(self, spider, reason: str) -> None:
        stats = self.crawler.stats.get_stats()
        progress = spider.progress
        # Sharing a crawl through Redis, a process that is not the round's last one saw only
        # part of each stream (others paged on): only its own failures make its run incomplete,
        # and the last one decides the watermarks over everyone's progress.
        member = getattr(spider, "shared_round", None) == "member"
        incomplete = {
            name: p.failed or p.stopped or "unfinished"
            for name, p in progress.items()
            if (p.failed if member else not p.complete)
        }
        stored_all = not stats.get("yuqing/store/failed_flushes")
        advanced: list[str] = []
        if reason == "finished" and stored_all and not member:
            newest = {n: p.newest for n, p in progress.items() if p.complete and p.newest}
            if newest:
                advance_watermarks(self.store, spider.name, spider.topic, newest, self.run_id)
                advanced = sorted(newest)
        status = run_status(reason, incomplete)
        message = spider.close_message
        if message is None and reason != "finished":
            message = f"stopped: {reason}"
        if message is None and incomplete:
            message = "incomplete: " + ", ".join(f"{n} ({why})" for n, why in incomplete.items())
        if spider.layout_failures:
            status = "failed"
            message = "; ".join(filter(None, [layout_message(spider.layout_failures), message]))
        elif status == "finished" and (empty := self._empty_run(spider, stats)):
            status, message = "failed", empty
            self.crawler.stats.inc_value("yuqing/parse_failed/run")
            stats = self.crawler.stats.get_stats()
        summary = summarise_stats(stats)
        summary["close_reason"] = reason
        summary["streams"] = {
            name: {
                "pages": p.pages,
                "newest": p.newest.isoformat() if p.newest else None,
                "stopped": p.stopped,
                "failed": p.failed,
                "watermark_advanced": name in advanced,
            }
            for name, p in progress.items()
        }
        errors = sum(
            n
            for key, n in summary["errors"].items()
            if key.startswith(("gave_up/", "parse/")) or key in ("cookie_expired",)
        ) + sum(summary["parse_failed"].values())
        if message:  # it may name a URL with a token or a proxy with its password
            message = redact(message)
        finish_run(
            self.store,
            self.run_id,
            status,
            pages=stats.get("response_received_count", 0),
            items=stats.get("item_scraped_count", 0),
            errors=errors + (1 if status == "failed" else 0),
            message=message,
            stats=summary,
        )
        log.info("crawl run %d: %s%s", self.run_id, status, f" ({message})" if message else "")

    def _empty_run(self, spider, stats: dict[str, Any]) -> str | None:
        """A message when every page came back empty although this source's previous runs
        stored items (a site that now answers "nothing here" to everything); else None."""
        pages = stats.get("response_received_count", 0)
        if not pages or stats.get("item_scraped_count") or stats.get("yuqing/found"):
            return None
        if not getattr(spider, "expects_entries", True):
            return None
        before = items_before(self.store, spider.name, spider.topic, self.run_id)
        if not before:
            return None
        return (
            f"page layout changed? no entries on any of {pages} page(s), "
            f"though the previous runs stored {before} item(s)"
        )
