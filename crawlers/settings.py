"""Scrapy settings of the yuqing crawlers. Per-run overrides come from ``-s NAME=VALUE``.

The item pipelines are the shared item path (validate -> normalise -> enrich -> store), the
same one ``yuqing ingest`` uses.
"""

BOT_NAME = "yuqing"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

ITEM_PIPELINES = {
    "pipeline.validate.ValidatePipeline": 100,
    "pipeline.normalise.NormalisePipeline": 200,
    "pipeline.enrich.EnrichPipeline": 300,
    "pipeline.store.StorePipeline": 900,
}

# Path of yuqing.toml; empty means $YUQING_CONFIG, ./yuqing.toml or the built-in defaults.
YUQING_CONFIG = None
YUQING_STORE_BATCH = 100

# Be a polite, steady client: sites ban bursts, not patience.
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
RETRY_TIMES = 3
TELNETCONSOLE_ENABLED = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
