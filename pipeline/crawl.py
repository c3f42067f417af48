"""Running a crawl: one ``scrapy crawl`` process per (spider, topic), with a timeout.

Scrapy runs in its own process because Twisted's reactor cannot be restarted inside a daemon.
The ``crawl_run`` record is created here first, so even a crawler that is killed or crashes
leaves a record saying so; the crawl-state extension inside the process fills in the outcome
and stats. The spider also closes itself at the timeout (``CLOSESPIDER_TIMEOUT``) and this
process kills it only if that graceful close hangs.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Config
from storage.db import Store
from storage.runs import finish_run, get_run, start_run

log = logging.getLogger(__name__)

SPIDERS = ("weibo", "tieba", "discuz", "news")
# Spiders that need a topic to search for; the others browse configured boards and feeds.
TOPIC_SPIDERS = ("weibo",)
# How long a graceful close (flushing the store, writing stats) may take after the timeout.
GRACE_SECONDS = 60

# Crawl processes running now, so a stopping daemon can ask each to close (see stop_all()).
_running: set[subprocess.Popen] = set()
_running_lock = threading.Lock()


def stop_all() -> int:
    """Send SIGTERM to every running crawl process (Scrapy then closes its spider cleanly,
    flushing stored items and its run record); returns how many were asked."""
    with _running_lock:
        running = list(_running)
    for process in running:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    return len(running)


@dataclass
class CrawlResult:
    run_id: int
    spider: str
    topic: str | None
    status: str
    message: str | None
    pages: int
    items: int
    errors: int
    returncode: int | None
    seconds: float
    output: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("finished", "partial")


def crawl_topics(config: Config, spider: str) -> list[str | None]:
    """The topics one `yuqing crawl SPIDER` run covers when no topic is given."""
    if spider not in TOPIC_SPIDERS:
        return [None]
    return [t.name for t in config.topics if spider in t.platforms]


def scrapy_command(
    spider: str,
    topic: str | None,
    settings: dict[str, object],
    spider_args: dict[str, str] | None = None,
) -> list[str]:
    command = [sys.executable, "-m", "scrapy", "crawl", spider]
    if topic:
        command += ["-a", f"topic={topic}"]
    for name, value in (spider_args or {}).items():
        command += ["-a", f"{name}={value}"]
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    return command


def run_crawl(
    spider: str,
    topic: str | None,
    config: Config,
    *,
    timeout_seconds: float | None = None,
    full: bool = False,
    settings: dict[str, object] | None = None,
    capture_output: bool = False,
    spider_args: dict[str, str] | None = None,
) -> CrawlResult:
    """Run one crawl to its end (or timeout) and return its recorded outcome. ``spider_args``
    are extra ``-a NAME=VALUE`` spider arguments (``refresh`` for the hot-post re-crawl)."""
    if spider not in SPIDERS:
        raise ValueError(f"unknown spider {spider!r} (one of {', '.join(SPIDERS)})")
    timeout = timeout_seconds or config.crawl.timeout_minutes * 60
    store = Store.open(config.database_url())
    try:
        run_id = start_run(store, spider, topic)
        overrides: dict[str, object] = {
            "YUQING_CRAWL_RUN_ID": run_id,
            "CLOSESPIDER_TIMEOUT": timeout,
        }
        if config.source and Path(config.source).is_file():
            overrides["YUQING_CONFIG"] = Path(config.source).resolve()
        if full:
            overrides["CRAWL_FULL"] = True
        overrides.update(settings or {})
        env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawlers.settings")
        # The child must store where this process reads, whatever its working folder.
        env["YUQING_DATABASE_URL"] = config.database_url()
        started = time.monotonic()
        returncode: int | None
        # Its own session: a terminal's Ctrl-C or a group signal reaches the crawl only through
        # stop_all(), i.e. as one orderly SIGTERM.
        process = subprocess.Popen(
            scrapy_command(spider, topic, overrides, spider_args),
            env=env,
            stdout=subprocess.PIPE if capture_output else None,
            stderr=subprocess.STDOUT if capture_output else None,
            text=True if capture_output else None,
            start_new_session=True,
        )
        with _running_lock:
            _running.add(process)
        try:
            output, _ = process.communicate(timeout=timeout + GRACE_SECONDS)
            returncode = process.returncode
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            returncode = None
        finally:
            with _running_lock:
                _running.discard(process)
        seconds = time.monotonic() - started
        # Still "running": the crawler never got to record its outcome.
        if get_run(store, run_id)["status"] == "running":
            message = (
                f"killed after {timeout + GRACE_SECONDS:.0f}s (timeout)"
                if returncode is None
                else f"crawler exited with code {returncode} before recording its result"
            )
            finish_run(store, run_id, "failed", errors=1, message=message)
        run = get_run(store, run_id)
        return CrawlResult(
            run_id=run_id,
            spider=spider,
            topic=topic,
            status=run["status"],
            message=run["message"],
            pages=run["pages"],
            items=run["items"],
            errors=run["errors"],
            returncode=returncode,
            seconds=seconds,
            output=output,
        )
    finally:
        store.close()
