"""Crawl item pipeline: drop a mention that matches no topic.

Forum boards and news feeds are browsed whole, so most of their posts are about something else;
keeping them would fill the database with noise. Runs after normalise, which decides the topics
(a searched topic is kept unless its exclude words hit). ``YUQING_REQUIRE_TOPIC = False`` keeps
everything.
"""

from __future__ import annotations

from scrapy.exceptions import DropItem, NotConfigured


class RelevancePipeline:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("YUQING_REQUIRE_TOPIC", True):
            raise NotConfigured("YUQING_REQUIRE_TOPIC is off")
        return cls(crawler.stats)

    def process_item(self, item, spider=None):
        if not item.get("topics"):
            self.stats.inc_value("yuqing/dropped/no_topic")
            raise DropItem(f"matches no topic: {item['platform']}:{item['post_id']}")
        return item
