"""Run one spider callback on a saved page, like ``scrapy parse``, without crawling.

An operator (``yuqing crawl parse``) and the regression-page test use this same code path, so a
site that changed its layout shows up as a page that no longer yields what it used to.

Nothing here touches the network except :func:`fetch_local`, which only reads from 127.0.0.1 /
localhost (a replica or a saved-page server): pages of real sites are never fetched from here.
"""

from __future__ import annotations

import inspect
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler

from crawlers.items import MentionItem
from crawlers.page_guard import page_verdict
from crawlers.spiders.base import MentionSpider
from crawlers.spiders.discuz import DiscuzSpider
from crawlers.spiders.news import NewsSpider, post_id_for
from crawlers.spiders.tieba import TiebaSpider
from crawlers.spiders.weibo import WeiboSpider

SPIDERS: dict[str, type[MentionSpider]] = {
    "weibo": WeiboSpider,
    "tieba": TiebaSpider,
    "discuz": DiscuzSpider,
    "news": NewsSpider,
}

# Page kind -> callback, per spider (each spider's ``page_kinds``). The first kind is the default.
KINDS: dict[str, dict[str, str]] = {name: cls.page_kinds for name, cls in SPIDERS.items()}
ALL_KINDS = tuple(dict.fromkeys(kind for kinds in KINDS.values() for kind in kinds))

# Where a page "came from" when none is given: the spider's default site.
DEFAULT_URLS = {
    ("weibo", "search"): "https://m.weibo.cn/api/container/getIndex?page_type=searchall&page=1",
    ("weibo", "status"): "https://m.weibo.cn/statuses/show?id=1",
    ("weibo", "detail"): "https://m.weibo.cn/detail/1",
    ("weibo", "comments"): "https://m.weibo.cn/comments/hotflow?id=1&mid=1&max_id_type=0",
    ("weibo", "comments_show"): "https://m.weibo.cn/api/comments/show?id=1&page=1",
    ("weibo", "extend"): "https://m.weibo.cn/statuses/extend?id=1",
    ("tieba", "thread"): "https://tieba.baidu.com/p/1",
    ("tieba", "list"): "https://tieba.baidu.com/f?kw=example&pn=0",
    ("tieba", "search"): "https://tieba.baidu.com/f/search/res?qw=example&pn=1",
    ("discuz", "thread"): "https://bbs.example.com/forum.php?mod=viewthread&tid=1&page=1",
    ("discuz", "list"): "https://bbs.example.com/forum.php?mod=forumdisplay&fid=1&page=1",
    ("news", "article"): "https://news.example.com/a/1.html",
    ("news", "feed"): "https://news.example.com/rss.xml",
}

TOPIC = "星澜咖啡"


class PageCheckError(ValueError):
    """The page cannot be checked as asked (unknown kind, non-local URL, unreadable file)."""


@dataclass
class PageCheck:
    spider: str
    kind: str
    url: str
    items: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    # The spider's own counters (pages, field problems, parse failures) for this one page.
    stats: dict[str, Any] = field(default_factory=dict)
    # What a crawl would make of the page (crawlers/page_guard.py): "entries", "shown_empty"
    # (the site says it is empty), "unusable" (block or cut-off page, retried) or "nothing"
    # (a parse failure: layout changed?).
    verdict: str = "nothing"
    # Why the page is empty or unusable, as the spider put it.
    reason: str | None = None


def guess_kind(spider: str, source: str) -> str:
    """The kind named by a saved page's file name (``thread-x34.html``), else the default."""
    kinds = KINDS[spider]
    prefix = Path(urlsplit(source).path).name.split("-", 1)[0].split(".", 1)[0]
    return prefix if prefix in kinds else next(iter(kinds))


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost")


def fetch_local(url: str, timeout: float = 10.0) -> bytes:
    """The body at ``url``, which must be on 127.0.0.1 or localhost."""
    if not is_local(url):
        raise PageCheckError(
            f"refusing to fetch {url}: only 127.0.0.1/localhost URLs are read; save the page "
            "and pass the file instead"
        )
    # Redirects could lead off this host: refuse them rather than follow.
    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(url, timeout=timeout) as answer:  # noqa: S310 - local only, checked above
        return answer.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise PageCheckError(f"{req.full_url} redirects to {newurl}; not followed")


def build_spider(name: str, settings: dict[str, Any] | None = None) -> MentionSpider:
    cls = SPIDERS[name]
    crawler = get_crawler(cls, {"LOG_ENABLED": False, **(settings or {})})
    spider = cls.from_crawler(crawler, topic=TOPIC)
    crawler.spider = spider
    crawler.stats.open_spider()
    spider.setup()
    return spider


def _site(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _cb_kwargs(spider: MentionSpider, callback, url: str, encoding: str | None) -> dict[str, Any]:
    """Arguments for ``callback``, filled by name: the spiders' callbacks differ in what their
    requests carry (a forum dict, the post a comment page belongs to...)."""
    site = _site(url)
    query = dict(
        pair.split("=", 1) if "=" in pair else (pair, "") for pair in urlsplit(url).query.split("&")
    )
    # Discuz! 7.2 pages live at forumdisplay.php / viewthread.php, X3 at forum.php.
    version = "7" if urlsplit(url).path.endswith(("forumdisplay.php", "viewthread.php")) else "x"
    base = site + urlsplit(url).path.rsplit("/", 1)[0]
    forum = {"name": "page", "base_url": base, "forum_ids": [1], "version": version}
    if encoding:
        forum["encoding"] = encoding
    post_id = query.get("id") or urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or "1"
    known = {
        "stream": TOPIC,
        "term": TOPIC,
        "page": int(query.get("page") or 1) if str(query.get("page", "1")).isdigit() else 1,
        "offset": int(query["pn"]) if query.get("pn", "").isdigit() else 0,
        "forum": forum if isinstance(spider, DiscuzSpider) else query.get("kw", "page"),
        "fid": int(query["fid"]) if query.get("fid", "").isdigit() else 1,
        "tid": query.get("tid") or post_id,
        "first": None,
        "post_id": post_id,
        # Items straight from the feed show what is read from it (title, time, summary); the
        # articles themselves are checked as article pages.
        "feed": {"name": "page", "feed": url, "fetch_articles": False},
        "post": MentionItem(platform=spider.platform, post_id=post_id, url=url, extra={}),
        "item": MentionItem(
            platform=spider.platform,
            post_id=post_id_for(url) if isinstance(spider, NewsSpider) else post_id,
            url=url,
            text="",
            title=None,
            topics=[],
            author=None,
            published_at=None,
            crawled_at=spider.crawled_at(),
            extra={},
        ),
    }
    kwargs = {}
    for name, param in list(inspect.signature(callback).parameters.items())[1:]:
        if name in known:
            kwargs[name] = known[name]
        elif param.default is inspect.Parameter.empty:
            raise PageCheckError(f"{callback.__name__} needs {name!r}, which cannot be guessed")
    return kwargs


def _plain(value: Any) -> Any:
    if isinstance(value, MentionItem):
        return dict(value)
    return value


def parse_page(
    spider_name: str,
    body: bytes,
    *,
    kind: str | None = None,
    url: str | None = None,
    encoding: str | None = None,
    settings: dict[str, Any] | None = None,
) -> PageCheck:
    """Run ``spider_name``'s callback for ``kind`` on ``body`` as if it came from ``url``."""
    if spider_name not in SPIDERS:
        raise PageCheckError(f"unknown spider {spider_name!r}; one of {', '.join(SPIDERS)}")
    kind = kind or next(iter(KINDS[spider_name]))
    if kind not in KINDS[spider_name]:
        raise PageCheckError(
            f"{spider_name} has no {kind!r} pages; one of {', '.join(KINDS[spider_name])}"
        )
    url = url or DEFAULT_URLS[(spider_name, kind)]
    spider = build_spider(spider_name, settings)
    callback = getattr(spider, KINDS[spider_name][kind])
    kwargs = _cb_kwargs(spider, callback, url, encoding)
    request = Request(url, meta={"stream": kwargs.get("stream", TOPIC)}, cb_kwargs=kwargs)
    looks_html = body.lstrip()[:1] == b"<" and kind not in ("feed",)
    response_class = HtmlResponse if looks_html else TextResponse
    # A saved page may carry its own charset (a GBK forum): Scrapy detects it unless told.
    if encoding is None and looks_html:
        response = response_class(url, body=body, request=request, status=200)
    else:
        response = response_class(
            url, body=body, encoding=encoding or "utf-8", request=request, status=200
        )
    check = PageCheck(spider=spider_name, kind=kind, url=url)
    for output in callback(response, **kwargs) or []:
        if isinstance(output, Request):
            check.requests.append(
                {
                    "url": output.url,
                    "callback": getattr(output.callback, "__name__", None),
                    "cb_kwargs": {k: _plain(v) for k, v in output.cb_kwargs.items()},
                }
            )
        else:
            check.items.append(dict(output))
    check.stats = {
        k: v for k, v in spider.crawler.stats.get_stats().items() if k.startswith("yuqing/")
    }
    check.verdict = page_verdict(request.meta, len(check.items))
    check.reason = request.meta.get("yuqing_unusable") or request.meta.get("yuqing_empty")
    return check
