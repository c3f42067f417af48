"""Validated configuration of the alert engine: rules, receivers (bundles of channels) and routes.

Routing follows Alertmanager: routes are tried in order, the first match wins unless it sets
``continue``, and an incident no route takes goes to ``default_receiver``. Secrets are
:class:`alerts.secrets.SecretRef`, so none has to be written in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

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

RULE_KINDS = (
    "negative_spike",
    "negative_share",
    "viral_post",
    "influencer_post",
    "crisis_words",
    "source_health",
)


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

    @model_validator(mode="after")
    def _options_fit_the_kind(self) -> RuleConfig:
        from alerts.rules import parse_options  # the detectors import this module's neighbours

        parse_options(self.kind, self.options)
        return self


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


def check_http_url(value: str) -> str:
    """``value`` if it is an absolute http(s) URL with a host that HTTP can send as written,
    else a ValueError. The message never quotes the URL: robot URLs carry their token."""
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        # http.client would refuse it at send time, with the whole path in its message.
        raise ValueError("the URL holds a space or control character (percent-encode it)")
    if not value.isascii():
        raise ValueError("the URL holds non-ASCII characters (percent-encode them)")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - parsing the port raises for "host:99999" or "host:x"
    except ValueError:
        raise ValueError("not a valid URL (check the host and port)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL with a host")
    return value


class _WebhookSecret(_Strict):
    """A channel whose URL is a secret: checked at load when written inline, else when sent."""

    @model_validator(mode="after")
    def _inline_url(self):
        webhook = getattr(self, "webhook", None)
        if webhook is not None and webhook.value is not None:
            try:
                check_http_url(webhook.reveal())
            except ValueError as exc:
                # Never echo the value: the URL carries the robot's token.
                raise ValueError(f"webhook: {exc}") from None
        return self


class DingTalkChannel(_WebhookSecret):
    type: Literal["dingtalk"]
    webhook: SecretRef = Field(description="robot URL with its access_token")
    secret: SecretRef | None = Field(None, description="signing secret (SEC...)")
    at_mobiles: list[str] = Field(default_factory=list, description="@ed on critical alerts")

    @field_validator("at_mobiles")
    @classmethod
    def _mobiles(cls, value: list[str]) -> list[str]:
        for mobile in value:
            if not mobile.lstrip("+").replace("-", "").isdigit():
                raise ValueError(f"not a mobile number: {mobile!r}")
        return value


class WeComChannel(_Strict):
    type: Literal["wecom"]
    key: SecretRef = Field(description="the webhook key")
    base_url: str = Field("https://qyapi.weixin.qq.com", description="API root (tests, proxies)")

    _url = field_validator("base_url")(lambda cls, v: check_http_url(v).rstrip("/"))


class FeishuChannel(_WebhookSecret):
    type: Literal["feishu"]
    webhook: SecretRef
    secret: SecretRef | None = Field(None, description="signing secret (签名校验)")
    msg_type: Literal["interactive", "text"] = "interactive"


class SlackChannel(_WebhookSecret):
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
    ca_file: Path | None = Field(None, description="CA bundle for a server with a private CA")


class DeliveryConfig(_Strict):
    """How the outbox retries, paces and gives up; the defaults suit production."""

    max_age_minutes: int = Field(720, ge=1, description="give up (state failed) after this")
    backoff_seconds: float = Field(30, gt=0, description="first retry delay, doubled each time")
    backoff_max_seconds: float = Field(900, gt=0)
    lease_seconds: float = Field(
        300, gt=0, description="a send not finished by then is treated as interrupted"
    )
    http_timeout_seconds: float = Field(10, gt=0)
    in_doubt: Literal["resend", "hold"] = Field(
        "resend",
        description="a send whose outcome is unknown (timeout after the request, crash): "
        "resend it marked as a possible duplicate, or hold it for an operator",
    )
    bundle_max: int = Field(10, ge=1, le=50, description="incidents per IM message at most")
    rate_per_minute: dict[str, float] = Field(
        default_factory=dict, description="override a channel type's pace, e.g. dingtalk = 10"
    )
    incident_url: str | None = Field(
        None, description="link to an incident, e.g. https://yuqing.example.com/incidents/{id}"
    )

    @field_validator("incident_url")
    @classmethod
    def _incident_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "{id}" not in value:
            raise ValueError("must contain {id}, the place of the incident number")
        return check_http_url(value)


class AlertsConfig(_Strict):
    language: Literal["zh", "en"] = "zh"
    bucket_minutes: int = Field(5, ge=1, le=60)
    repeat_interval_minutes: int = Field(240, ge=1)
    resolve_hold_minutes: int = Field(60, ge=0)
    late_arrival_minutes: int = Field(
        120,
        ge=1,
        description="a post found at most this long after it was published still counts in "
        "the rules and evidence; one found later is a backfill and counts nowhere",
    )
    rules: list[RuleConfig] = Field(default_factory=list)
    receivers: list[ReceiverConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    default_receiver: str | None = None
    smtp: SmtpConfig | None = None
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)

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

    def channels(self) -> list[tuple[str, ReceiverConfig, Channel]]:
        """Every channel with its id ``"{receiver}/{index}:{type}"`` and its receiver."""
        return [
            (channel_id(receiver.name, i, channel), receiver, channel)
            for receiver in self.receivers
            for i, channel in enumerate(receiver.channels)
        ]


def channel_id(receiver: str, index: int, channel) -> str:
    return f"{receiver}/{index}:{channel.type}"
