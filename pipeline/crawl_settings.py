"""Scrapy add-on that turns ``yuqing.toml`` into crawl settings, so the config file is the one
place to list topics, forums, feeds, limits and politeness, and ``-s NAME=VALUE`` still wins.

Secrets (the Weibo cookie, proxy URLs, the Redis URL) never become settings, because Scrapy logs its
overridden settings; they are handed to the spider process through environment variables.
"""

from __future__ import annotations

import logging
import os

from alerts.secrets import SecretMissing, remember
from pipeline.config import ConfigError, load_config
from pipeline.logs import RedactSecrets

log = logging.getLogger(__name__)

# Equal to the project settings (crawlers/settings.py), which the add-on runs after, so the
# config wins over those defaults; the command line (-s) and spider settings still win over it.
PRIORITY = "project"
CRAWL_PIPELINES = {
    "pipeline.crawl_dedup.DuplicatePipeline": 150,  # after validate
    "pipeline.crawl_relevance.RelevancePipeline": 250,  # after normalise decided the topics
}


class ConfigSettingsAddon:
    @classmethod
    def from_crawler(cls, crawler):
        return cls()

    def update_settings(self, settings) -> None:
        config = load_config(settings.get("YUQING_CONFIG"))
        crawl = config.crawl
        values = {
            "YUQING_TOPICS": {
                t.name: {
                    "must": t.keywords.must,
                    "any": t.keywords.any,
                    "platforms": list(t.platforms),
                }
                for t in config.topics
            },
            "CRAWL_MAX_PAGES": crawl.max_pages,
            "CRAWL_OVERLAP_MINUTES": crawl.overlap_minutes,
            "ROBOTSTXT_OBEY": crawl.obey_robots,
            "DOWNLOAD_DELAY": crawl.download_delay,
            "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay, 1.0),
            "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_domain,
            "RETRY_TIMES": crawl.retry_times,
            "CLOSESPIDER_TIMEOUT": crawl.timeout_minutes * 60,
            "TIEBA_FORUMS": crawl.tieba_forums,
            "DISCUZ_FORUMS": [forum.model_dump() for forum in crawl.discuz],
            "NEWS_FEEDS": [feed.model_dump() for feed in crawl.news],
            "YUQING_PAGES_DIR": str(crawl.pages_dir),
            "YUQING_PAGES_PER_RUN": crawl.pages_per_run,
            "YUQING_PAGES_KEEP_RUNS": crawl.pages_keep_runs,
        }
        if crawl.user_agents:
            values["USER_AGENT_LIST"] = crawl.user_agents
        for platform, url in crawl.base_urls.items():
            values[f"{platform.upper()}_BASE_URL"] = url
        if crawl.redis:
            # Opt-in: processes on several machines share this crawl's queue and dupefilter.
            values["SCHEDULER"] = "crawlers.redis_scheduler.RedisScheduler"
            values["YUQING_REDIS_PREFIX"] = crawl.redis.key_prefix
        for name, value in values.items():
            settings.set(name, value, priority=PRIORITY)
        self._add_crawl_pipelines(settings)

        self._export_secret(crawl.weibo_cookie, settings.get("WEIBO_COOKIE_ENV"), config.source)
        self._export_secret(crawl.proxies, settings.get("PROXY_LIST_ENV"), config.source)
        if crawl.redis:
            self._export_secret(crawl.redis.url, settings.get("REDIS_URL_ENV"), config.source)
        self._redact_logs(
            settings.get(name) for name in ("WEIBO_COOKIE_ENV", "PROXY_LIST_ENV", "REDIS_URL_ENV")
        )

    @staticmethod
    def _add_crawl_pipelines(settings) -> None:
        """The item path in crawlers/settings.py is the one `yuqing ingest` shares; a crawl adds
        two steps of its own: drop a post seen twice in the run, drop a post of no topic."""
        pipelines = settings.getdict("ITEM_PIPELINES")
        for path, order in CRAWL_PIPELINES.items():
            pipelines.setdefault(path, order)
        settings.set(
            "ITEM_PIPELINES", pipelines, priority=settings.getpriority("ITEM_PIPELINES") or 0
        )

    @staticmethod
    def _redact_logs(variables) -> None:
        """Scrapy set up its own log handlers before this add-on ran: give them the same
        redaction as yuqing's, knowing the cookie, proxies and Redis URL of this run (they
        arrive in environment variables, whether from the config or set by ops)."""
        for variable in variables:
            value = os.environ.get(variable or "") or ""
            # The whole value, and each line or cookie pair on its own (a proxy per line).
            parts = {value, *value.split(), *value.split(";")}
            for part in parts | {p.partition("=")[2] for p in parts}:
                if len(part.strip()) >= 6:
                    remember(part.strip())
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())

    @staticmethod
    def _export_secret(ref, variable: str | None, source: str) -> None:
        # An already-set variable wins: that is how ops override a secret for one run.
        if ref is None or not variable or os.environ.get(variable):
            return
        try:
            os.environ[variable] = ref.reveal()
        except SecretMissing as exc:
            raise ConfigError(source, [f"crawl: {exc}"]) from None
