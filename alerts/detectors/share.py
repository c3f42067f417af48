"""Negative share: the share of negative mentions rises well above its own baseline.

Compares the last ``window_minutes`` with the topic's share over ``baseline_days`` before it. A
minimum volume keeps a handful of posts from firing, and comparing *shares* means a campaign
that lifts all volume (positive and negative alike) does not fire.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from alerts.severity import severity_for
from alerts.signals import Signal


class ShareOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_minutes: int = Field(60, ge=5)
    baseline_days: float = Field(7, gt=0)
    min_volume: int = Field(20, ge=1, description="mentions in the window")
    min_negative: int = Field(8, ge=1, description="negative mentions in the window")
    min_increase: float = Field(0.15, ge=0, le=1, description="share points above baseline")
    # Window share / baseline share needed for each severity.
    ratio: dict[str, float] = Field(
        default_factory=lambda: {"info": 1.5, "warning": 2.0, "critical": 3.0}
    )
    # With no history yet, assume this baseline share (typical for brand chatter).
    default_baseline: float = Field(0.15, gt=0, lt=1)


def check(
    rule: str,
    topic: str,
    window: tuple[int, int],
    baseline: tuple[int, int],
    options: ShareOptions,
    language: str = "zh",
) -> Signal | None:
    """``window`` and ``baseline`` are (mentions, negative mentions)."""
    total, negative = window
    if total < options.min_volume or negative < options.min_negative:
        return None
    share = negative / total
    base_total, base_negative = baseline
    # Laplace-style smoothing toward the default keeps a thin baseline from exploding the ratio.
    prior = 20
    expected = (base_negative + options.default_baseline * prior) / (base_total + prior)
    if share - expected < options.min_increase:
        return None
    severity = severity_for(share / expected, options.ratio)
    if severity is None:
        return None
    if language == "zh":
        detail = f"负面占比升至 {share:.0%}（{negative}/{total}），基线 {expected:.0%}"
    else:
        detail = f"negative share rose to {share:.0%} ({negative}/{total}), baseline {expected:.0%}"
    return Signal(
        topic=topic,
        rule=rule,
        kind="negative_share",
        severity=severity,
        detail=detail,
        observed=round(share, 4),
        expected=round(expected, 4),
        window_minutes=options.window_minutes,
    )
