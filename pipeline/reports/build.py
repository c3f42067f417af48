"""Daily and weekly reports: the period's numbers from ``storage`` (the analysts' aggregations and
the incident list), charts as PNG images, and the page rendered by Jinja2 as HTML and plain text.

The HTML refers to its images as ``cid:NAME`` (inline parts of the mail); written to disk they
become ``NAME.png`` beside the page. Crawled text reaches the page only through Jinja2's
autoescaping, and links only as http(s) URLs rebuilt by :func:`alerts.render.safe_link_url`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from alerts.render import PLATFORM_ZH, link_host, plain, safe_link_url
from alerts.severity import SEVERITY_EN, SEVERITY_ZH
from pipeline.config import Config
from pipeline.reports.texts import TEXTS
from storage import stats as aggregates
from storage.db import Store
from storage.incidents import list_incidents
from storage.query import MentionFilter, find_mentions, sentiment_summary

KINDS = {"daily": 1, "weekly": 7}  # days per period
TEMPLATES = Path(__file__).parent / "templates"
LABELS = ("negative", "neutral", "positive", "unscored")
TOP_POSTS = 10
TOP_KEYWORDS = 20
# Enough to reach back past the period: list_incidents returns the newest first.
INCIDENT_SCAN = 500


@dataclass
class Report:
    kind: str
    topic: str | None
    start: datetime
    end: datetime
    subject: str
    html: str  # images as cid:NAME
    text: str
    images: dict[str, bytes] = field(default_factory=dict)  # NAME -> PNG
    data: dict[str, Any] = field(default_factory=dict)  # the numbers shown, for tests and JSON

    def html_with_files(self) -> str:
        """The page with its images as ``NAME.png`` files beside it. Escaped crawled text can
        never contain ``src="cid:`` with a bare quote, so only our own references change."""
        page = self.html
        for name in self.images:
            page = page.replace(f'src="cid:{name}"', f'src="{name}.png"')
        return page

    @property
    def slug(self) -> str:
        """``daily-2026-11-20-星澜咖啡``: a file name for this report."""
        topic = re.sub(r'[\\/:*?"<>|\s]+', "_", self.topic) if self.topic else "all"
        return f"{self.kind}-{self.start.date().isoformat()}-{topic}"


def default_end(config: Config, kind: str, now: datetime | None = None) -> datetime:
    """Midnight today in the config's zone: a daily report covers yesterday, a weekly one the
    seven days before today."""
    local = (now or datetime.now(config.tz)).astimezone(config.tz)
    return datetime.combine(local.date(), time(), config.tz)


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["plain"] = plain
    return env


def _buckets(start: datetime, end: datetime, hourly: bool) -> list[datetime]:
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    out, at = [], start
    while at < end:
        out.append(at)
        at += step
    return out


def _trend(volume: list[dict], buckets: list[datetime]) -> dict[str, list[int]]:
    """Counts per sentiment label per bucket, zeros where nothing was published."""
    index = {b.timestamp(): i for i, b in enumerate(buckets)}
    series = {label: [0] * len(buckets) for label in LABELS}
    for row in volume:
        i = index.get(row["bucket"].timestamp())
        if i is None:
            continue
        for label in LABELS:
            series[label][i] += row[label]
    return {label: counts for label, counts in series.items() if any(counts)}


def _platforms(volume: list[dict]) -> list[tuple[str, dict[str, int]]]:
    totals: dict[str, dict[str, int]] = {}
    for row in volume:
        counts = totals.setdefault(row["platform"], dict.fromkeys((*LABELS, "total"), 0))
        for key in counts:
            counts[key] += row[key]
    return sorted(totals.items(), key=lambda item: (-item[1]["total"], item[0]))


def _topics(store: Store, f: MentionFilter) -> list[dict[str, Any]]:
    """Per topic: mentions and negatives (only for a report across all topics)."""
    by_topic: dict[str, dict[str, Any]] = {}
    for row in sentiment_summary(store, f):
        if row["topic"] is None:
            continue
        entry = by_topic.setdefault(row["topic"], {"topic": row["topic"], "total": 0, "neg": 0})
        entry["total"] += int(row["mentions"] or 0)
        entry["neg"] += int(row["negative"] or 0)
    for entry in by_topic.values():
        entry["share"] = entry["neg"] / entry["total"] if entry["total"] else 0.0
    return sorted(by_topic.values(), key=lambda e: (-e["total"], e["topic"]))


def _incidents(store: Store, topic: str | None, start: datetime, end: datetime) -> list[dict]:
    """Incidents alive at some time in [start, end): opened before its end, not resolved
    before its start."""
    found = []
    for incident in list_incidents(store, topic=topic, limit=INCIDENT_SCAN):
        if incident["opened_at"] >= end:
            continue
        if incident["resolved_at"] is not None and incident["resolved_at"] < start:
            continue
        found.append(incident)
    found.sort(key=lambda i: (i["opened_at"], i["id"]))
    return found


def _post(row: dict, tz) -> dict[str, Any]:
    url = safe_link_url(row.get("url"))
    return {
        "platform": row["platform"],
        "author": plain(row.get("author_name"), 40) or "-",
        "followers": row.get("author_followers") or 0,
        "verified": bool(row.get("author_verified")),
        "text": plain(" ".join(filter(None, [row.get("title"), row.get("text")])), 200),
        "url": url,
        "host": link_host(url) if url else None,
        "published": row["published_at"].astimezone(tz).strftime("%m-%d %H:%M"),
        "reposts": row.get("reposts") or 0,
        "comments": row.get("comments") or 0,
        "likes": row.get("likes") or 0,
        "cause": row.get("cause"),
    }


def build_report(
    config: Config,
    store: Store,
    kind: str,
    topic: str | None = None,
    end: datetime | None = None,
) -> Report:
    """The ``kind`` ("daily" or "weekly") report of ``topic`` (None: every topic) for the
    period ending at ``end`` (default :func:`default_end`)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    tz = config.tz
    language = config.alerts.language
    t = TEXTS[language]
    end = (end or default_end(config, kind)).astimezone(tz)
    start = end - timedelta(days=KINDS[kind])
    hourly = kind == "daily"
    f = MentionFilter(topic=topic, since=start, until=end, limit=None)
    previous = MentionFilter(topic=topic, since=start - (end - start), until=start, limit=None)

    volume = aggregates.volume(store, f, "hour" if hourly else "day", tz)
    totals = {key: sum(r[key] for r in volume) for key in (*LABELS, "total")}
    before = sum(r["total"] for r in aggregates.volume(store, previous, "day", tz))
    scored = totals["total"] - totals["unscored"]
    buckets = _buckets(start, end, hourly)
    trend = _trend(volume, buckets)
    platforms = _platforms(volume)
    causes = aggregates.causes(store, f)[:10]
    keywords = aggregates.top_keywords(store, f, TOP_KEYWORDS)
    authors = aggregates.top_authors(store, f, 5)
    posts = find_mentions(
        store,
        MentionFilter(
            topic=topic,
            sentiment="negative",
            since=start,
            until=end,
            limit=TOP_POSTS,
            order="engagement",
        ),
    )
    incidents = _incidents(store, topic, start, end)
    topics = _topics(store, f) if topic is None else []

    # matplotlib loads in a fraction of a second: only when a report is drawn, not for every
    # `yuqing` command that imports this module.
    from pipeline.reports import charts

    platform_name = (lambda p: PLATFORM_ZH.get(p, p)) if language == "zh" else (lambda p: p)
    labels = {label: t[label] for label in LABELS}
    images: dict[str, bytes] = {}
    if totals["total"]:
        images["trend"] = charts.trend_chart(buckets, trend, labels, t["chart_trend"], hourly)
        images["platforms"] = charts.platform_chart(
            [(platform_name(p), counts) for p, counts in platforms], labels, t["chart_platforms"]
        )
    if causes:
        images["causes"] = charts.bar_chart(
            [(plain(c, 16), n) for c, n in causes], t["chart_causes"], charts.COLOURS["negative"]
        )
    if keywords:
        images["keywords"] = charts.bar_chart(
            [(plain(k, 16), n) for k, n in keywords], t["chart_keywords"]
        )

    scope = topic or t["all_topics"]
    last_day = end - timedelta(days=1)
    period = (
        start.strftime("%Y-%m-%d")
        if kind == "daily"
        else f"{start.strftime('%Y-%m-%d')} – {last_day.strftime('%Y-%m-%d')}"
    )
    severity_names = SEVERITY_ZH if language == "zh" else SEVERITY_EN
    context = {
        "t": t,
        "lang": language,
        "kind": kind,
        "title": t["title"][kind].format(scope=scope),
        "period": period,
        "zone": config.general.timezone,
        "generated": datetime.now(tz).strftime("%Y-%m-%d %H:%M"),
        "totals": totals,
        "previous": before,
        "change": (totals["total"] - before) / before if before else None,
        "negative_share": totals["negative"] / scored if scored else None,
        "platforms": [
            {"name": platform_name(p), **counts, "share": counts["negative"] / counts["total"]}
            for p, counts in platforms
        ],
        "causes": [{"cause": plain(c, 32), "count": n} for c, n in causes],
        "keywords": [{"word": plain(k, 32), "count": n} for k, n in keywords],
        "authors": [
            {
                "name": plain(a["author_name"], 40) or a["author_id"],
                "platform": platform_name(a["platform"]),
                "followers": a["followers"] or 0,
                "verified": a["verified"],
                "mentions": a["mentions"],
                "negative": a["negative"],
            }
            for a in authors
        ],
        "posts": [_post(p, tz) | {"platform": platform_name(p["platform"])} for p in posts],
        "incidents": [
            {
                "id": i["id"],
                "topic": i["topic"],
                "rule": i["rule"],
                "severity": severity_names.get(i["severity"], i["severity"]),
                "critical": i["severity"] == "critical",
                "status": t["status"].get(i["status"], i["status"]),
                "opened": i["opened_at"].astimezone(tz).strftime("%m-%d %H:%M"),
                "resolved": i["resolved_at"].astimezone(tz).strftime("%m-%d %H:%M")
                if i["resolved_at"]
                else None,
                "summary": plain((i.get("evidence") or {}).get("summary"), 120),
                "url": _incident_url(config, i["id"]),
            }
            for i in incidents
        ],
        "topics": topics,
        "images": images,
    }
    html = _environment(True).get_template("report.html").render(context)
    text = _environment(False).get_template("report.txt").render(context)
    subject = f"{context['title']} {period}"
    return Report(kind, topic, start, end, subject, html, text, images, context)


def _incident_url(config: Config, incident_id: int) -> str | None:
    template = config.alerts.delivery.incident_url
    return template.replace("{id}", str(incident_id)) if template else None
