"""Downloader middlewares that keep the crawlers polite and hard to ban.

- :class:`BackoffRetryMiddleware`: Scrapy's retry, plus ban codes (418, 403, 432) and an
  exponential pause before each retry, because hammering a site that just said "slow down" is
  how a temporary block becomes a long one. Counts errors by kind in the stats.
- :class:`RotatingUserAgentMiddleware`: a different browser User-Agent per request.
- :class:`ProxyListMiddleware`: rotates through a proxy list when one is configured.
"""

from __future__ import annotations

import itertools
import os
import random

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import sleep

# Mobile browsers first: m.weibo.cn serves its JSON API to mobile clients.
DEFAULT_USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S9180) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Safari/605.1.15",
]


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Pause before retry number ``attempt`` (1, 2, ...): base, 2*base, 4*base ... up to cap,
    with +-25% jitter so parallel crawlers do not retry in lockstep."""
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay * random.uniform(0.75, 1.25)


class BackoffRetryMiddleware(RetryMiddleware):
    """Retries like Scrapy's RetryMiddleware; a retried request first waits its backoff."""

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 2.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)

    async def process_request(self, request, spider=None):
        # Scrapy's get_retry_request() (used here and by spiders that detect a block page)
        # records the attempt number in meta["retry_times"].
        attempt = request.meta.get("retry_times", 0)
        if attempt and self.backoff_base > 0:
            await sleep(backoff_seconds(attempt, self.backoff_base, self.backoff_max))
        return None

    def process_response(self, request, response, spider=None):
        if response.status in self.retry_http_codes:
            self.crawler.stats.inc_value(f"yuqing/errors/http_{response.status}")
        return super().process_response(request, response)

    def process_exception(self, request, exception, spider=None):
        self.crawler.stats.inc_value(f"yuqing/errors/{type(exception).__name__}")
        return super().process_exception(request, exception)


class RotatingUserAgentMiddleware:
    def __init__(self, user_agents: list[str]):
        self.user_agents = user_agents

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getlist("USER_AGENT_LIST") or DEFAULT_USER_AGENTS)

    def process_request(self, request, spider=None):
        if b"User-Agent" not in request.headers:
            request.headers[b"User-Agent"] = random.choice(self.user_agents)
        return None


class ProxyListMiddleware:
    """Round-robin over ``PROXY_LIST`` plus the proxies in ``$YUQING_PROXIES`` (one per line).
    The variable exists so proxy passwords never appear in the settings Scrapy logs."""

    def __init__(self, proxies: list[str]):
        self._next = itertools.cycle(proxies)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        proxies = list(settings.getlist("PROXY_LIST"))
        proxies += os.environ.get(settings.get("PROXY_LIST_ENV", "YUQING_PROXIES"), "").split()
        if not proxies:
            raise NotConfigured("no proxies configured")
        return cls(proxies)

    def process_request(self, request, spider=None):
        if "proxy" not in request.meta:
            request.meta["proxy"] = next(self._next)
        return None
