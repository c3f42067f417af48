"""Step 1 of the item path: check a raw mention (spider item or JSONL line) against the format.

The format is documented in ``docs/mention-format.md``; :class:`MentionIn` is its executable
form. A bad mention raises :class:`InvalidMention` whose message names the field, so ingest can
write it to the reject file and Scrapy can count it as ``yuqing/invalid/<field>``.

This is the one boundary every entry point passes (``yuqing ingest``, the spiders' item
pipelines, replays, the demo), so whatever a database cannot store is settled here, per
mention: NUL characters and lone surrogates are removed from free text and make an id invalid,
counts are bounded, times must lie between :data:`EARLIEST` and now plus
:data:`storage.aggregates.FUTURE_SKEW`, and ``extra`` must be storable JSON of bounded depth.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any

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

from pipeline.validation_errors import describe_errors
from storage.aggregates import FUTURE_SKEW

_PLATFORM = r"^[a-z][a-z0-9_]{1,15}$"
# Epoch values above this are milliseconds (it is 2286-11-20 in seconds).
_EPOCH_MS_FROM = 10_000_000_000

# Older than any post on the Chinese web; what comes before is a placeholder for "no date"
# (0, 0001-01-01) and would overflow when shown in a zone west of UTC.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
# More reposts, followers or likes than there are people: a parsing error upstream. The bound
# also keeps sums over millions of mentions inside a 64-bit integer (SQLite's SUM() raises
# "integer overflow" past it; the columns are BIGINT).
MAX_COUNT = 10_000_000_000
# ``author.verified_type`` is an INTEGER column (Weibo uses -1 ... a few hundred).
_INT32 = 2**31
# ``extra`` is stored as JSON; deeper nesting than any spider writes is rejected before it can
# reach an encoder's recursion limit.
MAX_EXTRA_DEPTH = 32
# Each topic name becomes a stored topic match; a crawler searches one topic at a time.
MAX_TOPICS = 100

# What no database can store as text: NUL (PostgreSQL refuses it) and UTF-16 surrogate halves
# (a JSON "\ud800" without its pair cannot be encoded as UTF-8 by either driver). In a Python
# str a surrogate is always unpaired, since a valid pair decodes to one code point.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


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
            raise ValueError(f"unparseable date {_shown(value)} (use ISO 8601)") from None
    else:
        raise ValueError(f"unparseable date {_shown(value)}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=default_tz)
    try:
        # 0001-01-01 in a zone east of UTC, or 9999-12-31 west of it, is outside datetime.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"date out of range {_shown(value)}") from None


def _shown(value: Any) -> str:
    """A value as quoted in a reason: short, and printable whatever it holds."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_time(when: datetime, now: datetime) -> datetime:
    """``when`` if it can be a real post or crawl time seen at ``now``: not before
    :data:`EARLIEST`, not more than ``FUTURE_SKEW`` ahead (a site's clock a little fast is fine;
    a post dated 2099 would count as news forever, a crawl time in 9999 would freeze the
    mention against every later update)."""
    if when < EARLIEST:
        raise ValueError(f"{when.isoformat()} is before {EARLIEST.date().isoformat()}")
    if when > now + FUTURE_SKEW:
        minutes = int(FUTURE_SKEW.total_seconds() // 60)
        raise ValueError(
            f"{when.isoformat()} is in the future (more than {minutes} minutes after "
            f"{now.replace(microsecond=0).isoformat()})"
        )
    return when


def _clean_text(value: Any) -> Any:
    # Free text loses only the characters no database can hold; the rest of the post is kept.
    if isinstance(value, str):
        return _UNSTORABLE.sub("", value)
    return value


def _storable_id(value: Any) -> Any:
    # An id cleaned would be another id (and could collide with a real one): reject instead.
    # Before the str check, whose own message for a surrogate does not say what is wrong.
    bad = _UNSTORABLE.search(value) if isinstance(value, str) else None
    if bad:
        raise ValueError(
            f"contains U+{ord(bad.group()):04X} at position {bad.start()} "
            "(NUL or a lone surrogate cannot be stored)"
        )
    return value


def _storable_keys(data: Any) -> Any:
    # A key no field has is an error anyway; saying so here, because pydantic cannot even read
    # a key holding a lone surrogate and would only report "not a valid string".
    for key in data if isinstance(data, dict) else ():
        bad = _UNSTORABLE.search(key) if isinstance(key, str) else None
        if bad:
            raise ValueError(f"unknown key {key!r} (holds U+{ord(bad.group()):04X})")
    return data


def _clean_json(value: Any) -> Any:
    """``extra`` made storable: strings (keys too) cleaned like free text; too deep nesting and
    NaN or Infinity (not JSON: PostgreSQL refuses them) raise ValueError. Iterative, so a deep
    value cannot hit the recursion limit here."""
    root: list[Any] = [None]
    # (source container, destination container, key in destination, depth)
    todo: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 1)]
    while todo:
        item, into, key, depth = todo.pop()
        if isinstance(item, dict | list | tuple):
            if depth > MAX_EXTRA_DEPTH:
                raise ValueError(f"nested deeper than {MAX_EXTRA_DEPTH} levels")
            if isinstance(item, dict):
                copy: Any = {}
                for k, v in item.items():
                    k = _clean_text(k)
                    copy[k] = None
                    todo.append((v, copy, k, depth + 1))
            else:
                copy = [None] * len(item)
                todo.extend((v, copy, i, depth + 1) for i, v in enumerate(item))
            into[key] = copy
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{item} is not a JSON number (NaN and Infinity are not JSON)")
        else:
            into[key] = _clean_text(item)
    return root[0]


def _count(value: Any) -> Any:
    # JSON has no integer type of its own; 12.0 is fine, 12.5 or "many" is not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[int, BeforeValidator(_count), Field(ge=0, le=MAX_COUNT)]
FreeText = Annotated[str, BeforeValidator(_clean_text)]
Id = Annotated[str, BeforeValidator(_storable_id)]


class AuthorIn(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, str_strip_whitespace=True)

    id: Id | None = Field(None, max_length=64)
    name: FreeText | None = Field(None, max_length=128)
    followers: Count | None = None
    verified: bool = False
    verified_type: int | None = Field(None, ge=-_INT32, lt=_INT32)

    _keys = model_validator(mode="before")(_storable_keys)


class MentionIn(BaseModel):
    """One mention in the documented exchange format (``docs/mention-format.md``)."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, str_strip_whitespace=True)

    platform: str = Field(pattern=_PLATFORM)
    post_id: Id = Field(min_length=1, max_length=64)
    url: Id = Field(max_length=4096)
    text: FreeText = Field(max_length=200_000)
    title: FreeText | None = Field(None, max_length=2000)
    topics: list[Id] = Field(default_factory=list, max_length=MAX_TOPICS)
    author: AuthorIn | None = None
    published_at: datetime
    crawled_at: datetime | None = None
    reposts: Count = 0
    comments: Count = 0
    likes: Count = 0
    parent_post_id: Id | None = Field(None, max_length=64)
    extra: dict[str, Any] = Field(default_factory=dict)

    _keys = model_validator(mode="before")(_storable_keys)

    @field_validator("published_at", "crawled_at", mode="before")
    @classmethod
    def _timestamp(cls, value: Any, info: ValidationInfo) -> datetime | None:
        if value is None:
            return None
        context = info.context or {}
        parsed = parse_timestamp(value, context.get("tz", UTC))
        return check_time(parsed, context.get("now") or datetime.now(UTC))

    @field_validator("extra", mode="before")
    @classmethod
    def _storable_extra(cls, value: Any) -> Any:
        return _clean_json(value) if isinstance(value, dict) else value

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
        # The same allowance as for "now": a site's clock a little ahead of the crawler's.
        if self.crawled_at is not None and self.crawled_at + FUTURE_SKEW < self.published_at:
            raise ValueError("crawled_at: is earlier than published_at")
        return self


def validate_mention(data: Any, tz: tzinfo = UTC, now: datetime | None = None) -> MentionIn:
    """Validate one raw mention; naive timestamps are read in ``tz``; ``now`` (default: the
    clock) is what a time may not be more than ``FUTURE_SKEW`` ahead of."""
    if not isinstance(data, dict):
        raise InvalidMention([f"(top level): expected a JSON object, got {type(data).__name__}"])
    try:
        return MentionIn.model_validate(data, context={"tz": tz, "now": now})
    except ValidationError as exc:
        raise InvalidMention(describe_errors(exc)) from None
    except RecursionError:  # a value nested deeper than the validator can walk
        raise InvalidMention(["(top level): nested too deeply"]) from None


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
        # Imported here: itemadapter imports Scrapy (0.3-0.4 s, +33 MB), which `yuqing ingest`
        # never needs; a crawl has loaded it already.
        from itemadapter import ItemAdapter
        from scrapy.exceptions import DropItem

        try:
            return validate_mention(ItemAdapter(item).asdict(), self.tz)
        except InvalidMention as exc:
            self.stats.inc_value(f"yuqing/invalid/{exc.field}")
            raise DropItem(f"invalid mention: {exc}") from None
