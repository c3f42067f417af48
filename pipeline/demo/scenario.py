"""The demo's driver: the scheduler's jobs run over simulated time against the replica site.

History (three quiet days) goes through the ingest path in library form, each five-minute batch
stored with its own ``now``, so the spike detector has a baseline without hundreds of crawls.
From just before the crisis on, the clock moves one minute at a time: crawls run as the
scheduler would start them (one Scrapy process each, told the simulated time through
``YUQING_CLOCK`` and ``YUQING_NOW``), and the alert job (evaluate, then deliver) runs every
minute. Everything the demo shows comes from the database and the sinks afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from pipeline.config import Config, load_config
from pipeline.crawl import CrawlResult, run_crawl
from pipeline.demo.sinks import MailboxSink, WebhookSink
from pipeline.demo.site import FORUM_ID, DemoSite
from pipeline.demo.timeline import BRAND, WeiboPost, build
from pipeline.enrich import Enricher
from pipeline.jobs import alerts_job, deliveries_job
from pipeline.normalise import Normaliser
from pipeline.validate import validate_mention
from storage import incidents
from storage.db import Store
from storage.mentions import upsert_mentions

BUCKET_MINUTES = 10
_BEIJING = timezone(timedelta(hours=8))

# Per-run overrides, as `-s` would give them: the replica answers at once, so no politeness
# delays (the config keeps the real-site values a user would start from).
CRAWL_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "RETRY_BACKOFF_BASE": 0.1,
    "RETRY_BACKOFF_MAX": 0.5,
    "LOG_LEVEL": "WARNING",
}


@dataclass
class Plan:
    """When things happen, in minutes from t0 (the complaint). Weibo is crawled every five
    minutes while the story unfolds (as the example config's schedule does); the quiet tail after ``crisis_end`` goes through
    the ingest path bucket by bucket, like the history, to keep Scrapy process starts few."""

    start: int = -10  # first crawl and first alert evaluation
    crisis_end: int = 50
    crisis_every: int = 5
    discuz_at: tuple[int, ...] = (20, 40)
    news_at: tuple[int, ...] = (30,)
    evaluate_every: int = 1  # the alert job's period (cron: every minute)
    give_up: int = 300  # stop waiting for the resolution here

    def crawls_at(self, minute: int) -> list[str]:
        if minute > self.crisis_end:
            return []
        spiders = ["weibo"] if (minute - self.start) % self.crisis_every == 0 else []
        spiders += ["discuz"] * (minute in self.discuz_at)
        return spiders + ["news"] * (minute in self.news_at)


# The test suite's run: the same story with fewer crawls. The alert job runs every minute as
# from cron. Crawled only every ten minutes, the crisis's first ten minutes arrived at once and
# the first look was already a 危机, skipping the 预警 the story (and an on-call team) needs.
FAST_PLAN = Plan(start=0, crisis_end=40, discuz_at=(30,), news_at=(30,), evaluate_every=1)


def crisis_t0(today: datetime | None = None) -> datetime:
    """Yesterday 10:00 Beijing time: in the past (spiders refuse posts from the future), and a
    whole day for the daily report."""
    now = (today or datetime.now(UTC)).astimezone(_BEIJING)
    day = (now - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    return day.astimezone(UTC)


def config_text(workdir: Path, site: DemoSite, smtp: MailboxSink, hook: WebhookSink) -> str:
    db = (workdir / "yuqing.db").resolve()
    outbox = (workdir / "outbox" / "alerts.jsonl").resolve()
    base = site.base_url
    return f"""\
# yuqing configuration of the offline demo (written by `yuqing demo`).
# Reuse it: yuqing --config {workdir / "yuqing.toml"} alerts list --status all
# The replica site, mail and webhook sinks exist only while the demo runs; to watch real sites,
# delete [crawl].base_urls, point [[crawl.discuz]] / [[crawl.news]] at real forums and feeds,
# restore the politeness settings (download_delay = 1.0, retry_times = 3) and set real receivers.

[general]
timezone = "Asia/Shanghai"

[storage]
url = "sqlite:///{db}"

[[topics]]
name = "{BRAND}"
platforms = ["weibo", "discuz", "news"]

[topics.keywords]
any = ["{BRAND}"]
exclude = ["招聘", "兼职"]

[crawl]
default_schedule = "*/5 * * * *"
timeout_minutes = 5
max_pages = 10
overlap_minutes = 10
obey_robots = true
download_delay = 0.0
concurrency_per_domain = 4
retry_times = 1
# The replica of m.weibo.cn; remove this line to crawl the real site.
base_urls = {{ weibo = "{base}" }}

[[crawl.discuz]]
name = "coffeebbs"
base_url = "{base}/bbs"
forum_ids = [{FORUM_ID}]
version = "x"

[[crawl.news]]
name = "星城日报"
feed = "{base}/news/rss.xml"

[nlp]
sentiment_engine = "weibo"

[alerts]
language = "zh"
bucket_minutes = {BUCKET_MINUTES}
repeat_interval_minutes = 240
resolve_hold_minutes = 30
default_receiver = "duty-log"

# The spike detector learns from the four simulated days before the crisis; its thresholds come
# from its false-alarm budget (default: under one 关注 a week), not from counts.
[[alerts.rules]]
name = "negative-spike"
kind = "negative_spike"
options = {{ history_days = 4 }}

[[alerts.rules]]
name = "influencer"
kind = "influencer_post"

[[alerts.rules]]
name = "viral"
kind = "viral_post"
# Only posts of the last 90 minutes: the demo re-crawls just the newest posts, and an old
# post's rate would otherwise be its average since publication for a whole day.
options = {{ window_hours = 1.5, velocity_window_minutes = 30 }}

# 预警 and 危机 go to the PR team by mail and webhook; every level goes to the duty log file.
[[alerts.routes]]
receiver = "pr-team"
severities = ["预警", "危机"]
continue = true

[[alerts.routes]]
receiver = "duty-log"

[[alerts.receivers]]
name = "duty-log"

[[alerts.receivers.channels]]
type = "file"
path = "{outbox}"

[[alerts.receivers]]
name = "pr-team"

[[alerts.receivers.channels]]
type = "email"
to = ["pr@xinglan-coffee.example"]

[[alerts.receivers.channels]]
type = "webhook"
url = "{hook.url}"

[alerts.smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "plain"
sender = "yuqing-demo@localhost"
timeout_seconds = 10
"""


@dataclass
class Tick:
    """What one simulated minute did."""

    at: datetime
    crawls: list[CrawlResult] = field(default_factory=list)
    ingested: int = 0  # quiet-tail posts stored through the ingest path this minute
    incidents: list[dict] = field(default_factory=list)  # incidents that changed this minute
    mails: list = field(default_factory=list)  # messages the mailbox received
    hooks: list[dict] = field(default_factory=list)  # bodies the webhook sink received


@dataclass
class Outcome:
    config_path: Path
    t0: datetime
    history: int
    ticks: list[Tick]
    resolved: bool


def _history_row(post: WeiboPost, base: str) -> dict:
    return {
        "platform": "weibo",
        "post_id": post.post_id,
        "url": f"{base}/detail/{post.post_id}",
        "topics": [BRAND],
        "author": {
            "id": str(post.author.uid),
            "name": post.author.name,
            "followers": post.author.followers,
            "verified": post.author.verified,
            "verified_type": None,
        },
        "title": None,
        "text": post.text,
        "published_at": post.at.isoformat(),
        "crawled_at": post.at.isoformat(),
        "reposts": post.reposts,
        "comments": post.comments,
        "likes": post.likes,
        "parent_post_id": None,
    }


class Ingester:
    """Weibo posts of the timeline through the ingest path (validate, normalise, score, store),
    each bucket's posts stored as matched at the bucket's end, as a crawl every bucket would."""

    def __init__(self, config: Config, store: Store, t0: datetime, base_url: str):
        self.config, self.store, self.t0, self.base_url = config, store, t0, base_url
        self.normaliser = Normaliser(config)
        self.enricher = Enricher(config, recent_posts=lambda: [])
        self.bucket = timedelta(minutes=BUCKET_MINUTES)

    def bucket_end(self, at: datetime) -> datetime:
        return self.t0 + self.bucket * ((at - self.t0) // self.bucket + 1)

    def ingest(self, posts: list[WeiboPost]) -> int:
        by_bucket: dict[datetime, list] = {}
        for post in posts:
            mention = validate_mention(_history_row(post, self.base_url), self.config.tz)
            end = self.bucket_end(post.at)
            by_bucket.setdefault(end, []).append(self.normaliser.normalise(mention, end))
        rows = [row for bucket in by_bucket.values() for row in bucket]
        if rows:  # one scoring pass for all (fast), then one upsert per bucket for its time
            self.enricher.enrich(rows)
        for end, bucket in sorted(by_bucket.items()):
            for row in bucket:
                row["crawled_at"] = end
            upsert_mentions(self.store, bucket, now=end)
        return len(rows)


def _crawl(spider: str, config: Config, at: datetime) -> CrawlResult:
    clock = at.isoformat()
    return run_crawl(
        spider,
        BRAND if spider == "weibo" else None,
        config,
        timeout_seconds=120,
        settings=CRAWL_SETTINGS | {"YUQING_CLOCK": clock, "YUQING_NOW": clock},
        capture_output=True,
    )


def _incident_states(store: Store) -> dict[int, tuple]:
    return {
        i["id"]: (i["severity"], i["status"]) for i in incidents.list_incidents(store, limit=100)
    }


def run_scenario(
    workdir: Path,
    *,
    plan: Plan | None = None,
    on_tick: Callable[[Tick], None] | None = None,
    on_history: Callable[[int], None] | None = None,
    t0: datetime | None = None,
) -> Outcome:
    """Run the whole story in ``workdir`` (which must be empty or absent)."""
    plan = plan or Plan()
    t0 = t0 or crisis_t0()
    workdir.mkdir(parents=True, exist_ok=True)
    timeline = build(t0)
    site = DemoSite(timeline, t0 + timedelta(minutes=plan.start)).start()
    smtp = MailboxSink(workdir / "mailbox.mbox").start()
    hook = WebhookSink(workdir / "webhook.jsonl").start()
    try:
        config_path = workdir / "yuqing.toml"
        config_path.write_text(config_text(workdir, site, smtp, hook), encoding="utf-8")
        config = load_config(config_path)
        store = Store.open(config.database_url())
        try:
            ingester = Ingester(config, store, t0, site.base_url)
            history = ingester.ingest(timeline.history)
            if on_history:
                on_history(history)
            ticks, resolved = _simulate(
                config, store, site, smtp, hook, plan, ingester, timeline, on_tick
            )
        finally:
            store.close()
    finally:
        site.stop()
        smtp.stop()
        hook.stop()
    return Outcome(config_path, t0, history, ticks, resolved)


def _simulate(
    config, store, site, smtp, hook, plan, ingester, timeline, on_tick
) -> tuple[list[Tick], bool]:
    t0 = timeline.t0
    ticks: list[Tick] = []
    seen_states = _incident_states(store)
    mails_seen = hooks_seen = 0
    ever_opened = False
    with ThreadPoolExecutor(max_workers=3) as pool:
        for minute in range(plan.start, plan.give_up + 1):
            at = t0 + timedelta(minutes=minute)
            site.clock = at
            tick = Tick(at)
            spiders = plan.crawls_at(minute)
            # Crawls of different spiders run side by side, as the scheduler's thread pool would.
            tick.crawls = list(pool.map(lambda s, at=at: _crawl(s, config, at), spiders))
            if minute > plan.crisis_end and minute % BUCKET_MINUTES == 0:
                since = at - timedelta(minutes=BUCKET_MINUTES)
                tick.ingested = ingester.ingest(
                    [p for p in timeline.weibo if since < p.at <= at and p.role == "chatter"]
                )
            if minute % plan.evaluate_every == 0 or spiders:
                alerts_job(config, now=at + timedelta(seconds=30))
                # The daemon's retry job, between evaluations (a no-op unless a send failed).
                deliveries_job(config, now=at + timedelta(seconds=45))
            states = _incident_states(store)
            changed = [i for i, s in states.items() if seen_states.get(i) != s]
            if changed:
                tick.incidents = [incidents.get_incident(store, i) for i in changed]
            seen_states = states
            tick.mails, mails_seen = smtp.received[mails_seen:], len(smtp.received)
            tick.hooks, hooks_seen = hook.received[hooks_seen:], len(hook.received)
            ticks.append(tick)
            if on_tick:
                on_tick(tick)
            ever_opened = ever_opened or bool(states)
            if ever_opened and all(s[1] == "resolved" for s in states.values()) and tick.hooks:
                return ticks, True  # the resolution notice has gone out
    return ticks, False


def webhook_titles(path: Path) -> list[str]:
    return [json.loads(line).get("title", "") for line in path.read_text("utf-8").splitlines()]
