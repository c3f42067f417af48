"""``yuqing run`` (the scheduler daemon) and ``yuqing status`` (health at a glance)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from pipeline import exit_codes
from pipeline.output import console, terminal_safe

# storage (SQLAlchemy) and rich are imported inside the commands: this module is loaded by
# every `yuqing` start, `--help` included (issue 17).

# A source is unhealthy once this many runs in a row have failed.
FAILING_AFTER = 3


def _config_path(app) -> str | None:
    """An absolute path the daemon's stored jobs can reopen from any working folder."""
    if app.config_path:
        return str(Path(app.config_path).resolve())
    source = Path(app.config.source)
    return str(source.resolve()) if source.is_file() else None


@click.command("run")
@click.option("--metrics-port", type=click.IntRange(1, 65535), help="Serve Prometheus metrics.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@click.pass_obj
def run_command(app, metrics_port: int | None, metrics_host: str) -> None:
    """Run the scheduler daemon: crawls on their schedules, alerts every minute, deliveries.

    Several daemons may share one database; each job still runs once. Stop it with SIGTERM
    (systemd) or Ctrl-C: running crawls are asked to close cleanly first.

    \b
    Example:
        yuqing --config /etc/yuqing/yuqing.toml run --metrics-port 9108
    """
    from pipeline.scheduler import run_daemon
    from storage.db import Store

    config = app.config
    if metrics_port:
        from pipeline.metrics import serve_metrics

        serve_metrics(Store.open(config.database_url()), metrics_port, metrics_host)
        click.echo(f"metrics on http://{metrics_host}:{metrics_port}/metrics", err=True)
    run_daemon(config, _config_path(app))


def gather(app) -> dict:
    from storage import leases, status
    from storage.db import safe_url
    from storage.runs import mark_stale_runs

    store = app.store()
    try:
        # A run whose process was killed would otherwise show as running forever.
        mark_stale_runs(store)
        return {
            "database": safe_url(app.config.database_url()),
            "database_bytes": status.database_size(store),
            "sources": status.source_health(store),
            "counts": status.counts(store),
            "jobs": status.scheduler_jobs(store),
            "leases": leases.holders(store),
        }
    finally:
        store.close()


def unhealthy(facts: dict) -> list[str]:
    problems = []
    for s in facts["sources"]:
        if s["failed_in_a_row"] >= FAILING_AFTER or s["last_status"] == "failed":
            label = s["spider"] + (f" [{s['topic']}]" if s["topic"] else "")
            streak = s["failed_in_a_row"]
            problems.append(f"{label}: {streak} failed run(s) in a row: {s['last_message'] or '?'}")
    failed = facts["counts"].get("deliveries_failed", 0)
    if failed:
        problems.append(f"{failed} delivery(ies) failed")
    return problems


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of tables.")
@click.pass_obj
def status_command(app, as_json: bool) -> None:
    """Show health: last crawl per source, outbox, open incidents, database, scheduler jobs.

    Exits 5 when something needs attention (a failing source or failed deliveries), so a
    monitoring check can call it.

    \b
    Example:
        yuqing status || echo "yuqing needs attention"
    """
    facts = gather(app)
    problems = unhealthy(facts)
    if as_json:
        click.echo(json.dumps(facts | {"problems": problems}, ensure_ascii=False, default=str))
    else:
        _print(facts, problems, app.config.tz)
    if problems:
        sys.exit(exit_codes.PARTIAL)


def _when(moment, tz) -> str:
    return moment.astimezone(tz).strftime("%m-%d %H:%M") if moment else "-"


def _print(facts: dict, problems: list[str], tz) -> None:
    from rich.table import Table
    from rich.text import Text

    out = console()
    size = facts["database_bytes"]
    out.print(Text(f"database {facts['database']}" + (f" ({size / 1e6:.1f} MB)" if size else "")))
    sources = Table(title="sources (last crawl)")
    for header in (
        "spider",
        "topic",
        "last run",
        "status",
        "items",
        "errors",
        "failed in a row",
        "message",
    ):
        sources.add_column(header, overflow="fold")
    for s in facts["sources"]:
        sources.add_row(
            s["spider"],
            Text(terminal_safe(s["topic"] or "-")),
            _when(s["last_started_at"], tz),
            s["last_status"],
            str(s["last_items"]),
            str(s["last_errors"]),
            str(s["failed_in_a_row"]),
            Text(terminal_safe(s["last_message"] or "")),
        )
    out.print(sources)
    counts = facts["counts"]
    out.print(
        f"incidents open: {counts.get('incidents_live', 0)}; deliveries: "
        + (
            ", ".join(
                f"{k.removeprefix('deliveries_')} {v}"
                for k, v in counts.items()
                if k.startswith("deliveries_")
            )
            or "none"
        )
    )
    jobs = Table(title="scheduler jobs")
    jobs.add_column("job")
    jobs.add_column("next run")
    for job in facts["jobs"]:
        jobs.add_row(Text(terminal_safe(job["id"])), _when(job["next_run_at"], tz))
    out.print(jobs if facts["jobs"] else "scheduler: no jobs stored (daemon never ran here)")
    now = datetime.now(UTC)
    for lease in facts["leases"]:
        left = (lease["expires_at"] - now).total_seconds()
        out.print(
            Text(
                terminal_safe(f"lease: {lease['name']} held by {lease['owner']} ({left:.0f}s left)")
            )
        )
    for problem in problems:
        out.print(Text("problem: " + terminal_safe(problem), style="bold red"))
