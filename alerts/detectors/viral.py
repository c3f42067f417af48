"""Viral negative post: a negative mention whose reposts or comments grow fast.

Velocity comes from engagement snapshots (``storage.aggregates.velocities``): per hour over the
recent re-crawls, or the average since publication when there is only one observation.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alerts.severity import max_severity, severity_for, severity_rank
from alerts.signals import Signal


class ViralOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_hours: float = Field(24, gt=0, description="how far back a post may be published")
    velocity_window_minutes: int = Field(120, ge=10)
    min_engagement: int = Field(50, ge=0, description="reposts + comments to be a candidate")
    reposts_per_hour: dict[str, float] = Field(
        default_factory=lambda: {"info": 100, "warning": 500, "critical": 2000}
    )
    comments_per_hour: dict[str, float] = Field(
        default_factory=lambda: {"info": 100, "warning": 500, "critical": 2000}
    )


def check(
    rule: str,
    topic: str,
    posts: list[dict[str, Any]],
    rates: dict[int, dict[str, float]],
    options: ViralOptions,
    language: str = "zh",
) -> Signal | None:
    scored = []
    for post in posts:
        rate = rates.get(post["id"])
        if not rate:
            continue
        severity = max_severity(
            severity_for(rate["reposts"], options.reposts_per_hour),
            severity_for(rate["comments"], options.comments_per_hour),
        )
        if severity:
            scored.append((severity, rate["reposts"] + rate["comments"], post, rate))
    if not scored:
        return None
    scored.sort(key=lambda s: (severity_rank(s[0]), s[1]), reverse=True)
    severity, _, _, rate = scored[0]
    if language == "zh":
        detail = (
            f"{len(scored)} 条负面内容快速传播，最快每小时转发 {rate['reposts']:.0f}、"
            f"评论 {rate['comments']:.0f}"
        )
    else:
        detail = (
            f"{len(scored)} negative post(s) spreading fast, fastest at "
            f"{rate['reposts']:.0f} reposts and {rate['comments']:.0f} comments per hour"
        )
    return Signal(
        topic=topic,
        rule=rule,
        kind="viral_post",
        severity=severity,
        detail=detail,
        observed=round(rate["reposts"] + rate["comments"], 1),
        posts=[dict(p, velocity=r) for _, _, p, r in scored[:3]],
    )
