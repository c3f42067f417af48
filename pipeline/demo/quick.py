"""``make demo`` / ``yuqing demo``: the offline walk-through on bundled sample mentions.

Uses the example config (so the file ``yuqing init`` writes is exercised) with the database and
outbox moved under the demo folder, ingests ``demo_data/mentions.jsonl`` through the normal
ingest path, and prints what a PR team would look at first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from alerts.secrets import SecretRef
from pipeline.config import EXAMPLE_PATH, parse_config
from pipeline.ingest import ingest_file
from pipeline.output import terminal_safe
from storage.db import Store
from storage.query import MentionFilter, find_mentions, sentiment_summary, top_keywords

SAMPLE = Path(__file__).parent.parent / "demo_data" / "mentions.jsonl"


def demo_config(workdir: Path):
    text = EXAMPLE_PATH.read_text(encoding="utf-8")
    config = parse_config(text, str(EXAMPLE_PATH))
    db = (workdir / "yuqing.db").resolve()
    config.storage.url = SecretRef(value=f"sqlite:///{db}")
    for receiver in config.alerts.receivers:
        for channel in receiver.channels:
            if channel.type == "file":
                channel.path = (workdir / "outbox" / channel.path.name).resolve()
    return config


def run_demo(workdir: Path, console: Console) -> None:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    config = demo_config(workdir)
    store = Store.open(config.database_url())
    try:
        with console.status("Scoring sample mentions (SnowNLP sentiment, jieba keywords)..."):
            result = ingest_file(SAMPLE, config, store, rejects_path=workdir / "rejects.jsonl")
        console.print(
            f"Ingested [bold]{result.valid}[/] mentions from the bundled sample "
            f"({result.stored.inserted} new, {result.rejected} rejected).\n"
        )
        _print_overview(console, store)
        for topic in config.topics:
            # The topic's own keywords are in every one of its mentions: they say nothing new.
            own = {topic.name, *topic.keywords.any, *topic.keywords.must}
            flt = MentionFilter(topic=topic.name, sentiment="negative")
            words = [(w, n) for w, n in top_keywords(store, flt, 8 + len(own)) if w not in own][:8]
            if words:
                console.print(
                    Text(f"{topic.name} 负面关键词: ", style="bold")
                    + Text("、".join(f"{w}({n})" for w, n in words))
                )
        worst = _most_negative_topic(store)
        if worst:
            _print_top_negative(console, store, worst, config.tz)
    finally:
        store.close()
    outbox = next(
        (c.path for r in config.alerts.receivers for c in r.channels if c.type == "file"), None
    )
    console.print(f"\nDatabase: {workdir / 'yuqing.db'}")
    console.print(f"Alert outbox (filled once alerting runs): {outbox}")
    console.print("Try:")
    console.print(
        f"  YUQING_DATABASE_URL=sqlite:///{workdir / 'yuqing.db'} "
        ".venv/bin/yuqing mentions --topic 星澜咖啡 --sentiment negative",
        markup=False,
        soft_wrap=True,
    )


def _print_overview(console: Console, store: Store) -> None:
    table = Table(title="舆情概览 (topic x platform)")
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


def _most_negative_topic(store: Store) -> str | None:
    totals: dict[str, list[int]] = {}
    for row in sentiment_summary(store):
        if row["topic"]:
            acc = totals.setdefault(row["topic"], [0, 0])
            acc[0] += row["negative"]
            acc[1] += row["mentions"]
    if not totals:
        return None
    return max(totals, key=lambda t: (totals[t][0] / totals[t][1], totals[t][0]))


def _print_top_negative(console: Console, store: Store, topic: str, tz) -> None:
    rows = find_mentions(
        store, MentionFilter(topic=topic, sentiment="negative", limit=5, order="engagement")
    )
    table = Table(title=f"{topic}: 传播最广的负面内容", show_lines=True)
    for header in ("时间", "平台", "作者", "转/评/赞", "内容", "链接"):
        table.add_column(header, overflow="fold")
    for r in rows:
        text = terminal_safe(" ".join(filter(None, [r["title"], r["text"]])))
        table.add_row(
            r["published_at"].astimezone(tz).strftime("%m-%d %H:%M"),
            r["platform"],
            Text(terminal_safe(r["author_name"] or "")),
            f"{r['reposts']}/{r['comments']}/{r['likes']}",
            Text(text[:80] + ("…" if len(text) > 80 else "")),
            Text(terminal_safe(r["url"])),
        )
    console.print()
    console.print(table)
