"""One evaluation pass of the alert engine: rules -> signals -> incidents -> notifications.

Per topic, every signal of the pass is grouped into the topic's live incident (one incident per
event, not one per rule); a new incident's dedup key is ``topic:rule`` of its strongest signal.
An incident escalates when its severity rises, reminds while it stays unacknowledged past the
repeat interval, and resolves once no rule has signalled for the hold period. Silences mute
notifications (the incident is still recorded); a critical incident absorbs the warnings of its
topic because they group into it.

Notifications go to ``notify`` (the outbox's ``enqueue``). The notification is queued *before*
its sequence number is recorded on the incident, and its idempotency key holds that number, so a
crash between the two steps re-queues the same key, which the outbox ignores: nothing is lost and
nothing is sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.detectors import crisis_words, influencer, share, source_health, viral
from alerts.evidence import build_evidence
from alerts.rules import Rule, build_rules
from alerts.severity import max_severity, severity_rank
from alerts.signals import Signal
from alerts.spike_rule import evaluate_spikes
from storage import aggregates, incidents, status
from storage.db import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicInfo:
    name: str
    # Brand words: the topic's keywords, used by the crisis-word check ("near a brand name").
    brands: tuple[str, ...]


@dataclass
class EvaluationResult:
    signals: list[Signal] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    muted: int = 0


class AlertEngine:
    def __init__(
        self,
        store: Store,
        alerts_config,
        topics: list[TopicInfo],
        notify: Callable[[dict[str, Any]], Any] | None = None,
    ):
        self.store = store
        self.config = alerts_config
        self.topics = {t.name: t for t in topics}
        self.rules = build_rules(alerts_config.rules)
        self.notify = notify
        self.language = alerts_config.language
        # The one allowance for late arrival every window shares (storage.aggregates explains).
        self.late_arrival = timedelta(minutes=alerts_config.late_arrival_minutes)
        # A replay's memory of its news matches (storage.aggregates.NewsMemory); None otherwise.
        self.memory: aggregates.NewsMemory | None = None

    # -- signals ------------------------------------------------------------------------------

    def _news(self, query, *args, **kwargs):
        """An aggregates window query over this store, with the engine's late-arrival allowance
        and, in a replay, its memory of news matches."""
        return query(
            self.store, *args, late_arrival=self.late_arrival, memory=self.memory, **kwargs
        )

    def collect_signals(self, now: datetime) -> list[Signal]:
        signals: list[Signal] = []
        for rule in self.rules:
            if rule.kind == "source_health":
                signals.extend(self._check_source_health(rule))
                continue
            topics = [t for t in self.topics if rule.applies_to(t)]
            if not topics:
                continue
            check = getattr(self, f"_check_{rule.kind}")
            signals.extend(check(rule, topics, now))
        return signals

    def _check_negative_spike(self, rule: Rule, topics: list[str], now: datetime) -> list[Signal]:
        return evaluate_spikes(
            self.store,
            rule,
            topics,
            now,
            self.config.bucket_minutes,
            self.language,
            late_arrival=self.late_arrival,
        )

    def _check_negative_share(self, rule: Rule, topics: list[str], now: datetime) -> list[Signal]:
        opts = rule.options
        window_start = now - timedelta(minutes=opts.window_minutes)
        window = self._news(
            aggregates.topic_totals,
            window_start,
            now,
            topics=topics,
        )
        baseline = self._news(
            aggregates.topic_totals,
            window_start - timedelta(days=opts.baseline_days),
            window_start,
            topics=topics,
        )
        found = []
        for topic in topics:
            signal = share.check(
                rule.name,
                topic,
                window.get(topic, (0, 0)),
                baseline.get(topic, (0, 0)),
                opts,
                self.language,
            )
            if signal:
                found.append(signal)
        return found

    def _check_viral_post(self, rule: Rule, topics: list[str], now: datetime) -> list[Signal]:
        opts = rule.options
        candidates = self._news(
            aggregates.negative_mentions_published,
            now - timedelta(hours=opts.window_hours),
            now,
            topics=topics,
            min_engagement=opts.min_engagement,
        )
        every = [m for posts in candidates.values() for m in posts]
        rates = aggregates.velocities(
            self.store, every, now, timedelta(minutes=opts.velocity_window_minutes)
        )
        found = []
        for topic, posts in candidates.items():
            signal = viral.check(rule.name, topic, posts, rates, opts, self.language)
            if signal:
                found.append(signal)
        return found

    def _check_influencer_post(self, rule: Rule, topics: list[str], now: datetime) -> list[Signal]:
        opts = rule.options
        recent = self._news(
            aggregates.recent_mentions,
            now - timedelta(minutes=opts.window_minutes),
            now,
            topics=topics,
            sentiment="negative",
        )
        found = []
        for topic, posts in recent.items():
            signal = influencer.check(rule.name, topic, posts, opts, self.language)
            if signal:
                found.append(signal)
        return found

    def _check_source_health(self, rule: Rule) -> list[Signal]:
        signal = source_health.check(
            rule.name,
            status.source_health(self.store),
            status.counts(self.store).get("deliveries_failed", 0),
            rule.options,
            self.language,
        )
        return [signal] if signal else []

    def _check_crisis_words(self, rule: Rule, topics: list[str], now: datetime) -> list[Signal]:
        opts = rule.options
        recent = self._news(
            aggregates.recent_mentions,
            now - timedelta(minutes=opts.window_minutes),
            now,
            topics=topics,
        )
        found = []
        for topic, posts in recent.items():
            brands = list(self.topics[topic].brands)
            signal = crisis_words.check(rule.name, topic, brands, posts, opts, self.language)
            if signal:
                found.append(signal)
        return found

    # -- incidents ----------------------------------------------------------------------------

    def evaluate(self, now: datetime | None = None) -> EvaluationResult:
        """One pass at ``now`` (default: the current time)."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        result = EvaluationResult(signals=self.collect_signals(now))
        by_topic: dict[str, list[Signal]] = {}
        for signal in result.signals:
            by_topic.setdefault(signal.topic, []).append(signal)
        live = incidents.live_incidents(self.store)
        silences = incidents.active_silences(self.store, now)

        for topic, signals in by_topic.items():
            self._on_signals(topic, signals, live.get(topic), now, silences, result)
        hold = timedelta(minutes=self.config.resolve_hold_minutes)
        for topic, incident in live.items():
            if topic not in by_topic and now - incident["last_seen_at"] >= hold:
                resolved, changed = incidents.resolve_incident(
                    self.store, incident["id"], now, "yuqing", self._text("auto_resolved")
                )
                if changed:
                    result.resolved.append(incident["id"])
        self.announce_resolutions(now, result, silences)
        return result

    def announce_resolutions(
        self,
        now: datetime,
        result: EvaluationResult | None = None,
        silences: list[dict[str, Any]] | None = None,
    ) -> EvaluationResult:
        """Notify every resolved incident whose opening was announced but whose end was not yet
        (auto-resolved this pass, resolved by hand, or left over from a crash). ``silences``:
        the silences active at ``now``, when the caller has them already."""
        result = result or EvaluationResult()
        if silences is None:
            silences = incidents.active_silences(self.store, now)
        for incident in incidents.unnotified_resolutions(self.store):
            self._send(incident, "resolved", incident["severity"], now, silences, result)
        return result

    def _on_signals(self, topic, signals, incident, now, silences, result) -> None:
        strongest = max(signals, key=lambda s: severity_rank(s.severity))
        severity = max_severity(*(s.severity for s in signals))
        if incident is None:
            evidence = build_evidence(
                self.store, topic, signals, now, now, self.language, self.late_arrival
            )
            incident = incidents.create_incident(
                self.store,
                topic=topic,
                rule=strongest.rule,
                severity=severity,
                rules=sorted({s.rule for s in signals}),
                now=now,
                evidence=evidence,
            )
            if incident is None:  # another evaluator opened it a moment ago; it will notify
                return
            result.opened.append(incident["id"])
        else:
            severity = max_severity(severity, incident["severity"])
            evidence = build_evidence(
                self.store,
                topic,
                signals,
                now,
                incident["opened_at"],
                self.language,
                self.late_arrival,
            )
            incident = incidents.update_incident(
                self.store,
                incident["id"],
                severity=severity,
                last_seen_at=now,
                evidence=evidence,
                rules=sorted(set(incident["rules"]) | {s.rule for s in signals}),
            )
        notified = incident["notified_severity"]
        if notified is None:
            event = "opened"
        elif severity_rank(severity) > severity_rank(notified):
            event = "escalated"
            result.escalated.append(incident["id"])
        elif incident["status"] == "open" and now - incident["last_notified_at"] >= timedelta(
            minutes=self.config.repeat_interval_minutes
        ):
            event = "reminder"
            result.reminded.append(incident["id"])
        else:
            return
        self._send(incident, event, severity, now, silences, result)

    def _send(self, incident, event, severity, now, silences, result) -> None:
        if any(_silences(s, incident) for s in silences):
            result.muted += 1
            return
        notification = {
            "incident_id": incident["id"],
            "event": event,
            "sequence": incident["sequence"] + 1,
            "topic": incident["topic"],
            "rule": incident["rule"],
            "rules": list(incident["rules"]),
            "severity": severity,
            "previous_severity": incident["notified_severity"],
            "status": incident["status"],
            "opened_at": incident["opened_at"].isoformat(),
            "last_seen_at": incident["last_seen_at"].isoformat(),
            "resolved_at": incident["resolved_at"].isoformat() if incident["resolved_at"] else None,
            "platforms": sorted(incident["evidence"].get("platform_counts", {})),
            "evidence": incident["evidence"],
        }
        if self.notify is not None:
            self.notify(notification)
        incidents.record_notification(self.store, incident["id"], severity, now)
        result.notifications.append(notification)

    def _text(self, key: str) -> str:
        return _TEXTS[self.language][key]


def _silences(silence: dict[str, Any], incident: dict[str, Any]) -> bool:
    if silence["topic"] and silence["topic"] != incident["topic"]:
        return False
    return not silence["rule"] or silence["rule"] in incident["rules"]


_TEXTS = {
    "zh": {"auto_resolved": "信号已回落至基线，自动解除"},
    "en": {"auto_resolved": "signal back at baseline; resolved automatically"},
}
