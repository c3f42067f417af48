"""``yuqing alerts ...``: evaluate, list, inspect and close incidents, silences, backtests.

Each command body calls one library function (``pipeline.alerting``, ``storage.incidents``,
``alerts.backtest``) and prints its result.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alerts.severity import severity_name
from pipeline import exit_codes
from pipeline.cli_delivery import deliveries, routes, test_channel
from pipeline.output import console, format_option, terminal_safe, write_rows
from pipeline.time_args import Count, parse_time_arg, time_option_value

# storage.incidents (SQLAlchemy) and rich are imported inside the commands: this module is
# loaded by every `yuqing` invocation, `--help` included (issue 17).
if TYPE_CHECKING:
    from rich.console import Console

# The root group puts its App (config + store factory) in the context object.
_pass_app = click.pass_obj


def _by_option(func):
    return click.option(
        "--by",
        "author",
        default=lambda: getpass.getuser(),
        show_default="current user",
        help="Who is acting (recorded in the incident's notes).",
    )(func)


def _incident_or_fail(store, incident_id: int) -> dict:
    from storage import incidents

    found = incidents.get_incident(store, incident_id)
    if found is None:
        raise click.ClickException(f"no incident {incident_id}")
    return found


def _on_incident(app, incident_id: int, action):
    """Open the store, check the incident exists, run ``action(store)``, close the store."""
    store = app.store()
    try:
        _incident_or_fail(store, incident_id)
        return action(store)
    finally:
        store.close()


@click.group("alerts")
def alerts_group() -> None:
    """Evaluate alert rules and manage incidents.

    \b
    Example:
        yuqing alerts evaluate && yuqing alerts list
    """


@alerts_group.command("evaluate")
@click.option("--at", "at", metavar="TIME", help="Evaluate as of this time (default: now).")
@_pass_app
def evaluate_command(app, at: str | None) -> None:
    """Run one evaluation pass (rules, incidents, notifications) and send what is due.

    Cron-safe: a run while another is in progress exits 4 and does nothing; exit 5 means some
    deliveries are failing (a send failed and waits for its retry, gave up, or is held), with
    the count and the channels on stderr. The scheduler daemon runs the same job every minute.

    \b
    Example:
        * * * * *  cd /srv/yuqing && .venv/bin/yuqing alerts evaluate
    """
    from pipeline.jobs import Locked, alerts_job

    now = time_option_value(at, app.config.tz, "--at")
    try:
        outcome = alerts_job(app.config, now)
    except Locked as exc:
        click.echo(str(exc), err=True)
        sys.exit(exit_codes.LOCKED)
    click.echo(outcome.detail)
    if outcome.problem:
        click.echo(outcome.problem, err=True)
    if not outcome.ok:
        sys.exit(exit_codes.PARTIAL)


@alerts_group.command("list")
@click.option(
    "--status",
    type=click.Choice(["live", "open", "acknowledged", "resolved", "all"]),
    default="live",
    show_default=True,
    help="live = open or acknowledged.",
)
@click.option("--topic", help="Only this topic.")
@click.option("--limit", type=Count(minimum=1), default=50, show_default=True)
@format_option
@_pass_app
def list_command(app, status: str, topic: str | None, limit: int, fmt: str) -> None:
    """List incidents, newest first.

    \b
    Example:
        yuqing alerts list --status all --topic 星澜咖啡
    """
    from storage import incidents

    store = app.store()
    try:
        rows = incidents.list_incidents(
            store, status=None if status == "all" else status, topic=topic, limit=limit
        )
    finally:
        store.close()
    tz, lang = app.config.tz, app.config.alerts.language
    columns = [
        "id",
        "topic",
        "severity",
        "status",
        "rule",
        "rules",
        "opened_at",
        "last_seen_at",
        "resolved_at",
    ]
    table = {
        "ID": lambda r: r["id"],
        "级别": lambda r: severity_name(r["severity"], lang),
        "状态": lambda r: r["status"],
        "话题": lambda r: r["topic"],
        "开始": lambda r: r["opened_at"].astimezone(tz).strftime("%m-%d %H:%M"),
        "最近": lambda r: r["last_seen_at"].astimezone(tz).strftime("%m-%d %H:%M"),
        "摘要": lambda r: r["evidence"].get("summary", ""),
    }
    write_rows(rows, columns, fmt, tz, table_columns=table)


@alerts_group.command("show")
@click.argument("incident_id", type=Count(minimum=1))
@_pass_app
def show_command(app, incident_id: int) -> None:
    """Show one incident with its evidence and notes.

    \b
    Example:
        yuqing alerts show 12
    """
    store = app.store()
    try:
        incident = _incident_or_fail(store, incident_id)
    finally:
        store.close()
    print_incident(console(), incident, app.config.tz, app.config.alerts.language)


def print_incident(console: Console, incident: dict, tz, language: str = "zh") -> None:
    """The incident as a person reads it; every crawled string is printed as inert text."""
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    ev = incident["evidence"]

    def when(moment):
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else "-"

    head = Text()
    head.append(f"【{severity_name(incident['severity'], language)}】", style="bold red")
    head.append(terminal_safe(f"{incident['topic']}  #{incident['id']}  {incident['status']}\n"))
    head.append(terminal_safe(ev.get("summary", "")) + "\n")
    head.append(
        f"opened {when(incident['opened_at'])}  last seen {when(incident['last_seen_at'])}  "
        f"acknowledged {when(incident['acknowledged_at'])}  "
        f"resolved {when(incident['resolved_at'])}"
    )
    if ev.get("expected") is not None:
        head.append(f"\nobserved {ev['observed']} vs expected {ev['expected']}")
    console.print(Panel(head, title=escape(incident["dedup_key"])))
    # Crisis-word posts not scored negative get their own table: never passed off as negative.
    for title, key in (
        ("top negative posts", "top_posts"),
        ("other posts with crisis words (not scored negative)", "crisis_posts"),
    ):
        if key == "crisis_posts" and not ev.get(key):
            continue
        posts = Table(title=title, show_lines=True)
        for header in ("platform", "author", "followers", "reposts/comments", "text", "link"):
            posts.add_column(header, overflow="fold")
        for p in ev.get(key, []):
            posts.add_row(
                p["platform"],
                Text(terminal_safe(p.get("author_name"))),
                str(p.get("author_followers") or 0),
                f"{p['reposts']}/{p['comments']}",
                Text(terminal_safe(p["text"])),
                Text(terminal_safe(p["url"])),
            )
        console.print(posts)
    for label, pairs in (("keywords", ev.get("keywords")), ("causes", ev.get("causes"))):
        if pairs:
            console.print(
                Text(f"{label}: " + terminal_safe(", ".join(f"{w} ({n})" for w, n in pairs)))
            )
    console.print(f"near-duplicate share: {ev.get('near_duplicate_share', 0):.0%}")
    for line in ev.get("guidance", []):
        console.print(Text(f"• {line}"))
    for note in incident.get("notes", []):
        console.print(
            Text(
                terminal_safe(
                    f"[{when(note['created_at'])}] {note['author'] or '-'}: {note['text']}"
                )
            )
        )


@alerts_group.command("ack")
@click.argument("incident_id", type=Count(minimum=1))
@click.option("--note", help="What is being done.")
@_by_option
@_pass_app
def ack_command(app, incident_id: int, note: str | None, author: str) -> None:
    """Acknowledge an incident (stops reminders).

    \b
    Example:
        yuqing alerts ack 12 --note "已联系门店核实"
    """
    from storage import incidents

    _, changed = _on_incident(
        app,
        incident_id,
        lambda store: incidents.acknowledge_incident(
            store, incident_id, datetime.now(UTC), author, note
        ),
    )
    click.echo(f"incident {incident_id} " + ("acknowledged" if changed else "unchanged"))


@alerts_group.command("note")
@click.argument("incident_id", type=Count(minimum=1))
@click.argument("text")
@_by_option
@_pass_app
def note_command(app, incident_id: int, text: str, author: str) -> None:
    """Add a note to an incident.

    \b
    Example:
        yuqing alerts note 12 "官方声明已发布"
    """
    from storage import incidents

    _on_incident(
        app,
        incident_id,
        lambda store: incidents.add_note(store, incident_id, datetime.now(UTC), author, text),
    )
    click.echo(f"note added to incident {incident_id}")


@alerts_group.command("resolve")
@click.argument("incident_id", type=Count(minimum=1))
@click.option("--note", help="How it ended.")
@_by_option
@_pass_app
def resolve_command(app, incident_id: int, note: str | None, author: str) -> None:
    """Resolve an incident; the resolution is notified like an automatic one.

    \b
    Example:
        yuqing alerts resolve 12 --note "涉事批次已召回，舆情平息"
    """
    from pipeline.alerting import close_incident

    changed = _on_incident(
        app,
        incident_id,
        lambda store: close_incident(app.config, store, incident_id, author=author, note=note),
    )
    click.echo(f"incident {incident_id} " + ("resolved" if changed else "was already resolved"))


@alerts_group.command("silence")
@click.option("--topic", help="Topic to silence (default: every topic).")
@click.option("--rule", help="Rule to silence (default: every rule).")
@click.option("--for", "duration", metavar="DURATION", help="How long: 30m, 2h, 1d.")
@click.option("--until", "until", metavar="TIME", help="Or until this time.")
@click.option("--comment", help="Why.")
@_by_option
@_pass_app
def silence_command(app, topic, rule, duration, until, comment, author) -> None:
    """Mute notifications for a topic and/or rule during a time box.

    Incidents are still recorded while silenced; their notifications go out if they are still
    live when the silence ends.

    \b
    Example:
        yuqing alerts silence --topic 星澜咖啡 --for 2h --comment "发布会期间"
    """
    from storage import incidents

    if bool(duration) == bool(until):
        raise click.UsageError("give exactly one of --for and --until")
    now = datetime.now(UTC)
    try:
        if duration:
            ends = now + (now - parse_time_arg(duration, app.config.tz, now))
        else:
            ends = parse_time_arg(until, app.config.tz)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    known = {t.name for t in app.config.topics}
    if topic and topic not in known:
        raise click.BadParameter(f"unknown topic {topic!r}", param_hint="--topic")
    store = app.store()
    try:
        silence_id = incidents.add_silence(
            store,
            topic=topic,
            rule=rule,
            starts_at=now,
            ends_at=ends,
            now=now,
            author=author,
            comment=comment,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    finally:
        store.close()
    shown = ends.astimezone(app.config.tz).strftime("%Y-%m-%d %H:%M")
    click.echo(
        f"silence {silence_id}: {topic or 'all topics'} / {rule or 'all rules'} until {shown}"
    )


@alerts_group.command("silences")
@format_option
@_pass_app
def silences_command(app, fmt: str) -> None:
    """List the silences in force now.

    \b
    Example:
        yuqing alerts silences
    """
    from storage import incidents

    store = app.store()
    try:
        rows = incidents.active_silences(store, datetime.now(UTC))
    finally:
        store.close()
    columns = ["id", "topic", "rule", "starts_at", "ends_at", "author", "comment"]
    write_rows(rows, columns, fmt, app.config.tz)


@alerts_group.command("backtest")
@click.argument(
    "series", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With SERIES: where to write timestamp,alert.",
)
@click.option(
    "--mentions",
    "mentions_file",
    metavar="FILE.jsonl",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay this exported history (ingest format) through every configured rule.",
)
@click.option(
    "--step",
    "step_minutes",
    type=click.IntRange(min=1),
    metavar="MINUTES",
    help="With --mentions: simulated minutes between evaluations (default: the alert bucket).",
)
@click.option(
    "--arrival-delay",
    metavar="DURATION",
    default="0m",
    show_default=True,
    help="With --mentions: a line without crawled_at arrives this long after published_at.",
)
@click.option(
    "--tail",
    metavar="DURATION",
    default="24h",
    show_default=True,
    help="With --mentions: keep the clock running this long after the last arrival while an "
    "incident is live (0m: stop at the last arrival).",
)
@click.option(
    "--keep-db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --mentions: keep the replay's SQLite database here (a new file) to inspect it.",
)
@format_option
@_pass_app
def backtest_command(
    app,
    series: Path | None,
    out: Path | None,
    mentions_file: Path | None,
    step_minutes: int | None,
    arrival_delay: str,
    tail: str,
    keep_db: Path | None,
    fmt: str,
) -> None:
    """Backtest alerting: the spike detector over a count series, or every configured rule over
    an exported history of mentions ("when would this have alerted?").

    SERIES is a CSV of timestamp,value (a count per bucket); --out gets timestamp,alert with 1
    on every bucket where an incident opens or escalates, with the detector settings of the
    config's first negative_spike rule (its `options.detector`, e.g. the false-alarm budget).

    --mentions replays FILE.jsonl (the ingest format) in simulated time into a throwaway
    database, never yours: each mention arrives at its crawled_at, or at its published_at (plus
    --arrival-delay) when it has none; every --step the alert engine evaluates the config's
    topics and rules, and what it would have sent is printed as a timeline (nothing is
    delivered). Bad lines are reported with their line number; the rest are replayed.

    \b
    Example:
        yuqing alerts backtest --mentions exported.jsonl
        yuqing alerts backtest --mentions exported.jsonl --arrival-delay 10m --format csv > when.csv
        yuqing alerts backtest volume.csv --out alerts.csv
    """
    if (series is None) == (mentions_file is None):
        raise click.UsageError("give either SERIES (with --out) or --mentions FILE.jsonl")
    if series is not None:
        if out is None:
            raise click.UsageError("SERIES needs --out")
        _backtest_series(app, series, out)
        return
    if out is not None:
        raise click.UsageError("--out goes with SERIES; --mentions prints its timeline")
    _replay_mentions(app, mentions_file, step_minutes, arrival_delay, tail, keep_db, fmt)


def _duration(text: str, option: str):
    moment = datetime.now(UTC)
    try:
        return moment - parse_time_arg(text, UTC, moment)
    except ValueError:
        raise click.BadParameter(f"{text!r}: use 0m, 10m, 2h or 1d", param_hint=option) from None


def _backtest_series(app, series: Path, out: Path) -> None:
    from alerts.backtest import backtest_csv
    from alerts.rules import build_rules

    spike = [r for r in build_rules(app.config.alerts.rules) if r.kind == "negative_spike"]
    try:
        summary = backtest_csv(series, out, spike[0].options.detector if spike else None)
    except ValueError as exc:
        raise click.ClickException(f"{series}: {exc}") from None
    click.echo(
        f"{summary.rows} buckets of {summary.bucket_minutes} min, {summary.alerts} alert(s) "
        f"({summary.incidents} incident(s)) -> {out}"
    )


def _replay_mentions(app, path, step_minutes, arrival_delay, tail, keep_db, fmt) -> None:
    from pipeline.replay import replay_file

    delay = _duration(arrival_delay, "--arrival-delay")
    hold = _duration(tail, "--tail")
    if keep_db is not None and keep_db.exists():
        raise click.BadParameter(f"{keep_db} already exists", param_hint="--keep-db")
    config = app.config
    result = replay_file(
        path,
        config,
        step_minutes=step_minutes,
        arrival_delay=delay,
        tail=hold,
        database=keep_db,
    )
    tz, lang = config.tz, config.alerts.language
    columns = ["at", "incident", "topic", "event", "severity", "rules"]
    columns += ["observed", "expected", "detail"]
    table = {
        "时间": lambda r: r["at"].astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "ID": lambda r: r["incident"],
        "话题": lambda r: r["topic"],
        "事件": lambda r: r["event"],
        "级别": lambda r: severity_name(r["severity"], lang),
        "规则": lambda r: ",".join(r["rules"]),
        "详情": lambda r: r["detail"],
    }
    write_rows([e.as_row() for e in result.events], columns, fmt, tz, table_columns=table)
    sys.stdout.flush()  # the timeline before the summary when both go to one terminal or file
    for reject in result.rejects:
        click.echo(f"{path}:{reject.line}: {terminal_safe(reject.reason)}", err=True)
    span = ""
    if result.first_arrival is not None:
        first = result.first_arrival.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        last = result.ended_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        span = f" from {first} to {last} in {result.steps} step(s)"
    live = f", {result.still_live} still live at the end" if result.still_live else ""
    click.echo(
        f"{result.replayed} mention(s) replayed{span}, {len(result.rejects)} line(s) rejected; "
        f"{result.opened} incident(s) opened{live}",
        err=True,
    )
    if keep_db is not None:
        click.echo(f"replay database kept in {keep_db}", err=True)
    if not result.replayed:
        click.echo("nothing valid was read", err=True)
        sys.exit(exit_codes.FAILURE)


alerts_group.add_command(test_channel)
alerts_group.add_command(deliveries)
alerts_group.add_command(routes)
