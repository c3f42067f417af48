"""Severity levels: internal ids, the names the PR team reads, parsing and ordering."""

from __future__ import annotations

# Lowest first.
SEVERITIES = ("info", "warning", "critical")
SEVERITY_ZH = {"info": "关注", "warning": "预警", "critical": "危机"}
SEVERITY_EN = {"info": "Watch", "warning": "Warning", "critical": "Crisis"}
_ALIASES = {**{s: s for s in SEVERITIES}, **{zh: s for s, zh in SEVERITY_ZH.items()}}


def parse_severity(value: str) -> str:
    """``"危机"`` or ``"critical"`` -> ``"critical"``; anything else is a ValueError."""
    key = value.strip()
    key = key.lower() if key.isascii() else key
    try:
        return _ALIASES[key]
    except KeyError:
        names = ", ".join(f"{s} ({SEVERITY_ZH[s]})" for s in SEVERITIES)
        raise ValueError(f"unknown severity {value!r}; use one of {names}") from None


def severity_rank(severity: str | None) -> int:
    """0 for None, then 1 info, 2 warning, 3 critical."""
    return SEVERITIES.index(severity) + 1 if severity else 0


def max_severity(*severities: str | None) -> str | None:
    ranked = [s for s in severities if s]
    return max(ranked, key=severity_rank) if ranked else None


def severity_for(value: float, thresholds: dict[str, float]) -> str | None:
    """The highest severity whose threshold ``value`` reaches (thresholds keyed by severity)."""
    reached = [s for s in SEVERITIES if s in thresholds and value >= thresholds[s]]
    return reached[-1] if reached else None


def severity_name(severity: str, language: str = "zh") -> str:
    return (SEVERITY_ZH if language == "zh" else SEVERITY_EN)[severity]
