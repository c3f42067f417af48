"""Crawl item pipeline: drop a mention already seen in this run (one post listed on two pages,
because new posts pushed it down between two page requests). Across runs the idempotent upsert
on (platform, post_id) does the same job."""

from __future__ import annotations

from scrapy.exceptions import DropItem


class DuplicatePipeline:
    def __init__(self, stats):
        self.stats = stats
        self.seen: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item, spider=None):
        key = (item.platform, item.post_id)  # a validated MentionIn
        if key in self.seen:
            self.stats.inc_value("yuqing/dropped/duplicate")
            raise DropItem(f"duplicate mention {key[0]}:{key[1]}")
        self.seen.add(key)
        return item
