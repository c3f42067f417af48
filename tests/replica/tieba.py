"""Tieba replica: search results, forum lists and thread pages built the way the real site builds
them.

- Forum lists close ``</html>`` early and ship the thread list and the pager afterwards, as
  "bigpipe" ``<code id="pagelet_html_frs-list/...">`` blocks whose HTML sits in a comment; rows
  carry ``reply_num`` in their data-field and show it in ``threadlist_rep_num``.
- Thread pages: posts with data-field JSON, a display name (``a.p_author_name``) that is not the
  account's ``user_name`` (which may be empty: "贴吧用户_…"), image floors folded behind the
  "点击展开，查看完整图片" tip, an empty placeholder floor (``data-field='{}'``) on every page,
  "N回复贴，共M页", and tails with date and IP属地.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime

from .server import Page, Replica, Request

POSTS_PER_PAGE = 3


@dataclass
class TiebaPost:
    pid: int
    user_id: int
    user_name: str
    text: str
    at: datetime
    ip_region: str = "广东"
    comment_num: int = 0
    # What the page shows as the author; the real site mostly shows a nickname, not user_name.
    display_name: str | None = None
    images: int = 0  # long images folded behind the expander tip, after the text

    @property
    def shown_name(self) -> str:
        return self.display_name or self.user_name


@dataclass
class TiebaThread:
    tid: int
    forum: str
    title: str
    posts: list[TiebaPost]
    pinned: bool = False
    replies: int | None = None  # the count the site shows; by default, every post but the first

    @property
    def reply_num(self) -> int:
        return len(self.posts) - 1 if self.replies is None else self.replies

    @property
    def last_reply(self) -> datetime:
        return max(p.at for p in self.posts)


@dataclass
class TiebaSite:
    threads: list[TiebaThread] = field(default_factory=list)
    forum_page_size: int = 50
    search_page_size: int = 20

    def install(self, replica: Replica) -> None:
        replica.route("/f/search/res", self.search)
        replica.route("/f", self.forum)
        replica.route("/p/", self.thread)
        replica.route("/static/captcha/", self.captcha)

    def captcha(self, request: Request) -> Page:
        # Where Baidu redirects a client it distrusts (wappass.baidu.com/static/captcha/...).
        return Page(
            "<!DOCTYPE html><html><head><title>百度安全验证</title></head><body>"
            '<div class="timeout-title">请完成下方验证后继续操作</div></body></html>'
        )

    def search(self, request: Request) -> Page:
        word = request.query.get("qw", "")
        page = int(request.query.get("pn", "1"))
        hits = [(t, p) for t in self.threads for p in t.posts if word in p.text or word in t.title]
        hits.sort(key=lambda h: h[1].at, reverse=True)
        start = (page - 1) * self.search_page_size
        chunk = hits[start : start + self.search_page_size]
        results = "".join(
            f"""<div class="s_post">
<span class="p_title"><a data-tid="{t.tid}" data-fid="52" class="bluelink"
 href="/p/{t.tid}?pid={p.pid}&amp;cid=#{p.pid}" target="_blank">{html.escape(t.title)}</a></span>
<div class="p_content">{html.escape(p.text[:60])}</div>
贴吧：<a data-fid="52" class="p_forum" href="/f?kw={t.forum}" target="_blank"><font
 class="p_violet">{t.forum}</font></a>
作者：<a href="/home/main?id=tb.1.abc" target="_blank"><font
 class="p_violet">{html.escape(p.shown_name)}</font></a>
<font class="p_green p_date">{p.at:%Y-%m-%d %H:%M}</font>
</div>"""
            for t, p in chunk
        )
        if not chunk:  # the site's own "nothing found" notice
            results = (
                '<div class="s_noresult">抱歉，没有找到与“<em>'
                f"{html.escape(word)}</em>”相关的结果。</div>"
            )
        more = start + self.search_page_size < len(hits)
        pager = f'<a href="/f/search/res?qw={word}&pn={page + 1}" class="next">下一页&gt;</a>'
        return Page(
            '<!DOCTYPE html><html><head><meta charset="UTF-8"><title>百度贴吧_全吧搜索</title>'
            f'</head><body><div class="s_post_list">{results}</div>'
            f'<div class="pager pager-search">{pager if more else ""}</div></body></html>'
        )

    def forum(self, request: Request) -> Page:
        name = request.query.get("kw", "")
        offset = int(request.query.get("pn", "0"))
        threads = [t for t in self.threads if t.forum == name]
        threads.sort(key=lambda t: (not t.pinned, -t.last_reply.timestamp()))
        chunk = threads[offset : offset + self.forum_page_size]
        rows = "".join(self._row(t) for t in chunk)
        more = offset + self.forum_page_size < len(threads)
        pager = (
            f'<a href="/f?kw={name}&ie=utf-8&pn={offset + self.forum_page_size}" '
            'class="next pagination-item">下一页&gt;</a>'
            if more
            else ""
        )
        listing = f'<ul id="thread_list" class="threadlist_bright j_threadlist_bright">{rows}</ul>'
        # The document ends early; the pagelets follow it, each HTML-in-a-comment, as the real
        # site streams them. lxml parses them outside the root element.
        return Page(
            '<!DOCTYPE html><html><head><meta charset="UTF-8">'
            f"<title>{name}吧-百度贴吧</title></head><body>"
            '<div id="pagelet_frs-list/pagelet/thread_list"></div>'
            "</body></html>\n"
            '<code id="pagelet_html_frs-list/pagelet/thread_list" style="display:none;"><!--\n'
            f'<div id="content_leftList" class="content_leftList clearfix">{listing}\n'
            f'<div class="thread_list_bottom clearfix"><div id="frs_list_pager" '
            f'class="pagination-default clearfix">{pager}</div></div></div>\n'
            "--></code>\n"
            "<script>Bigpipe.register('frs-list/pagelet/thread_list', "
            "{'parent': 'frs-list/pagelet'}).on('load', function () {});</script>\n"
        )

    def _row(self, thread: TiebaThread) -> str:
        first = thread.posts[0]
        data = {
            "id": thread.tid,
            "author_name": first.user_name,
            "author_nickname": None,
            "author_portrait": "tb.1.abc",
            "first_post_id": first.pid,
            "reply_num": thread.reply_num,
            "is_bakan": None,
            "vid": "",
            "is_good": None,
            "is_top": 1 if thread.pinned else None,
            "is_protal": None,
            "is_membertop": None,
            "is_multi_forum": None,
            "frs_tpoint": None,
        }
        when = thread.last_reply
        shown = f"{when:%Y-%m-%d}" if when.year < 2025 else f"{when.month}-{when.day}"
        css = "thread_top" if thread.pinned else ""
        return (
            f"""<li class=" j_thread_list {css} clearfix thread_item_box" """
            f"""data-field='{html.escape(json.dumps(data), quote=True)}' data-tid="{thread.tid}">"""
            '<div class="col2_left j_threadlist_li_left">'
            '<span class="threadlist_rep_num center_text" title="回复">'
            f"{thread.reply_num}</span></div>"
            f'<div class="threadlist_title pull_left j_th_tit"><a rel="noopener" '
            f'href="/p/{thread.tid}" title="{html.escape(thread.title)}" target="_blank" '
            f'class="j_th_tit ">{html.escape(thread.title)}</a></div>'
            '<div class="threadlist_abs threadlist_abs_onlyline">'
            f"{html.escape(first.text[:40])}</div>"
            f'<span class="threadlist_reply_date pull_right j_reply_data" title="最后回复时间">'
            f"\n    {shown}\n</span></li>"
        )

    def thread(self, request: Request) -> Page:
        tid = int(request.path.split("/")[2])
        thread = next((t for t in self.threads if t.tid == tid), None)
        if thread is None:
            return Page(
                "<html><head><title>贴吧404</title></head><body>很抱歉，该贴已被删除。</body></html>",
                status=404,
            )
        page = int(request.query.get("pn", "1"))
        total = max(1, -(-len(thread.posts) // POSTS_PER_PAGE))
        chunk = thread.posts[(page - 1) * POSTS_PER_PAGE : page * POSTS_PER_PAGE]
        start_floor = (page - 1) * POSTS_PER_PAGE + 1
        posts = [self._post(thread, p, start_floor + i) for i, p in enumerate(chunk)]
        # Every page carries an empty floor (an ad slot) right after its first post.
        posts.insert(
            1,
            '<div class="l_post l_post_bright j_l_post clearfix " data-field="{}">'
            '<div class="d_post_content_main"></div></div>',
        )
        posts = "".join(posts)
        return Page(
            '<!DOCTYPE html><html><head><meta charset="UTF-8">'
            f"<title>{html.escape(thread.title)}_{thread.forum}吧_百度贴吧</title></head><body>"
            f'<a class="card_title_fname" href="/f?kw={thread.forum}">{thread.forum}吧</a>'
            '<h3 class="core_title_txt pull-left text-overflow" '
            f'title="{html.escape(thread.title)}">{html.escape(thread.title)}</h3>'
            f'<ul class="l_posts_num"><li class="l_reply_num" style="margin-left:8px">'
            f'<span class="red" style="margin-right:3px">{thread.reply_num}</span>回复贴，共'
            f'<span class="red">{total}</span>页</li></ul>'
            f'<div class="p_postlist" id="j_p_postlist">{posts}</div></body></html>'
        )

    def _images(self, post: TiebaPost) -> str:
        # A long image is folded: a fixed-height box with the expander tip laid over its foot.
        return "".join(
            '<div class="replace_div" style="width: 560px;"><img class="BDE_Image" '
            f'src="https://tiebapic.baidu.com/forum/pic/item/{post.pid}{n}.jpg" size="164433" '
            'width="560" height="1210"><div class="replace_tip" style="width: 558px;">'
            '<i class="icon-expand"></i>点击展开，查看完整图片</div></div>'
            for n in range(post.images)
        )

    def _post(self, thread: TiebaThread, post: TiebaPost, floor: int) -> str:
        # Floors by visitors without an account (old threads: an IP such as "59.42.*.*")
        # carry no user_id at all.
        account = {"user_id": post.user_id} if post.user_id else {}
        data = {
            "author": {
                **account,
                "user_name": post.user_name,
                "props": None,
                "portrait": "tb.1.abc",
            },
            "content": {
                "post_id": post.pid,
                "is_anonym": False,
                "forum_id": 52,
                "thread_id": thread.tid,
                "content": "",
                "post_no": floor,
                "type": "0",
                "comment_num": post.comment_num,
                "is_fold": 0,
                "props": None,
                "post_index": floor - 1,
                "pb_tpoint": None,
            },
        }
        return (
            f"""<div class="l_post l_post_bright j_l_post clearfix  " """
            f"""data-field='{html.escape(json.dumps(data, ensure_ascii=False), quote=True)}'>"""
            f'<div class="d_author"><ul class="p_author"><li class="d_name">'
            f'<a class="p_author_name j_user_card" href="/home/main?id=tb.1.abc">'
            f"{html.escape(post.shown_name)}</a></li></ul></div>"
            f'<div class="d_post_content_main"><div class="p_content"><cc>'
            f'<div id="post_content_{post.pid}" class="d_post_content j_d_post_content " '
            f'style="display:;">            {html.escape(post.text)}{self._images(post)}<br>'
            f'<img class="BDE_Smiley" width="30" height="30" src="https://tb2.bdstatic.com/'
            f'tb/editor/images/client/image_emoticon25.png"></div><br></cc></div>'
            f'<div class="core_reply j_lzl_wrapper"><div class="core_reply_tail clearfix">'
            f'<div class="post-tail-wrap"><span>IP属地:{post.ip_region}</span>'
            f'<span class="tail-info">来自Android客户端</span>'
            f'<span class="tail-info">{floor}楼</span>'
            f'<span class="tail-info">{post.at:%Y-%m-%d %H:%M}</span></div></div></div></div></div>'
        )
