"""Scrapy settings of the yuqing crawlers. Per-run overrides come from ``-s NAME=VALUE``.

The item pipelines are the shared item path (validate -> normalise -> enrich -> store), the
same one ``yuqing ingest`` uses; the config add-on below adds two crawl-only steps (drop a post
seen twice in one run, drop a post that matches no topic).

Limits and politeness (delay, concurrency, retries, robots.txt, timeout), base URLs, topics,
forums and feeds come from ``yuqing.toml`` through the add-on ``pipeline.crawl_settings``,
which overrides the defaults below; ``-s NAME=VALUE`` overrides both.
"""

BOT_NAME = "yuqing"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

ADDONS = {"pipeline.crawl_settings.ConfigSettingsAddon": 0}
EXTENSIONS = {"pipeline.crawl_state.CrawlStateExtension": 500}

ITEM_PIPELINES = {
    "pipeline.validate.ValidatePipeline": 100,
    "pipeline.normalise.NormalisePipeline": 200,
    "pipeline.enrich.EnrichPipeline": 300,
    "pipeline.store.StorePipeline": 900,
}

# A page that parses to nothing is a failure, not an empty result (crawlers/page_guard.py).
SPIDER_MIDDLEWARES = {"crawlers.page_guard.PageGuardMiddleware": 950}

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware": None,
    "crawlers.middlewares.RotatingUserAgentMiddleware": 500,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.BackoffRetryMiddleware": 550,
    "crawlers.middlewares.ProxyListMiddleware": 740,
}

# Path of yuqing.toml; empty means $YUQING_CONFIG, ./yuqing.toml or the built-in defaults.
YUQING_CONFIG = None
YUQING_STORE_BATCH = 100
# Set by `yuqing crawl`, which creates the crawl_run record before starting Scrapy.
YUQING_CRAWL_RUN_ID = 0
# Fixed "now" (ISO 8601) for relative dates such as 5分钟前; tests pin it.
YUQING_CLOCK = None
# True ignores the stored watermarks: a full crawl (up to CRAWL_MAX_PAGES).
CRAWL_FULL = False

# Copies of pages that parsed to nothing: <dir>/<spider>/<run>/, a few per run, newest runs.
YUQING_PAGES_DIR = "var/pages"
YUQING_PAGES_PER_RUN = 5
YUQING_PAGES_KEEP_RUNS = 20
YUQING_PAGES_MAX_BYTES = 2_000_000

# Every site's base URL is a setting, so the same spiders run against a replica or a mirror.
WEIBO_BASE_URL = "https://m.weibo.cn"
TIEBA_BASE_URL = "https://tieba.baidu.com"
# The cookie comes from this environment variable, never from a setting (settings are logged).
WEIBO_COOKIE_ENV = "YUQING_WEIBO_COOKIE"
# Hot comments are fetched for posts with at least this many comments, this many pages deep.
WEIBO_HOT_COMMENTS_FROM = 50
WEIBO_COMMENT_PAGES = 2
# Pages read per forum thread (tieba, discuz), starting from the first.
THREAD_MAX_PAGES = 5

# Sites ban bursts, not patience (yuqing.toml [crawl] sets these; defaults match its own).
ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = 1.0
CONCURRENT_REQUESTS_PER_DOMAIN = 2
RETRY_TIMES = 3
CRAWL_MAX_PAGES = 20
CRAWL_OVERLAP_MINUTES = 30
# AutoThrottle adapts the delay to the site's response times.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
# 418 (Weibo's "I'm a teapot" ban), 403 and 432 (Weibo's block page) are worth a slow retry.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429, 418, 403, 432]
# Spiders retry block pages with Scrapy's get_retry_request(), which sets retry_times itself.
META_COPY_WARN_SKIP_KEYS = ["retry_times"]
RETRY_BACKOFF_BASE = 2.0
RETRY_BACKOFF_MAX = 60.0
DOWNLOAD_TIMEOUT = 30
PROXY_LIST: list[str] = []
PROXY_LIST_ENV = "YUQING_PROXIES"
# [crawl.redis] sets SCHEDULER to crawlers.redis_scheduler.RedisScheduler and the key prefix;
# the URL (it may hold a password) travels in this environment variable, never in a setting.
REDIS_URL_ENV = "YUQING_REDIS_URL"
YUQING_REDIS_PREFIX = "yuqing"

# No control ports: a crawler process listens on nothing.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
