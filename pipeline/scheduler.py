"""``yuqing run``: the scheduler daemon (APScheduler 3, job store in the database).

It runs a crawl job per topic x platform on its cron schedule, the hot-post re-crawl every 15
minutes, alert evaluation every minute, delivery retries every minute (half a minute apart from
evaluation) and, when configured, the daily report. Jobs coalesce (a backlog of missed runs is
one run), never overlap (``max_instances=1``) and may start up to ``misfire_grace_time`` late.
Several daemons may share one database: each job runs under a database lease
(:func:`pipeline.jobs.exclusive`), so every run happens once.

SIGTERM or SIGINT stops taking new runs, asks running crawls to close (Scrapy flushes its items
on SIGTERM; crawls run in their own sessions, so only this asks them) and waits for running jobs.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from pipeline import jobs
from pipeline.config import Config
from pipeline.crawl import stop_all
from storage.db import Store

log = logging.getLogger(__name__)

JOB_TABLE = "apscheduler_jobs"
MISFIRE_GRACE_SECONDS = 120


@dataclass
class PlannedJob:
    id: str
    trigger: BaseTrigger
    kwargs: dict[str, Any] = field(default_factory=dict)


def _cron(expression: str, config: Config) -> CronTrigger:
    return CronTrigger.from_crontab(expression, timezone=config.tz)


def _period_seconds(trigger: BaseTrigger, config: Config) -> float:
    """Seconds between two fires of ``trigger`` from now (how long a run keeps its lease)."""
    now = datetime.now(config.tz)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first) if first else None
    return (second - first).total_seconds() if first and second else 0.0


def plan(config: Config, config_path: str | None) -> list[PlannedJob]:
    """Every job the configuration asks for."""
    from pipeline.crawl import crawl_topics

    planned: list[PlannedJob] = []
    crawl = config.crawl
    configured = {
        "weibo": bool(config.topics),
        "tieba": bool(crawl.tieba_forums) or any("tieba" in t.platforms for t in config.topics),
        "discuz": bool(crawl.discuz),
        "news": bool(crawl.news),
    }
    topics = {t.name: t for t in config.topics}
    for spider, wanted in configured.items():
        if not wanted:
            continue
        for topic in crawl_topics(config, spider):
            schedule = (
                (topics[topic].schedule if topic else None)
                or crawl.schedules.get(spider)
                or crawl.default_schedule
            )
            trigger = _cron(schedule, config)
            planned.append(
                PlannedJob(
                    f"crawl:{spider}:{topic or '-'}",
                    trigger,
                    {
                        "job": "crawl",
                        "config_path": config_path,
                        "spider": spider,
                        "topic": topic,
                        "period_seconds": _period_seconds(trigger, config),
                    },
                )
            )
    if configured["weibo"] and crawl.hot_refresh_limit:
        planned.append(
            PlannedJob(
                "hot_refresh",
                IntervalTrigger(minutes=jobs.HOT_REFRESH_MINUTES),
                {"job": "hot_refresh", "config_path": config_path},
            )
        )
    planned.append(
        PlannedJob(
            "alerts:evaluate",
            IntervalTrigger(minutes=1),
            {"job": "alerts", "config_path": config_path},
        )
    )
    planned.append(
        PlannedJob(
            "deliveries",
            IntervalTrigger(minutes=1, start_date=datetime.now(config.tz).replace(second=30)),
            {"job": "deliveries", "config_path": config_path},
        )
    )
    planned.extend(_report_jobs(config, config_path))
    return planned


def _report_jobs(config: Config, config_path: str | None) -> list[PlannedJob]:
    """The daily and weekly reports, when ``[reports]`` gives them a time."""
    reports, found = config.reports, []
    times = {"daily": (reports.daily_at, "*"), "weekly": (reports.weekly_at, reports.weekly_on)}
    for kind, (at, weekday) in times.items():
        if at is None or weekday is None:
            continue
        hour, minute = at.split(":")
        trigger = CronTrigger(day_of_week=weekday, hour=hour, minute=minute, timezone=config.tz)
        kwargs = {"job": "report", "config_path": config_path, "kind": kind}
        found.append(
            PlannedJob(
                f"report:{kind}",
                trigger,
                kwargs | {"period_seconds": _period_seconds(trigger, config)},
            )
        )
    return found


def run_job(job: str, config_path: str | None, **kwargs: Any) -> None:
    """The one function the job store refers to; dispatches by name and never raises."""
    try:
        if job == "crawl":
            outcome = jobs.crawl_job(config_path, **kwargs)
        elif job == "alerts":
            outcome = jobs.alerts_job(config_path)
        elif job == "deliveries":
            outcome = jobs.deliveries_job(config_path)
        elif job == "report":
            outcome = jobs.report_job(config_path, **kwargs)
        elif job == "hot_refresh":
            outcome = jobs.hot_refresh_job(config_path)
        else:
            log.error("unknown job %r in the job store", job)
            return
    except jobs.Locked as exc:
        log.info("skipped: %s", exc)
        return
    except Exception:
        log.exception("job %s failed", job)
        return
    (log.info if outcome.ok else log.warning)("%s: %s", outcome.name, outcome.detail)
    if outcome.problem:
        log.warning("%s: %s", outcome.name, outcome.problem)


def build_scheduler(config: Config, config_path: str | None) -> BackgroundScheduler:
    # Open (and on a new SQLite file, migrate) the database before APScheduler adds its own
    # table to it, which would make the file look like someone else's database.
    Store.open(config.database_url()).close()
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=config.database_url(), tablename=JOB_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
        timezone=config.tz,
    )


def sync_jobs(scheduler: BackgroundScheduler, planned: list[PlannedJob]) -> None:
    """Make the job store hold exactly the planned jobs (the config may have changed)."""
    wanted = {p.id for p in planned}
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            log.info("removing job %s (no longer configured)", job.id)
            job.remove()
    for p in planned:
        existing = scheduler.get_job(p.id)
        if (
            existing is not None
            and str(existing.trigger) == str(p.trigger)
            and existing.kwargs == p.kwargs
        ):
            continue  # keep its next run time
        scheduler.add_job(
            run_job, p.trigger, id=p.id, name=p.id, kwargs=p.kwargs, replace_existing=True
        )


def run_daemon(
    config: Config, config_path: str | None, stop: threading.Event | None = None
) -> None:
    """Run until SIGTERM/SIGINT (or ``stop`` is set)."""
    stop = stop or threading.Event()

    def on_signal(signum, _frame):
        if stop.is_set():
            return
        log.warning("received %s: finishing running jobs", signal.Signals(signum).name)
        stop.set()

    # Handlers first: a SIGTERM while the scheduler starts must still stop it in order.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    scheduler = build_scheduler(config, config_path)
    scheduler.start(paused=True)
    sync_jobs(scheduler, plan(config, config_path))
    scheduler.resume()
    log.info("scheduler running with %d jobs", len(scheduler.get_jobs()))

    stop.wait()
    scheduler.pause()
    # Running crawls close cleanly on SIGTERM (Scrapy flushes its pipelines and run record).
    asked = stop_all()
    if asked:
        log.warning("asked %d running crawl(s) to stop", asked)
    scheduler.shutdown(wait=True)
    log.info("scheduler stopped")
