"""What every yuqing spider shares: the topic argument, per-stream incremental paging, block
handling and field-problem counters.

A *stream* is one newest-first listing the spider pages through: one search term, one forum
board, one feed. For each stream the crawl-state extension (``pipeline/crawl_state.py``) sets
``watermarks[stream]``, the newest post time of the last *complete* pass. The spider pages until
it reaches ``watermark - overlap`` and reports per stream how far it got; only a complete stream
moves its watermark, so an interrupted or failed run is simply re-covered by the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import scrapy
from scrapy import signals
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import CloseSpider

from storage.aggregates import FUTURE_SKEW


@dataclass
class StreamProgress:
    pages: int = 0
    newest: datetime | None = None
    # Why paging stopped: "caught_up" (reached the watermark), "end" (no more pages),
    # "max_pages"; None while still paging.
    stopped: str | None = None
    failed: str | None = None  # the first error that left a hole in this stream

    @property
    def complete(self) -> bool:
        return self.stopped in ("caught_up", "end") and self.failed is None


class MentionSpider(scrapy.Spider):
    """Base class: subclasses set ``name`` and ``platform`` and yield ``MentionItem``s."""

    platform: str = ""
    # True when the spider needs a topic to know what to search for.
    topic_required = False
    # Set by crawlers.redis_scheduler when processes share this crawl: "member" while others
    # may carry on with its streams, "last" when its progress is the whole round's.
    shared_round: str | None = None
    # Page kind -> callback name; the first is the default kind of ``yuqing parse-page``. A
    # page of one of these kinds that shows none of its entries is a parse failure
    # (crawlers/page_guard.py), unless the callback says the site itself showed it empty.
    page_kinds: dict[str, str] = {}
    # False for runs that may rightly find nothing (re-reading given posts that may be gone):
    # an all-empty run is then not taken for a layout change.
    expects_entries = True

    def __init__(self, topic: str | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.topic = topic or None
        # Set by the crawl-state extension before the first request.
        self.watermarks: dict[str, datetime] = {}
        self.progress: dict[str, StreamProgress] = {}
        self.close_message: str | None = None
        # Pages that parsed to nothing: (kind, url, saved copy or None), see page_guard.
        self.layout_failures: list[tuple[str, str, str | None]] = []
        # The crawl_run id, set by the crawl-state extension (names the saved-page folder).
        self.run_id: int | None = None

    def _set_crawler(self, crawler) -> None:
        super()._set_crawler(crawler)
        crawler.signals.connect(self._on_spider_error, signal=signals.spider_error)

    async def start(self):
        self.setup()
        for request in self.first_requests():
            yield request

    def setup(self) -> None:
        """Read settings. Not in __init__ or _set_crawler: the config add-on (and so the
        topics, forums and base URLs) is applied after the spider object is created."""
        settings = self.settings
        self.max_pages = settings.getint("CRAWL_MAX_PAGES", 20)
        self.overlap = timedelta(minutes=settings.getfloat("CRAWL_OVERLAP_MINUTES", 30))
        self.max_block_retries = settings.getint("RETRY_TIMES", 3)
        self.thread_max_pages = settings.getint("THREAD_MAX_PAGES", 5)
        clock = settings.get("YUQING_CLOCK")
        self.fixed_now = datetime.fromisoformat(clock) if clock else None

    def first_requests(self):
        """The first request of each stream."""
        return []

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        """ "Now" for relative dates; ``YUQING_CLOCK`` pins it in tests."""
        return self.fixed_now or datetime.now(UTC)

    def crawled_at(self) -> str:
        return datetime.now(UTC).isoformat()

    # -- topics -------------------------------------------------------------------------------

    def search_terms(self, topic: str | None = None) -> list[str]:
        """What to type into the site's search box for a topic (default: the run's): one query
        per `any` keyword, each with all `must` keywords, as configured (``YUQING_TOPICS``);
        for a topic not in the config, its name."""
        topic = topic or self.topic
        if not topic:
            return []
        rule = self.configured_topics().get(topic)
        if not rule:
            return [topic]
        must = list(rule.get("must") or [])
        anys = list(rule.get("any") or [])
        if not anys:
            return [" ".join(must)]
        return [" ".join([*must, word]) for word in anys]

    def configured_topics(self) -> dict[str, dict]:
        """Configured topics crawled on this spider's platform, by name."""
        return {
            name: rule
            for name, rule in (self.settings.getdict("YUQING_TOPICS") or {}).items()
            if self.platform in (rule.get("platforms") or [self.platform])
        }

    def published(self, when: datetime) -> str:
        """A post time as the item's ``published_at``. A time a little ahead of our clock (the
        site's clock runs fast) becomes now: a mention cannot be crawled before it was
        published. Further ahead than ``FUTURE_SKEW`` the date is wrong, not early: it is
        passed on as it is and the validation step rejects the item, counted."""
        now = datetime.now(UTC)
        if when > now:
            self.field_problem("time_in_future")
            if when - now <= FUTURE_SKEW:
                when = now
        return when.isoformat()

    def topics(self) -> list[str]:
        return [self.topic] if self.topic else []

    # -- incremental paging -------------------------------------------------------------------

    def stream(self, name: str) -> StreamProgress:
        return self.progress.setdefault(name, StreamProgress())

    def stop_before(self, stream: str) -> datetime | None:
        mark = self.watermarks.get(stream)
        return mark - self.overlap if mark else None

    def is_known(self, stream: str, published_at: datetime | None) -> bool:
        """True for posts old enough that a previous complete run stored them."""
        cutoff = self.stop_before(stream)
        return bool(cutoff and published_at and published_at <= cutoff)

    def saw(self, stream: str, published_at: datetime) -> None:
        """Note a post's time: the newest one becomes the stream's next watermark."""
        progress = self.stream(stream)
        if progress.newest is None or published_at > progress.newest:
            progress.newest = published_at

    def page_done(
        self, stream: str, times: list[datetime], has_next: bool = True, exact: bool = True
    ) -> bool:
        """Record one listing page (its entries' times, in any order); True when the next page
        should be fetched. ``exact=False``: the times are only upper bounds (a forum list that
        shows "5-31" for a reply at 5-31 20:15), good for deciding where to stop but not as a
        watermark; the spider then calls :meth:`saw` with the real post times."""
        progress = self.stream(stream)
        progress.pages += 1
        if times and exact:
            self.saw(stream, max(times))
        if not times or not has_next:
            progress.stopped = "end"
        elif self.is_known(stream, min(times)):
            progress.stopped = "caught_up"
        elif progress.pages >= self.max_pages:
            progress.stopped = "max_pages"
        if progress.stopped:
            self.crawler.stats.inc_value(f"yuqing/streams/{progress.stopped}")
            return False
        return True

    def stream_failed(self, stream: str | None, kind: str) -> None:
        if stream is not None:
            progress = self.stream(stream)
            progress.failed = progress.failed or kind

    # -- what a page showed (read by crawlers/page_guard.py) -----------------------------------

    @staticmethod
    def found(response, n: int = 1) -> None:
        """The page showed ``n`` entries of its kind (posts, threads, articles), whether or not
        they become items (already stored, pinned, filtered). Items yielded count by themselves:
        call this for entries a callback recognised but does not yield."""
        response.meta["yuqing_found"] = response.meta.get("yuqing_found", 0) + n

    @staticmethod
    def shown_empty(response, why: str) -> None:
        """The site itself says the page is empty ("这里还没有内容", a search with no results):
        an empty answer, not a layout the parser no longer understands."""
        response.meta["yuqing_empty"] = why

    # -- errors -------------------------------------------------------------------------------

    def field_problem(self, name: str) -> None:
        """A field that could not be read becomes a counter, never a crash."""
        self.crawler.stats.inc_value(f"yuqing/field/{self.name}/{name}")

    def count_withheld(self, where: str, why: str) -> None:
        """A post the site shows only as a notice (deleted, hidden by its author's settings):
        not a field we failed to read, so not a field problem, but counted so nothing vanishes
        (the run's ``stats.withheld``)."""
        self.crawler.stats.inc_value(f"yuqing/withheld/{self.name}/{where}/{why}")

    def request_failed(self, failure):
        """Errback of every request: the stream it belongs to now has a hole."""
        request = failure.request
        response = getattr(failure.value, "response", None)
        kind = f"http_{response.status}" if response is not None else type(failure.value).__name__
        self.crawler.stats.inc_value(f"yuqing/errors/gave_up/{kind}")
        self.stream_failed(request.meta.get("stream"), kind)
        self.logger.error("giving up on %s: %s", request.url, kind)
        return self.after_failure(request, kind)

    def after_failure(self, request, kind: str):
        """Hook: a spider can end the run on some failures (e.g. Weibo's ban codes)."""
        return None

    def _on_spider_error(self, failure, response, spider):
        if spider is self:
            self.crawler.stats.inc_value(f"yuqing/errors/parse/{type(failure.value).__name__}")
            self.stream_failed(response.meta.get("stream"), "parse_error")

    def retry_or_close(self, response, reason: str, close_reason: str | None = "blocked") -> list:
        """A page that is a block, garbage or cut short: retry it with backoff (use as
        ``yield from self.retry_or_close(...)``). Once retries are used up, the stream has a
        hole; with a ``close_reason`` the run also ends, with a message saying what happened
        (a block rarely lifts within one run)."""
        self.crawler.stats.inc_value(f"yuqing/errors/{reason}")
        response.meta["yuqing_unusable"] = reason
        retry = get_retry_request(
            self.original_request(response),
            spider=self,
            reason=reason,
            max_retry_times=self.max_block_retries,
        )
        if retry is not None:
            return [retry]
        # Given up: counted with the run's errors like a request that failed outright.
        self.crawler.stats.inc_value(f"yuqing/errors/gave_up/{reason}")
        self.stream_failed(response.meta.get("stream"), reason)
        self.logger.error("%s at %s after %d retries", reason, response.url, self.max_block_retries)
        if close_reason:
            self.end_run(
                close_reason,
                f"{reason} at {response.url} after {self.max_block_retries} retries",
            )
        return []

    @staticmethod
    def original_request(response):
        """The request as the spider made it: after a redirect (to a captcha page, say) a retry
        must ask for the page we wanted, not the page we were sent to."""
        request = response.request
        meta = {
            key: value
            for key, value in request.meta.items()
            if not key.startswith("redirect_") and key != "download_latency"
        }
        origin = request.meta.get("redirect_urls")
        return request.replace(url=origin[0] if origin else request.url, meta=meta)

    def end_run(self, reason: str, message: str):
        """End the run (raises CloseSpider); the message lands in the crawl-run record."""
        self.close_message = self.close_message or message
        self.logger.error("%s: %s", reason, message)
        raise CloseSpider(reason)
