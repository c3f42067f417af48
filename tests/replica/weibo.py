"""m.weibo.cn replica: getIndex search (card_type 9 and 11), detail pages with $render_data,
/statuses/extend (a long text's full text), /comments/hotflow paged by opaque max_id cursors,
the older /api/comments/show paged by page, and /statuses/show (one post's current state, what
the hot-post refresh reads), in the JSON shapes the real site returns. Deleted posts and posts
hidden by their author's settings are served as Weibo serves them: stubs in search cards and
repost parents, "微博不存在" detail pages and ok: 0 answers."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .server import Page, Replica, Request

BEIJING = timezone(timedelta(hours=8))
_TAG = re.compile(r"<[^>]+>")
_DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_HELP = (
    '查看帮助：<a data-url="http://t.cn/zWSudZc" '
    'href="https://weibo.cn/sinaurl?u=http%3A%2F%2Ft.cn%2FzWSudZc">http://t.cn/zWSudZc</a>'
)
DELETED_TEXT = "抱歉，此微博已被作者删除。" + _HELP
# What a post hidden by its author's settings shows to someone who may not read it.
LIMITED_TEXT = "抱歉，由于作者设置，你暂时没有这条微博的查看权限哦。" + _HELP
FANS_ONLY, FRIEND_CIRCLE = 10, 6  # visible.type of 仅粉丝可见 and 好友圈 posts
# Where hotflow's opaque cursors start (real ones are 15-16 digit numbers).
_CURSOR_BASE = 138_000_000_000_000


def weibo_time(at: datetime) -> str:
    """The API's created_at: ``Sat Dec 23 17:12:54 +0800 2023``."""
    local = at.astimezone(BEIJING)
    return (
        f"{_DAYS[local.weekday()]} {_MONTHS[local.month - 1]} {local.day:02d} "
        f"{local:%H:%M:%S} +0800 {local.year}"
    )


def user(uid: int, name: str, followers="1.2万", verified=False, verified_type=-1) -> dict:
    return {
        "id": uid,
        "screen_name": name,
        "profile_image_url": f"https://tvax1.sinaimg.cn/crop.0.0.180.180.180/{uid}.jpg",
        "followers_count": followers,
        "follow_count": 210,
        "verified": verified,
        "verified_type": verified_type,
        "description": "",
        "gender": "f",
        "mbrank": 3,
    }


def mblog(
    post_id: str,
    at: datetime,
    text: str,
    author: dict,
    *,
    created_at: str | None = None,
    reposts="0",
    comments=0,
    likes=0,
    long_text: str | None = None,
    retweeted: dict | None = None,
    visible: int = 0,
    hidden: bool = False,
) -> dict:
    """A status as getIndex returns it; ``long_text`` makes it an isLongText post whose list
    text is cut and whose full text is only on the detail page and /statuses/extend.
    ``visible`` is its visibility type (0 public, 10 fans only, 6 friend circle); ``hidden``
    means we may not read it, so every answer shows the stub instead of its text."""
    shown = (
        text
        if long_text is None
        else long_text[:140] + '...<a href="/status/' + post_id + '">全文</a>'
    )
    status = {
        "visible": {"type": visible, "list_id": 0},
        "created_at": created_at or weibo_time(at),
        "id": post_id,
        "mid": post_id,
        "bid": "N" + post_id[-8:],
        "can_edit": False,
        "text": shown,
        "textLength": len(long_text or text) * 2,
        "source": "iPhone 15 Pro",
        "favorited": False,
        "pic_num": 0,
        "isLongText": long_text is not None,
        "user": author,
        "reposts_count": reposts,
        "comments_count": comments,
        "attitudes_count": likes,
        "pending_approval_count": 0,
        "region_name": "发布于 上海",
        "_at": at,
        "_full_text": long_text or text,
        "_hidden": hidden,
    }
    if retweeted is not None:
        status["retweeted_status"] = retweeted
    return status


def deleted_stub(post_id: str, at: datetime) -> dict:
    """A deleted post where Weibo still shows it (a repost's parent): id, time and a notice,
    no author, no counts."""
    return {
        "created_at": weibo_time(at),
        "id": post_id,
        "idstr": post_id,
        "mid": post_id,
        "text": DELETED_TEXT,
        "deleted": "1",
        "_at": at,
        "_full_text": DELETED_TEXT,
    }


def public(status: dict) -> dict:
    """The status as a reader sees it, without the replica's bookkeeping keys (those start
    with _); a hidden post shows its stub, without its author, counts or cut text."""
    out = {k: v for k, v in status.items() if not k.startswith("_")}
    if status.get("_hidden"):
        out |= {"text": LIMITED_TEXT, "isLongText": False, "textLength": 0, "user": None}
        for key in ("reposts_count", "comments_count", "attitudes_count", "region_name"):
            out.pop(key, None)
    if isinstance(out.get("retweeted_status"), dict):
        out["retweeted_status"] = public(out["retweeted_status"])
    return out


def full(status: dict) -> dict:
    """The status with its full text, as the detail page and statuses/show give it."""
    if status.get("_hidden"):
        return public(status)
    return public(status) | {"text": status["_full_text"], "isLongText": False}


@dataclass
class WeiboSite:
    posts: list[dict] = field(default_factory=list)
    comments: dict[str, list[dict]] = field(default_factory=dict)
    page_size: int = 10
    comments_page_size: int = 2
    # The older /api/comments/show pages hold more.
    comments_show_page_size: int = 3
    # Posts whose hotflow answers ok: 0 (as it does to an anonymous visitor past page 1).
    hotflow_refused: set[str] = field(default_factory=set)
    # Posts deleted since they were listed: detail, statuses/show and extend say so.
    deleted: set[str] = field(default_factory=set)
    # hotflow cursors handed out: max_id -> (post id, first comment of its page, max_id_type).
    _cursors: dict[int, tuple[str, int, int]] = field(default_factory=dict, repr=False)
    # Posts in a card_type 11 group ("热门" block) on page 1, as the real search shows.
    grouped_on_first_page: int = 2
    # A post that appears at the top right after page 1 was served (posted mid-crawl).
    insert_after_first_page: dict | None = None

    def install(self, replica: Replica) -> None:
        replica.route("/api/container/getIndex", self.search)
        replica.route("/detail/", self.detail)
        replica.route("/comments/hotflow", self.hotflow)
        replica.route("/statuses/show", self.show)
        replica.route("/statuses/extend", self.extend)
        replica.route("/api/comments/show", self.comments_show)

    def post(self, post_id: str) -> dict | None:
        if post_id in self.deleted:
            return None
        return next((p for p in self.posts if p["id"] == post_id), None)

    def search(self, request: Request) -> Page:
        container = request.query.get("containerid", "")
        keyword = container.split("&q=", 1)[1] if "&q=" in container else ""
        page = int(request.query.get("page", "1"))
        words = keyword.split()
        found = [p for p in self.posts if all(w in _TAG.sub("", p["_full_text"]) for w in words)]
        found.sort(key=lambda p: p["_at"], reverse=True)
        chunk = found[(page - 1) * self.page_size : page * self.page_size]
        if page == 1 and self.insert_after_first_page:
            self.posts.append(self.insert_after_first_page)
            self.insert_after_first_page = None
        if not chunk:
            return _json({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}})
        cards = []
        if page == 1 and self.grouped_on_first_page:
            group, chunk = chunk[: self.grouped_on_first_page], chunk[self.grouped_on_first_page :]
            cards.append(
                {
                    "card_type": 11,
                    "itemid": "",
                    "card_group": [{"card_type": 9, "mblog": public(p)} for p in group]
                    + [{"card_type": 17, "title_sub": "相关搜索"}],
                }
            )
        for post in chunk:
            cards.append(
                {
                    "card_type": 9,
                    "itemid": f"seqid:1|type:1|t:|pos:1-0-{post['id']}",
                    "scheme": f"https://m.weibo.cn/status/{post['bid']}?mblogid={post['bid']}",
                    "mblog": public(post),
                }
            )
        return _json(
            {
                "ok": 1,
                "data": {
                    "cardlistInfo": {
                        "containerid": container,
                        "v_p": 42,
                        "show_style": 1,
                        "total": len(found),
                        "page": page + 1,
                    },
                    "cards": cards,
                    "scheme": "",
                    "showAppTips": 0,
                },
            }
        )

    def detail(self, request: Request) -> Page:
        post_id = request.path.rsplit("/", 1)[1]
        post = self.post(post_id)
        if post is None or post.get("_hidden"):
            # The real page for a deleted or hidden post: a bare notice, no $render_data.
            return Page(
                '<!DOCTYPE html><html><head><meta charset="utf-8"><title>微博</title></head>'
                '<body><div class="wrap"><p class="h5-4con">微博不存在或暂无查看权限!</p>'
                "</div></body></html>"
            )
        status = full(post)
        render = json.dumps([{"status": status, "call": "1", "hotScheme": ""}], ensure_ascii=False)
        html = (
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>微博</title></head><body>'
            '<div id="app"></div><script>\n'
            f"    var $render_data = {render}[0] || {{}};\n"
            '    var __wb_performance_data={v:"v8"};\n'
            "</script></body></html>"
        )
        return Page(html)

    def show(self, request: Request) -> Page:
        post_id = request.query.get("id", "")
        if post_id in self.deleted:
            return _json({"ok": 0, "errno": "20101", "msg": "抱歉，此微博已被作者删除"})
        post = self.post(post_id)
        if post is None:
            return _json({"ok": 0, "errno": "20101", "msg": "微博不存在或暂无查看权限!"})
        return _json({"ok": 1, "data": full(post)})

    def extend(self, request: Request) -> Page:
        """``/statuses/extend?id=``: a long text's full text and current counts."""
        post = self.post(request.query.get("id", ""))
        if post is None or post.get("_hidden"):
            return _json({"ok": 0, "errno": "20101", "msg": "微博不存在或暂无查看权限!"})
        return _json(
            {
                "ok": 1,
                "data": {
                    "ok": 1,
                    "longTextContent": post["_full_text"],
                    "reposts_count": post["reposts_count"],
                    "comments_count": post["comments_count"],
                    "attitudes_count": post["attitudes_count"],
                },
            }
        )

    def hotflow(self, request: Request) -> Page:
        """Hot comments. The first page is asked without max_id; each answer names the next
        page by an opaque cursor (max_id) and a max_id_type that must be sent back as given
        (it changes from 0 to 1 after the second page); max_id 0 means no more pages."""
        post_id = request.query.get("id", "")
        if post_id in self.hotflow_refused:
            return _json({"ok": 0, "errno": "100005", "msg": "请求失败"})
        found = self.comments.get(post_id, [])
        if not found:
            return _json({"ok": 0, "errno": "100011", "msg": "暂无数据"})
        asked = request.query.get("max_id")
        if asked:
            cursor = self._cursors.get(int(asked)) if asked.isdigit() else None
            if cursor is None or cursor[0] != post_id:
                return _json({"ok": 0, "errno": "100011", "msg": "暂无数据"})
            _, start, max_id_type = cursor
            if request.query.get("max_id_type") != str(max_id_type):
                return _json({"ok": 0, "errno": "100005", "msg": "请求失败"})
        else:
            start = 0
        after = start + self.comments_page_size
        next_id, next_type = 0, 0
        if after < len(found):
            next_type = 0 if after <= self.comments_page_size else 1
            next_id = _CURSOR_BASE + len(self._cursors) * 7919 + int(post_id[-4:] or 0)
            self._cursors[next_id] = (post_id, after, next_type)
        return _json(
            {
                "ok": 1,
                "data": {
                    "data": found[start:after],
                    "total_number": len(found),
                    "max_id": next_id,
                    "max_id_type": next_type,
                },
            }
        )

    def comments_show(self, request: Request) -> Page:
        """The older comments API: ``page`` from 1 to ``data.max``; newest first; each comment
        has ``like_counts`` where hotflow says ``like_count``; past the last page ok: 0."""
        found = sorted(
            self.comments.get(request.query.get("id", ""), []),
            key=lambda c: c["_at"],
            reverse=True,
        )
        page = int(request.query.get("page", "1") or 1)
        size = self.comments_show_page_size
        chunk = found[(page - 1) * size : page * size]
        if not chunk:
            return _json({"ok": 0, "msg": "暂无数据"})
        shown = []
        for c in chunk:
            old = {k: v for k, v in c.items() if k not in ("like_count", "floor_number")}
            shown.append(old | {"like_counts": c["like_count"], "liked": False})
        return _json(
            {
                "ok": 1,
                "data": {
                    "data": shown,
                    "total_number": len(found),
                    "max": math.ceil(len(found) / size),
                },
            }
        )


def comment(
    comment_id: str, at: datetime, text: str, author: dict, likes=0, replies=0, where="上海"
) -> dict:
    """A comment as hotflow lists it; ``where`` is its IP location (``source``: "来自上海")."""
    return {
        "created_at": weibo_time(at),
        "id": comment_id,
        "rootid": comment_id,
        "rootidstr": comment_id,
        "floor_number": 1,
        "text": text,
        "disable_reply": 0,
        "user": author,
        "mid": comment_id,
        "like_count": likes,
        "total_number": replies,
        "source": f"来自{where}" if where else "",
        "_at": at,
    }


def _json(data: dict) -> Page:
    return Page(
        json.dumps(_without_bookkeeping(data), ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )


def _without_bookkeeping(value):
    if isinstance(value, dict):
        return {k: _without_bookkeeping(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_without_bookkeeping(v) for v in value]
    return value
