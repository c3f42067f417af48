"""What a rule check returns: a :class:`Signal` that one topic is in trouble right now."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Signal:
    topic: str
    rule: str
    kind: str
    severity: str
    # One sentence for people, in the configured language.
    detail: str
    observed: float | None = None
    expected: float | None = None
    window_minutes: int | None = None
    # Mention dicts that caused the signal (viral, influencer and crisis-word posts).
    posts: list[dict[str, Any]] = field(default_factory=list)

    def as_evidence(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "severity": self.severity,
            "detail": self.detail,
            "observed": self.observed,
            "expected": self.expected,
            "window_minutes": self.window_minutes,
        }
