"""``yuqing crawl``: run a spider (one process per topic) and report each run."""

from __future__ import annotations

import sys
from datetime import timedelta

import click

from pipeline import exit_codes


def _setting(value: str) -> tuple[str, str]:
    name, sep, setting = value.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"expected NAME=VALUE, got {value!r}")
    return name, setting


@click.command("crawl")
@click.argument("spider", type=click.Choice(["weibo", "tieba", "discuz", "news"]))
@click.option("--topic", help="Topic to crawl (default: every topic configured for the spider).")
@click.option(
    "--timeout",
    type=click.IntRange(min=1, max=24 * 60),
    help="Minutes, at most a day (default: crawl.timeout_minutes).",
)
@click.option("--full", is_flag=True, help="Ignore the incremental state: re-read up to max_pages.")
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Scrapy setting for this run, e.g. -s CRAWL_MAX_PAGES=5.",
)
@click.pass_obj
def crawl_command(
    app, spider: str, topic: str | None, timeout: int | None, full: bool, settings: tuple[str, ...]
) -> None:
    """Crawl SPIDER (weibo, tieba, discuz, news) and store what it finds.

    Each run is recorded (`crawl_run`) with its pages, items, drops and errors. Exits 1 when a
    run failed (blocked, cookie expired, crashed), 4 when the same crawl is already running
    elsewhere, 0 when all finished or stopped early.

    \b
    Example:
        yuqing crawl weibo --topic 星澜咖啡 --timeout 10
    """
    from pipeline.crawl import GRACE_SECONDS, crawl_topics, run_crawl
    from pipeline.jobs import Locked, exclusive
    from storage.db import Store

    config = app.config
    overrides = dict(_setting(s) for s in settings)
    topics = [topic] if topic else crawl_topics(config, spider)
    if not topics:
        raise click.ClickException(f"no topic is configured for {spider}; pass --topic NAME")
    failed = locked = False
    store = Store.open(config.database_url())
    for name in topics:
        seconds = timeout * 60 if timeout else config.crawl.timeout_minutes * 60
        try:
            # Cron-safe: the same crawl running elsewhere (daemon, another cron host) wins.
            with exclusive(
                store,
                f"crawl:{spider}:{name or '-'}",
                timedelta(seconds=seconds + GRACE_SECONDS + 60),
            ):
                result = run_crawl(
                    spider, name, config, timeout_seconds=seconds, full=full, settings=overrides
                )
        except Locked as exc:
            click.echo(str(exc), err=True)
            locked = True
            continue
        label = f"{spider}" + (f" [{name}]" if name else "")
        click.echo(
            f"{label}: {result.status}, {result.pages} pages, {result.items} items, "
            f"{result.errors} errors (run {result.run_id}, {result.seconds:.0f}s)"
        )
        if result.message:
            click.echo(f"  {result.message}", err=True)
        failed = failed or not result.ok
    store.close()
    if failed:
        sys.exit(exit_codes.FAILURE)
    if locked:
        sys.exit(exit_codes.LOCKED)
