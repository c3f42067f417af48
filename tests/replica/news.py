"""News replica: an RSS 2.0 feed with offset-less Chinese dates (as many Chinese sites publish
them), an Atom feed with proper offsets, and article pages in a typical news-site layout."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime

from .server import Page, Replica, Request


@dataclass
class Article:
    slug: str
    title: str
    paragraphs: list[str]
    at: datetime
    reporter: str = "张三"
    source: str = "星城日报"


@dataclass
class NewsSite:
    articles: list[Article] = field(default_factory=list)

    def install(self, replica: Replica) -> None:
        self.base_url = replica.base_url
        replica.route("/news/rss.xml", self.rss)
        replica.route("/news/atom.xml", self.atom)
        replica.route("/news/a/", self.article)

    def link(self, article: Article) -> str:
        return f"{self.base_url}/news/a/{article.slug}.html"

    def rss(self, request: Request) -> Page:
        items = "".join(
            f"<item><title>{html.escape(a.title)}</title><link>{self.link(a)}</link>"
            f"<description><![CDATA[{a.paragraphs[0][:30]}…]]></description>"
            f"<pubDate>{a.at:%Y-%m-%d %H:%M:%S}</pubDate>"
            f'<guid isPermaLink="true">{self.link(a)}</guid></item>'
            for a in self.articles
        )
        return Page(
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>星城日报</title><link>{self.base_url}/news/</link>"
            f"<description>星城日报 财经</description><language>zh-cn</language>{items}"
            "</channel></rss>",
            content_type="application/rss+xml; charset=utf-8",
        )

    def atom(self, request: Request) -> Page:
        entries = "".join(
            f"<entry><title>{html.escape(a.title)}</title>"
            f'<link rel="alternate" href="{self.link(a)}"/><id>{self.link(a)}</id>'
            f"<published>{a.at.isoformat()}</published><updated>{a.at.isoformat()}</updated>"
            f"<author><name>{a.reporter}</name></author>"
            f"<summary>{html.escape(a.paragraphs[0][:30])}</summary></entry>"
            for a in self.articles
        )
        updated = max((a.at for a in self.articles), default=datetime(2025, 1, 1)).isoformat()
        return Page(
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>星城日报</title>'
            f'<link href="{self.base_url}/news/"/><updated>{updated}</updated>'
            f"<id>{self.base_url}/news/</id>{entries}</feed>",
            content_type="application/atom+xml; charset=utf-8",
        )

    def article(self, request: Request) -> Page:
        slug = request.path.rsplit("/", 1)[1].removesuffix(".html")
        article = next((a for a in self.articles if a.slug == slug), None)
        if article is None:
            return Page("<html><body>页面不存在</body></html>", status=404)
        body = "".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
        nav = "".join(f'<li><a href="/news/c{n}/">频道{n}</a></li>' for n in range(8))
        return Page(
            '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{html.escape(article.title)}_星城日报</title>"
            f'<meta name="keywords" content="星城日报"></head><body>'
            f'<div class="header"><ul class="nav">{nav}</ul></div>'
            f'<div class="main"><h1 class="article-title">{html.escape(article.title)}</h1>'
            f'<div class="article-info"><span class="date">{article.at:%Y年%m月%d日 %H:%M}</span>'
            f'<span class="source">来源：{article.source}</span></div>'
            f'<div class="article-content" id="article">{body}'
            f'<p class="editor">（记者 {article.reporter}）</p></div></div>'
            '<div class="footer"><p>版权所有 星城日报社 京ICP备00000000号</p></div>'
            "</body></html>"
        )


def rfc822(when: datetime) -> str:
    return format_datetime(when)
