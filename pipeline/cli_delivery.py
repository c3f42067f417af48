"""``yuqing alerts test-channel``, ``deliveries`` and ``routes``: check and watch alert delivery.

Each command body calls one library function (``alerts.outbox``, ``alerts.routing``,
``storage.deliveries``) and prints its result.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from alerts.severity import SEVERITY_ZH, parse_severity
from pipeline import exit_codes
from pipeline.output import format_option, write_rows
from pipeline.time_args import Count

# alerts.routing, alerts.secrets (pydantic) and storage.deliveries (SQLAlchemy) are imported in
# the commands: this module is loaded by every `yuqing` start (issue 17).


@click.command("test-channel")
@click.argument("name")
@click.pass_obj
def test_channel(app, name: str) -> None:
    """Send a test message to a receiver's channels, or to one channel, through the outbox.

    NAME is a receiver name (all its channels) or a channel id such as pr-team/0:dingtalk
    (`yuqing alerts deliveries --all` shows ids). Exits 1 when a channel did not take it.

    \b
    Example:
        yuqing alerts test-channel pr-team
        yuqing alerts test-channel pr-team/1:wecom
    """
    from alerts.outbox import send_test
    from alerts.routing import find_channels
    from alerts.secrets import redact

    config = app.config
    channels = find_channels(config.alerts, name)
    if not channels:
        known = ", ".join(r.name for r in config.alerts.receivers) or "none configured"
        raise click.ClickException(f"no receiver or channel {name!r} (receivers: {known})")
    store = app.store()
    try:
        rows = send_test(store, config.alerts, config.tz, channels)
    finally:
        store.close()
    failed = 0
    for row in rows:
        if row["state"] == "sent":
            click.echo(f"{row['channel']}: sent")
        elif row["state"] == "pending" and not row["last_error"]:
            click.echo(f"{row['channel']}: queued (rate limit); the next delivery run sends it")
        else:
            failed += 1
            click.echo(f"{row['channel']}: NOT sent ({row['state']}): {redact(row['last_error'])}")
    if failed:
        click.echo(
            f"{failed} channel(s) failed; the test message stays queued and is retried like "
            "any alert (see `yuqing alerts deliveries`)",
            err=True,
        )
        sys.exit(exit_codes.FAILURE)


@click.command("deliveries")
@click.option("--all", "show_all", is_flag=True, help="Include sent deliveries.")
@click.option("--limit", type=Count(), default=100, show_default=True)
@click.option(
    "--retry",
    "retry_ids",
    type=Count(minimum=1),
    multiple=True,
    metavar="ID",
    help="Queue a failed or held delivery again (repeatable).",
)
@click.option("--check", is_flag=True, help="Exit 5 when any delivery is failed or held.")
@format_option
@click.pass_obj
def deliveries(app, show_all: bool, limit: int, retry_ids, check: bool, fmt: str) -> None:
    """List alert deliveries that are pending, sending, failed or held (oldest first).

    A failed delivery gave up after the maximum age; a held one may or may not have arrived
    and waits for a person to decide (see docs/channels.md). --retry queues it again.

    \b
    Example:
        yuqing alerts deliveries
        yuqing alerts deliveries --retry 42 && yuqing alerts deliveries --check
    """
    from alerts.secrets import redact
    from storage import deliveries as rows_db

    store = app.store()
    try:
        if retry_ids:
            count = rows_db.requeue(store, list(retry_ids), datetime.now(UTC))
            click.echo(f"{count} delivery(ies) queued again", err=True)
        states = rows_db.STATES if show_all else rows_db.OPEN_STATES
        rows = rows_db.list_deliveries(store, states, limit or None)
        problems = rows_db.list_deliveries(store, ("failed", "held"))
    finally:
        store.close()
    tz = app.config.tz
    for row in rows:
        # Rows written before errors were redacted at the source may still hold a token.
        row["last_error"] = redact(row["last_error"]) if row["last_error"] else row["last_error"]
    columns = [
        "id",
        "state",
        "channel",
        "incident_id",
        "event",
        "attempts",
        "created_at",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]

    def when(value):
        return value.astimezone(tz).strftime("%m-%d %H:%M:%S") if value else "-"

    table = {
        "id": lambda r: r["id"],
        "状态 state": lambda r: r["state"],
        "通道 channel": lambda r: r["channel"],
        "事件 incident": lambda r: (
            f"#{r['incident_id']} {r['event']}" if r["incident_id"] is not None else r["event"]
        ),
        "次数": lambda r: r["attempts"],
        "入队 queued": lambda r: when(r["created_at"]),
        "下次/发送 next/sent": lambda r: when(r["sent_at"] or r["next_attempt_at"]),
        "错误 last error": lambda r: r["last_error"] or "",
    }
    write_rows(rows, columns, fmt, tz, table_columns=table)
    if fmt == "table":
        click.echo(f"{len(rows)} delivery(ies); {len(problems)} failed or held", err=True)
    if check and problems:
        sys.exit(exit_codes.PARTIAL)


@click.command("routes")
@click.argument("topic")
@click.argument("severity")
@click.option("--platform", "platforms", multiple=True, help="A platform of the incident.")
@click.pass_obj
def routes(app, topic: str, severity: str, platforms) -> None:
    """Show which receivers and channels an incident would go to.

    SEVERITY is info/关注, warning/预警 or critical/危机.

    \b
    Example:
        yuqing alerts routes 星澜咖啡 危机 --platform weibo
    """
    from alerts.routing import route

    alerts = app.config.alerts
    try:
        level = parse_severity(severity)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="SEVERITY") from None
    matches = route(alerts, topic, level, list(platforms))
    if not matches:
        click.echo(f"{topic} {SEVERITY_ZH[level]}: no route matches and no default_receiver")
        sys.exit(exit_codes.FAILURE)
    for match in matches:
        how = f"routes[{match.route}]" if match.route is not None else "default_receiver"
        click.echo(f"{match.receiver}  ({how})")
        for cid, _receiver, _channel in (
            c for c in alerts.channels() if c[1].name == match.receiver
        ):
            click.echo(f"  {cid}")
