"""The scheduled jobs, callable from the daemon and from cron-safe commands alike.

Every job runs under a database lease named after it, so two daemons (or a daemon and a cron
entry) on one database never run the same job at once; the lease is kept for most of the job's
period after it ends, so a second scheduler whose clock fires a moment later skips that run too.
Jobs take the config *path* (not the object) so the daemon's job store can persist them, and each
run reads the current file.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipeline.config import Config, load_config
from storage import leases
from storage.db import Store

log = logging.getLogger(__name__)

HOST = socket.gethostname()


def owner() -> str:
    """Who holds a lease: host, process and thread (a daemon runs jobs on a thread pool)."""
    return f"{HOST}:{os.getpid()}:{threading.get_ident()}"


class Locked(Exception):
    """Another process holds the job's lease."""


@contextmanager
def exclusive(
    store: Store, name: str, ttl: timedelta, hold: timedelta = timedelta(0)
) -> Iterator[None]:
    """Run the body only if the lease ``name`` is free; raise :class:`Locked` otherwise."""
    started, me = datetime.now(UTC), owner()
    if not leases.acquire(store, name, me, ttl, started):
        raise Locked(f"job {name} is running elsewhere (or ran moments ago)")
    try:
        yield
    finally:
        keep = started + hold
        leases.release(store, name, me, keep if keep > datetime.now(UTC) else None)


@dataclass
class JobOutcome:
    name: str
    ok: bool
    detail: str
    # What needs attention, one line for stderr and the log (None when nothing does).
    problem: str | None = None


def delivery_problem(failing: dict[str, dict[str, int]]) -> str | None:
    """One line naming how many deliveries are failing and on which channels, or None.

    Channels are named by their id (``receiver/index:type``), never by URL: a webhook URL
    carries the robot's key.
    """
    if not failing:
        return None
    totals: dict[str, int] = {}
    for kinds in failing.values():
        for kind, count in kinds.items():
            totals[kind] = totals.get(kind, 0) + count
    labels = {"retrying": "waiting for retry", "failed": "failed (gave up)", "held": "held"}
    parts = ", ".join(f"{totals[k]} {labels[k]}" for k in labels if totals.get(k))
    channels = ", ".join(
        f"{channel} ({sum(kinds.values())})" for channel, kinds in sorted(failing.items())
    )
    return (
        f"{sum(totals.values())} delivery(ies) failing ({parts}) on {channels}; "
        "see `yuqing alerts deliveries`"
    )


def _open(config: Config | str | None) -> tuple[Config, Store]:
    """Jobs take a config path (the daemon's job store persists it) or, from the CLI, the
    already-loaded config."""
    if not isinstance(config, Config):
        config = load_config(config)
    return config, Store.open(config.database_url())


def alerts_job(config_path: Config | str | None = None, now: datetime | None = None) -> JobOutcome:
    """Evaluate alert rules, then send what is due in the outbox."""
    from alerts.outbox import deliver_due
    from pipeline.alerting import evaluate
    from storage.deliveries import failing

    config, store = _open(config_path)
    try:
        with exclusive(store, "alerts:evaluate", timedelta(minutes=5), timedelta(seconds=45)):
            result = evaluate(config, store, now)
            sent = deliver_due(store, config.alerts, config.tz, now)
            # The outbox after this pass, not only this pass's sends: a channel in backoff is
            # still failing though nothing was tried this minute, and a row that gave up stays
            # a problem until an operator queues it again.
            problem = delivery_problem(failing(store))
    finally:
        store.close()
    detail = (
        f"{len(result.signals)} signal(s); {len(result.opened)} opened, "
        f"{len(result.escalated)} escalated, {len(result.reminded)} reminded, "
        f"{len(result.resolved)} resolved; {len(result.notifications)} notification(s) queued"
        + (f", {result.muted} muted by silences" if result.muted else "")
        + "; deliveries: "
        + (", ".join(f"{k} {v}" for k, v in sorted(sent.items()) if v) or "none due")
    )
    return JobOutcome("alerts:evaluate", problem is None, detail, problem)


def deliveries_job(
    config_path: Config | str | None = None, now: datetime | None = None
) -> JobOutcome:
    """Retry what is due in the outbox (between evaluations, and after a restart)."""
    from alerts.outbox import deliver_due
    from storage.deliveries import failing

    config, store = _open(config_path)
    try:
        with exclusive(store, "deliveries", timedelta(minutes=5), timedelta(seconds=20)):
            sent = deliver_due(store, config.alerts, config.tz, now)
            problem = delivery_problem(failing(store))
    finally:
        store.close()
    return JobOutcome("deliveries", problem is None, str(dict(sent)), problem)


def crawl_job(
    config_path: str | None, spider: str, topic: str | None, period_seconds: float = 0
) -> JobOutcome:
    """One crawl of ``spider`` for ``topic`` in its own process, with the configured timeout."""
    from pipeline.crawl import GRACE_SECONDS, run_crawl

    config, store = _open(config_path)
    name = f"crawl:{spider}:{topic or '-'}"
    timeout = config.crawl.timeout_minutes * 60
    try:
        ttl = timedelta(seconds=timeout + GRACE_SECONDS + 60)
        with exclusive(store, name, ttl, timedelta(seconds=period_seconds * 0.8)):
            result = run_crawl(spider, topic, config)
    finally:
        store.close()
    return JobOutcome(
        name, result.ok, f"{result.status}: {result.items} items, {result.errors} errors"
    )


# The hot-post re-crawl runs this often; its lease is held for most of the period.
HOT_REFRESH_MINUTES = 15


def hot_refresh_job(
    config_path: Config | str | None = None,
    now: datetime | None = None,
    settings: dict[str, object] | None = None,
) -> JobOutcome:
    """Re-crawl the fastest-growing negative Weibo posts of the last 24 hours, so their
    engagement snapshots (spread velocity) stay current. ``settings`` are Scrapy overrides."""
    from pipeline.crawl import GRACE_SECONDS, run_crawl
    from storage.aggregates import hot_negative_mentions

    config, store = _open(config_path)
    name = "hot_refresh"
    limit = config.crawl.hot_refresh_limit
    timeout = config.crawl.timeout_minutes * 60
    try:
        ttl = timedelta(seconds=timeout + GRACE_SECONDS + 60)
        with exclusive(store, name, ttl, timedelta(minutes=HOT_REFRESH_MINUTES * 0.8)):
            hot = hot_negative_mentions(store, now or datetime.now(UTC), limit=limit)
            if not hot:
                return JobOutcome(name, True, "no negative post of the last 24 h to refresh")
            result = run_crawl(
                "weibo",
                None,
                config,
                settings=settings,
                spider_args={"refresh": ",".join(m["post_id"] for m in hot)},
            )
    finally:
        store.close()
    return JobOutcome(
        name,
        result.ok,
        f"{len(hot)} post(s) asked, fastest {hot[0]['velocity']:.1f}/h; "
        f"{result.status}: {result.items} items, {result.errors} errors",
    )


def report_job(
    config_path: Config | str | None, kind: str, period_seconds: float = 0
) -> JobOutcome:
    """The ``kind`` report of each topic in ``[reports] topics`` (or one across all topics):
    written to ``out_dir``, and mailed to the email channels when ``[reports] email`` is on."""
    from alerts.channels.base import SendError
    from pipeline.reports.deliver import NoRecipients, produce_reports

    config, store = _open(config_path)
    name = f"report:{kind}"
    lines, ok = [], True
    try:
        # Held for most of the period: a second daemon firing a moment later sends nothing.
        with exclusive(store, name, timedelta(minutes=30), timedelta(seconds=period_seconds * 0.8)):
            for topic in config.reports.topics or [None]:
                try:
                    [(report, page, mailed)] = produce_reports(
                        config, store, kind, [topic], email=config.reports.email
                    )
                except (SendError, NoRecipients) as exc:
                    # The files are written before mailing; one failed mail does not stop the
                    # other topics' reports.
                    ok = False
                    lines.append(f"{topic or 'all'}: not mailed: {exc}")
                    continue
                mail = f", mailed to {len(mailed)}" if mailed else ""
                lines.append(f"{report.subject}: {page}{mail}")
    finally:
        store.close()
    return JobOutcome(name, ok, "; ".join(lines))
