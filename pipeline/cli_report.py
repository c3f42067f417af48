"""``yuqing report daily|weekly``: build the report, write it to files, optionally mail it.

The body calls one library function, :func:`pipeline.reports.deliver.produce_reports`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from pipeline import exit_codes
from pipeline.time_args import time_option_value

# The report kinds, spelt out so that building this command (every `yuqing` start) does not
# import the report builder, Jinja2 and SQLAlchemy (issue 17); they match
# pipeline.reports.build.KINDS (tests/test_startup_imports.py checks).
REPORT_KINDS = ("daily", "weekly")


@click.command("report")
@click.argument("kind", type=click.Choice(REPORT_KINDS))
@click.option("--topic", help="Only this topic (default: the whole database, every topic).")
@click.option(
    "--end",
    metavar="TIME",
    help="The period ends here (default: today 00:00 in the config's zone, so a daily report "
    "covers yesterday). Same forms as --since elsewhere: 2026-11-21, ISO 8601.",
)
@click.option(
    "--email",
    "email",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[ADDRESS,...]",
    help="Mail the report: alone, to every email channel of [alerts]; with addresses "
    "(comma-separated), to those instead. SMTP settings come from [alerts.smtp].",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the HTML, text and PNG files (default: reports.out_dir, var/reports).",
)
@click.pass_obj
def report_command(app, kind: str, topic, end, email, out_dir) -> None:
    """Render the daily or weekly report (trends, platforms, complaint causes, top negative
    posts, keywords, incidents) as HTML with charts; write it to files and optionally mail it.

    \b
    Example:
        yuqing report daily --topic 星澜咖啡 --email
        yuqing report weekly --end 2026-11-23 --email pr@example.com,boss@example.com
        yuqing report daily --out /srv/www/reports
    """
    from alerts.channels.base import SendError
    from alerts.secrets import redact
    from pipeline.jobs import Locked, exclusive
    from pipeline.reports.deliver import NoRecipients, produce_reports

    config = app.config
    if topic is not None and topic not in {t.name for t in config.topics}:
        raise click.BadParameter(f"unknown topic {topic!r}", param_hint="--topic")
    end_at = time_option_value(end, config.tz, "--end")
    to = [a.strip() for a in email.split(",") if a.strip()] if email else None
    for address in to or []:
        if "@" not in address:
            raise click.BadParameter(f"not an email address: {address!r}", param_hint="--email")
    store = app.store()
    try:
        # Cron-safe: a second invocation while one is still rendering exits 4. (The daemon's job
        # holds its own lease for most of a day, which must not block a report asked for by hand.)
        with exclusive(store, f"report:{kind}:cli", timedelta(minutes=30)):
            done = produce_reports(
                config,
                store,
                kind,
                [topic],
                end=end_at,
                out_dir=out_dir,
                email=email is not None,
                to=to,
            )
    except Locked as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(exit_codes.LOCKED) from None
    except NoRecipients as exc:
        click.echo(f"report not mailed: {exc}", err=True)
        raise SystemExit(exit_codes.CONFIG) from None
    except SendError as exc:
        click.echo(f"report not mailed: {redact(exc)}", err=True)
        raise SystemExit(exit_codes.FAILURE) from None
    except OSError as exc:
        # The output folder cannot be created or written (--out on a read-only or odd path).
        where = exc.filename or out_dir or config.reports.out_dir
        reason = exc.strerror or type(exc).__name__
        click.echo(f"error: report not written to {where}: {reason}", err=True)
        raise SystemExit(exit_codes.FAILURE) from None
    finally:
        store.close()
    for report, page, mailed in done:
        click.echo(f"{report.subject}: {page}")
        if mailed:
            click.echo(f"mailed to {', '.join(mailed)}")
