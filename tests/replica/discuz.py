"""Discuz! replica: board lists and thread pages of Discuz! X3 and Discuz! 7.2, served in GBK
(charset in the HTTP header, or only in the meta tag), the way most Chinese forums still are."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime

from .server import Page, Replica, Request

POSTS_PER_PAGE = 3
# What Discuz! prints for floors 1-4 instead of "N#".
FLOOR_NAMES = {1: "楼主", 2: "沙发", 3: "板凳", 4: "地板"}


@dataclass
class DzPost:
    pid: int
    uid: int
    author: str
    text: str
    at: datetime
    quote: tuple[str, str] | None = None  # (quoted author, quoted text)
    edited_by: str | None = None  # "本帖最后由 X 于 … 编辑"
    attachment: str | None = None  # an image file name, rendered as the attachment widget


@dataclass
class DzThread:
    tid: int
    fid: int
    title: str
    posts: list[DzPost]
    sticky: bool = False
    # Deleted (or sent to moderation) after the board page was built: still listed, but its
    # page is Discuz!'s 200 message page.
    deleted: bool = False

    @property
    def last_reply(self) -> datetime:
        return max(p.at for p in self.posts)


@dataclass
class DiscuzSite:
    version: str = "x"  # "x" or "7"
    prefix: str = ""  # where the forum lives on the replica, e.g. /bbs
    threads: list[DzThread] = field(default_factory=list)
    board_page_size: int = 3
    charset_in_header: bool = True
    encoding: str = "gbk"
    guest_notice: bool = False  # the notice a guest sees at the top of each first post
    named_floors: bool = False  # 楼主/沙发/板凳/地板 instead of 1#-4#

    def install(self, replica: Replica) -> None:
        if self.version == "x":
            replica.route(f"{self.prefix}/forum.php", self.forum_php)
        else:
            replica.route(f"{self.prefix}/forumdisplay.php", self.board)
            replica.route(f"{self.prefix}/viewthread.php", self.thread)

    def forum_php(self, request: Request) -> Page:
        mod = request.query.get("mod")
        return self.board(request) if mod == "forumdisplay" else self.thread(request)

    def _page(self, title: str, body: str) -> Page:
        meta = f'<meta http-equiv="Content-Type" content="text/html; charset={self.encoding}" />'
        text = (
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
            f'<html xmlns="http://www.w3.org/1999/xhtml"><head>{meta}<title>{title} - '
            f"Powered by Discuz!</title></head><body>{body}</body></html>"
        )
        content_type = (
            f"text/html; charset={self.encoding}" if self.charset_in_header else "text/html"
        )
        return Page(text.encode(self.encoding), content_type=content_type)

    # -- boards -------------------------------------------------------------------------------

    def board(self, request: Request) -> Page:
        fid = int(request.query.get("fid", "0"))
        page = int(request.query.get("page", "1"))
        threads = [t for t in self.threads if t.fid == fid]
        sticky = [t for t in threads if t.sticky]
        normal = sorted(
            (t for t in threads if not t.sticky), key=lambda t: t.last_reply, reverse=True
        )
        chunk = normal[(page - 1) * self.board_page_size : page * self.board_page_size]
        more = page * self.board_page_size < len(normal)
        rows = "".join(
            self._row(t, "stickthread" if t.sticky else "normalthread")
            for t in (sticky if page == 1 else []) + chunk
        )
        if self.version == "x":
            pager = (
                f'<div class="pg"><strong>{page}</strong>'
                + (
                    f'<a href="forum.php?mod=forumdisplay&amp;fid={fid}&amp;page={page + 1}" '
                    'class="nxt">下一页</a>'
                    if more
                    else ""
                )
                + "</div>"
            )
            body = (
                f'<div id="threadlist" class="tl bm bmw"><table summary="forum_{fid}" '
                f'cellspacing="0" cellpadding="0" id="threadlisttableid">{rows}</table></div>'
                f'<div class="bm bw0 pgs cl">{pager}</div>'
            )
        else:
            pager = (
                f'<div class="pages"><strong>{page}</strong>'
                + (
                    f'<a href="forumdisplay.php?fid={fid}&amp;page={page + 1}" class="next">'
                    "下一页</a>"
                    if more
                    else ""
                )
                + "</div>"
            )
            body = (
                f'<div id="threadlist" class="mainbox threadlist"><form method="post" '
                f'name="moderate" action="topicadmin.php"><table summary="forum_{fid}" '
                f'id="forum_{fid}" cellspacing="0" cellpadding="0">{rows}</table></form></div>'
                f'<div class="pages_btns">{pager}</div>'
            )
        return self._page("咖啡交流区", body)

    def _row(self, thread: DzThread, kind: str) -> str:
        first, last = thread.posts[0], max(thread.posts, key=lambda p: p.at)
        title = html.escape(thread.title)
        if self.version == "x":
            return (
                f'<tbody id="{kind}_{thread.tid}"><tr><td class="icn"><a href="forum.php?'
                f'mod=viewthread&amp;tid={thread.tid}" title="有新回复 - 新窗口打开">'
                '<img src="static/image/common/folder_new.gif" /></a></td>'
                f'<th class="new"><a href="forum.php?mod=viewthread&amp;tid={thread.tid}&amp;'
                f'extra=page%3D1" onclick="atarget(this)" class="s xst">{title}</a></th>'
                f'<td class="by"><cite><a href="home.php?mod=space&amp;uid={first.uid}" '
                f'c="1">{first.author}</a></cite><em><span>{first.at:%Y-%m-%d}</span></em></td>'
                f'<td class="num"><a href="#" class="xi2">{len(thread.posts) - 1}</a>'
                "<em>100</em></td>"
                f'<td class="by"><cite><a href="home.php?mod=space&amp;username=x" c="1">'
                f'{last.author}</a></cite><em><a href="forum.php?mod=redirect&amp;tid='
                f'{thread.tid}&amp;goto=lastpost#lastpost"><span title="{last.at:%Y-%m-%d %H:%M}">'
                "3&nbsp;天前</span></a></em></td></tr></tbody>"
            )
        return (
            f'<tbody id="{kind}_{thread.tid}"><tr><td class="folder"><a href="viewthread.php?'
            f'tid={thread.tid}" title="新窗口打开" target="_blank"><img src="images/default/'
            'folder_new.gif" /></a></td><td class="icon">&nbsp;</td>'
            f'<th class="subject new"><label>&nbsp;</label><span id="thread_{thread.tid}">'
            f'<a href="viewthread.php?tid={thread.tid}&amp;extra=page%3D1">{title}</a></span></th>'
            f'<td class="author"><cite><a href="space.php?uid={first.uid}">{first.author}</a>'
            f"</cite><em>{first.at:%Y-%m-%d}</em></td>"
            f'<td class="nums"><strong>{len(thread.posts) - 1}</strong>/<em>100</em></td>'
            f'<td class="lastpost"><em><a href="redirect.php?tid={thread.tid}&amp;goto=lastpost'
            f'#lastpost">{last.at:%Y-%m-%d %H:%M}</a></em><cite>by <a href="space.php?'
            f'username=x">{last.author}</a></cite></td></tr></tbody>'
        )

    # -- threads ------------------------------------------------------------------------------

    def thread(self, request: Request) -> Page:
        tid = int(request.query.get("tid", "0"))
        page = int(request.query.get("page", "1"))
        thread = next((t for t in self.threads if t.tid == tid), None)
        if thread is None or thread.deleted:
            return self._page(
                "提示信息",
                '<div class="alert_error">抱歉，指定的主题不存在或已被删除或正在被审核</div>',
            )
        total = max(1, -(-len(thread.posts) // POSTS_PER_PAGE))
        chunk = thread.posts[(page - 1) * POSTS_PER_PAGE : page * POSTS_PER_PAGE]
        posts = "".join(
            self._post(p, (page - 1) * POSTS_PER_PAGE + i + 1) for i, p in enumerate(chunk)
        )
        title = html.escape(thread.title)
        if self.version == "x":
            pages = "".join(
                f'<a href="forum.php?mod=viewthread&amp;tid={tid}&amp;page={n}">{n}</a>'
                for n in range(1, total + 1)
            )
            body = (
                f'<h1 class="ts"><span id="thread_subject">{title}</span></h1>'
                f'<div class="pgs mtm mbm cl"><div class="pg">{pages}<label><input type="text" '
                f'name="custompage" class="px" size="2" value="{page}" /><span title="共 {total} '
                f'页"> / {total} 页</span></label></div></div>'
                f'<div id="postlist" class="pl bm">{posts}</div>'
            )
        else:
            pages = "".join(
                f'<a href="viewthread.php?tid={tid}&amp;page={n}">{n}</a>'
                for n in range(1, total + 1)
            )
            body = (
                f'<div id="threadtitle"><h1>{title}</h1></div>'
                f'<div class="pages_btns"><div class="pages">{pages}</div></div>'
                f'<div id="postlist" class="mainbox viewthread">{posts}</div>'
            )
        return self._page(thread.title, body)

    def _post(self, post: DzPost, floor: int) -> str:
        text = self._message(post, floor)
        if self.named_floors and floor in FLOOR_NAMES:
            floor_html = FLOOR_NAMES[floor]
        else:
            floor_html = f"<em>{floor}</em><sup>#</sup>"
        if self.version == "x":
            return (
                f'<div id="post_{post.pid}"><table id="pid{post.pid}" class="plhin" summary='
                f'"pid{post.pid}" cellspacing="0" cellpadding="0"><tr><td class="pls" '
                f'rowspan="2"><div id="favatar{post.pid}" class="pls favatar"><div class="pi">'
                f'<div class="authi"><a href="home.php?mod=space&amp;uid={post.uid}" '
                f'target="_blank" class="xw1">{post.author}</a></div></div><div class="avatar">'
                f'<a href="home.php?mod=space&amp;uid={post.uid}" class="avtm"><img src="x.jpg"/>'
                '</a></div></div></td><td class="plc"><div class="pi"><strong><a href="#" '
                f'id="postnum{post.pid}">{floor_html}</a></strong>'
                f'<div class="pti"><div class="authi"><em id="authorposton{post.pid}">发表于 '
                f'<span title="{post.at:%Y-%m-%d %H:%M:%S}">3&nbsp;天前</span></em></div></div>'
                '</div><div class="pct"><div class="pcb"><div class="t_fsz"><table '
                f'cellspacing="0" cellpadding="0"><tr><td class="t_f" id="postmessage_{post.pid}">'
                f"\r\n{text}</td></tr></table></div></div></div></td></tr></table></div>"
            )
        return (
            f'<div id="post_{post.pid}"><table id="pid{post.pid}" summary="pid{post.pid}" '
            'cellspacing="0" cellpadding="0"><tr><td class="postauthor" rowspan="2">'
            f'<div class="postinfo"><a target="_blank" href="space.php?uid={post.uid}" '
            f'style="margin-left: 20px; font-weight: 800">{post.author}</a></div></td>'
            '<td class="postcontent"><div class="postinfo"><strong><a title="复制本帖链接" '
            f'id="postnum{post.pid}">{floor_html}</a></strong><div class="posterinfo">'
            f'<div class="authorinfo"><em id="authorposton{post.pid}">发表于 '
            f"{post.at:%Y-%m-%d %H:%M}</em></div></div></div>"
            '<div class="defaultpost"><div class="postmessage firstpost"><div class="t_msgfontfix">'
            '<table cellspacing="0" cellpadding="0"><tr><td class="t_msgfont" '
            f'id="postmessage_{post.pid}">{text}</td></tr></table></div></div></div></td></tr>'
            "</table></div>"
        )

    def _message(self, post: DzPost, floor: int) -> str:
        """A message cell's contents as Discuz! renders them for a guest: the page chrome sits
        inside the same cell as the author's words."""
        x = self.version == "x"
        parts = []
        if self.guest_notice and floor == 1:
            if x:
                parts.append(
                    '<div class="attach_nopermission attach_tips"><div><h3><strong>'
                    "马上注册，结交更多好友，享用更多功能，让你轻松玩转社区。</strong></h3>"
                    '<p>您需要 <a href="member.php?mod=logging&amp;action=login">登录</a> '
                    '才可以下载或查看，没有账号？<a href="member.php?mod=register">立即注册</a>'
                    '</p></div><span class="atips_close">x</span></div>'
                )
            else:
                parts.append(
                    '<div class="locked">马上注册，结交更多好友，享用更多功能。您需要 '
                    '<a href="logging.php?action=login">登录</a> 才可以下载或查看，没有帐号？'
                    '<a href="register.php">注册</a></div>'
                )
        if post.edited_by:
            line = f"本帖最后由 {post.edited_by} 于 {post.at:%Y-%m-%d %H:%M} 编辑"
            parts.append(f'<i class="pstatus"> {line} </i><br />' if x else f"{line}<br /><br />")
        if post.quote:
            who, said = (html.escape(v) for v in post.quote)
            header = (
                f'<font size="2"><a href="forum.php?mod=redirect&amp;goto=findpost"><font '
                f'color="#999999">{who} 发表于 {post.at:%Y-%m-%d %H:%M}</font></a><br />'
            )
            if x:
                parts.append(
                    f'<div class="quote"><blockquote>{header}{said}</font></blockquote></div><br />'
                )
            else:
                parts.append(
                    f'<div class="quote"><h5>引用:</h5><blockquote>{header}{said}</font>'
                    "</blockquote></div><br />"
                )
        parts.append(html.escape(post.text).replace("\n", "<br />\r\n"))
        if post.attachment:
            aid = post.pid * 10
            name = html.escape(post.attachment)
            parts.append(
                "\r\n<ignore_js_op>\r\n\r\n"
                f'<img id="aimg_{aid}" aid="{aid}" src="static/image/common/none.gif" '
                f'zoomfile="data/attachment/forum/{name}" file="data/attachment/forum/{name}" '
                f'class="zoom" width="600" inpost="1" alt="{name}" title="{name}" />\r\n\r\n'
                f'<div class="tip tip_4 aimg_tip" id="aimg_{aid}_menu" style="position: '
                'absolute; display: none" disautofocus="true">\r\n<div class="xs0">\r\n'
                f'<p><strong>{name}</strong> <em class="xg1">(750 KB, 下载次数: 3)</em></p>'
                f'\r\n<p>\r\n<a href="forum.php?mod=attachment&amp;aid={aid}" '
                'target="_blank">下载附件</a>\r\n&nbsp;<a href="javascript:;">保存到相册</a>'
                f'\r\n</p>\r\n<p class="xg1 y">{post.at:%Y-%m-%d %H:%M} 上传</p>\r\n'
                '</div>\r\n<div class="tip_horn"></div>\r\n</div>\r\n\r\n</ignore_js_op>'
                if x
                else f'<div class="t_attach" id="attach_{aid}"><a href="attachment.php?'
                f'aid={aid}" target="_blank"><strong>下载</strong></a> ({name}) '
                "(750 KB, 下载次数: 3)</div>"
            )
            parts.append(
                '\r\n<script type="text/javascript" reload="1">replyreload += \',\' + '
                f"{post.pid};</script>"
            )
        return "".join(parts)
