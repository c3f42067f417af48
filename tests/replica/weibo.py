"""m.weibo.cn replica: getIndex search (card_type 9 and 11), detail pages with $render_data,
/comments/hotflow with max_id paging and /statuses/show (one post's current state, what the
hot-post refresh reads), in the JSON shapes the real site returns."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .server import Page, Replica, Request

BEIJING = timezone(timedelta(hours=8))
_TAG = re.compile(r"<[^>]+>")
_DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


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
) -> dict:
    """A status as getIndex returns it; ``long_text`` makes it an isLongText post whose list
    text is cut and whose full text is only on the detail page."""
    shown = (
        text
        if long_text is None
        else long_text[:140] + '...<a href="/status/' + post_id + '">全文</a>'
    )
    status = {
        "visible": {"type": 0, "list_id": 0},
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
    }
    if retweeted is not None:
        status["retweeted_status"] = retweeted
    return status


def public(status: dict) -> dict:
    """The status without the replica's bookkeeping keys (those start with _)."""
    out = {k: v for k, v in status.items() if not k.startswith("_")}
    if isinstance(out.get("retweeted_status"), dict):
        out["retweeted_status"] = public(out["retweeted_status"])
    return out


@dataclass
class WeiboSite:
    posts: list[dict] = field(default_factory=list)
    comments: dict[str, list[dict]] = field(default_factory=dict)
    page_size: int = 10
    comments_page_size: int = 2
    # Posts in a card_type 11 group ("热门" block) on page 1, as the real search shows.
    grouped_on_first_page: int = 2
    # A post that appears at the top right after page 1 was served (posted mid-crawl).
    insert_after_first_page: dict | None = None

    def install(self, replica: Replica) -> None:
        replica.route("/api/container/getIndex", self.search)
        replica.route("/detail/", self.detail)
        replica.route("/comments/hotflow", self.hotflow)
        replica.route("/statuses/show", self.show)

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
        post = next((p for p in self.posts if p["id"] == post_id), None)
        if post is None:
            return Page("<html><body><p>微博不存在或暂无查看权限!</p></body></html>")
        status = public(post) | {"text": post["_full_text"], "isLongText": False}
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
        post = next((p for p in self.posts if p["id"] == post_id), None)
        if post is None:
            return _json({"ok": 0, "errno": "20101", "msg": "微博不存在或暂无查看权限!"})
        return _json({"ok": 1, "data": public(post) | {"text": post["_full_text"]}})

    def hotflow(self, request: Request) -> Page:
        post_id = request.query.get("id", "")
        found = self.comments.get(post_id, [])
        if not found:
            return _json({"ok": 0, "errno": "100011", "msg": "暂无数据"})
        start = int(request.query.get("max_id", "0") or 0)
        chunk = found[start : start + self.comments_page_size]
        after = start + self.comments_page_size
        return _json(
            {
                "ok": 1,
                "data": {
                    "data": chunk,
                    "total_number": len(found),
                    "max_id": after if after < len(found) else 0,
                    "max_id_type": 0,
                },
            }
        )


def comment(comment_id: str, at: datetime, text: str, author: dict, likes=0) -> dict:
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
        "total_number": 0,
        "source": "来自上海",
    }


def _json(data: dict) -> Page:
    return Page(
        json.dumps(data, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
