"""Wiring the alert engine to the configuration and the outbox: one evaluation pass and the
manual incident actions (ack, note, resolve) that also notify."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alerts.engine import AlertEngine, EvaluationResult, TopicInfo
from pipeline.config import Config
from storage import incidents
from storage.db import Store


def topic_infos(config: Config) -> list[TopicInfo]:
    return [
        TopicInfo(t.name, tuple(dict.fromkeys([t.name, *t.keywords.must, *t.keywords.any])))
        for t in config.topics
    ]


def outbox_notifier(config: Config, store: Store, now: datetime | None = None):
    """A ``notify`` callable that commits each notification to the outbox (delivery table).
    ``now`` is the evaluation's time: a simulation's outbox rows must be due in its own clock."""
    from alerts.outbox import enqueue

    def notify(notification: dict[str, Any]) -> None:
        enqueue(store, config.alerts, notification, config.tz, now=now)

    return notify


def make_engine(config: Config, store: Store, notify=None, now: datetime | None = None):
    if notify is None:
        notify = outbox_notifier(config, store, now)
    return AlertEngine(store, config.alerts, topic_infos(config), notify)


def evaluate(
    config: Config, store: Store, now: datetime | None = None, notify=None
) -> EvaluationResult:
    return make_engine(config, store, notify, now).evaluate(now)


def close_incident(
    config: Config,
    store: Store,
    incident_id: int,
    *,
    author: str | None,
    note: str | None,
    now: datetime | None = None,
    notify=None,
) -> bool:
    """Resolve by hand; the follow-up notification goes out like an automatic one."""
    now = now or datetime.now(UTC)
    _, changed = incidents.resolve_incident(store, incident_id, now, author, note)
    if changed:
        make_engine(config, store, notify, now).announce_resolutions(now)
    return changed
