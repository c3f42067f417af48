"""News sites: RSS and Atom feeds (feedparser) plus each article's page, whose body comes from
trafilatura, a maintained article extractor; the date and the writer are read from the page here,
because extractors take a date-only meta tag or the editor's line as good enough.

Chinese sites often print dates as ``2025年05月30日 14:05`` or ``2025-05-30 14:05:00`` without
an offset, in feeds and pages alike; those are Beijing time (feedparser would read them as UTC,
eight hours off), so such dates are read here.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone

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
    "time::attr(datetime)",
)
# A date, an optional time and a zone written before or after the time: 2012年12月10日,
# 格林尼治标准时间10:41 (BBC), 2023-11-17 15:13:08 +08:00, 2024-01-05 08:00 GMT.
_PAGE_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:(?:[\s,，]*|T)(?P<before>格林尼治标准时间|北京时间|GMT|UTC)?\s*"
    r"(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?"
    r"\s*(?P<after>GMT|UTC|Z\b|[+-]\d{2}:?\d{2})?)?"
)
_ZONES = {"格林尼治标准时间": UTC, "GMT": UTC, "UTC": UTC, "Z": UTC, "北京时间": BEIJING}
# Writer bylines: 记者王敬照, 作者：张三, 文/李四, 文/图 王五. Editors (责任编辑, 编辑) and photo
# credits (图/X alone, "X 摄") are not writers.
_WRITER = re.compile(
    r"(?<!编)(?:记者\s*[:：]?|作者\s*[:：]|撰文\s*[:：]?"
    r"|(?<![\u4e00-\u9fff])文\s*(?:/\s*图\s*[:：｜|]?|[:：/｜|]))\s*"
    r"((?:(?!摄|报道)[\u4e00-\u9fff·]){2,4}?)(?=\s*(?:[\s）)、，,；;】\]]|报道|摄|$))"
)
_PHOTO_AFTER = re.compile(r"^\s*(?:/\s*)?摄")
_LABEL = re.compile(r"^(?:新华社)?(?:特约)?(?:记者|作者|撰文|文\s*/\s*图|文|图)\s*[:：/｜|]?\s*")
_PHOTO_LABEL = re.compile(r"^图\s*[:：/｜|]")  # 图/X alone credits the photos, not the text
_NOT_WRITER = ("编辑", "摄", "图片", "来源", "供图")
# Buttons news.cn prints inside the article body.
_BUTTON_TEXT = re.compile(r"【\s*纠错\s*】")


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


def _zoned(match: re.Match) -> datetime | None:
    """A page date match as an aware datetime: a written zone applied, Beijing time without."""
    year, month, day = (int(g) for g in match.groups()[:3])
    hh, mm, ss = match.group(5), match.group(6), match.group(7)
    zone_text = match.group("before") or match.group("after")
    if zone_text in _ZONES:
        zone = _ZONES[zone_text]
    elif zone_text:
        sign = 1 if zone_text[0] == "+" else -1
        digits = zone_text[1:].replace(":", "")
        zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    else:
        zone = BEIJING
    try:
        return datetime(year, month, day, int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=zone)
    except ValueError:
        return None


def _read_time(value: str) -> tuple[datetime, bool] | None:
    """A date text as (time, has a time of day)."""
    value = value.strip()
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
        precise = "T" in value or ":" in value
        return (found if found.tzinfo else found.replace(tzinfo=BEIJING)), precise
    except ValueError:
        pass
    match = _PAGE_DATE.search(value)
    if not match:
        return None
    found = _zoned(match)
    return (found, match.group(5) is not None) if found else None


def page_time(response) -> tuple[datetime, bool] | None:
    """The page's publication time and whether it is precise (has a time of day).

    A date-only meta tag (``publishdate`` = 2023-11-17) says less than the time printed near the
    headline, so a full timestamp from anywhere on the page beats it."""
    date_only = None
    candidates = [v for selector in _META_DATES for v in response.css(selector).getall()]
    # The date line near the headline: the first full date in the page's visible text.
    candidates.append(" ".join(response.css("body *:not(script):not(style)::text").getall()))
    for value in candidates:
        found = _read_time(value or "")
        if found is None:
            continue
        if found[1]:
            return found
        date_only = date_only or found
    return date_only


def byline_writer(text: str) -> str | None:
    """The first writer named in a byline, without its label; never an editor or a photo
    credit ("新华社记者才扬摄")."""
    for match in _WRITER.finditer(text or ""):
        if not _PHOTO_AFTER.match(text[match.end() :]):
            return match.group(1)
    return None


def clean_author(name: str | None) -> str | None:
    """An extractor's or feed's author field as a writer's name, or None for an editor or a
    photo credit ("责任编辑：孔德明")."""
    name = " ".join((name or "").split())
    if not name or any(word in name for word in _NOT_WRITER) or _PHOTO_LABEL.match(name):
        return None
    return _LABEL.sub("", name).strip() or None


def post_id_for(url: str) -> str:
    # Articles have no numeric id common to all sites; the URL identifies them.
    return hashlib.sha1(url.encode()).hexdigest()[:32]


class NewsSpider(MentionSpider):
    name = "news"
    platform = "news"
    page_kinds = {"article": "parse_article", "feed": "parse_feed"}

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
        self.found(response, len(parsed.entries))
        if not parsed.entries and parsed.get("feed", {}).get("title"):
            self.shown_empty(response, "feed has no entries")
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
            item["text"] = _BUTTON_TEXT.sub("", data["text"]).strip()
        else:
            self.field_problem("article/text")
        if data.get("title") and not item.get("title"):
            item["title"] = data["title"]
        # The most precise time wins: the page's full timestamp, then the feed's, then a
        # date-only one from the page or the extractor.
        found = page_time(response)
        if found is not None and (found[1] or item.get("published_at") is None):
            item["published_at"] = self.published(found[0])
        elif item.get("published_at") is None and data.get("date"):
            item["published_at"] = f"{data['date']}T00:00:00+08:00"
        if item.get("published_at") is None:
            self.field_problem("article/date")
            return
        visible = " ".join(response.css("body *:not(script):not(style)::text").getall())
        author = (
            byline_writer(visible)
            or clean_author(data.get("author"))
            or clean_author((item.get("author") or {}).get("name"))
        )
        item["author"] = {"name": author} if author else None
        if data.get("sitename"):
            item["extra"]["site"] = data["sitename"]
        yield item
