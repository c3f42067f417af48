"""The ``yuqing.toml`` configuration: schema, loading and error reporting.

One file holds everything; every section has defaults, so an absent file means "embedded
defaults" (a SQLite file in the working folder). Errors name the file, the key and the problem,
e.g. ``yuqing.toml: topics[1].keywords.any: must not be empty``.

Where the config comes from, first match wins: ``--config PATH``, ``$YUQING_CONFIG``,
``./yuqing.toml``, embedded defaults. ``$YUQING_DATABASE_URL`` overrides ``storage.url``.
"""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alerts.config import AlertsConfig, check_http_url
from alerts.secrets import SecretMissing, SecretRef, remember
from nlp.topics import TopicRule
from pipeline.validation_errors import describe_errors

PLATFORMS = ("weibo", "tieba", "discuz", "news")
DEFAULT_PATH = Path("yuqing.toml")
EXAMPLE_PATH = Path(__file__).parent / "yuqing.example.toml"


class ConfigError(Exception):
    """The configuration is unusable; ``problems`` lists every problem found, one per line."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_cron(value: str) -> str:
    # APScheduler is what will run the schedule, so it is also the judge of its syntax.
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(f"bad cron expression {value!r}: {exc}") from None
    return value


class GeneralConfig(_Strict):
    timezone: str = Field(
        "Asia/Shanghai",
        description="shown times, and the zone of input timestamps that carry no offset",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value


class StorageConfig(_Strict):
    url: SecretRef = Field(
        default_factory=lambda: SecretRef(value="sqlite:///yuqing.db"),
        description="SQLAlchemy URL; may hold a password, so it can come from env or a file",
    )


class Keywords(_Strict):
    must: list[str] = Field(default_factory=list, description="all must appear")
    any: list[str] = Field(default_factory=list, description="at least one must appear")
    exclude: list[str] = Field(default_factory=list, description="none may appear")

    @field_validator("must", "any", "exclude")
    @classmethod
    def _no_blank_words(cls, value: list[str]) -> list[str]:
        words = [w.strip() for w in value]
        if any(not w for w in words):
            raise ValueError("keywords must not be blank")
        return words

    @model_validator(mode="after")
    def _something_to_match(self) -> Keywords:
        if not self.must and not self.any:
            raise ValueError("any: give at least one keyword in `must` or `any`")
        return self


class TopicConfig(_Strict):
    name: str = Field(min_length=1, max_length=64)
    keywords: Keywords
    platforms: list[Literal[PLATFORMS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(PLATFORMS)
    )
    schedule: str | None = Field(None, description="cron expression overriding crawl.schedules")
    competitors: list[str] = Field(
        default_factory=list,
        description="rival brand names: a post praising the topic while attacking one of them "
        "is positive toward the topic (nlp/target_sentiment.py)",
    )

    _cron = field_validator("schedule")(lambda cls, v: v if v is None else _check_cron(v))

    def rule(self) -> TopicRule:
        return TopicRule(
            name=self.name,
            must=tuple(self.keywords.must),
            any=tuple(self.keywords.any),
            exclude=tuple(self.keywords.exclude),
        )


def _http_base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value.rstrip("/")


class DiscuzForumConfig(_Strict):
    """One Discuz! forum: adding a forum is one of these entries, no code."""

    name: str = Field(pattern=r"^[a-z0-9_-]{1,32}$", description="short id, part of post ids")
    base_url: str = Field(description="site root, e.g. https://bbs.example.com")
    forum_ids: list[int] = Field(min_length=1, description="fid of each board to crawl")
    version: Literal["x", "7"] = "x"
    encoding: str | None = Field(None, description="override when header and meta are wrong")

    _url = field_validator("base_url")(lambda cls, v: _http_base_url(v))


class NewsSourceConfig(_Strict):
    name: str = Field(min_length=1, max_length=64)
    feed: str = Field(description="RSS or Atom feed URL")
    fetch_articles: bool = Field(True, description="fetch each article page for the full text")

    _url = field_validator("feed")(lambda cls, v: _http_base_url(v))


class CrawlRedisConfig(_Strict):
    """[crawl.redis]: crawler processes on several machines share one request queue and
    dupefilter in Redis (scrapy-redis). Absent, every crawl schedules its requests alone."""

    url: SecretRef = Field(
        description='redis://[:password@]host:6379/0; e.g. { env = "YUQING_REDIS_URL" }'
    )
    key_prefix: str = Field(
        "yuqing", pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="namespace of yuqing's keys"
    )


class CrawlConfig(_Strict):
    default_schedule: str = "*/15 * * * *"
    schedules: dict[Literal[PLATFORMS], str] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="per-platform cron expressions"
    )
    timeout_minutes: int = Field(20, ge=1, le=24 * 60)
    weibo_cookie: SecretRef | None = Field(
        None, description='m.weibo.cn cookie; e.g. { env = "YUQING_WEIBO_COOKIE" }'
    )
    max_pages: int = Field(20, ge=1, description="listing pages per search term and run")
    overlap_minutes: int = Field(30, ge=0, description="re-read this much before the last run")
    obey_robots: bool = True
    download_delay: float = Field(1.0, ge=0)
    concurrency_per_domain: int = Field(2, ge=1)
    retry_times: int = Field(3, ge=0)
    user_agents: list[str] = Field(default_factory=list, description="rotated; empty = built-in")
    proxies: SecretRef | None = Field(
        None, description='proxy URLs, one per line; e.g. { file = "/etc/yuqing/proxies" }'
    )
    base_urls: dict[Literal[PLATFORMS], str] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="replace a site's base URL (mirrors, test replicas)"
    )
    tieba_forums: list[str] = Field(default_factory=list, description="贴吧 names to browse")
    discuz: list[DiscuzForumConfig] = Field(default_factory=list)
    news: list[NewsSourceConfig] = Field(default_factory=list)
    redis: CrawlRedisConfig | None = None
    hot_refresh_limit: int = Field(
        20, ge=0, description="negative posts the hot-post re-crawl refreshes each time; 0 = off"
    )
    pages_dir: Path = Field(
        Path("var/pages"), description="copies of pages that parsed to nothing, per spider and run"
    )
    pages_per_run: int = Field(5, ge=0, description="page copies kept per run; 0 = none")
    pages_keep_runs: int = Field(20, ge=1, description="run folders kept per spider")

    _cron = field_validator("default_schedule")(lambda cls, v: _check_cron(v))

    @field_validator("base_urls")
    @classmethod
    def _base_urls(cls, value: dict[str, str]) -> dict[str, str]:
        return {platform: _http_base_url(url) for platform, url in value.items()}

    @model_validator(mode="after")
    def _discuz_names_unique(self) -> CrawlConfig:
        names = [f.name for f in self.discuz]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"discuz[{i}].name: duplicate forum name {name!r}")
        return self

    @field_validator("schedules")
    @classmethod
    def _crons(cls, value: dict[str, str]) -> dict[str, str]:
        for platform, cron in value.items():
            try:
                _check_cron(cron)
            except ValueError as exc:
                raise ValueError(f"{platform}: {exc}") from None
        return value


def _positive_number(text: str) -> bool:
    try:
        number = float(text)
    except ValueError:
        return False
    return 0 < number < 1000


class NlpConfig(_Strict):
    sentiment_engine: Literal["weibo", "weibo-fast", "weibo-precise", "snownlp"] = Field(
        "weibo",
        description=(
            "weibo: the shipped two-tier model (fast score for every post, precise score for"
            " the posts alerts look at); weibo-fast / weibo-precise: one tier alone;"
            " snownlp: SnowNLP"
        ),
    )
    precise_followers: int = Field(
        10_000,
        ge=0,
        description=(
            "with the weibo engine, posts by verified accounts or accounts with at least this"
            " many followers always get the precise score (0: every post)"
        ),
    )
    sentiment_model: Path | None = Field(
        None,
        description="a model from `yuqing nlp train` instead of the engine's default",
    )
    # Only the snownlp engine labels by thresholds; the weibo model picks its label itself.
    negative_below: float = Field(0.4, gt=0, lt=1)
    positive_above: float = Field(0.6, gt=0, lt=1)
    keywords_per_mention: int = Field(5, ge=0, le=50)
    causes: dict[str, list[str]] = Field(
        default_factory=dict,
        description='extra complaint-cause words, e.g. 服务态度 = ["甩脸子"]; "word*2" weighs 2',
    )
    near_duplicate_threshold: float = Field(0.7, gt=0, le=1, description="MinHash Jaccard")
    near_duplicate_days: int = Field(
        7, ge=0, description="stored posts this recent seed the near-duplicate index"
    )

    @field_validator("sentiment_model")
    @classmethod
    def _model_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.exists():
            raise ValueError(f"no such model: {value}")
        return value

    @field_validator("causes")
    @classmethod
    def _cause_words(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for cause, words in value.items():
            if not cause.strip() or len(cause) > 16:
                raise ValueError(f"cause name {cause!r} must be 1 to 16 characters")
            for word in words:
                text, star, weight = word.strip().partition("*")
                if not text.strip():
                    raise ValueError(f"{cause}: words must not be blank")
                # "word*2": checked here, not when the first post is classified mid-ingest.
                if star and not _positive_number(weight):
                    raise ValueError(
                        f"{cause}: {word!r}: the weight after '*' must be a positive number"
                    )
        return value

    @model_validator(mode="after")
    def _ordered(self) -> NlpConfig:
        if self.negative_below > self.positive_above:
            raise ValueError("negative_below: must not exceed positive_above")
        return self


class LoggingConfig(_Strict):
    file: Path | None = Field(None, description="rotating log file; none = stderr only")
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Bounded so that the size in bytes stays a number (1e308 megabytes is infinity).
    max_megabytes: float = Field(10, gt=0, le=1_000_000)
    backups: int = Field(5, ge=0)


class WebConfig(_Strict):
    token: SecretRef | None = Field(
        None,
        description='`yuqing web` token (or $YUQING_WEB_TOKEN); e.g. { env = "YUQING_WEB_TOKEN" }',
    )
    host: str = Field("127.0.0.1", description="address to listen on; loopback by default")
    port: int = Field(8080, ge=1, le=65535)
    session_hours: float = Field(
        12, gt=0, le=720, description="a browser login lasts this long; logging out ends it"
    )
    login_failures_per_minute: int = Field(
        10, ge=1, le=1000, description="wrong tokens from one address before it waits (HTTP 429)"
    )


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock_time(value: str) -> str:
    hour, _, minute = value.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ValueError(f"not a time of day (HH:MM): {value!r}")
    return f"{int(hour):02d}:{int(minute):02d}"


class ReportsConfig(_Strict):
    """``yuqing report`` and the daemon's report jobs (docs/reports.md)."""

    daily_at: str | None = Field(None, description='daemon sends the daily report, e.g. "09:00"')
    weekly_on: Literal[WEEKDAYS] | None = Field(  # type: ignore[valid-type]
        None, description='daemon sends the weekly report on this day, e.g. "mon"'
    )
    weekly_at: str = "09:00"
    topics: list[str] = Field(
        default_factory=list, description="one report per topic; empty = one across all topics"
    )
    email: bool = Field(False, description="the daemon mails reports to the email channels")
    out_dir: Path = Path("var/reports")

    _times = field_validator("daily_at", "weekly_at")(
        lambda cls, v: v if v is None else _clock_time(v)
    )


class Config(_Strict):
    general: GeneralConfig = Field(default_factory=GeneralConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    topics: list[TopicConfig] = Field(default_factory=list)
    crawl: CrawlConfig = Field(default_factory=CrawlConfig)
    nlp: NlpConfig = Field(default_factory=NlpConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)

    # Not part of the schema: where the config was read from, for messages.
    source: str = Field("<embedded defaults>", exclude=True)

    @model_validator(mode="after")
    def _topic_names_unique(self) -> Config:
        names = [t.name for t in self.topics]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"topics[{i}].name: duplicate topic name {name!r}")
        # "ops" is the reserved topic of the collection's own health alerts.
        known = set(names) | {"ops"}
        for i, rule in enumerate(self.alerts.rules):
            for topic in rule.topics:
                if topic not in known:
                    raise ValueError(f"alerts.rules[{i}].topics: unknown topic {topic!r}")
        for i, route in enumerate(self.alerts.routes):
            for topic in route.topics:
                if topic not in known:
                    raise ValueError(f"alerts.routes[{i}].topics: unknown topic {topic!r}")
        for topic in self.reports.topics:
            if topic not in names:
                raise ValueError(f"reports.topics: unknown topic {topic!r}")
        return self

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.general.timezone)

    @cached_property
    def topic_rules(self) -> tuple[TopicRule, ...]:
        return tuple(t.rule() for t in self.topics)

    def database_url(self) -> str:
        """The storage URL: ``$YUQING_DATABASE_URL`` if set, else ``storage.url``."""
        override = os.environ.get("YUQING_DATABASE_URL")
        if override:
            remember(override)  # its password is masked in every message from now on
            return override
        try:
            return self.storage.url.reveal()
        except SecretMissing as exc:
            raise ConfigError(self.source, [f"storage.url: {exc}"]) from None

    def secrets(self) -> list[tuple[str, SecretRef]]:
        found = [("storage.url", self.storage.url)]
        if self.crawl.weibo_cookie:
            found.append(("crawl.weibo_cookie", self.crawl.weibo_cookie))
        if self.crawl.proxies:
            found.append(("crawl.proxies", self.crawl.proxies))
        if self.crawl.redis:
            found.append(("crawl.redis.url", self.crawl.redis.url))
        if self.web.token:
            found.append(("web.token", self.web.token))
        return found + self.alerts.secrets()

    def missing_secrets(self) -> list[str]:
        """One line per secret that cannot be read now (``yuqing config check`` reports these)."""
        problems = []
        for key, ref in self.secrets():
            try:
                value = ref.reveal()
            except SecretMissing as exc:
                problems.append(f"{key}: {exc}")
                continue
            if key.endswith(".webhook"):
                # Inline webhooks are checked at load; these came from a file or the environment.
                try:
                    check_http_url(value)
                except ValueError as exc:
                    problems.append(f"{key} ({ref.describe()}): {exc}")
        return problems


# Discriminated unions add the variant's tag ("email") to the location; the user never wrote it.
_UNION_TAGS = frozenset({"email", "dingtalk", "wecom", "feishu", "slack", "webhook", "file"})


def format_errors(exc: ValidationError) -> list[str]:
    problems = describe_errors(exc, _UNION_TAGS)
    return [
        p.replace(
            ": unknown key", ": unknown key (check the spelling; `yuqing init` writes every key)"
        )
        for p in problems
    ]


def parse_config(text: str, source: str = "<string>") -> Config:
    """Parse and validate TOML text; raises :class:`ConfigError` listing every problem."""
    # Windows editors save UTF-8 with a byte order mark, which TOML does not allow.
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, format_errors(exc)) from None
    config.source = source
    return config


def load_config(path: str | Path | None = None) -> Config:
    """Load the config from ``path``, ``$YUQING_CONFIG``, ``./yuqing.toml`` or the defaults."""
    if path is None:
        path = os.environ.get("YUQING_CONFIG") or (DEFAULT_PATH if DEFAULT_PATH.exists() else None)
    if path is None:
        return Config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found (create one with `yuqing init`)"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [f"not UTF-8 text (byte {exc.start})"]) from None
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read: {exc.strerror}"]) from None
    return parse_config(text, str(path))


def config_for_crawler(crawler) -> Config:
    """The config a Scrapy crawl runs with (``YUQING_CONFIG`` setting), loaded once per crawler."""
    cached = getattr(crawler, "_yuqing_config", None)
    if cached is None:
        cached = load_config(crawler.settings.get("YUQING_CONFIG"))
        crawler._yuqing_config = cached
    return cached
