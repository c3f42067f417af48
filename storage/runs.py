"""Crawl-run records: one row per spider run or file ingest, for status pages and ops alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from storage.db import Store
from storage.models import CrawlRun

RUN_STATUSES = ("running", "finished", "partial", "failed")


def start_run(store: Store, spider: str, topic: str | None = None) -> int:
    with store.session() as session:
        run = CrawlRun(spider=spider, topic=topic, started_at=datetime.now(UTC), stats={})
        session.add(run)
        session.flush()
        return run.id


def finish_run(
    store: Store,
    run_id: int,
    status: str,
    *,
    pages: int = 0,
    items: int = 0,
    errors: int = 0,
    message: str | None = None,
    stats: dict[str, Any] | None = None,
) -> None:
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    with store.session() as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            raise KeyError(f"no crawl run {run_id}")
        run.finished_at = datetime.now(UTC)
        run.status = status
        run.pages, run.items, run.errors = pages, items, errors
        run.message = message
        run.stats = stats or {}


def recent_runs(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    cols = [c for c in CrawlRun.__table__.columns]
    with store.session() as session:
        stmt = select(*cols).order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(limit)
        return [dict(r._mapping) for r in session.execute(stmt)]


def get_run(store: Store, run_id: int) -> dict[str, Any]:
    """One crawl run as a dict; KeyError when there is none."""
    with store.session() as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            raise KeyError(f"no crawl run {run_id}")
        return {c.name: getattr(run, c.name) for c in CrawlRun.__table__.columns}


def items_before(store: Store, spider: str, topic: str | None, run_id: int, runs: int = 3) -> int:
    """Items stored by the last ``runs`` completed runs of one source before ``run_id``: the
    yardstick for "this run found nothing, though the source used to give items"."""
    with store.session() as session:
        found = session.scalars(
            select(CrawlRun.items)
            .where(
                CrawlRun.spider == spider,
                CrawlRun.topic.is_(None) if topic is None else CrawlRun.topic == topic,
                CrawlRun.id < run_id,
                CrawlRun.status.in_(("finished", "partial")),
            )
            .order_by(CrawlRun.id.desc())
            .limit(runs)
        ).all()
    return sum(n or 0 for n in found)
