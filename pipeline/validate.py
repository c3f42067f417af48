"""Step 1 of the item path: check a raw mention (spider item or JSONL line) against the format.

The format is documented in ``docs/mention-format.md``; :class:`MentionIn` is its executable
form. A bad mention raises :class:`InvalidMention` whose message names the field, so ingest can
write it to the reject file and Scrapy can count it as ``yuqing/invalid/<field>``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any

from itemadapter import ItemAdapter
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from scrapy.exceptions import DropItem

from pipeline.validation_errors import describe_errors

_PLATFORM = r"^[a-z][a-z0-9_]{1,15}$"
# Epoch values above this are milliseconds (it is 2286-11-20 in seconds).
_EPOCH_MS_FROM = 10_000_000_000


class InvalidMention(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        self.field = problems[0].split(":", 1)[0].split(".")[0].split("[")[0] if problems else "?"
        super().__init__("; ".join(problems))


def parse_timestamp(value: Any, default_tz: tzinfo) -> datetime:
    """A timezone-aware datetime from ISO 8601 text, ``YYYY-MM-DD HH:MM[:SS]`` or epoch seconds
    (or milliseconds). Text without an offset is in ``default_tz``."""
    if isinstance(value, bool):
        raise ValueError(f"unparseable date {value!r}")
    if isinstance(value, int | float):
        seconds = value / 1000 if value >= _EPOCH_MS_FROM else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"epoch time out of range: {value!r}") from None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"unparseable date {value!r} (use ISO 8601)") from None
    else:
        raise ValueError(f"unparseable date {value!r}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed.astimezone(UTC)


def _count(value: Any) -> Any:
    # JSON has no integer type of its own; 12.0 is fine, 12.5 or "many" is not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[int, BeforeValidator(_count), Field(ge=0)]


class AuthorIn(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, str_strip_whitespace=True)

    id: str | None = Field(None, max_length=64)
    name: str | None = Field(None, max_length=128)
    followers: Count | None = None
    verified: bool = False
    verified_type: int | None = None


class MentionIn(BaseModel):
    """One mention in the documented exchange format (``docs/mention-format.md``)."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, str_strip_whitespace=True)

    platform: str = Field(pattern=_PLATFORM)
    post_id: str = Field(min_length=1, max_length=64)
    url: str = Field(max_length=4096)
    text: str = Field(max_length=200_000)
    title: str | None = Field(None, max_length=2000)
    topics: list[str] = Field(default_factory=list)
    author: AuthorIn | None = None
    published_at: datetime
    crawled_at: datetime | None = None
    reposts: Count = 0
    comments: Count = 0
    likes: Count = 0
    parent_post_id: str | None = Field(None, max_length=64)
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("published_at", "crawled_at", mode="before")
    @classmethod
    def _timestamp(cls, value: Any, info: ValidationInfo) -> datetime | None:
        if value is None:
            return None
        tz = (info.context or {}).get("tz", UTC)
        return parse_timestamp(value, tz)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value, re.I):
            raise ValueError(f"not an http(s) URL: {value[:80]!r}")
        return value

    @field_validator("topics")
    @classmethod
    def _topic_names(cls, value: list[str]) -> list[str]:
        names = [t.strip() for t in value]
        if any(not t or len(t) > 64 for t in names):
            raise ValueError("topic names must be 1-64 characters")
        return list(dict.fromkeys(names))

    @model_validator(mode="after")
    def _not_before_publication(self) -> MentionIn:
        if self.crawled_at is not None and self.crawled_at < self.published_at:
            raise ValueError("crawled_at: is earlier than published_at")
        return self


def validate_mention(data: Any, tz: tzinfo = UTC) -> MentionIn:
    """Validate one raw mention; naive timestamps are read in ``tz``."""
    if not isinstance(data, dict):
        raise InvalidMention([f"(top level): expected a JSON object, got {type(data).__name__}"])
    try:
        return MentionIn.model_validate(data, context={"tz": tz})
    except ValidationError as exc:
        raise InvalidMention(describe_errors(exc)) from None


class ValidatePipeline:
    """Scrapy item pipeline: drop invalid items and count them per field."""

    def __init__(self, tz: tzinfo, stats):
        self.tz = tz
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        from pipeline.config import config_for_crawler

        return cls(config_for_crawler(crawler).tz, crawler.stats)

    def process_item(self, item, spider=None):
        try:
            return validate_mention(ItemAdapter(item).asdict(), self.tz)
        except InvalidMention as exc:
            self.stats.inc_value(f"yuqing/invalid/{exc.field}")
            raise DropItem(f"invalid mention: {exc}") from None
