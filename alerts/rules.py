"""Rule instances built from ``[[alerts.rules]]``: each kind's options model, validated at load.

With no rules configured every kind runs once with its defaults, so a new installation alerts
out of the box.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alerts.detectors.crisis_words import CrisisOptions
from alerts.detectors.influencer import InfluencerOptions
from alerts.detectors.share import ShareOptions
from alerts.detectors.source_health import SourceHealthOptions
from alerts.detectors.viral import ViralOptions


class SpikeRuleOptions(BaseModel):
    """Engine-side options of the spike rule; ``detector`` goes to the detector's settings."""

    model_config = ConfigDict(extra="forbid")

    history_days: float = Field(14, gt=0, description="history replayed for a new topic")
    # Posts found late are cut off by ``alerts.late_arrival_minutes``, the one allowance every
    # rule shares (this rule's former ``backfill_hours`` option).
    detector: dict[str, Any] = Field(default_factory=dict)

    @field_validator("detector")
    @classmethod
    def _detector_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        from alerts.detectors.negative_spike import SpikeSettings

        SpikeSettings.model_validate(value)  # raises with the bad key named
        return value


OPTION_MODELS: dict[str, type[BaseModel]] = {
    "negative_spike": SpikeRuleOptions,
    "negative_share": ShareOptions,
    "viral_post": ViralOptions,
    "influencer_post": InfluencerOptions,
    "crisis_words": CrisisOptions,
    "source_health": SourceHealthOptions,
}
DEFAULT_RULES = tuple(OPTION_MODELS)


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    topics: tuple[str, ...]
    options: Any

    def applies_to(self, topic: str) -> bool:
        return not self.topics or topic in self.topics


def parse_options(kind: str, options: dict[str, Any]) -> BaseModel:
    """The options model of ``kind``; raises ValueError naming the bad option."""
    try:
        return OPTION_MODELS[kind].model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"options.{where}: {first['msg']}") from None


def build_rules(rule_configs) -> list[Rule]:
    """Rules from the config's ``alerts.rules`` (enabled ones), or the defaults when empty."""
    if not rule_configs:
        return [Rule(kind, kind, (), parse_options(kind, {})) for kind in DEFAULT_RULES]
    return [
        Rule(rc.name, rc.kind, tuple(rc.topics), parse_options(rc.kind, rc.options))
        for rc in rule_configs
        if rc.enabled
    ]
