"""Weibo through the m.weibo.cn mobile API: keyword search, long texts, comments.

- Search: ``/api/container/getIndex?containerid=100103type=61&q=<kw>&page_type=searchall``;
  ``card_type`` 9 cards carry an ``mblog``, ``card_type`` 11 cards wrap a ``card_group``.
- ``isLongText`` posts are cut at ~140 characters; the full text is in the detail page's
  ``$render_data``. When the detail page cannot be had (blocked, gone wrong after its retries),
  ``/statuses/extend?id=`` (``{"ok": 1, "data": {"longTextContent": ...}}``) is asked instead;
  only when both fail is the cut text stored, marked ``extra.text_truncated``.
- Comments of posts with at least ``WEIBO_HOT_COMMENTS_FROM`` comments, at most
  ``WEIBO_COMMENT_PAGES`` pages per post. ``/comments/hotflow?id=&mid=&max_id_type=0`` first,
  then each answer's ``data.max_id`` / ``data.max_id_type`` until ``max_id`` is 0. The older
  ``/api/comments/show?id=&page=N`` (``data.max`` pages, ``like_counts``) is the fallback when
  hotflow refuses a post with an ``ok: 0`` that is neither "no comments" nor a rate limit (an
  anonymous visitor gets only hotflow's first page), or the only source with
  ``WEIBO_COMMENTS_API = "show"``. Both orders differ, so the fallback starts at its page 1;
  comments seen twice are dropped by the duplicate filter. When comments/show refuses too, the
  post keeps no comments (``yuqing/weibo/comments_refused``) and the run goes on.
- Deleted and limited-visibility posts: a repost of a deleted post carries a stub parent
  (``{"deleted": "1", "text": "抱歉，此微博已被作者删除。..."}``), a post hidden by its author's
  settings a stub text ("由于作者设置，你暂时没有这条微博的查看权限"). Stubs are never stored as
  mentions; they are counted as ``yuqing/withheld/weibo/<where>/<deleted|limited>``. A repost of
  one is stored (its own words are real) with ``extra.parent_withheld``.
- Refresh (``-a refresh=ID1,ID2``): ``/statuses/show?id=<id>`` per stored post, for its current
  counts (the store appends an engagement snapshot when they changed). No search, no topic
  needed: this is the hot-post re-crawl of the fastest-growing negative mentions.
- Anything that is not ``{"ok": 1, ...}`` JSON is a block (the site answers 200 with an HTML
  captcha or ``ok: 0``): retried with backoff, then the run ends as "blocked". The ``ok: 0``
  answers that are not blocks are "no more results", "gone" and the comment APIs' refusals. A
  redirect to the login host means the cookie (``$YUQING_WEIBO_COOKIE``) expired: the run ends
  as "cookie_expired".
"""

from __future__ import annotations

import json
import os
import re
from http.cookies import SimpleCookie
from typing import Any
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
_GONE_MESSAGES = ("微博不存在", "暂无查看权限", "已被作者删除", "没有权限查看", "无法查看")
# ok: 0 answers that ask us to slow down: retried like any block, never a reason to fall back.
_SLOW_DOWN = ("频繁", "太快", "稍后")
# What Weibo shows instead of a post that is gone or hidden from us (in a repost's parent, a
# search card, statuses/show). A real post may well say these words ("那条微博已被删除了？"), so
# only a short text that opens like a notice, or has no author, is taken for one.
_STUB_OPENINGS = ("抱歉", "该微博", "该账号", "根据博主设置", "此微博")
_DELETED_STUBS = ("已被作者删除", "已被删除", "微博不存在")
_LIMITED_STUBS = (
    "查看权限",  # 抱歉，由于作者设置，你暂时没有这条微博的查看权限哦。
    "暂时无法查看",  # 该微博因用户设置，你暂时无法查看。
    "此内容无法访问",  # 根据博主设置，此内容无法访问
    "此微博已不可见",  # 抱歉，作者已设置仅展示半年内微博，此微博已不可见。
    "现已无法查看",  # 该账号因被投诉违反…的相关规定，现已无法查看。
    "仅粉丝可见",
)
_STUB_MAX_CHARS = 120
_TAG = re.compile(r"<[^>]+>")
COMMENTS_APIS = ("hotflow", "show")
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


def withheld(status: dict) -> str | None:
    """``"deleted"`` or ``"limited"`` when ``status`` is Weibo's stand-in for a post we may not
    read (its text is a notice, not the author's words); None for a real post."""
    if str(status.get("deleted") or "") in ("1", "true", "True"):
        return "deleted"
    text = _TAG.sub("", status.get("text") or "").strip()
    if len(text) > _STUB_MAX_CHARS:
        return None
    if status.get("user") and not text.startswith(_STUB_OPENINGS):
        return None
    if any(stub in text for stub in _DELETED_STUBS):
        return "deleted"
    if any(stub in text for stub in _LIMITED_STUBS):
        return "limited"
    return None


def ip_location(source: str | None) -> str | None:
    """A comment's IP location: its ``source`` reads "来自上海" (older answers name a client)."""
    source = (source or "").strip()
    return source.removeprefix("来自").strip() or None if source.startswith("来自") else None


class WeiboSpider(MentionSpider):
    name = "weibo"
    platform = "weibo"
    page_kinds = {
        "search": "parse_search",
        "status": "parse_status",
        "detail": "parse_detail",
        "comments": "parse_comments",
        "comments_show": "parse_comments_show",
        "extend": "parse_extend",
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
        self.comment_pages = settings.getint("WEIBO_COMMENT_PAGES", 5)
        self.comments_api = settings.get("WEIBO_COMMENTS_API", "hotflow")
        if self.comments_api not in COMMENTS_APIS:
            raise ValueError(
                f"WEIBO_COMMENTS_API must be one of {', '.join(COMMENTS_APIS)}, "
                f"not {self.comments_api!r}"
            )
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
            why = withheld(mblog)
            try:
                published = parse_weibo_time(mblog.get("created_at", ""), self.now())
            except ValueError:
                if why:  # a stub may carry no time; it is not a field we failed to read
                    self.count_withheld("search", why)
                else:
                    self.field_problem("created_at")
                continue
            times.append(published)  # a stub's time still tells how far the listing reached
            if why:
                self.count_withheld("search", why)
                continue
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
        why = withheld(status)
        if why:
            # Hidden or deleted since we stored it: the stub is not newer text; keep what we have.
            self.count_withheld("status", why)
            self.shown_empty(response, why)
            return
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
        parent_id = parent_gone = None
        if isinstance(parent, dict) and parent.get("id"):
            parent_id = str(parent["id"])
            # A parent without an author is a stub too, whatever its wording.
            parent_gone = withheld(parent) or (None if parent.get("user") else "deleted")
            if parent_gone:
                self.count_withheld("retweet", parent_gone)
            else:
                parent_item = self.mblog_item(parent, None)
                if parent_item:
                    yield parent_item
        item = self.mblog_item(mblog, parent_id)
        if item is None:
            return
        if parent_gone:
            # The repost's own words are real; the link to its parent stays, marked unreadable.
            item["extra"]["parent_withheld"] = parent_gone
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
            yield self.first_comments_request(item, stream)

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
        visible = mblog.get("visible")
        if isinstance(visible, dict) and visible.get("type"):
            # Not public (10: fans only, 6: friend circle) but readable with our cookie: kept,
            # marked, since its audience is not everyone.
            extra["visible_type"] = visible["type"]
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
            self.count_withheld("detail", "gone")
            self.shown_empty(response, "deleted")
            return
        why = withheld(status) if isinstance(status, dict) else None
        if why:
            self.count_withheld("detail", why)
            self.shown_empty(response, why)
            return
        if not isinstance(status, dict) or not status.get("text"):
            if self.retries_left(response):
                yield from self.retry_or_close(response, "weibo/detail_unreadable")
                return
            # The page keeps coming back without its data (a captcha, a new page build): the
            # JSON API still has the text. Counted as an error, so a lasting change shows.
            self.crawler.stats.inc_value("yuqing/errors/weibo/detail_unreadable")
            response.meta["yuqing_unusable"] = "weibo/detail_unreadable"
            yield self.extend_request(item, response.meta.get("stream"))
            return
        yield self.with_text(item, status["text"])

    def with_text(self, item: MentionItem, text: str) -> MentionItem:
        item["text"] = text
        links = links_in(text)
        if links:
            item["extra"]["links"] = links
        return item

    def retries_left(self, response) -> bool:
        return response.meta.get("retry_times", 0) < self.max_block_retries

    def detail_failed(self, failure):
        # Counted, but no hole in the stream yet: /statuses/extend may still give the text.
        response = getattr(failure.value, "response", None)
        kind = f"http_{response.status}" if response is not None else type(failure.value).__name__
        self.crawler.stats.inc_value(f"yuqing/errors/weibo/detail_failed/{kind}")
        request = failure.request
        yield self.extend_request(request.cb_kwargs["item"], request.meta.get("stream"))

    def extend_request(self, item: MentionItem, stream: str | None) -> scrapy.Request:
        return self.api_request(
            f"{self.base_url}/statuses/extend?{urlencode({'id': item['post_id']})}",
            self.parse_extend,
            errback=self.extend_failed,
            meta={"stream": stream},
            cb_kwargs={"item": item},
        )

    def parse_extend(self, response, item: MentionItem):
        """A long text's full text: ``{"ok": 1, "data": {"longTextContent": "..."}}``."""
        data = self.api_json(response)
        if isinstance(data, dict) and data.get("ok") != 1:
            if any(word in str(data.get("msg") or "") for word in _GONE_MESSAGES):
                self.count_withheld("extend", "gone")
                self.shown_empty(response, "deleted")
                return
        body = data.get("data") if isinstance(data, dict) and data.get("ok") == 1 else None
        text = body.get("longTextContent") if isinstance(body, dict) else None
        if isinstance(text, str) and text.strip():
            yield self.with_text(item, text)
            return
        if self.retries_left(response):
            yield from self.retry_or_close(response, "weibo/extend_unreadable")
            return
        self.crawler.stats.inc_value("yuqing/errors/weibo/extend_unreadable")
        response.meta["yuqing_unusable"] = "weibo/extend_unreadable"
        yield self.truncated(item)

    def extend_failed(self, failure):
        # Neither the detail page nor the API gave the full text: the stream has a hole (so
        # the next run reads it again) and a ban ends the run, as for any failed request.
        self.request_failed(failure)
        yield self.truncated(failure.request.cb_kwargs["item"])

    def truncated(self, item: MentionItem) -> MentionItem:
        # The cut text is still a mention; a later crawl (newer crawled_at) completes it.
        item["extra"]["text_truncated"] = True
        self.field_problem("long_text_unavailable")
        return item

    # -- comments -----------------------------------------------------------------------------

    def first_comments_request(self, item: MentionItem, stream: str) -> scrapy.Request:
        if self.comments_api == "show":
            return self.comments_show_request(item, stream, 1)
        return self.comments_request(item, stream)

    def comments_request(
        self, item: MentionItem, stream: str, max_id=None, max_id_type=0, page=1
    ) -> scrapy.Request:
        params = {"id": item["post_id"], "mid": item["post_id"]}
        if max_id:
            params["max_id"] = max_id
        params["max_id_type"] = max_id_type
        return self.api_request(
            f"{self.base_url}/comments/hotflow?{urlencode(params)}",
            self.parse_comments,
            meta={"stream": stream},
            cb_kwargs={"post": item, "page": page},
        )

    def comments_show_request(self, item: MentionItem, stream: str, page: int) -> scrapy.Request:
        params = {"id": item["post_id"], "page": page}
        return self.api_request(
            f"{self.base_url}/api/comments/show?{urlencode(params)}",
            self.parse_comments_show,
            meta={"stream": stream},
            cb_kwargs={"post": item, "page": page},
        )

    def parse_comments(self, response, post: MentionItem, page: int):
        """``/comments/hotflow``: ``{"ok": 1, "data": {"data": [...], "max_id": N,
        "max_id_type": 0|1}}``; ``max_id`` 0 on the last page."""
        verdict, body = self.comments_answer(response)
        if verdict == "retry":
            yield from self.retry_or_close(response, body)
            return
        if verdict == "refused":
            # hotflow refuses this post, or (without a login) its later pages; the older API
            # still lists the comments. Not a block: the rest of the run is fine.
            self.crawler.stats.inc_value("yuqing/weibo/comments_fallback")
            self.shown_empty(response, f"hotflow refused: {body}")
            yield self.comments_show_request(post, response.meta.get("stream"), 1)
            return
        if verdict == "empty":
            return
        yield from self.comment_page(response, post, body, "hotflow")
        max_id = body.get("max_id")
        if str(max_id or 0) != "0" and page < self.comment_pages:
            yield self.comments_request(
                post, response.meta.get("stream"), max_id, body.get("max_id_type", 0), page + 1
            )

    def parse_comments_show(self, response, post: MentionItem, page: int):
        """``/api/comments/show``: ``{"ok": 1, "data": {"data": [...], "max": <pages>}}``."""
        verdict, body = self.comments_answer(response)
        if verdict == "retry":
            yield from self.retry_or_close(response, body)
            return
        if verdict == "refused":
            # Both APIs refuse this post's comments (closed to us): the post itself is stored;
            # one post's comments must not end the run as "blocked".
            self.crawler.stats.inc_value("yuqing/weibo/comments_refused")
            self.shown_empty(response, f"comments refused: {body}")
            return
        if verdict == "empty":
            return
        yield from self.comment_page(response, post, body, "show")
        try:
            pages = int(body.get("max") or 0)
        except (TypeError, ValueError):
            self.field_problem("comment/max")
            pages = 0
        if page < pages and page < self.comment_pages:
            yield self.comments_show_request(post, response.meta.get("stream"), page + 1)

    def comments_answer(self, response) -> tuple[str, Any]:
        """What a comments API answered, the same for both APIs: ``("ok", data)``,
        ``("empty", None)`` (said so, already counted), ``("refused", msg)`` (``ok: 0`` that is
        not a request to slow down) or ``("retry", reason)`` (a block or a broken answer)."""
        data = self.api_json(response)
        if not isinstance(data, dict):
            return "retry", "weibo/not_json"
        if data.get("ok") != 1:
            msg = str(data.get("msg") or "")
            if msg in _EMPTY_MESSAGES:
                self.shown_empty(response, msg)
                return "empty", None
            if data.get("ok") == 0 and not any(word in msg for word in _SLOW_DOWN):
                return "refused", msg or "ok 0"
            return "retry", f"weibo/not_ok/{data.get('ok')}"
        return "ok", data.get("data") if isinstance(data.get("data"), dict) else {}

    def comment_page(self, response, post: MentionItem, body: dict, api: str):
        comments = body.get("data")
        if comments == []:
            self.shown_empty(response, "no comments")
        if not isinstance(comments, list):
            return  # no comment list at all: a layout we no longer know (page_guard reports it)
        self.crawler.stats.inc_value(f"yuqing/pages/comments/{api}")
        items = [self.comment_item(c, post) for c in comments if isinstance(c, dict)]
        items = [item for item in items if item is not None]
        self.found(response, len(comments) - len(items))
        yield from items

    def comment_item(self, comment: dict, post: MentionItem) -> MentionItem | None:
        try:
            published = parse_weibo_time(comment.get("created_at", ""), self.now())
        except ValueError:
            self.field_problem("comment/created_at")
            return None
        if not comment.get("id"):
            self.field_problem("comment/id")
            return None
        extra = {"kind": "comment"}
        where = ip_location(comment.get("source"))
        if where:
            extra["ip_location"] = where
        elif comment.get("source"):
            extra["source"] = comment["source"]
        # hotflow says like_count, the older comments/show like_counts.
        likes_key = "like_count" if "like_count" in comment else "like_counts"
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
            likes=self.count(comment, likes_key),
            parent_post_id=post["post_id"],
            extra=extra,
        )
