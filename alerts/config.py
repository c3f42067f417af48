"""Validated configuration of the alert engine: rules, receivers (bundles of channels) and routes.

Routing follows Alertmanager: routes are tried in order, the first match wins unless it sets
``continue``, and an incident no route takes goes to ``default_receiver``. Secrets are
:class:`alerts.secrets.SecretRef`, so none has to be written in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from alerts.secrets import SecretRef
from alerts.severity import SEVERITIES, SEVERITY_ZH, parse_severity  # noqa: F401  (re-exported)

RULE_KINDS = ("negative_spike", "negative_share", "viral_post", "influencer_post", "crisis_words")


Severity = Annotated[str, Field(description="info/关注, warning/预警 or critical/危机")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleConfig(_Strict):
    """One detector instance. Its ``options`` are checked by the detector that reads them."""

    name: str = Field(min_length=1)
    kind: Literal[RULE_KINDS]  # type: ignore[valid-type]
    enabled: bool = True
    topics: list[str] = Field(default_factory=list, description="empty = every topic")
    options: dict = Field(default_factory=dict)


class EmailChannel(_Strict):
    type: Literal["email"]
    to: list[str] = Field(min_length=1)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or address.startswith("@") or address.endswith("@"):
                raise ValueError(f"not an email address: {address!r}")
        return value


class DingTalkChannel(_Strict):
    type: Literal["dingtalk"]
    webhook: SecretRef = Field(description="robot URL with its access_token")
    secret: SecretRef | None = Field(None, description="signing secret (SEC...)")
    at_mobiles: list[str] = Field(default_factory=list)


class WeComChannel(_Strict):
    type: Literal["wecom"]
    key: SecretRef = Field(description="the webhook key")


class FeishuChannel(_Strict):
    type: Literal["feishu"]
    webhook: SecretRef
    secret: SecretRef | None = None


class SlackChannel(_Strict):
    type: Literal["slack"]
    webhook: SecretRef


class WebhookChannel(_Strict):
    type: Literal["webhook"]
    url: AnyHttpUrl
    token: SecretRef | None = Field(None, description="sent as a Bearer token")


class FileChannel(_Strict):
    """A local outbox file (JSON lines): works with no network, used by the demo."""

    type: Literal["file"]
    path: Path


Channel = Annotated[
    EmailChannel
    | DingTalkChannel
    | WeComChannel
    | FeishuChannel
    | SlackChannel
    | WebhookChannel
    | FileChannel,
    Field(discriminator="type"),
]


class ReceiverConfig(_Strict):
    name: str = Field(min_length=1)
    channels: list[Channel] = Field(min_length=1)


class RouteConfig(_Strict):
    receiver: str
    topics: list[str] = Field(default_factory=list, description="empty = any topic")
    platforms: list[str] = Field(default_factory=list, description="empty = any platform")
    severities: list[Severity] = Field(default_factory=list, description="empty = any")
    continue_: bool = Field(False, alias="continue")

    @field_validator("severities")
    @classmethod
    def _known_severities(cls, value: list[str]) -> list[str]:
        return [parse_severity(v) for v in value]


class SmtpConfig(_Strict):
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "plain"] = "starttls"
    username: str | None = None
    password: SecretRef | None = None
    sender: str = "yuqing@localhost"
    timeout_seconds: float = Field(30, gt=0)


class AlertsConfig(_Strict):
    language: Literal["zh", "en"] = "zh"
    bucket_minutes: int = Field(5, ge=1, le=60)
    repeat_interval_minutes: int = Field(240, ge=1)
    resolve_hold_minutes: int = Field(60, ge=0)
    rules: list[RuleConfig] = Field(default_factory=list)
    receivers: list[ReceiverConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    default_receiver: str | None = None
    smtp: SmtpConfig | None = None

    @model_validator(mode="after")
    def _cross_references(self) -> AlertsConfig:
        names = [r.name for r in self.receivers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"receivers: duplicate name(s) {', '.join(duplicates)}")
        rule_names = [r.name for r in self.rules]
        duplicates = sorted({n for n in rule_names if rule_names.count(n) > 1})
        if duplicates:
            raise ValueError(f"rules: duplicate name(s) {', '.join(duplicates)}")
        known = set(names)
        for i, route in enumerate(self.routes):
            if route.receiver not in known:
                raise ValueError(f"routes[{i}].receiver: unknown receiver {route.receiver!r}")
        if self.default_receiver is not None and self.default_receiver not in known:
            raise ValueError(f"default_receiver: unknown receiver {self.default_receiver!r}")
        uses_email = any(
            c.type == "email" for receiver in self.receivers for c in receiver.channels
        )
        if uses_email and self.smtp is None:
            raise ValueError("smtp: an email channel is configured but [alerts.smtp] is missing")
        return self

    def secrets(self) -> list[tuple[str, SecretRef]]:
        """Every secret reference with the config key that holds it."""
        found: list[tuple[str, SecretRef]] = []
        if self.smtp and self.smtp.password:
            found.append(("alerts.smtp.password", self.smtp.password))
        for r, receiver in enumerate(self.receivers):
            for c, channel in enumerate(receiver.channels):
                for field in type(channel).model_fields:
                    value = getattr(channel, field)
                    if isinstance(value, SecretRef):
                        found.append((f"alerts.receivers[{r}].channels[{c}].{field}", value))
        return found
