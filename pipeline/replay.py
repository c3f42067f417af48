"""Replay an exported history of mentions through every configured alert rule in simulated time:
"when would this have alerted?". ``yuqing alerts backtest --mentions FILE.jsonl`` is a thin
wrapper over :func:`replay_file`.

Each mention *arrives* at its ``crawled_at`` when the line has one, else at its ``published_at``
plus ``arrival_delay`` (how long the crawler takes to find a post). The replay goes into a
throwaway SQLite database, never the user's. A simulated clock steps every ``step_minutes``
(default: the alert bucket) from the first arrival; at each step the mentions that arrived by
then are stored as one batch (after the ingest path's normalising and NLP, run in arrival order
up front), every row stamped with its own arrival time (crawled, first seen, matched, engagement
snapshot), and the alert engine runs one evaluation at the step's time. Notifications are
captured into the timeline, never delivered.

The replay is causal: what happened up to a time depends only on the mentions that arrived by
then, so the timeline of the first lines of an arrival-ordered file is the start of the whole
file's timeline (up to the last step those lines cover).

Passes that cannot change anything are skipped: when no incident is live and nothing has
arrived for :func:`quiet_period` (the rules' longest window), the clock jumps to the next
arrival, and after the last arrival it stops there. While an incident is live it runs on so the
incident can resolve, at most ``tail`` after the last arrival. ``source_health`` is left out:
it watches crawl runs and deliveries, and a replay has neither.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.engine import AlertEngine
from alerts.spike_rule import floor_time
from pipeline.alerting import topic_infos
from pipeline.config import Config
from pipeline.enrich import Enricher
from pipeline.ingest import parse_line
from pipeline.normalise import Normaliser
from pipeline.validate import InvalidMention
from storage import incidents
from storage.aggregates import NewsMemory
from storage.db import Store
from storage.mentions import MentionRow, upsert_mentions

# Posts per NLP batch (the sentiment model's fixed cost per batch is large).
ENRICH_BATCH = 2000


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str


@dataclass(frozen=True)
class ReplayEvent:
    """One notification the engine would have sent, at its simulated time."""

    at: datetime
    incident: int
    topic: str
    event: str  # opened, escalated, reminder, resolved
    severity: str
    rules: tuple[str, ...]
    observed: float | None
    expected: float | None
    detail: str

    def as_row(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "incident": self.incident,
            "topic": self.topic,
            "event": self.event,
            "severity": self.severity,
            "rules": list(self.rules),
            "observed": self.observed,
            "expected": self.expected,
            "detail": self.detail,
        }


@dataclass
class ReplayResult:
    events: list[ReplayEvent] = field(default_factory=list)
    lines: int = 0  # non-blank lines read
    replayed: int = 0  # valid mentions fed to the rules
    rejects: list[Reject] = field(default_factory=list)
    steps: int = 0  # evaluation passes run
    first_arrival: datetime | None = None
    last_arrival: datetime | None = None
    ended_at: datetime | None = None  # the simulated time of the last pass
    still_live: int = 0  # incidents open or acknowledged when the replay stopped

    @property
    def opened(self) -> int:
        return sum(e.event == "opened" for e in self.events)


@dataclass
class _Arrival:
    at: datetime
    line: int
    row: MentionRow


def read_arrivals(
    path: Path, config: Config, arrival_delay: timedelta, result: ReplayResult
) -> list[_Arrival]:
    """Validated, normalised mentions of ``path`` in arrival order (ties: file order); bad lines
    are added to ``result.rejects`` with the ingest's reasons."""
    normaliser = Normaliser(config)
    arrivals: list[_Arrival] = []
    with path.open("rb") as source:
        for number, raw in enumerate(source, start=1):
            if not raw.strip():
                continue
            result.lines += 1
            try:
                mention = parse_line(number, raw, config)
            except InvalidMention as exc:
                result.rejects.append(Reject(number, str(exc)))
                continue
            at = mention.crawled_at or mention.published_at + arrival_delay
            row = normaliser.normalise(mention, at)
            row["crawled_at"] = at
            arrivals.append(_Arrival(at, number, row))
    arrivals.sort(key=lambda a: (a.at, a.line))
    return arrivals


def _unique_key_batches(rows: list[MentionRow]) -> list[list[MentionRow]]:
    """Split a step's rows so no batch holds one post twice: the upsert keeps only the newest
    copy of a post per batch, and a re-crawl within a step must still add its snapshot."""
    batches: list[list[MentionRow]] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        key = (row["platform"], row["post_id"])
        if not batches or key in seen:
            batches.append([])
            seen = set()
        batches[-1].append(row)
        seen.add(key)
    return batches


def quiet_period(rules, bucket: timedelta) -> timedelta:
    """How long after the last arrival a rule may still fire with nothing new arriving: its
    longest window (a window's share can still rise as older posts leave it; engagement rates
    need snapshots within the velocity window), plus a bucket for the spike rule to see the last
    one complete. Beyond it every window is empty, rates are zero and the spike rule feeds
    zeros, so nothing can open before the next arrival."""
    names = ("window_minutes", "velocity_window_minutes")
    minutes = [getattr(rule.options, name, 0) for rule in rules for name in names]
    return timedelta(minutes=max(minutes, default=0)) + bucket


def _event(at: datetime, notification: dict[str, Any], language: str) -> ReplayEvent:
    evidence = notification.get("evidence") or {}
    if notification["event"] == "resolved":
        opened = datetime.fromisoformat(notification["opened_at"])
        minutes = int((at - opened).total_seconds() // 60)
        detail = f"持续 {minutes} 分钟" if language == "zh" else f"lasted {minutes} min"
    else:
        detail = evidence.get("summary", "")
    return ReplayEvent(
        at=at,
        incident=notification["incident_id"],
        topic=notification["topic"],
        event=notification["event"],
        severity=notification["severity"],
        rules=tuple(notification["rules"]),
        observed=evidence.get("observed"),
        expected=evidence.get("expected"),
        detail=detail,
    )


def replay_file(
    path: Path,
    config: Config,
    *,
    step_minutes: int | None = None,
    arrival_delay: timedelta = timedelta(0),
    tail: timedelta = timedelta(hours=24),
    database: Path | None = None,
) -> ReplayResult:
    """Replay ``path`` (JSON Lines in the ingest format) through the rules of ``config``.

    ``database`` keeps the replay's SQLite database at that path (which must not exist) for
    inspection; by default a temporary one is used and deleted.
    """
    if database is not None and database.exists():
        raise FileExistsError(f"{database} already exists; the replay needs a new database")
    step_minutes = step_minutes or config.alerts.bucket_minutes
    if step_minutes < 1:
        raise ValueError("the step must be at least one minute")
    result = ReplayResult()
    arrivals = read_arrivals(path, config, arrival_delay, result)
    result.replayed = len(arrivals)
    if not arrivals:
        return result
    result.first_arrival, result.last_arrival = arrivals[0].at, arrivals[-1].at

    with tempfile.TemporaryDirectory(prefix="yuqing-replay-") as scratch:
        db_path = database or Path(scratch) / "replay.db"
        store = Store.open(f"sqlite:///{db_path}", auto_migrate=True)
        try:
            _run(store, config, arrivals, step_minutes, tail, result)
        finally:
            store.close()
    return result


def _run(
    store: Store,
    config: Config,
    arrivals: list[_Arrival],
    step_minutes: int,
    tail: timedelta,
    result: ReplayResult,
) -> None:
    alerts = config.alerts
    # The history starts empty: no near-duplicate seeds from the user's database.
    enricher = Enricher(config, recent_posts=lambda: [])
    engine = AlertEngine(store, alerts, topic_infos(config), notify=lambda n: None)
    # source_health watches crawl runs and deliveries; a replay has neither, so it cannot fire.
    engine.rules = [rule for rule in engine.rules if rule.kind != "source_health"]
    # The rules' windows from memory instead of reading days of posts again every pass.
    engine.memory = NewsMemory(store, engine.late_arrival)
    # NLP in arrival order, as the steps would run it, but in large batches: the sentiment model
    # is much faster per post on a large batch, and nothing it does depends on what is stored.
    for first in range(0, len(arrivals), ENRICH_BATCH):
        enricher.enrich([a.row for a in arrivals[first : first + ENRICH_BATCH]])
    step = timedelta(minutes=step_minutes)
    # Steps sit on a grid aligned like the alert buckets, so a prefix of the file sees the very
    # same evaluation times as the whole file.
    origin = floor_time(arrivals[0].at, step_minutes)
    last = arrivals[-1].at
    # Run at least until the bucket of the last arrival is complete, so the spike rule sees it.
    settle = floor_time(last, alerts.bucket_minutes) + timedelta(minutes=alerts.bucket_minutes)
    quiet = quiet_period(engine.rules, timedelta(minutes=alerts.bucket_minutes))
    now, i = origin, 0
    while True:
        now += step
        start = i
        while i < len(arrivals) and arrivals[i].at <= now:
            i += 1
        if i > start:
            rows = [a.row for a in arrivals[start:i]]
            for batch in _unique_key_batches(rows):
                if upsert_mentions(store, batch, seen_at_crawled=True).updated:
                    engine.memory.forget()  # a re-crawl rewrote a stored post
        evaluation = engine.evaluate(now)
        result.steps += 1
        result.events.extend(_event(now, n, alerts.language) for n in evaluation.notifications)
        if i == len(arrivals):
            if now < settle:
                continue
            if now >= last + tail:
                result.still_live = len(incidents.live_incidents(store))
                break
            if now >= last + quiet and not incidents.live_incidents(store):
                break
        elif (
            now >= arrivals[i - 1].at + quiet
            and arrivals[i].at > now + step
            and not incidents.live_incidents(store)
        ):
            # Nothing can fire before the next arrival: go straight to the step that takes it
            # (the first grid step at or after it).
            steps_to_next = -((origin - arrivals[i].at) // step)  # ceiling division
            now = origin + step * (steps_to_next - 1)
    result.ended_at = now
