"""Ops health of the collection itself, alerted like any topic under the reserved topic ``ops``:
a source failing run after run, an expired Weibo cookie, block pages that keep coming back,
deliveries that fail. Route ``topics = ["ops"]`` to the ops team's receiver (ideally not the
channel that may be the one failing)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alerts.severity import max_severity, severity_for
from alerts.signals import Signal

OPS_TOPIC = "ops"


class SourceHealthOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Consecutive failed runs of one source for each severity.
    failed_runs: dict[str, float] = Field(default_factory=lambda: {"warning": 3, "critical": 6})
    # Consecutive runs with pages that parsed to nothing ("page layout changed?"): one is
    # already worth a look, a site redesign does not fix itself.
    layout_runs: dict[str, float] = Field(default_factory=lambda: {"warning": 1, "critical": 3})
    # Consecutive runs that ended on a block page.
    blocked_runs: dict[str, float] = Field(default_factory=lambda: {"warning": 2, "critical": 5})
    # Deliveries given up as failed.
    failed_deliveries: dict[str, float] = Field(
        default_factory=lambda: {"warning": 1, "critical": 10}
    )


def _label(source: dict[str, Any]) -> str:
    return source["spider"] + (f"[{source['topic']}]" if source["topic"] else "")


def check(
    rule: str,
    sources: list[dict[str, Any]],
    failed_deliveries: int,
    options: SourceHealthOptions,
    language: str = "zh",
) -> Signal | None:
    zh = language == "zh"
    findings: list[tuple[str, str]] = []
    for source in sources:
        if source["stats"].get("close_reason") == "cookie_expired":
            text = (
                f"{_label(source)} 的微博 Cookie 已失效，请更新"
                if zh
                else (f"{_label(source)}: the Weibo cookie has expired; renew it")
            )
            findings.append(("critical", text))
            continue
        blocked = severity_for(source.get("blocked_in_a_row", 0), options.blocked_runs)
        if blocked:
            text = (
                f"{_label(source)} 连续 {source['blocked_in_a_row']} 次被封锁（验证页）"
                if zh
                else f"{_label(source)}: blocked {source['blocked_in_a_row']} runs in a row"
            )
            findings.append((blocked, text))
            continue
        layout = severity_for(source.get("layout_in_a_row", 0), options.layout_runs)
        if layout:
            reason, runs = source.get("last_message") or "?", source["layout_in_a_row"]
            text = (
                f"{_label(source)} 页面结构可能已变化（连续 {runs} 次解析为空）：{reason}"
                if zh
                else f"{_label(source)}: pages parse to nothing ({runs} runs in a row): {reason}"
            )
            findings.append((layout, text))
            continue
        failing = severity_for(source["failed_in_a_row"], options.failed_runs)
        if failing:
            reason = source.get("last_message") or "?"
            text = (
                f"{_label(source)} 连续 {source['failed_in_a_row']} 次采集失败：{reason}"
                if zh
                else f"{_label(source)}: {source['failed_in_a_row']} failed runs in a row: {reason}"
            )
            findings.append((failing, text))
    delivery = severity_for(failed_deliveries, options.failed_deliveries)
    if delivery:
        findings.append(
            (
                delivery,
                f"{failed_deliveries} 条告警投递失败"
                if zh
                else f"{failed_deliveries} deliveries failed",
            )
        )
    if not findings:
        return None
    return Signal(
        topic=OPS_TOPIC,
        rule=rule,
        kind="source_health",
        severity=max_severity(*(s for s, _ in findings)),
        detail=("；" if zh else "; ").join(text for _, text in findings),
        observed=len(findings),
    )
