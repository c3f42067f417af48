"""Influencer or media negative post: the handbook's VIP view.

A negative post's weight is its author's reach: followers, multiplied for verified accounts and
more for media accounts (Weibo ``verified_type`` 3), so one 城市晚报 post outweighs a thousand
anonymous ones.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alerts.severity import severity_for, severity_rank
from alerts.signals import Signal


class InfluencerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_minutes: int = Field(60, ge=5)
    verified_weight: float = Field(2.0, ge=1)
    media_weight: float = Field(5.0, ge=1)
    media_verified_types: list[int] = Field(default_factory=lambda: [3])
    reach: dict[str, float] = Field(
        default_factory=lambda: {"info": 100_000, "warning": 1_000_000, "critical": 10_000_000}
    )


def reach(post: dict[str, Any], options: InfluencerOptions) -> float:
    followers = post.get("author_followers") or 0
    if post.get("author_verified_type") in options.media_verified_types:
        return followers * options.media_weight
    if post.get("author_verified"):
        return followers * options.verified_weight
    return float(followers)


def check(
    rule: str,
    topic: str,
    negative_posts: list[dict[str, Any]],
    options: InfluencerOptions,
    language: str = "zh",
) -> Signal | None:
    scored = []
    for post in negative_posts:
        weight = reach(post, options)
        severity = severity_for(weight, options.reach)
        if severity:
            scored.append((severity, weight, post))
    if not scored:
        return None
    scored.sort(key=lambda s: (severity_rank(s[0]), s[1]), reverse=True)
    severity, weight, top = scored[0]
    name = top.get("author_name") or "?"
    followers = top.get("author_followers") or 0
    if language == "zh":
        detail = f"高影响力账号发布负面内容：{name}（粉丝 {followers:,}）等 {len(scored)} 个"
    else:
        detail = f"high-reach accounts posted negative content: {name} ({followers:,} followers)"
        detail += f" and {len(scored) - 1} more" if len(scored) > 1 else ""
    return Signal(
        topic=topic,
        rule=rule,
        kind="influencer_post",
        severity=severity,
        detail=detail,
        observed=weight,
        window_minutes=options.window_minutes,
        posts=[p for _, _, p in scored[:3]],
    )
