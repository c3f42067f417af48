"""Discuz! forums (X and 7.x), one spider for any number of sites listed in the config.

A forum is a config entry (``[[crawl.discuz]]``: name, base URL, board ids, version), so adding
one needs no code; a site with odd markup can subclass :class:`DiscuzSpider` and override one
hook. Board lists are read newest-reply first; each thread's first page and newest pages are
read. Pages are often GBK or GB18030: the charset comes from the HTTP header or the meta tag
(Scrapy reads both), and a config ``encoding`` overrides a site that lies about it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import scrapy
from lxml import etree

from crawlers.dates import parse_chinese_time
from crawlers.items import MentionItem
from crawlers.spiders.base import MentionSpider
from crawlers.spiders.tieba import is_truncated

_PID = re.compile(r"postmessage_(\d+)")
_TID = re.compile(r"normalthread_(\d+)")
_UID = re.compile(r"uid[=-](\d+)")
_POSTED = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")
# Page chrome Discuz! renders inside a post's message cell: the guest notice (马上注册…您需要
# 登录 才可以下载或查看), attachment widgets with their download tips and scripts, the
# "本帖最后由 X 于 … 编辑" edit line (X: i.pstatus, 7.2: a leading em/i with the same text).
_CHROME = (
    "div.locked, .attach_nopermission, ignore_js_op, .tip, .aimg_tip, script, style, "
    "i.pstatus, .t_attach, .attach_tips"
)
# Quoted posts: X wraps a blockquote in div.quote; 7.2 adds an <h5>引用:</h5> heading.
_QUOTE = "div.quote, blockquote"
_EDITED = re.compile(r"^\s*本帖最后由\s*\S+\s*于\s*[\d\-/: ]+\s*编辑\s*")
# Named floors; the rest are printed as <em>5</em><sup>#</sup>.
_FLOOR_NAMES = {"楼主": 1, "沙发": 2, "板凳": 3, "地板": 4}


@dataclass(frozen=True)
class Layout:
    """Where a Discuz! version keeps things."""

    board_url: str
    thread_url: str
    title: str  # thread title in a board row
    last_post: str  # last-reply cell of a board row
    next_page: str


LAYOUTS = {
    "x": Layout(
        board_url="{base}/forum.php?mod=forumdisplay&fid={fid}&orderby=lastpost&page={page}",
        thread_url="{base}/forum.php?mod=viewthread&tid={tid}&page={page}",
        title="a.xst",
        last_post="td.by:last-child",
        next_page="div.pg a.nxt",
    ),
    "7": Layout(
        board_url="{base}/forumdisplay.php?fid={fid}&orderby=lastpost&page={page}",
        thread_url="{base}/viewthread.php?tid={tid}&page={page}",
        title="span[id^=thread_] a",
        last_post="td.lastpost",
        next_page="div.pages a.next",
    ),
}


class DiscuzSpider(MentionSpider):
    name = "discuz"
    platform = "discuz"
    page_kinds = {"thread": "parse_thread", "list": "parse_board"}

    def setup(self) -> None:
        super().setup()
        self.forums = [dict(forum) for forum in self.settings.getlist("DISCUZ_FORUMS")]

    def first_requests(self):
        if not self.forums:
            self.end_run("nothing_to_crawl", "no Discuz! forum configured ([[crawl.discuz]])")
        return [
            self.board_request(forum, fid, 1) for forum in self.forums for fid in forum["forum_ids"]
        ]

    def layout(self, forum: dict) -> Layout:
        return LAYOUTS[str(forum.get("version", "x"))]

    def decoded(self, response, forum: dict):
        """The response read in the forum's configured encoding, if it has one."""
        encoding = forum.get("encoding")
        return response.replace(encoding=encoding) if encoding else response

    # -- requests -----------------------------------------------------------------------------

    def board_request(self, forum: dict, fid: int, page: int) -> scrapy.Request:
        url = self.layout(forum).board_url.format(
            base=forum["base_url"].rstrip("/"), fid=fid, page=page
        )
        stream = f"{forum['name']}/{fid}"
        return scrapy.Request(
            url,
            callback=self.parse_board,
            errback=self.request_failed,
            meta={"stream": stream},
            cb_kwargs={"forum": forum, "fid": fid, "page": page, "stream": stream},
        )

    def thread_request(self, forum: dict, tid: str, stream: str, page: int = 1, first=None):
        url = self.layout(forum).thread_url.format(
            base=forum["base_url"].rstrip("/"), tid=tid, page=page
        )
        return scrapy.Request(
            url,
            callback=self.parse_thread,
            errback=self.request_failed,
            meta={"stream": stream},
            cb_kwargs={"forum": forum, "tid": tid, "stream": stream, "page": page, "first": first},
        )

    # -- boards -------------------------------------------------------------------------------

    def parse_board(self, response, forum: dict, fid: int, page: int, stream: str):
        if is_truncated(response):
            yield from self.retry_or_close(response, "truncated", close_reason=None)
            return
        response = self.decoded(response, forum)
        layout = self.layout(forum)
        self.crawler.stats.inc_value("yuqing/pages/board")
        times = []
        # Only normal threads: sticky ones (stickthread_) sit on top whatever their age.
        rows = response.css("tbody[id^=normalthread_]")
        self.found(response, len(rows))
        if not rows and "尚无主题" in response.text:  # "本版块或指定的范围内尚无主题"
            self.shown_empty(response, "no threads")
        for row in rows:
            tid = _TID.search(row.attrib["id"]).group(1)
            if not row.css(layout.title):
                self.field_problem("board/title")
            when = self.last_reply(row.css(layout.last_post))
            if when is not None:
                times.append(when)
            if when is None or not self.is_known(stream, when):
                yield self.thread_request(forum, tid, stream)
        has_next = bool(response.css(layout.next_page))
        if self.page_done(stream, times, has_next, exact=False):
            yield self.board_request(forum, fid, page + 1)

    def last_reply(self, cell):
        """Upper bound of a row's last reply time. X shows "3 小时前" with the exact time in a
        title attribute; a day without a time may mean any time that day."""
        text = cell.css("span[title]::attr(title)").get() or " ".join(
            cell.css("em *::text, em::text").getall()
        )
        match = _POSTED.search(text or "")
        if not match:
            self.field_problem("board/last_reply")
            return None
        when = parse_chinese_time(match.group(0), self.now())
        return when if ":" in match.group(0) else when + timedelta(days=1, seconds=-1)

    # -- threads ------------------------------------------------------------------------------

    def parse_thread(self, response, forum: dict, tid: str, stream: str, page: int, first):
        if is_truncated(response):
            yield from self.retry_or_close(response, "truncated", close_reason=None)
            return
        response = self.decoded(response, forum)
        self.crawler.stats.inc_value("yuqing/pages/thread")
        title = " ".join(
            response.css("#thread_subject::text, #threadtitle h1::text").get("").split()
        )
        bodies = response.css("td[id^=postmessage_]")
        self.found(response, len(bodies))
        notice = " ".join(response.css(".alert_error *::text, .alert_error::text").getall())
        if not bodies and notice.strip():
            # Discuz!'s message page, answered 200: the thread was deleted, is waiting for a
            # moderator, or needs a login. The site says so; the layout is fine.
            self.shown_empty(response, " ".join(notice.split())[:80])
            self.field_problem("thread/unavailable")
            return
        if not bodies:
            self.field_problem("thread/no_posts")
        for index, body in enumerate(bodies):
            pid = _PID.search(body.attrib["id"]).group(1)
            is_first = page == 1 and index == 0
            item = self.post_item(response, forum, tid, pid, body, title if is_first else None)
            if item is None:
                continue
            if is_first:
                first = item["post_id"]
            else:
                item["parent_post_id"] = first
            self.saw(stream, _published(item))
            if not self.is_known(stream, _published(item)):
                yield item
        if page == 1:
            total = self.total_pages(response)
            for number in range(max(2, total - self.thread_max_pages + 2), total + 1):
                yield self.thread_request(forum, tid, stream, number, first)

    def total_pages(self, response) -> int:
        numbers = [
            int(n)
            for text in response.css(
                "div.pg a::text, div.pg strong::text, div.pages a::text, div.pages strong::text"
            ).getall()
            for n in re.findall(r"\d+", text)
        ]
        return max(numbers, default=1)

    def post_item(self, response, forum, tid, pid, body, title) -> MentionItem | None:
        post = response.css(f"#post_{pid}")
        posted = " ".join(
            post.css(f"#authorposton{pid} span::attr(title), #authorposton{pid}::text").getall()
        )
        match = _POSTED.search(posted)
        if not match:
            self.field_problem("thread/date")
            return None
        author_link = next(
            (a for a in post.css("a[href*=uid]") if "".join(a.css("::text").getall()).strip()),
            None,
        )
        author = None
        if author_link is not None:
            uid = _UID.search(author_link.attrib.get("href", ""))
            author = {
                "id": uid.group(1) if uid else None,
                "name": "".join(author_link.css("::text").getall()).strip(),
            }
        else:
            self.field_problem("thread/author")
        name = forum["name"]
        return MentionItem(
            platform=self.platform,
            post_id=f"{name}-{pid}",
            url=self.layout(forum).thread_url.format(
                base=forum["base_url"].rstrip("/"), tid=tid, page=1
            )
            + f"#pid{pid}",
            text=own_words(body),
            title=title,
            topics=[],
            author=author,
            published_at=self.published(parse_chinese_time(match.group(0), self.now())),
            crawled_at=self.crawled_at(),
            parent_post_id=None,
            extra=self.post_extra(post, pid, body, name, tid, forum["base_url"]),
        )

    def post_extra(self, post, pid, body, name, tid, site) -> dict:
        extra = {"forum": name, "tid": tid, "site": site}
        floor = floor_number(post.css(f"a#postnum{pid}, a[id^=postnum]"))
        if floor is None:
            self.field_problem("thread/floor")
        else:
            extra["floor"] = floor
        quote = quoted_text(body)
        if quote:
            extra["quote"] = quote
        return extra


def _remove(element) -> None:
    """Drop an element but keep the text that follows it (lxml stores it on the element)."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def own_words(body) -> str:
    """The message cell's HTML with only its author's words: no page chrome, no quoted post."""
    root = copy.deepcopy(body.root)
    selector = scrapy.Selector(root=root)
    for part in selector.css(f"{_CHROME}, {_QUOTE}"):
        _remove(part.root)
    html = etree.tostring(root, encoding="unicode", method="html", with_tail=False)
    # 7.2 prints the edit line as plain text at the start of the cell.
    opening, _, rest = html.partition(">")
    return f"{opening}>{_EDITED.sub('', rest, count=1)}"


def quoted_text(body) -> str | None:
    """The text of the post(s) a reply quotes, kept apart from the reply's own words."""
    quotes = body.css("div.quote") or body.css("blockquote")
    texts = []
    for quote in quotes:
        words = " ".join(
            " ".join(t.split())
            for t in quote.css(
                "blockquote *:not(script):not(style)::text, blockquote::text"
            ).getall()
        ).strip()
        if words:
            texts.append(words)
    return "\n".join(texts) or None


def floor_number(link) -> int | None:
    """The floor a post sits on: 楼主/沙发/板凳/地板 by name, then <em>5</em>#."""
    text = "".join(link[:1].css("::text").getall()).strip() if link else ""
    for label, number in _FLOOR_NAMES.items():
        if label in text:
            return number
    digits = re.search(r"\d+", text)
    return int(digits.group(0)) if digits else None


def _published(item: MentionItem) -> datetime:
    return datetime.fromisoformat(item["published_at"])
