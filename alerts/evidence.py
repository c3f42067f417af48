"""The evidence an incident carries: what a PR person needs to act at once.

Observed vs expected volume, the top negative posts with links, authors and reach, keywords,
complaint causes, the near-duplicate share (copy-paste campaigns), the platform split, and the
response guidance from the client's handbook. Post texts are untrusted and stored as crawled;
every renderer escapes them.

``top_posts`` (热门负面帖) holds negative posts only. The crisis-word rule reads every post, so
the post that made it fire may be scored neutral or positive ("星澜咖啡门店起火，大家注意安全");
the PR team still needs to see it, so such posts go to ``crisis_posts``, shown under their own
label, never passed off as negative.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from alerts.detectors.source_health import OPS_TOPIC
from alerts.severity import severity_rank
from alerts.signals import Signal
from storage import aggregates
from storage.db import Store

TOP_POSTS = 5
POST_TEXT_LIMIT = 280
# How far back the evidence looks: since the incident opened, at least an hour, at most a day.
MIN_LOOKBACK = timedelta(hours=1)
MAX_LOOKBACK = timedelta(hours=24)

OPS_GUIDANCE = {
    "zh": [
        "查看 `yuqing status` 与采集日志，确认失败原因",
        "Cookie 失效：在浏览器重新登录 m.weibo.cn，更新 Cookie 的环境变量或文件",
        "持续被封锁：降低抓取频率或更换代理",
        "投递失败：检查告警渠道的地址、密钥与网络",
    ],
    "en": [
        "Check `yuqing status` and the crawl logs for the cause",
        "Expired cookie: log in to m.weibo.cn again and update the cookie variable or file",
        "Blocked again and again: crawl less often or change proxies",
        "Failing deliveries: check the channel's address, keys and network",
    ],
}

GUIDANCE = {
    "zh": [
        "尽快回应：第一时间表态，说明已经在做什么",
        "只承诺做得到的事，并持续通报进展",
        "不争辩、不急于下结论、不盲目道歉、不指责顾客",
        "不删帖、不隐藏批评",
    ],
    "en": [
        "Acknowledge fast and say what is being done",
        "Promise only what can be kept, and report progress",
        "Do not argue, rush to conclusions, apologise blindly or blame the customer",
        "Never delete or hide criticism",
    ],
}


def _post(m: dict[str, Any]) -> dict[str, Any]:
    text = " ".join(filter(None, [m.get("title"), m.get("text")]))
    if len(text) > POST_TEXT_LIMIT:
        text = text[: POST_TEXT_LIMIT - 1] + "…"
    post = {
        "platform": m["platform"],
        "post_id": m["post_id"],
        "url": m["url"],
        "author_name": m.get("author_name"),
        "author_followers": m.get("author_followers"),
        "author_verified": bool(m.get("author_verified")),
        "reposts": m.get("reposts", 0),
        "comments": m.get("comments", 0),
        "likes": m.get("likes", 0),
        "text": text,
        "published_at": m["published_at"].isoformat(),
        "sentiment_label": m.get("sentiment_label"),
        "sentiment_score": m.get("sentiment_score"),
    }
    if m.get("crisis_words"):
        post["crisis_words"] = list(m["crisis_words"])
    return post


def build_evidence(
    store: Store,
    topic: str,
    signals: list[Signal],
    now: datetime,
    opened_at: datetime,
    language: str = "zh",
    late_arrival: timedelta = aggregates.LATE_ARRIVAL,
) -> dict[str, Any]:
    since = max(now - MAX_LOOKBACK, min(opened_at, now - MIN_LOOKBACK))
    negatives = aggregates.recent_mentions(
        store, since, now, topics=[topic], sentiment="negative", late_arrival=late_arrival
    ).get(topic, [])
    ordered = sorted(signals, key=lambda s: severity_rank(s.severity), reverse=True)
    # Negative posts a rule pointed at come first, then the most-spread negative posts.
    chosen: dict[int, dict[str, Any]] = {}
    crisis: dict[int, dict[str, Any]] = {}
    for signal in ordered:
        for post in signal.posts:
            if post.get("sentiment_label") == "negative":
                chosen.setdefault(post["id"], post)
            elif signal.kind == "crisis_words":
                crisis.setdefault(post["id"], post)
    by_spread = sorted(
        negatives, key=lambda m: m["reposts"] + m["comments"] + m["likes"], reverse=True
    )
    for post in by_spread:
        if len(chosen) >= TOP_POSTS:
            break
        chosen.setdefault(post["id"], post)
    volume = next((s for s in ordered if s.kind == "negative_spike"), None)
    evidence = {
        "summary": ("；" if language == "zh" else "; ").join(s.detail for s in ordered),
        "observed": volume.observed if volume else len(negatives),
        "expected": volume.expected if volume else None,
        "window_minutes": volume.window_minutes
        if volume
        else int((now - since).total_seconds() // 60),
        "negative_mentions": len(negatives),
        "signals": [s.as_evidence() for s in ordered],
        "top_posts": [_post(p) for p in list(chosen.values())[:TOP_POSTS]],
        "crisis_posts": [_post(p) for p in list(crisis.values())[:TOP_POSTS]],
        **aggregates.breakdown(negatives),
        "guidance": (OPS_GUIDANCE if topic == OPS_TOPIC else GUIDANCE)[language],
    }
    return evidence
