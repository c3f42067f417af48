"""The demo's replica site: m.weibo.cn search, a Discuz! X forum and a news feed on 127.0.0.1,
serving the scripted timeline only up to the simulated clock the demo advances.

The pages have the real sites' formats (the same the crawler tests use), so the real spiders
crawl it unchanged through ``[crawl].base_urls``, ``[[crawl.discuz]]`` and ``[[crawl.news]]``.
Engagement counts grow with the clock, as a viral post's do.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from pipeline.demo.loopback import serve, shut
from pipeline.demo.timeline import Timeline, WeiboPost

BEIJING = timezone(timedelta(hours=8))
PAGE_SIZE = 20
POSTS_PER_PAGE = 10
FORUM_ID = 2
_DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def weibo_time(at: datetime) -> str:
    """The API's ``created_at``: ``Sat Dec 23 17:12:54 +0800 2023``."""
    t = at.astimezone(BEIJING)
    return f"{_DAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:02d} {t:%H:%M:%S} +0800 {t.year}"


class DemoSite:
    """Serves ``timeline`` as of ``clock``; set ``clock`` to move time on."""

    def __init__(self, timeline: Timeline, clock: datetime):
        self.timeline = timeline
        self.clock = clock
        self.requests = 0
        self._by_id = {p.post_id: p for p in timeline.weibo}
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the site first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- what is visible now ------------------------------------------------------------------

    def _visible(self, at: datetime) -> bool:
        return at <= self.clock

    def _grown(self, post: WeiboPost, final: int) -> int:
        share = (self.clock - post.at) / post.ramp if post.ramp else 1.0
        return round(final * max(0.0, min(1.0, share)))

    def _mblog(self, post: WeiboPost, full: bool = False) -> dict:
        cut = post.long and not full
        text = html.escape(post.text, quote=False)
        if cut:
            text = text[:140] + f'...<a href="/status/{post.post_id}">全文</a>'
        status = {
            "created_at": weibo_time(post.at),
            "id": post.post_id,
            "mid": post.post_id,
            "bid": "N" + post.post_id[-8:],
            "text": text,
            "source": "iPhone客户端",
            "isLongText": cut,
            "user": {
                "id": post.author.uid,
                "screen_name": post.author.name,
                "followers_count": post.author.followers,
                "verified": post.author.verified,
                "verified_type": post.author.verified_type,
            },
            "reposts_count": self._grown(post, post.reposts),
            "comments_count": self._grown(post, post.comments),
            "attitudes_count": self._grown(post, post.likes),
            "region_name": "发布于 浙江",
        }
        parent = self._by_id.get(post.repost_of or "")
        if parent is not None:
            # Weibo shows the original in full inside a repost.
            status["retweeted_status"] = self._mblog(parent, full=True)
        return status

    # -- m.weibo.cn ---------------------------------------------------------------------------

    def weibo_search(self, query: dict[str, str]) -> tuple[int, str, str]:
        container = query.get("containerid", "")
        words = container.split("&q=", 1)[1].split() if "&q=" in container else []
        page = int(query.get("page", "1") or 1)
        found = [
            p
            for p in self.timeline.weibo
            if self._visible(p.at) and all(w in p.text for w in words)
        ]
        found.sort(key=lambda p: p.at, reverse=True)
        chunk = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        if not chunk:
            return _json({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}})
        cards = [{"card_type": 9, "mblog": self._mblog(p)} for p in chunk]
        return _json({"ok": 1, "data": {"cardlistInfo": {"page": page + 1}, "cards": cards}})

    def weibo_detail(self, post_id: str) -> tuple[int, str, str]:
        post = self._by_id.get(post_id)
        if post is None or not self._visible(post.at):
            gone = "<html><body>微博不存在或暂无查看权限!</body></html>"
            return 200, "text/html; charset=utf-8", gone
        render = json.dumps([{"status": self._mblog(post, full=True)}], ensure_ascii=False)
        page = (
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>微博</title></head><body>'
            f'<div id="app"></div><script>\n    var $render_data = {render}[0] || {{}};\n'
            "</script></body></html>"
        )
        return 200, "text/html; charset=utf-8", page

    def weibo_comments(self, query: dict[str, str]) -> tuple[int, str, str]:
        post = self._by_id.get(query.get("id", ""))
        shown = [c for c in (post.hot_comments if post else []) if self._visible(c.at)]
        if not shown:
            return _json({"ok": 0, "msg": "暂无数据"})
        data = [
            {
                "created_at": weibo_time(c.at),
                "id": c.post_id,
                "text": html.escape(c.text, quote=False),
                "user": {"id": c.author.uid, "screen_name": c.author.name},
                "like_count": self._grown(c, c.likes),
                "total_number": 0,
            }
            for c in shown
        ]
        return _json({"ok": 1, "data": {"data": data, "max_id": 0, "max_id_type": 0}})

    # -- Discuz! X ----------------------------------------------------------------------------

    def _forum_page(self, title: str, body: str) -> tuple[int, str, str]:
        page = (
            '<!DOCTYPE html><html><head><meta http-equiv="Content-Type" '
            f'content="text/html; charset=utf-8" /><title>{html.escape(title)} - Powered by '
            f"Discuz!</title></head><body>{body}</body></html>"
        )
        return 200, "text/html; charset=utf-8", page

    def forum(self, query: dict[str, str]) -> tuple[int, str, str]:
        if query.get("mod") == "forumdisplay":
            return self.forum_board(query)
        return self.forum_thread(query)

    def _thread_posts(self, tid: int):
        thread = next((t for t in self.timeline.threads if t.tid == tid), None)
        posts = [p for p in thread.posts if self._visible(p.at)] if thread else []
        return thread, posts

    def forum_board(self, query: dict[str, str]) -> tuple[int, str, str]:
        rows = []
        listed = []
        for thread in self.timeline.threads:
            _, posts = self._thread_posts(thread.tid)
            if posts:
                listed.append((max(p.at for p in posts), thread, posts))
        listed.sort(key=lambda row: row[0], reverse=True)
        if int(query.get("page", "1") or 1) > 1:
            listed = []
        for last, thread, posts in listed:
            local = last.astimezone(BEIJING)
            rows.append(
                f'<tbody id="normalthread_{thread.tid}"><tr><th class="new">'
                f'<a href="forum.php?mod=viewthread&amp;tid={thread.tid}" class="s xst">'
                f"{html.escape(thread.title)}</a></th>"
                f'<td class="by"><cite><a href="home.php?mod=space&amp;uid={posts[0].uid}">'
                f"{html.escape(posts[0].author)}</a></cite></td>"
                f'<td class="num"><a class="xi2">{len(posts) - 1}</a></td>'
                f'<td class="by"><em><span title="{local:%Y-%m-%d %H:%M}">刚刚</span></em></td>'
                "</tr></tbody>"
            )
        body = (
            f'<div id="threadlist"><table summary="forum_{FORUM_ID}">{"".join(rows)}</table>'
            '</div><div class="pg"><strong>1</strong></div>'
        )
        return self._forum_page("咖啡交流区", body)

    def forum_thread(self, query: dict[str, str]) -> tuple[int, str, str]:
        thread, posts = self._thread_posts(int(query.get("tid", "0") or 0))
        if thread is None or not posts:
            return self._forum_page(
                "提示信息", '<div class="alert_error">抱歉，指定的主题不存在或已被删除</div>'
            )
        page = int(query.get("page", "1") or 1)
        chunk = posts[(page - 1) * POSTS_PER_PAGE : page * POSTS_PER_PAGE]
        items = []
        for post in chunk:
            local = post.at.astimezone(BEIJING)
            items.append(
                f'<div id="post_{post.pid}"><table id="pid{post.pid}"><tr><td class="pls">'
                f'<div class="authi"><a href="home.php?mod=space&amp;uid={post.uid}" '
                f'class="xw1">{html.escape(post.author)}</a></div></td><td class="plc">'
                f'<div class="authi"><em id="authorposton{post.pid}">发表于 '
                f'<span title="{local:%Y-%m-%d %H:%M:%S}">刚刚</span></em></div>'
                f'<table><tr><td class="t_f" id="postmessage_{post.pid}">'
                f"{html.escape(post.text)}</td></tr></table></td></tr></table></div>"
            )
        body = (
            f'<h1 class="ts"><span id="thread_subject">{html.escape(thread.title)}</span></h1>'
            f'<div class="pg"><strong>{page}</strong></div>'
            f'<div id="postlist">{"".join(items)}</div>'
        )
        return self._forum_page(thread.title, body)

    # -- news ---------------------------------------------------------------------------------

    def _article_url(self, slug: str) -> str:
        return f"{self.base_url}/news/a/{slug}.html"

    def news_feed(self) -> tuple[int, str, str]:
        shown = [a for a in self.timeline.articles if self._visible(a.at)]
        shown.sort(key=lambda a: a.at, reverse=True)
        items = "".join(
            f"<item><title>{html.escape(a.title)}</title><link>{self._article_url(a.slug)}</link>"
            f"<description>{html.escape(a.paragraphs[0][:40])}</description>"
            f"<pubDate>{a.at.astimezone(BEIJING):%Y-%m-%d %H:%M:%S}</pubDate>"
            f"<guid>{self._article_url(a.slug)}</guid></item>"
            for a in shown
        )
        feed = (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>星城日报</title><link>{self.base_url}/news/</link>"
            f"<description>星城日报 消费</description><language>zh-cn</language>{items}"
            "</channel></rss>"
        )
        return 200, "application/rss+xml; charset=utf-8", feed

    def news_article(self, slug: str) -> tuple[int, str, str]:
        article = next((a for a in self.timeline.articles if a.slug == slug), None)
        if article is None or not self._visible(article.at):
            return 404, "text/html; charset=utf-8", "<html><body>页面不存在</body></html>"
        local = article.at.astimezone(BEIJING)
        body = "".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
        page = (
            '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{html.escape(article.title)}_星城日报</title></head><body>"
            f'<div class="main"><h1 class="article-title">{html.escape(article.title)}</h1>'
            f'<div class="article-info"><span class="date">{local:%Y年%m月%d日 %H:%M}</span>'
            '<span class="source">来源：星城日报</span></div>'
            f'<div class="article-content">{body}<p class="editor">（记者 {article.reporter}）'
            '</p></div></div><div class="footer"><p>版权所有 星城日报社</p></div>'
            "</body></html>"
        )
        return 200, "text/html; charset=utf-8", page

    # -- serving ------------------------------------------------------------------------------

    def respond(self, path: str, query: dict[str, str]) -> tuple[int, str, str]:
        if path == "/robots.txt":
            return 200, "text/plain", "User-agent: *\nDisallow: /private/\n"
        if path == "/api/container/getIndex":
            return self.weibo_search(query)
        if path.startswith("/detail/"):
            return self.weibo_detail(path.rsplit("/", 1)[1])
        if path == "/comments/hotflow":
            return self.weibo_comments(query)
        if path == "/bbs/forum.php":
            return self.forum(query)
        if path == "/news/rss.xml":
            return self.news_feed()
        if path.startswith("/news/a/"):
            return self.news_article(path.rsplit("/", 1)[1].removesuffix(".html"))
        return 404, "text/html; charset=utf-8", "<html><body>404</body></html>"

    def start(self) -> DemoSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (the stdlib's name)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                site.requests += 1
                status, content_type, text = site.respond(parts.path, query)
                data = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # the demo prints its own story
                pass

        self._server = serve(Handler)
        return self

    def stop(self) -> None:
        shut(self._server)
        self._server = None


def _json(data: dict) -> tuple[int, str, str]:
    return 200, "application/json; charset=utf-8", json.dumps(data, ensure_ascii=False)
