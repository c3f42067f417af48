"""Baidu Tieba: keyword search results, forum (吧) thread lists and thread pages.

- Search ``/f/search/res?qw=<kw>&sm=1`` (newest first): ``div.s_post`` results link to threads.
- Forum lists ``/f?kw=<吧>&pn=<offset>``: rows are ``li.j_thread_list`` with a ``data-field``
  JSON attribute (``reply_num`` is the thread's reply count). Tieba ships the list and the pager
  inside HTML comments in ``<code id="pagelet_html_frs-list/...">`` elements (its "bigpipe"
  rendering), printed after an early ``</html>``: lxml keeps them outside the root element, so
  they are looked up from the document (``//code``), not from the root (``css()``).
- Thread pages ``/p/<tid>?pn=N``: posts are ``div.l_post`` with a ``data-field`` JSON attribute;
  the body is ``div.d_post_content``; the date and ``IP属地`` are in the post's tail. The name
  shown (``a.p_author_name``, ``name_show``) is often not the account's ``user_name``, which may
  be empty. Each page has an empty placeholder floor (``data-field='{}'``). ``.l_reply_num``
  says "786回复贴，共N页".
- "百度安全验证" pages and captcha redirects are blocks: retried, then the run ends "blocked".

A thread's posts get no topic here: the topic rules decide per post, so a reply that does not
mention the brand is not stored as a mention of it.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import quote, urlsplit

import scrapy
from parsel import Selector

from crawlers.dates import parse_chinese_time
from crawlers.items import MentionItem
from crawlers.spiders.base import MentionSpider

_TID = re.compile(r"/p/(\d+)")
_PN = re.compile(r"[?&]pn=(\d+)")
_COMMENTED_HTML = re.compile(r"<!--(.*?)-->", re.S)
_FRS_BLOCKS = "//code[starts-with(@id, 'pagelet_html_frs-list')]"
# Page chrome inside a post body: the image expander's "点击展开，查看完整图片" tip.
_BODY_CHROME = ".replace_tip"
_DATE_IN_TAIL = re.compile(r"\d{4}-\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}")
BLOCK_MARKERS = ("百度安全验证", "安全验证", "wappass.baidu.com")
_COMPLETE_ENDINGS = (b"</html>", b"</body>", b"</script>", b"</code>")
# Forum list offsets step by the page size of the real site.
FORUM_PAGE_SIZE = 50


def is_block_page(response) -> bool:
    host = urlsplit(response.url).hostname or ""
    if host.startswith("wappass.") or "/static/captcha" in response.url:
        return True
    title = response.css("title::text").get("") if hasattr(response, "css") else ""
    return any(marker in title for marker in BLOCK_MARKERS)


def is_truncated(response) -> bool:
    """An HTML page cut short (a proxy or a dropped connection): it never parses to all rows.

    Forum lists close ``</html>`` early and stream their pagelets after it, so a whole page may
    end in a ``</code>`` or ``</script>``; a cut one leaves a pagelet unclosed or ends mid-text.
    """
    body = response.body.lower()
    if b"</html>" not in body or body.count(b"<code") != body.count(b"</code>"):
        return True
    tail = body[-2048:].rstrip()
    return b"</html>" not in tail and not tail.endswith(_COMPLETE_ENDINGS)


class TiebaSpider(MentionSpider):
    name = "tieba"
    platform = "tieba"
    page_kinds = {"thread": "parse_thread", "list": "parse_forum", "search": "parse_search"}

    def setup(self) -> None:
        super().setup()
        self.base_url = self.settings.get("TIEBA_BASE_URL", "https://tieba.baidu.com").rstrip("/")
        self.forums = self.settings.getlist("TIEBA_FORUMS")

    def first_requests(self):
        # Without a topic, one run searches every topic configured for Tieba.
        topics = [self.topic] if self.topic else list(self.configured_topics())
        terms = dict.fromkeys(term for topic in topics for term in self.search_terms(topic))
        requests = [self.search_request(term, 1) for term in terms]
        requests += [self.forum_request(forum, 0) for forum in self.forums]
        if not requests:
            self.end_run("nothing_to_crawl", "tieba needs a topic or crawl.tieba_forums")
        return requests

    # -- requests -----------------------------------------------------------------------------

    def search_request(self, term: str, page: int) -> scrapy.Request:
        url = f"{self.base_url}/f/search/res?ie=utf-8&qw={quote(term)}&rn=20&sm=1&pn={page}"
        stream = f"search:{term}"
        return scrapy.Request(
            url,
            callback=self.parse_search,
            errback=self.request_failed,
            meta={"stream": stream},
            cb_kwargs={"stream": stream, "term": term, "page": page},
        )

    def forum_request(self, forum: str, offset: int) -> scrapy.Request:
        url = f"{self.base_url}/f?kw={quote(forum)}&ie=utf-8&pn={offset}"
        stream = f"forum:{forum}"
        return scrapy.Request(
            url,
            callback=self.parse_forum,
            errback=self.request_failed,
            meta={"stream": stream},
            cb_kwargs={"stream": stream, "forum": forum, "offset": offset},
        )

    def thread_request(
        self, tid: str, stream: str, page: int = 1, first_pid=None, reply_num=None
    ) -> scrapy.Request:
        url = f"{self.base_url}/p/{tid}" + (f"?pn={page}" if page > 1 else "")
        return scrapy.Request(
            url,
            callback=self.parse_thread,
            errback=self.request_failed,
            meta={"stream": stream},
            cb_kwargs={
                "tid": tid,
                "stream": stream,
                "page": page,
                "first_pid": first_pid,
                "reply_num": reply_num,
            },
        )

    def unusable(self, response) -> list | None:
        """Retry (or end the run) for block pages and cut-off pages; None if the page is fine."""
        if is_block_page(response):
            return self.retry_or_close(response, "tieba/blocked")
        if is_truncated(response):
            return self.retry_or_close(response, "truncated", close_reason=None)
        return None

    # -- search -------------------------------------------------------------------------------

    def parse_search(self, response, stream: str, term: str, page: int):
        retry = self.unusable(response)
        if retry is not None:
            yield from retry
            return
        self.crawler.stats.inc_value("yuqing/pages/search")
        times, threads = [], {}
        results = response.css("div.s_post")
        self.found(response, len(results))
        if not results and "没有找到" in " ".join(response.css("body *::text").getall()):
            self.shown_empty(response, "no results")
        for result in results:
            href = result.css("span.p_title a::attr(href)").get("")
            tid = _TID.search(href)
            try:
                when = parse_chinese_time(result.css(".p_date::text").get(""), self.now())
            except ValueError:
                self.field_problem("search/date")
                continue
            if not tid:
                self.field_problem("search/tid")
                continue
            times.append(when)
            if not self.is_known(stream, when):
                threads.setdefault(tid.group(1), when)
        for tid in threads:
            yield self.thread_request(tid, stream)
        has_next = bool(response.css("div.pager a.next, a.next"))
        if self.page_done(stream, times, has_next):
            yield self.search_request(term, page + 1)

    # -- forum lists --------------------------------------------------------------------------

    def bigpipe(self, response) -> Selector:
        """The commented-out HTML of the page's frs-list blocks, as one document."""
        parts = [
            html
            for code in response.xpath(_FRS_BLOCKS)
            for html in _COMMENTED_HTML.findall(code.get())
        ]
        return Selector(text="".join(parts) or "<html></html>")

    def thread_rows(self, response, blocks: Selector):
        return response.css("li.j_thread_list") or blocks.css("li.j_thread_list")

    def parse_forum(self, response, stream: str, forum: str, offset: int):
        retry = self.unusable(response)
        if retry is not None:
            yield from retry
            return
        self.crawler.stats.inc_value("yuqing/pages/forum")
        times = []
        blocks = self.bigpipe(response)
        rows = self.thread_rows(response, blocks)
        self.found(response, len(rows))
        for row in rows:
            try:
                field = json.loads(row.attrib.get("data-field", ""))
            except ValueError:
                self.field_problem("forum/data_field")
                continue
            tid = str(field.get("id") or row.attrib.get("data-tid") or "")
            if not tid:
                self.field_problem("forum/tid")
                continue
            shown = row.css(".threadlist_reply_date::text").get("").strip()
            try:
                when = parse_chinese_time(shown, self.now())
            except ValueError:
                self.field_problem("forum/reply_date")
                when = None
            if when and ":" not in shown:  # only the day is shown: the reply may be late in it
                when += timedelta(days=1, seconds=-1)
            pinned = bool(field.get("is_top")) or "thread_top" in row.attrib.get("class", "")
            if when and not pinned:  # pinned threads sit on top whatever their age
                times.append(when)
            if when is None or not self.is_known(stream, when):
                yield self.thread_request(
                    tid,
                    stream,
                    first_pid=field.get("first_post_id"),
                    reply_num=count_or_none(field.get("reply_num")),
                )
        pager = "#frs_list_pager a.next, a.next.pagination-item"
        next_link = response.css(pager) or blocks.css(pager)
        if self.page_done(stream, times, bool(next_link), exact=False):
            yield self.forum_request(forum, next_offset(next_link, offset))

    # -- threads ------------------------------------------------------------------------------

    def parse_thread(
        self, response, tid: str, stream: str, page: int, first_pid=None, reply_num=None
    ):
        retry = self.unusable(response)
        if retry is not None:
            yield from retry
            return
        self.crawler.stats.inc_value("yuqing/pages/thread")
        title = (
            response.css(".core_title_txt::attr(title)").get()
            or response.css(".core_title_txt::text").get("")
        ).strip()
        forum = response.css(".card_title_fname::text").get("").strip()
        # The page's count is as fresh as the list's; the list's serves when the page lacks it.
        replies = self.reply_count(response)
        replies = reply_num if replies is None else replies
        posts = response.css("div.l_post")
        # The empty placeholder floor (data-field "{}") is not an entry.
        placeholders = sum(post.attrib.get("data-field", "").strip() == "{}" for post in posts)
        self.found(response, len(posts) - placeholders)
        for post in posts:
            item = self.post_item(post, tid, title, forum, first_pid, stream)
            if item is None:
                continue
            if item["extra"].get("floor") == 1:
                first_pid = first_pid or item["post_id"]
                if replies is not None:
                    # The first floor stands for the thread: its comments are the thread's
                    # replies; its own 楼中楼 count stays in extra.
                    item["comments"] = replies
            else:
                item["parent_post_id"] = str(first_pid) if first_pid else None
            yield item
        if page == 1:
            total = self.total_pages(response)
            # New replies land on the last pages: read the first page and the newest ones.
            first_more = max(2, total - self.thread_max_pages + 2)
            for number in range(first_more, total + 1):
                yield self.thread_request(tid, stream, number, first_pid)

    def reply_count(self, response) -> int | None:
        numbers = response.css("li.l_reply_num span.red::text").getall()
        return count_or_none(numbers[0]) if numbers else None

    def total_pages(self, response) -> int:
        numbers = response.css("li.l_reply_num span.red::text").getall()
        try:
            return int(numbers[1]) if len(numbers) > 1 else 1
        except ValueError:
            self.field_problem("thread/pages")
            return 1

    def post_item(self, post, tid, title, forum, first_pid, stream) -> MentionItem | None:
        try:
            field = json.loads(post.attrib.get("data-field", ""))
        except ValueError:
            self.field_problem("thread/data_field")
            return None
        if not field:
            return None  # the empty placeholder floor every page carries: nothing lost
        content = field.get("content") or {}
        author = field.get("author") or {}
        pid = str(content.get("post_id") or "")
        if not pid:
            self.field_problem("thread/post_id")
            return None
        tail = " ".join(post.css(".post-tail-wrap *::text, .post-tail-wrap::text").getall())
        date = _DATE_IN_TAIL.search(tail) or _DATE_IN_TAIL.search(content.get("date") or "")
        if not date:
            self.field_problem("thread/date")
            return None
        published = parse_chinese_time(date.group(0), self.now())
        self.saw(stream, published)
        if self.is_known(stream, published):
            return None
        body = post.css(f"#post_content_{pid}") or post.css(".d_post_content")
        if not body:
            self.field_problem("thread/body")
            return None
        body = Selector(text=body[0].get())  # a copy: dropping chrome must not alter the page
        for chrome in body.css(_BODY_CHROME):
            chrome.drop()
        body = body.css(".d_post_content").get() or body.css("body > *").get("")
        ip_region = re.search(r"IP属地[:：]\s*(\S+)", tail)
        floor = content.get("post_no")
        comments = count_or_none(content.get("comment_num")) or 0
        extra = {"tid": tid, "floor": floor, "forum": forum or None, "sub_replies": comments}
        if ip_region:
            extra["ip_location"] = ip_region.group(1)
        user_id = author.get("user_id")
        if author.get("user_name"):
            extra["user_name"] = author["user_name"]
        # What readers see: the name on the page, else the data-field's name_show; the account's
        # user_name differs on most floors and is empty for 贴吧用户_… accounts.
        shown = post.css(".d_author .p_author_name") or post.css(".p_author_name")
        shown = "".join(shown[:1].css("::text, *::text").getall()).strip() if shown else ""
        name = shown or author.get("name_show") or author.get("user_name") or author.get("name")
        return MentionItem(
            platform=self.platform,
            post_id=pid,
            url=f"{self.base_url}/p/{tid}?pid={pid}#{pid}",
            text=body,
            title=title if floor == 1 else None,
            topics=[],
            # A visitor's floor has no account id, but still the name (an IP) readers see.
            author={"id": str(user_id) if user_id else None, "name": name or None}
            if user_id or name
            else None,
            published_at=self.published(published),
            crawled_at=self.crawled_at(),
            comments=comments,
            parent_post_id=None,
            extra={k: v for k, v in extra.items() if v is not None},
        )


def next_offset(next_link, offset: int) -> int:
    """The list offset the pager's "下一页" link points at; one page size on when unreadable."""
    found = _PN.search(next_link.attrib.get("href", "")) if next_link else None
    if found and int(found.group(1)) > offset:
        return int(found.group(1))
    return offset + FORUM_PAGE_SIZE


def count_or_none(value) -> int | None:
    """A count from data-field JSON or page text ("786"), None when absent or unreadable."""
    try:
        return max(0, int(str(value).strip().replace(",", "")))
    except (TypeError, ValueError):
        return None
