"""Health facts for ``yuqing status``, metrics and ops alerts: per-source crawl health, outbox
and incident counts, database size, the scheduler's jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, func, inspect, select, text

from storage.db import Store
from storage.models import CrawlRun, Delivery, Incident

FAILED = ("failed",)


def source_health(store: Store, recent: int = 20) -> list[dict[str, Any]]:
    """Per (spider, topic): the last run and how many runs in a row have failed."""
    with store.session() as session:
        sources = session.execute(
            select(CrawlRun.spider, CrawlRun.topic).where(CrawlRun.spider != "ingest").distinct()
        ).all()
        found = []
        for spider, topic in sorted(sources, key=lambda s: (s[0], s[1] or "")):
            runs = session.scalars(
                select(CrawlRun)
                .where(
                    CrawlRun.spider == spider,
                    CrawlRun.topic.is_(topic) if topic is None else CrawlRun.topic == topic,
                )
                .where(CrawlRun.status != "running")
                .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
                .limit(recent)
            ).all()
            if not runs:
                continue
            streak = _in_a_row(runs, lambda run: run.status in FAILED)
            blocked = _in_a_row(
                runs, lambda run: (run.stats or {}).get("close_reason") == "blocked"
            )
            # Runs with pages that parsed to nothing (crawlers/page_guard.py).
            layout = _in_a_row(runs, lambda run: bool((run.stats or {}).get("parse_failed")))
            last = runs[0]
            found.append(
                {
                    "spider": spider,
                    "topic": topic,
                    "last_started_at": last.started_at,
                    "last_status": last.status,
                    "last_items": last.items,
                    "last_errors": last.errors,
                    "last_message": last.message,
                    "failed_in_a_row": streak,
                    "blocked_in_a_row": blocked,
                    "layout_in_a_row": layout,
                    "stats": last.stats or {},
                }
            )
        return found


def _in_a_row(runs, condition) -> int:
    """How many of the newest ``runs`` (newest first) in a row meet ``condition``."""
    streak = 0
    for run in runs:
        if not condition(run):
            break
        streak += 1
    return streak


def counts(store: Store) -> dict[str, int]:
    with store.session() as session:
        deliveries = dict(
            session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()
        )
        live = session.scalar(
            select(func.count()).select_from(Incident).where(Incident.status != "resolved")
        )
    return {
        "incidents_live": live or 0,
        **{f"deliveries_{state}": n for state, n in deliveries.items()},
    }


def database_size(store: Store) -> int | None:
    """Bytes on disk (SQLite: the file and its WAL), or None when unknown."""
    if store.dialect == "sqlite":
        database = store.engine.url.database
        if not database or database == ":memory:":
            return None
        path = Path(database)
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    if store.dialect == "postgresql":
        with store.session() as session:
            return session.scalar(text("SELECT pg_database_size(current_database())"))
    return None


def scheduler_jobs(store: Store, table: str = "apscheduler_jobs") -> list[dict[str, Any]]:
    """The daemon's jobs and their next run (APScheduler's own table), if it exists."""
    if table not in inspect(store.engine).get_table_names():
        return []
    jobs = Table(table, MetaData(), autoload_with=store.engine)
    with store.session() as session:
        rows = session.execute(
            select(jobs.c.id, jobs.c.next_run_time).order_by(jobs.c.next_run_time)
        )
        return [
            {
                "id": job_id,
                "next_run_at": datetime.fromtimestamp(next_run, UTC) if next_run else None,
            }
            for job_id, next_run in rows
        ]


def crawl_totals(store: Store) -> list[dict[str, Any]]:
    """Per spider and final status: runs, items and errors over all recorded crawl runs."""
    with store.session() as session:
        rows = session.execute(
            select(
                CrawlRun.spider,
                CrawlRun.status,
                func.count(),
                func.coalesce(func.sum(CrawlRun.items), 0),
                func.coalesce(func.sum(CrawlRun.errors), 0),
            )
            .where(CrawlRun.status != "running")
            .group_by(CrawlRun.spider, CrawlRun.status)
        ).all()
    return [
        {"spider": s, "status": st, "runs": n, "items": int(i), "errors": int(e)}
        for s, st, n, i, e in rows
    ]


def mention_count(store: Store) -> int:
    from storage.models import Mention

    with store.session() as session:
        return session.scalar(select(func.count()).select_from(Mention)) or 0
