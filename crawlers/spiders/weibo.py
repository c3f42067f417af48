"""Weibo through the m.weibo.cn mobile API: keyword search, long texts, hot comments.

- Search: ``/api/container/getIndex?containerid=100103type=61&q=<kw>&page_type=searchall``;
  ``card_type`` 9 cards carry an ``mblog``, ``card_type`` 11 cards wrap a ``card_group``.
- ``isLongText`` posts are cut at ~140 characters; the full text is in the detail page's
  ``$render_data``.
- Hot comments: ``/comments/hotflow`` paged by ``max_id``.
- Refresh (``-a refresh=ID1,ID2``): ``/statuses/show?id=<id>`` per stored post, for its current
  counts (the store appends an engagement snapshot when they changed). No search, no topic
  needed: this is the hot-post re-crawl of the fastest-growing negative mentions.
- Anything that is not ``{"ok": 1, ...}`` JSON is a block (the site answers 200 with an HTML
  captcha or ``ok: 0``): retried with backoff, then the run ends as "blocked". The one ``ok: 0``
  that is not a block is the "no more results" answer. A redirect to the login host means the
  cookie (``$YUQING_WEIBO_COOKIE``) expired: the run ends as "cookie_expired".
"""

from __future__ import annotations

import json
import os
import re
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import scrapy

from crawlers.counts import parse_count
from crawlers.dates import parse_weibo_time
from crawlers.items import MentionItem
from crawlers.spiders.base import MentionSpider

# Answers that mean the site refuses us, not that a page failed.
BAN_STATUSES = ("http_403", "http_418", "http_432")
# ok: 0 answers that mean "nothing (more) here", not "go away".
_EMPTY_MESSAGES = ("这里还没有内容", "暂无数据", "还没有人评论")
_GONE_MESSAGES = ("微博不存在", "暂无查看权限", "已被作者删除")
_RENDER_DATA = re.compile(r"\$render_data\s*=\s*(\[.*?\])\s*\[0\]", re.S)
_HREF = re.compile(r"""\b(?:data-url|href)=["'](https?://[^"']+)["']""")
_LOGIN_PATH = re.compile(r"/(signin/)?login\b")


def is_login_page(url: str) -> bool:
    parts = urlsplit(url)
    return parts.hostname is not None and (
        parts.hostname.startswith(("passport.", "login.")) or bool(_LOGIN_PATH.search(parts.path))
    )


def parse_cookie(header: str) -> dict[str, str]:
    jar = SimpleCookie()
    jar.load(header)
    return {key: morsel.value for key, morsel in jar.items()}


def links_in(html: str) -> list[str]:
    """Outbound links of a post; Weibo wraps them in ``sinaurl?u=<target>``."""
    found = []
    for url in _HREF.findall(html or ""):
        target = parse_qs(urlsplit(url).query).get("u") if "sinaurl" in url else None
        found.append(target[0] if target else url)
    return list(dict.fromkeys(found))


class WeiboSpider(MentionSpider):
    name = "weibo"
    platform = "weibo"
    page_kinds = {
        "search": "parse_search",
        "status": "parse_status",
        "detail": "parse_detail",
        "comments": "parse_comments",
    }
    topic_required = True

    def __init__(self, topic: str | None = None, refresh: str | None = None, *args, **kwargs):
        super().__init__(topic, *args, **kwargs)
        # Post ids to re-read instead of searching: "ID1,ID2" (Scrapy's -a passes strings).
        self.refresh_ids = [i.strip() for i in (refresh or "").split(",") if i.strip()]

    @property
    def expects_entries(self) -> bool:
        return not self.refresh_ids

    def setup(self) -> None:
        super().setup()
        settings = self.settings
        self.base_url = settings.get("WEIBO_BASE_URL", "https://m.weibo.cn").rstrip("/")
        self.comments_from = settings.getint("WEIBO_HOT_COMMENTS_FROM", 50)
        self.comment_pages = settings.getint("WEIBO_COMMENT_PAGES", 2)
        cookie = os.environ.get(settings.get("WEIBO_COOKIE_ENV", "YUQING_WEIBO_COOKIE"), "")
        self.cookies = parse_cookie(cookie) if cookie else {}

    def first_requests(self):
        if self.refresh_ids:
            return [self.status_request(post_id) for post_id in self.refresh_ids]
        if not self.topic:
            self.end_run("no_topic", "weibo needs a topic to search: -a topic=NAME")
        if not self.cookies:
            self.logger.warning("no Weibo cookie set; m.weibo.cn limits anonymous search")
        return [self.search_request(term, 1) for term in self.search_terms()]

    def after_failure(self, request, kind: str):
        if kind in BAN_STATUSES:
            self.end_run(
                "blocked",
                f"Weibo blocked the crawler ({kind}) at {request.url} "
                f"after {self.max_block_retries} retries",
            )
        return None

    # -- requests -----------------------------------------------------------------------------

    def api_request(self, url: str, callback, **kwargs) -> scrapy.Request:
        headers = {
            "Accept": "application/json, text/plain, */*",
            "X-Requested-With": "XMLHttpRequest",
            "MWeibo-Pwa": "1",
            "Referer": f"{self.base_url}/",
        }
        return scrapy.Request(
            url,
            callback=callback,
            errback=kwargs.pop("errback", self.request_failed),
            headers=headers,
            cookies=self.cookies,
            **kwargs,
        )

    def search_request(self, term: str, page: int) -> scrapy.Request:
        query = urlencode(
            {"containerid": f"100103type=61&q={term}", "page_type": "searchall", "page": page},
            quote_via=quote,
        )
        return self.api_request(
            f"{self.base_url}/api/container/getIndex?{query}",
            self.parse_search,
            meta={"stream": term},
            cb_kwargs={"term": term, "page": page},
        )

    def status_request(self, post_id: str) -> scrapy.Request:
        return self.api_request(
            f"{self.base_url}/statuses/show?{urlencode({'id': post_id})}",
            self.parse_status,
            cb_kwargs={"post_id": post_id},
        )

    # -- responses ----------------------------------------------------------------------------

    def api_json(self, response):
        """The response's JSON if it is a real API answer; else None (caller retries)."""
        if is_login_page(response.url):
            self.cookie_expired(response.meta.get("redirect_urls", [response.url])[0], response.url)
        try:
            data = json.loads(response.text)
        except (ValueError, AttributeError):
            return None
        # The API's own way to say "log in": {"ok": -100, "url": "https://passport.weibo.cn/..."}
        if isinstance(data, dict) and data.get("ok") == -100:
            self.cookie_expired(response.url, str(data.get("url") or "the login page"))
        return data

    def cookie_expired(self, asked: str, login: str):
        self.crawler.stats.inc_value("yuqing/errors/cookie_expired")
        self.end_run(
            "cookie_expired", f"Weibo cookie expired: {asked} was sent to log in at {login}"
        )

    def parse_search(self, response, term: str, page: int):
        data = self.api_json(response)
        if not isinstance(data, dict):
            yield from self.retry_or_close(response, "weibo/not_json")
            return
        if data.get("ok") != 1:
            if data.get("msg") in _EMPTY_MESSAGES or data.get("msg", "").startswith("这里还没有"):
                self.shown_empty(response, data["msg"])
                self.page_done(term, [], has_next=False)
                return
            yield from self.retry_or_close(response, f"weibo/not_ok/{data.get('ok')}")
            return
        cards = (data.get("data") or {}).get("cards") or []
        if not cards:  # past the last page the API answers ok: 1 with no cards
            self.shown_empty(response, "no cards")
        mblogs = self.mblogs(cards)
        self.found(response, len(mblogs))
        times = []
        for mblog in mblogs:
            try:
                published = parse_weibo_time(mblog.get("created_at", ""), self.now())
            except ValueError:
                self.field_problem("created_at")
                continue
            times.append(published)
            if self.is_known(term, published):
                self.crawler.stats.inc_value("yuqing/skipped_known")
                continue
            yield from self.mblog_outputs(mblog, term)
        self.crawler.stats.inc_value("yuqing/pages/search")
        if self.page_done(term, times, has_next=bool(cards)):
            yield self.search_request(term, page + 1)

    def parse_status(self, response, post_id: str):
        """A refreshed post: ``{"ok": 1, "data": <status>}``; its item carries today's counts."""
        data = self.api_json(response)
        if not isinstance(data, dict):
            yield from self.retry_or_close(response, "weibo/not_json")
            return
        if data.get("ok") != 1:
            if any(word in str(data.get("msg") or "") for word in _GONE_MESSAGES):
                # Deleted since we stored it: what we observed stays, there is nothing newer.
                self.field_problem("refresh_gone")
                self.shown_empty(response, "deleted")
                return
            yield from self.retry_or_close(response, f"weibo/not_ok/{data.get('ok')}")
            return
        status = data.get("data")
        if not isinstance(status, dict):
            yield from self.retry_or_close(response, "weibo/status_unreadable")
            return
        self.crawler.stats.inc_value("yuqing/pages/refresh")
        parent = status.get("retweeted_status")
        parent_id = str(parent["id"]) if isinstance(parent, dict) and parent.get("id") else None
        item = self.mblog_item(status, parent_id)
        if item is None:
            return
        if status.get("isLongText"):
            # Its text here is cut; storing it would overwrite the full text we already have.
            yield scrapy.Request(
                f"{self.base_url}/detail/{item['post_id']}",
                callback=self.parse_detail,
                errback=self.detail_failed,
                cookies=self.cookies,
                cb_kwargs={"item": item},
            )
        else:
            yield item

    def mblogs(self, cards: list) -> list[dict]:
        found = []
        for card in cards:
            if not isinstance(card, dict):
                continue
            if card.get("card_type") == 9 and isinstance(card.get("mblog"), dict):
                found.append(card["mblog"])
            elif card.get("card_type") == 11:
                found.extend(self.mblogs(card.get("card_group") or []))
        return found

    def mblog_outputs(self, mblog: dict, stream: str):
        """The post's item (or the request that completes it), its parent and its comments."""
        parent = mblog.get("retweeted_status")
        parent_id = None
        if isinstance(parent, dict) and parent.get("id"):
            parent_id = str(parent["id"])
            if parent.get("deleted") == "1" or not parent.get("user"):
                self.field_problem("retweeted_deleted")
            else:
                parent_item = self.mblog_item(parent, None)
                if parent_item:
                    yield parent_item
        item = self.mblog_item(mblog, parent_id)
        if item is None:
            return
        if mblog.get("isLongText"):
            yield scrapy.Request(
                f"{self.base_url}/detail/{item['post_id']}",
                callback=self.parse_detail,
                errback=self.detail_failed,
                cookies=self.cookies,
                meta={"stream": stream},
                cb_kwargs={"item": item},
            )
        else:
            yield item
        if item["comments"] >= self.comments_from:
            yield self.comments_request(item, stream)

    def mblog_item(self, mblog: dict, parent_id: str | None) -> MentionItem | None:
        try:
            published = parse_weibo_time(mblog.get("created_at", ""), self.now())
        except ValueError:
            self.field_problem("created_at")
            return None
        post_id = str(mblog.get("id") or mblog.get("mid") or "")
        if not post_id:
            self.field_problem("id")
            return None
        text = mblog.get("text") or ""
        extra = {key: mblog[key] for key in ("bid", "source") if mblog.get(key)}
        region = (mblog.get("region_name") or "").removeprefix("发布于").strip()
        if region:  # "发布于 上海": the IP location Weibo shows under each post
            extra["ip_location"] = region
        links = links_in(text)
        if links:
            extra["links"] = links
        return MentionItem(
            platform=self.platform,
            post_id=post_id,
            url=f"{self.base_url}/detail/{post_id}",
            text=text,
            title=None,
            topics=self.topics(),
            author=self.author(mblog.get("user")),
            published_at=self.published(published),
            crawled_at=self.crawled_at(),
            reposts=self.count(mblog, "reposts_count"),
            comments=self.count(mblog, "comments_count"),
            likes=self.count(mblog, "attitudes_count"),
            parent_post_id=parent_id,
            extra=extra,
        )

    def count(self, data: dict, key: str) -> int:
        try:
            return parse_count(data.get(key))
        except ValueError:
            self.field_problem(f"count/{key}")
            return 0

    def author(self, user) -> dict | None:
        if not isinstance(user, dict) or not user.get("id"):
            return None
        verified_type = user.get("verified_type")
        return {
            "id": str(user["id"]),
            "name": user.get("screen_name"),
            "followers": self.count(user, "followers_count"),
            "verified": bool(user.get("verified")),
            "verified_type": verified_type if isinstance(verified_type, int) else None,
        }

    def parse_detail(self, response, item: MentionItem):
        if is_login_page(response.url):
            self.api_json(response)  # ends the run as cookie_expired
        match = _RENDER_DATA.search(response.text)
        try:
            status = json.loads(match.group(1))[0]["status"] if match else None
        except (ValueError, LookupError, TypeError):
            status = None
        if status is None and any(word in response.text for word in _GONE_MESSAGES):
            # Deleted (or hidden) between the search and now: nothing left to store.
            self.field_problem("detail_gone")
            self.shown_empty(response, "deleted")
            return
        if not isinstance(status, dict) or not status.get("text"):
            yield from self.retry_or_close(response, "weibo/detail_unreadable")
            return
        item["text"] = status["text"]
        links = links_in(status["text"])
        if links:
            item["extra"]["links"] = links
        yield item

    def detail_failed(self, failure):
        # The truncated text is still a mention; a later crawl (newer crawled_at) completes it.
        self.request_failed(failure)
        item = failure.request.cb_kwargs["item"]
        item["extra"]["text_truncated"] = True
        self.field_problem("long_text_unavailable")
        yield item

    def comments_request(
        self, item: MentionItem, stream: str, max_id=None, max_id_type=0, page=1
    ) -> scrapy.Request:
        params = {"id": item["post_id"], "mid": item["post_id"], "max_id_type": max_id_type}
        if max_id:
            params["max_id"] = max_id
        return self.api_request(
            f"{self.base_url}/comments/hotflow?{urlencode(params)}",
            self.parse_comments,
            meta={"stream": stream},
            cb_kwargs={"post": item, "page": page},
        )

    def parse_comments(self, response, post: MentionItem, page: int):
        data = self.api_json(response)
        if not isinstance(data, dict):
            yield from self.retry_or_close(response, "weibo/not_json")
            return
        if data.get("ok") != 1:
            if data.get("msg") in _EMPTY_MESSAGES:
                self.shown_empty(response, data["msg"])
                return
            yield from self.retry_or_close(response, f"weibo/not_ok/{data.get('ok')}")
            return
        body = data.get("data") or {}
        self.crawler.stats.inc_value("yuqing/pages/comments")
        comments = body.get("data") or []
        if not comments:
            self.shown_empty(response, "no comments")
        self.found(response, len(comments))
        for comment in comments:
            item = self.comment_item(comment, post)
            if item:
                yield item
        max_id = body.get("max_id")
        if max_id and page < self.comment_pages:
            yield self.comments_request(
                post, response.meta["stream"], max_id, body.get("max_id_type", 0), page + 1
            )

    def comment_item(self, comment: dict, post: MentionItem) -> MentionItem | None:
        try:
            published = parse_weibo_time(comment.get("created_at", ""), self.now())
        except ValueError:
            self.field_problem("comment/created_at")
            return None
        if not comment.get("id"):
            self.field_problem("comment/id")
            return None
        return MentionItem(
            platform=self.platform,
            post_id=str(comment["id"]),
            url=f"{self.base_url}/detail/{post['post_id']}?cid={comment['id']}",
            text=comment.get("text") or "",
            title=None,
            topics=self.topics(),
            author=self.author(comment.get("user")),
            published_at=self.published(published),
            crawled_at=self.crawled_at(),
            reposts=0,
            comments=self.count(comment, "total_number"),
            likes=self.count(comment, "like_count"),
            parent_post_id=post["post_id"],
            extra={"kind": "comment"},
        )
