"""Crawl-run records: one row per spider run or file ingest, for status pages and ops alerts.

A run killed outright (SIGKILL, OOM killer, power loss) never records its end, so its row
would say ``running`` forever. Each row therefore records which process runs it (pid, host,
boot and the process's start time, in ``stats["process"]`` until the run ends), and
:func:`mark_stale_runs` (called when the same source starts again and by ``yuqing status``)
marks ``failed`` ("process gone") a running row whose process no longer exists on this host, or,
for a row from another host or without that record, one older than :data:`STALE_AFTER`.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from storage.db import Store
from storage.models import CrawlRun

RUN_STATUSES = ("running", "finished", "partial", "failed")
# A running row that cannot be checked (another host, no process record) is taken as dead after
# this long: longer than any crawl (their timeout is minutes) or an ingest of a large file.
STALE_AFTER = timedelta(hours=24)
_STALE_HOURS = STALE_AFTER.total_seconds() / 3600


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _proc_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), which tells a reused pid
    from the original process; None where /proc is not available."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return None
    # The command name (field 2) is in parentheses and may hold spaces; start time is field 22.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _pid_namespace() -> str | None:
    # Containers sharing a host name (docker --network host) still number processes apart.
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def this_process() -> dict[str, Any]:
    """What :func:`process_gone` needs to recognise this process later."""
    pid = os.getpid()
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "pidns": _pid_namespace(),
        "boot": _read("/proc/sys/kernel/random/boot_id"),
        "started": _proc_start(pid),
    }


def process_gone(process: dict[str, Any] | None) -> bool | None:
    """True when the recorded process surely no longer runs, False when it surely does, None
    when this host cannot tell (another host, no record, no /proc to tell a reused pid)."""
    pid = process.get("pid") if isinstance(process, dict) else None
    if not isinstance(pid, int) or pid <= 0:  # os.kill(0, ...) would mean "my process group"
        return None
    if process.get("host") != socket.gethostname():
        return None
    if process.get("pidns") != _pid_namespace():  # another container: its pids are not ours
        return None
    boot = _read("/proc/sys/kernel/random/boot_id")
    if boot and process.get("boot") and boot != process["boot"]:
        return True  # rebooted since: every process of that boot is gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # exists, under another user
    except OSError:
        return None
    started, current = process.get("started"), _proc_start(pid)
    if not (started and current):
        return None  # a process has this pid, but it may be another one: let age decide
    return started != current  # a different start time: the pid was reused


def mark_stale_runs(store: Store, spider: str | None = None, now: datetime | None = None) -> int:
    """Mark ``failed`` ("process gone") the running rows (of ``spider``, or all) whose process
    is gone; returns how many. Safe to run from several processes at once."""
    now = now or datetime.now(UTC)
    query = select(CrawlRun.id, CrawlRun.started_at, CrawlRun.stats).where(
        CrawlRun.status == "running"
    )
    if spider is not None:
        query = query.where(CrawlRun.spider == spider)
    marked = 0
    with store.session() as session:
        for run_id, started_at, stats in session.execute(query).all():
            process = (stats or {}).get("process")
            gone = process_gone(process)
            if started_at.tzinfo is None:  # SQLite gives naive UTC
                started_at = started_at.replace(tzinfo=UTC)
            if gone is None:
                gone = now - started_at > STALE_AFTER
                why = f"process gone: no end recorded after {_STALE_HOURS:g} h"
            else:
                why = f"process gone: pid {process['pid']} on {process['host']} no longer runs"
            if not gone:
                continue
            done = session.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id, CrawlRun.status == "running")
                .values(status="failed", finished_at=now, errors=CrawlRun.errors + 1, message=why)
            )
            marked += done.rowcount
    return marked


def adopt_run(store: Store, run_id: int) -> None:
    """The process that does the work takes over a ``running`` row another process created
    (``yuqing crawl`` starts Scrapy in a child): the row now lives as long as that child, so a
    killed parent does not get a still-working crawl marked gone."""
    with store.session() as session:
        run = session.get(CrawlRun, run_id)
        if run is not None and run.status == "running":
            run.stats = {**(run.stats or {}), "process": this_process()}


def start_run(store: Store, spider: str, topic: str | None = None) -> int:
    """A new ``running`` row; first, earlier runs of the same source that died unrecorded are
    marked failed, so a killed run never looks as if it were still going."""
    mark_stale_runs(store, spider)
    with store.session() as session:
        run = CrawlRun(
            spider=spider,
            topic=topic,
            started_at=datetime.now(UTC),
            stats={"process": this_process()},
        )
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
