"""``yuqing demo``: tell the crisis story in the terminal while the scenario runs, then show the
incident, the report and where every artefact is. Crawled text is printed as inert text."""

from __future__ import annotations

import shutil
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.cli_alerts import print_incident
from pipeline.config import load_config
from pipeline.demo.scenario import Outcome, Plan, Tick, run_scenario
from pipeline.demo.timeline import BRAND
from pipeline.output import terminal_safe
from storage import incidents
from storage.db import Store
from storage.query import MentionFilter, find_mentions, sentiment_summary

LEVELS = {"info": "关注", "warning": "预警", "critical": "危机"}
BEIJING = ZoneInfo("Asia/Shanghai")  # the demo config's zone
# The story's pace; the test suite swaps in FAST_PLAN (fewer crawls, same flow).
DEFAULT_PLAN = Plan()


def run_demo(workdir: Path, console: Console, *, plan: Plan | None = None) -> Outcome:
    if workdir.exists():
        shutil.rmtree(workdir)
    started = time.monotonic()
    console.rule(f"yuqing 离线演示：{BRAND} 舆情危机")
    console.print(
        "A replica of Weibo, a Discuz! forum and a news site runs on 127.0.0.1 with a scripted "
        "crisis; the scheduler's jobs run over simulated time (yesterday, Beijing time).\n"
    )
    plan = plan or DEFAULT_PLAN
    outcome = run_scenario(
        workdir,
        plan=plan,
        on_history=lambda n: console.print(
            f"Baseline: {n} mentions of three quiet days stored through the ingest path.\n"
        ),
        on_tick=lambda tick: _print_tick(console, tick),
    )
    config = load_config(outcome.config_path)
    store = Store.open(config.database_url())
    try:
        console.print()
        _print_overview(console, store)
        _print_top_negative(console, store, config.tz, outcome)
        found = incidents.list_incidents(store, limit=10)
        for summary in found:
            console.rule(f"Incident #{summary['id']} (yuqing alerts show {summary['id']})")
            print_incident(console, incidents.get_incident(store, summary["id"]), config.tz, "zh")
        report = _daily_report(console, config, store, workdir, outcome)
    finally:
        store.close()
    if not outcome.resolved:
        console.print("[bold red]The incident was not resolved within the simulated time.[/]")
    _print_artefacts(console, workdir, outcome, report, time.monotonic() - started)
    return outcome


def _clock(tick: Tick) -> str:
    return tick.at.astimezone(BEIJING).strftime("%H:%M")


def _print_tick(console: Console, tick: Tick) -> None:
    head = f"[dim]{_clock(tick)}[/]"
    for crawl in tick.crawls:
        status = "" if crawl.ok else f" [red]{crawl.status}: {terminal_safe(crawl.message)}[/]"
        console.print(
            f"{head} crawl {crawl.spider:<6} {crawl.items:>4} mentions scored and stored "
            f"({crawl.seconds:.1f}s){status}"
        )
    if tick.ingested:
        console.print(f"{head} [dim]quiet chatter: {tick.ingested} mentions ingested[/]")
    for incident in tick.incidents:
        level = LEVELS.get(incident["severity"], incident["severity"])
        style = "bold red" if incident["severity"] == "critical" else "bold yellow"
        if incident["status"] == "resolved":
            style = "bold green"
        line = Text(f"{_clock(tick)} ", style="dim")
        line.append(f"incident #{incident['id']} 【{level}】 {incident['status']} ", style=style)
        line.append(terminal_safe(incident["evidence"].get("summary", "")))
        console.print(line)
    for message in tick.mails:
        console.print(
            Text(f"{_clock(tick)}   ✉ mailbox   ", style="cyan")
            + Text(terminal_safe(str(message["Subject"])))
        )
    for body in tick.hooks:
        console.print(
            Text(f"{_clock(tick)}   ↪ webhook   ", style="cyan")
            + Text(terminal_safe(str(body.get("title", ""))))
        )


def _print_overview(console: Console, store: Store) -> None:
    table = Table(title="Mentions crawled and scored (all, incl. the baseline days)")
    for header in ("话题", "平台", "提及", "负面", "中性", "正面", "负面占比", "平均情感"):
        table.add_column(header, justify="left" if header in ("话题", "平台") else "right")
    for row in sentiment_summary(store):
        share = row["negative"] / row["mentions"] if row["mentions"] else 0
        table.add_row(
            Text(terminal_safe(row["topic"] or "(未匹配)")),
            row["platform"],
            str(row["mentions"]),
            str(row["negative"]),
            str(row["neutral"]),
            str(row["positive"]),
            Text(f"{share:.0%}", style="bold red" if share >= 0.4 else ""),
            f"{row['mean_score'] or 0:.2f}",
        )
    console.print(table)


def _print_top_negative(console: Console, store: Store, tz, outcome: Outcome) -> None:
    flt = MentionFilter(
        topic=BRAND,
        sentiment="negative",
        since=outcome.t0 - timedelta(minutes=30),
        limit=6,
        order="engagement",
    )
    table = Table(title=f"{BRAND}: most-spread negative mentions of the crisis", show_lines=True)
    for header in ("时间", "平台", "作者", "粉丝", "转/评/赞", "原因", "内容"):
        table.add_column(header, overflow="fold")
    for r in find_mentions(store, flt):
        text = terminal_safe(" ".join(filter(None, [r["title"], r["text"]])))
        table.add_row(
            r["published_at"].astimezone(tz).strftime("%H:%M"),
            r["platform"],
            Text(terminal_safe(r["author_name"] or "")),
            str(r.get("author_followers") or 0),
            f"{r['reposts']}/{r['comments']}/{r['likes']}",
            Text(terminal_safe(r.get("cause") or "")),
            Text(text[:70] + ("…" if len(text) > 70 else "")),
        )
    console.print(table)


def _daily_report(console: Console, config, store: Store, workdir: Path, outcome: Outcome):
    """The crisis day's report, if the report module is installed (it is built alongside)."""
    try:
        from pipeline.reports.deliver import produce_reports
    except ImportError:
        console.print("[dim]Daily report: not available in this version.[/]")
        return None
    day_end = (outcome.t0.astimezone(config.tz) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    done = produce_reports(
        config, store, "daily", [BRAND], end=day_end, out_dir=workdir / "reports"
    )
    report, page, _ = done[0]
    console.rule("Daily report")
    console.print(Text(f"{terminal_safe(report.subject)}: {page}"))
    return page


def _print_artefacts(
    console: Console, workdir: Path, outcome: Outcome, report, seconds: float
) -> None:
    config = outcome.config_path
    console.rule("Artefacts")
    rows = [
        ("config", config),
        ("database", workdir / "yuqing.db"),
        ("mailbox (mbox)", workdir / "mailbox.mbox"),
        ("webhook sink (JSON lines)", workdir / "webhook.jsonl"),
        ("alert outbox file", workdir / "outbox" / "alerts.jsonl"),
    ]
    if report is not None:
        rows.append(("daily report", report))
    for label, path in rows:
        console.print(f"  {label:<26} {path}")
    console.print(f"\nFinished in {seconds:.0f}s. Look around with the same config:")
    for command in (
        f"yuqing --config {config} alerts list --status all",
        f"yuqing --config {config} alerts show 1",
        f"yuqing --config {config} mentions --topic {BRAND} --sentiment negative",
    ):
        console.print(f"  .venv/bin/{command}", markup=False, soft_wrap=True)
    console.print(
        "\nTo watch real sites with it: remove [crawl].base_urls (the spiders then use "
        "m.weibo.cn), point [[crawl.discuz]] and [[crawl.news]] at real forums and feeds, "
        "restore the politeness settings (download_delay = 1.0, retry_times = 3), put your "
        "brand in [[topics]], and replace the receivers (email via a real [alerts.smtp], "
        "DingTalk/WeCom/Feishu/Slack webhooks). Then run the scheduler daemon (`yuqing run`) "
        "or cron `yuqing crawl` and `yuqing alerts evaluate`. See docs/demo.md.",
        markup=False,
    )
