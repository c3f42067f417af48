"""Spider middleware: a page that parsed to nothing is a parse failure, never an empty result.

When a site changes its layout the selectors simply stop matching: the callback yields
nothing, raises nothing, and the run used to end "finished" with zero items. Here, a page of
one of the spider's ``page_kinds`` that answered 200 with a body is checked after its callback
ran. It is fine when the callback yielded an item, recognised entries (``spider.found``), was
told by the site that the page is empty (``spider.shown_empty``) or sent the page back for a
retry (a block or cut-off page, already counted as an error). Anything else is counted as
``yuqing/parse_failed/<kind>``, leaves a hole in its stream (no watermark moves past it), keeps
a copy of the page (``crawlers/page_archive.py``) and makes the crawl-state extension end the
run "failed" with "page layout changed?" and the URL, which ``source_health`` reports to ops.
"""

from __future__ import annotations

import logging

from scrapy import Request

from crawlers.page_archive import PageArchive

log = logging.getLogger(__name__)

LAYOUT_CHANGED = "layout_changed"


def page_kind(spider, response) -> str | None:
    """The kind of page ``response`` is, by the callback its request named; None if unchecked."""
    callback = getattr(response.request, "callback", None) if response.request else None
    name = getattr(callback, "__name__", None)
    for kind, callback_name in getattr(spider, "page_kinds", {}).items():
        if callback_name == name:
            return kind
    return None


def page_verdict(meta: dict, items: int) -> str:
    """What a page gave: "entries", "shown_empty", "unusable" (retried) or "nothing"."""
    if items or meta.get("yuqing_found"):
        return "entries"
    if meta.get("yuqing_unusable"):
        return "unusable"
    if meta.get("yuqing_empty"):
        return "shown_empty"
    return "nothing"


class PageGuardMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler
        self.archive = PageArchive.from_settings(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_spider_output(self, response, result, spider=None):
        items = 0
        for output in result:
            if not isinstance(output, Request):
                items += 1
            yield output
        self.check(response, items)

    async def process_spider_output_async(self, response, result, spider=None):
        items = 0
        async for output in result:
            if not isinstance(output, Request):
                items += 1
            yield output
        self.check(response, items)

    def check(self, response, items: int) -> None:
        spider = self.crawler.spider
        kind = page_kind(spider, response)
        if kind is None:
            return
        stats = self.crawler.stats
        verdict = page_verdict(response.meta, items)
        if verdict == "entries":
            stats.inc_value("yuqing/found", max(items, response.meta.get("yuqing_found", 0)))
            return
        if verdict == "shown_empty":
            stats.inc_value(f"yuqing/shown_empty/{kind}")
            return
        if verdict == "unusable" or response.status != 200 or not response.body.strip():
            return
        self.layout_failed(spider, response, kind)

    def layout_failed(self, spider, response, kind: str) -> None:
        self.crawler.stats.inc_value(f"yuqing/parse_failed/{kind}")
        spider.stream_failed(response.meta.get("stream"), LAYOUT_CHANGED)
        try:
            saved = self.archive.save(
                spider.name,
                getattr(spider, "run_id", None),
                kind,
                response.url,
                response.status,
                response.body,
                response.headers.get("Content-Type", b"").decode("latin-1"),
            )
        except OSError as error:  # a full disk must not hide the failure itself
            log.error("could not keep a copy of %s: %s", response.url, error)
            saved = None
        spider.layout_failures.append((kind, response.url, str(saved) if saved else None))
        log.error(
            "page layout changed? the %s page %s (%d bytes) gave none of its entries%s",
            kind,
            response.url,
            len(response.body),
            f"; copy kept in {saved}" if saved else "",
        )
