"""The ``yuqing`` command line. Each command body calls one library function and prints.

Exit codes are in :mod:`pipeline.exit_codes`. Every command's docstring is its ``--help`` and
shows an example; ``tests/test_cli.py`` fails when one does not. Every error message goes
through :func:`alerts.secrets.redact` on its way to the terminal.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline import exit_codes
from pipeline.cli_alerts import alerts_group
from pipeline.cli_analysts import export_command, stats_command
from pipeline.cli_crawl import crawl_command
from pipeline.cli_nlp import nlp_group
from pipeline.cli_ops import run_command, status_command
from pipeline.cli_parse_page import parse_page_command
from pipeline.cli_report import report_command
from pipeline.cli_web import web_command
from pipeline.logs import setup_logging
from pipeline.mention_filter import build_filter, filter_options
from pipeline.output import console, format_option, terminal_safe, write_rows
from pipeline.time_args import Count, check_text

# Start-up matters (issue 17): cron runs `yuqing alerts evaluate` every minute and every crawl
# starts a process. This module and the command modules it loads import only click and the
# standard library at the top; pydantic (the config), SQLAlchemy, Alembic, rich, Scrapy, jieba
# and numpy are imported inside the commands that use them. tests/test_startup_imports.py checks.
if TYPE_CHECKING:
    from rich.progress import Progress

    from pipeline.config import Config
    from storage.db import Store

# Files this large get a progress bar when stderr is a terminal.
PROGRESS_FROM_BYTES = 1_000_000


class App:
    """What every command needs, loaded on first use so ``--help`` works without a config."""

    def __init__(self, config_path: Path | None):
        self.config_path = config_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from pipeline.config import ConfigError, load_config
            from pipeline.logs import LogFileError, add_log_file

            config = load_config(self.config_path)
            logging_config = config.logging
            if logging_config.file:
                try:
                    add_log_file(
                        logging_config.file,
                        logging_config.format,
                        logging_config.level,
                        int(logging_config.max_megabytes * 1_000_000),
                        logging_config.backups,
                    )
                except LogFileError as exc:
                    raise ConfigError(config.source, [f"logging.file: {exc}"]) from None
            self._config = config
        return self._config

    def store(self) -> Store:
        from storage.db import Store

        return Store.open(self.config.database_url())


class YuqingGroup(click.Group):
    """Turns the errors a user can fix into a clear message and a documented exit code."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # An argument that is not UTF-8 reaches Python as lone surrogates, which no database or
        # terminal can encode: refuse it here, once for every command, as bad usage (exit 2).
        for position, arg in enumerate(args, 1):
            try:
                check_text(arg)
            except ValueError as exc:
                raise click.UsageError(f"argument {position} {exc}", ctx) from None
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            message = _user_error(exc)
            if message is None:
                raise
            code, text = message
            click.echo(text, err=True)
            ctx.exit(code)


def _user_error(exc: Exception) -> tuple[int, str] | None:
    """The exit code and message for an error the user can fix, or None for a real bug.

    The error classes are looked up in ``sys.modules`` rather than imported: an exception can
    only be one of them if its module was loaded, and importing pydantic or SQLAlchemy just to
    find out would cost every light command its start-up time."""
    config = sys.modules.get("pipeline.config")
    db = sys.modules.get("storage.db")
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if config is not None and isinstance(exc, config.ConfigError):
        from alerts.secrets import redact

        return exit_codes.CONFIG, f"config error: {redact(exc)}"
    if db is not None and isinstance(exc, db.StorageError):
        from alerts.secrets import redact

        return exit_codes.FAILURE, f"database error: {redact(exc)}"
    if sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.DBAPIError):
        from alerts.secrets import redact

        # A fault the retries could not ride out (disk full, read-only file, server gone):
        # say what the database said, not a traceback. Completed batches stay stored.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return exit_codes.FAILURE, f"database error: {terminal_safe(redact(reason))}"
    return None


pass_app = click.make_pass_decorator(App)


@click.group(cls=YuqingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="YUQING_CONFIG",
    help="Config file (default: ./yuqing.toml if present, else built-in defaults).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="yuqing")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """yuqing: a public-opinion (舆情) monitor for Chinese brands.

    \b
    Example:
        yuqing init && yuqing ingest mentions.jsonl && yuqing mentions --topic 星澜咖啡
    """
    setup_logging(verbose)
    ctx.obj = App(config_path)


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="yuqing.toml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented example config to PATH (default yuqing.toml).

    \b
    Example:
        yuqing init && $EDITOR yuqing.toml && yuqing config check
    """
    from pipeline.config import EXAMPLE_PATH

    if path.exists() and not force:
        raise click.ClickException(f"{path} already exists (use --force to overwrite)")
    shutil.copyfile(EXAMPLE_PATH, path)
    click.echo(f"wrote {path}; edit it, then run `yuqing config check`")


@cli.group("config")
def config_group() -> None:
    """Inspect the configuration.

    \b
    Example:
        yuqing --config /etc/yuqing.toml config check
    """


@config_group.command("check")
@pass_app
def config_check(app: App) -> None:
    """Validate the config and check that every secret it references is readable.

    \b
    Example:
        YUQING_DINGTALK_WEBHOOK=... yuqing config check
    """
    from pipeline.config import ConfigError
    from storage.db import StorageError, check_url, safe_url

    config = app.config
    problems = config.missing_secrets()
    try:
        check_url(config.database_url())
    except StorageError as exc:
        problems.append(f"storage.url: {exc}")
    if problems:
        raise ConfigError(config.source, problems)
    click.echo(f"{config.source}: OK")
    click.echo(f"  database: {safe_url(config.database_url())}")
    click.echo(f"  topics: {', '.join(t.name for t in config.topics) or '(none)'}")
    receivers = ", ".join(r.name for r in config.alerts.receivers)
    click.echo(f"  alert receivers: {receivers or '(none)'}")


@cli.group("db")
def db_group() -> None:
    """Manage the database schema.

    \b
    Example:
        YUQING_DATABASE_URL=postgresql+psycopg://yuqing@db/yuqing yuqing db upgrade
    """


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@pass_app
def db_upgrade(app: App, revision: str) -> None:
    """Apply database migrations (run after installing a new version).

    \b
    Example:
        yuqing db upgrade
    """
    from storage.db import (
        StorageError,
        current_revision,
        error_text,
        make_engine,
        safe_url,
    )
    from storage.db import upgrade as upgrade_schema

    url = app.config.database_url()
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        upgrade_schema(engine, revision)
        after = current_revision(engine)
    except Exception as exc:
        raise StorageError(f"{safe_url(url)}: {error_text(url, exc)}") from None
    finally:
        engine.dispose()
    click.echo(f"{safe_url(url)}: schema {before or 'empty'} -> {after}")


@db_group.command("current")
@pass_app
def db_current(app: App) -> None:
    """Show the database's schema revision and the one this version needs.

    \b
    Example:
        yuqing db current
    """
    from storage.db import (
        StorageError,
        current_revision,
        error_text,
        head_revision,
        make_engine,
        safe_url,
    )

    url = app.config.database_url()
    engine = make_engine(url)
    try:
        current = current_revision(engine)
    except Exception as exc:
        raise StorageError(f"{safe_url(url)}: {error_text(url, exc)}") from None
    finally:
        engine.dispose()
    head = head_revision()
    state = "up to date" if current == head else "run `yuqing db upgrade`"
    click.echo(f"{safe_url(url)}: at {current or 'empty'}, code needs {head} ({state})")


def _progress_for(path: Path) -> Progress | None:
    if str(path) == "-" or not path.is_file():  # a pipe has no size to measure progress by
        return None
    size = path.stat().st_size
    if size < PROGRESS_FROM_BYTES or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


@cli.command()
@click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path)
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where bad lines go (default: FILE.rejects.jsonl; ./stdin.rejects.jsonl for -). "
    "Never the input file; a missing folder is created.",
)
@pass_app
def ingest(app: App, file: Path, rejects: Path | None) -> None:
    """Ingest mentions from a JSON Lines file, or standard input with - (docs/mention-format.md).

    Bad lines go to the reject file with their line number and reason; the rest are stored.
    Re-ingesting a file stores nothing twice. Exits 1 only when no line was valid, 2 when the
    reject file cannot be used (checked before anything is read).

    \b
    Example:
        yuqing ingest exported.jsonl --rejects bad.jsonl
        zcat export.jsonl.gz | yuqing ingest - --rejects export.rejects.jsonl
    """
    from pipeline.ingest import RejectsPathError, ingest_file, prepare_rejects_path

    try:
        prepare_rejects_path(file, rejects)
    except RejectsPathError as exc:
        raise click.BadParameter(terminal_safe(str(exc)), param_hint="'--rejects'") from None
    config, store = app.config, app.store()
    progress = _progress_for(file)
    try:
        if progress:
            with progress:
                task = progress.add_task("ingest", total=file.stat().st_size)
                result = ingest_file(
                    file,
                    config,
                    store,
                    rejects_path=rejects,
                    progress=lambda n: progress.advance(task, n),
                )
        else:
            result = ingest_file(file, config, store, rejects_path=rejects)
    except RejectsPathError as exc:  # the reject file became unwritable during the run
        click.echo(f"error: {terminal_safe(str(exc))}", err=True)
        sys.exit(exit_codes.FAILURE)
    finally:
        store.close()
    stored = result.stored
    # File names may hold escape sequences: never let them reach the terminal raw.
    click.echo(
        f"{terminal_safe(file)}: {result.lines} lines, {result.valid} valid, "
        f"{result.rejected} rejected; "
        f"{stored.inserted} new, {stored.updated} updated, {stored.unchanged} unchanged"
    )
    if result.rejects_path:
        click.echo(f"rejected lines written to {terminal_safe(result.rejects_path)}", err=True)
    if not result.ok:
        click.echo("nothing valid was read", err=True)
        sys.exit(exit_codes.FAILURE)


@cli.command()
@filter_options
@click.option("--limit", type=Count(), default=50, show_default=True, help="0 = all.")
@format_option
@pass_app
def mentions(app: App, limit, fmt, **filters) -> None:
    """List stored mentions, newest first. Times are shown in the config's time zone.

    \b
    Example:
        yuqing mentions --topic 星澜咖啡 --sentiment negative --since 24h --format csv > neg.csv
        yuqing mentions --search '品牌 AND (质量 OR 退款) NOT 招聘'
    """
    from storage.query import find_mentions

    tz = app.config.tz
    flt = build_filter(app, filters, limit=limit or None)
    store = app.store()
    try:
        rows = find_mentions(store, flt)
    finally:
        store.close()
    columns = [
        "published_at",
        "platform",
        "post_id",
        "topics",
        "author_name",
        "author_followers",
        "sentiment_label",
        "sentiment_score",
        "topic_sentiment",
        "reposts",
        "comments",
        "likes",
        "title",
        "text",
        "url",
    ]
    table = {
        "时间": lambda r: r["published_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "平台": lambda r: r["platform"],
        "话题": lambda r: ",".join(r["topics"]),
        "作者": lambda r: r["author_name"],
        "情感": lambda r: f"{r['sentiment_label'] or '-'} {r['sentiment_score'] or 0:.2f}",
        # Only where it differs from the post's own: "还是星澜咖啡靠谱，瑞幸太坑了".
        "对话题": lambda r: _toward(r),
        "转/评/赞": lambda r: f"{r['reposts']}/{r['comments']}/{r['likes']}",
        "内容": lambda r: _excerpt(r),
    }
    if fmt == "csv":  # one cell: 星澜咖啡:positive:0.85|青禾手机:negative:0.20
        for row in rows:
            row["topic_sentiment"] = [
                f"{topic}:{s['label']}:{s['score']:.2f}"
                for topic, s in row["topic_sentiment"].items()
            ]
    write_rows(rows, columns, fmt, tz, table_columns=table)
    if fmt == "table":
        click.echo(f"{len(rows)} mention(s)", err=True)


def _toward(row: dict) -> str:
    return " ".join(
        f"{topic}:{s['label']}"
        for topic, s in row["topic_sentiment"].items()
        if s["label"] != row["sentiment_label"]
    )


def _excerpt(row: dict, width: int = 60) -> str:
    text = terminal_safe(" ".join(filter(None, [row.get("title"), row.get("text")])))
    return text if len(text) <= width else text[: width - 1] + "…"


@cli.command()
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Where the demo's config, database, mailbox, webhook file and report go (recreated).",
)
def demo(workdir: Path) -> None:
    """Run the offline crisis demo: a local replica site, crawls and alerts over simulated time,
    mail and webhook sinks, the incident, its resolution and the daily report.

    \b
    Example:
        yuqing demo --dir /tmp/yuqing-demo
    """
    from pipeline.demo import run_demo

    run_demo(workdir, console())


cli.add_command(crawl_command)
cli.add_command(parse_page_command)
cli.add_command(alerts_group)
cli.add_command(run_command)
cli.add_command(status_command)
cli.add_command(nlp_group)
cli.add_command(stats_command)
cli.add_command(export_command)
cli.add_command(web_command)
cli.add_command(report_command)


def main() -> None:
    cli(prog_name="yuqing")
