"""News sites: RSS and Atom feeds (feedparser) plus each article's page, whose body, date and
author come from trafilatura, a maintained article extractor.

Chinese sites often print dates as ``2025年05月30日 14:05`` or ``2025-05-30 14:05:00`` without
an offset, in feeds and pages alike; those are Beijing time (feedparser would read them as UTC,
eight hours off), so such dates are read here.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import feedparser
import scrapy
import trafilatura

from crawlers.dates import BEIJING, find_chinese_date
from crawlers.items import MentionItem
from crawlers.spiders.base import MentionSpider

# An explicit offset or zone name: feedparser reads those correctly.
_HAS_ZONE = re.compile(r"([+-]\d{2}:?\d{2}|\b(?:GMT|UTC|Z|[ECMP][SD]T)\b)\s*$")
_META_DATES = (
    'meta[property="article:published_time"]::attr(content)',
    'meta[name="pubdate"]::attr(content)',
    'meta[name="publishdate"]::attr(content)',
    'meta[itemprop="datePublished"]::attr(content)',
)
_BYLINE = re.compile(r"(?:记者|作者|编辑)[:：\s]\s*([\u4e00-\u9fff·]{2,8})")


def entry_time(raw: str | None, parsed) -> datetime | None:
    """A feed entry's time: Chinese and offset-less dates as Beijing time, the rest as
    feedparser parsed them (always UTC)."""
    if raw and not _HAS_ZONE.search(raw.strip()):
        found = find_chinese_date(raw)
        if found:
            return found
    if parsed:
        return datetime(*parsed[:6], tzinfo=UTC)
    return None


def page_time(response) -> datetime | None:
    for selector in _META_DATES:
        value = response.css(selector).get()
        if value:
            try:
                found = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
                return found if found.tzinfo else found.replace(tzinfo=BEIJING)
            except ValueError:
                found = find_chinese_date(value)
                if found:
                    return found
    # The date line near the headline: the first full date in the page's visible text.
    return find_chinese_date(" ".join(response.css("body *:not(script):not(style)::text").getall()))


def post_id_for(url: str) -> str:
    # Articles have no numeric id common to all sites; the URL identifies them.
    return hashlib.sha1(url.encode()).hexdigest()[:32]


class NewsSpider(MentionSpider):
    name = "news"
    platform = "news"

    def setup(self) -> None:
        super().setup()
        self.feeds = [dict(feed) for feed in self.settings.getlist("NEWS_FEEDS")]

    def first_requests(self):
        if not self.feeds:
            self.end_run("nothing_to_crawl", "no news feed configured ([[crawl.news]])")
        return [
            scrapy.Request(
                feed["feed"],
                callback=self.parse_feed,
                errback=self.request_failed,
                meta={"stream": f"feed:{feed['name']}"},
                cb_kwargs={"feed": feed},
            )
            for feed in self.feeds
        ]

    def parse_feed(self, response, feed: dict):
        stream = f"feed:{feed['name']}"
        parsed = feedparser.parse(response.body)
        if parsed.bozo and not parsed.entries:
            yield from self.retry_or_close(response, "news/bad_feed", close_reason=None)
            return
        self.crawler.stats.inc_value("yuqing/pages/feed")
        times = []
        for entry in parsed.entries:
            link = entry.get("link")
            when = entry_time(
                entry.get("published") or entry.get("updated"),
                entry.get("published_parsed") or entry.get("updated_parsed"),
            )
            if not link:
                self.field_problem("feed/link")
                continue
            if when is not None:
                times.append(when)
                if self.is_known(stream, when):
                    continue
            item = MentionItem(
                platform=self.platform,
                post_id=post_id_for(link),
                url=link,
                text=entry.get("summary") or "",
                title=entry.get("title"),
                topics=[],
                author={"name": entry["author"]} if entry.get("author") else None,
                published_at=self.published(when) if when else None,
                crawled_at=self.crawled_at(),
                extra={"source": feed["name"]},
            )
            if feed.get("fetch_articles", True):
                yield scrapy.Request(
                    link,
                    callback=self.parse_article,
                    errback=self.request_failed,
                    meta={"stream": stream},
                    cb_kwargs={"item": item},
                )
            elif when is not None:
                yield item
            else:
                self.field_problem("feed/date")
        self.page_done(stream, times, has_next=False)

    def parse_article(self, response, item: MentionItem):
        if b"</html>" not in response.body[-2048:].lower():
            yield from self.retry_or_close(response, "truncated", close_reason=None)
            return
        self.crawler.stats.inc_value("yuqing/pages/article")
        extracted = trafilatura.bare_extraction(
            response.text, url=response.url, with_metadata=True, include_comments=False
        )
        data = extracted.as_dict() if hasattr(extracted, "as_dict") else (extracted or {})
        if data.get("text"):
            item["text"] = data["text"]
        else:
            self.field_problem("article/text")
        if data.get("title") and not item.get("title"):
            item["title"] = data["title"]
        when = page_time(response)
        if when is not None:
            item["published_at"] = self.published(when)
        elif item.get("published_at") is None and data.get("date"):
            item["published_at"] = f"{data['date']}T00:00:00+08:00"
        if item.get("published_at") is None:
            self.field_problem("article/date")
            return
        byline = _BYLINE.search(" ".join(response.css("body *::text").getall()))
        author = data.get("author") or (byline.group(1) if byline else None)
        if author:
            item["author"] = {"name": author}
        if data.get("sitename"):
            item["extra"]["site"] = data["sitename"]
        yield item
