"""The one item class every spider yields; its fields are the mention exchange format
documented in ``docs/mention-format.md`` (the same format ``yuqing ingest`` reads)."""

import scrapy


class MentionItem(scrapy.Item):
    platform = scrapy.Field()
    post_id = scrapy.Field()
    url = scrapy.Field()
    text = scrapy.Field()
    title = scrapy.Field()
    topics = scrapy.Field()
    author = scrapy.Field()  # {"id", "name", "followers", "verified", "verified_type"}
    published_at = scrapy.Field()
    crawled_at = scrapy.Field()
    reposts = scrapy.Field()
    comments = scrapy.Field()
    likes = scrapy.Field()
    parent_post_id = scrapy.Field()
    extra = scrapy.Field()
