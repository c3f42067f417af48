"""Daily and weekly reports: content from a seeded store (both backends), escaping, the CJK chart
font, ``yuqing report`` writing files, and the report arriving in a local SMTP sink."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline import exit_codes
from pipeline.config import parse_config
from pipeline.reports import build_report
from storage.db import Store
from storage.mentions import upsert_mentions
from storage.models import Incident
from tests.conftest import TEST_CONFIG
from tests.servers.fixtures import running_smtp

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The report of 2026-11-20 (Shanghai): the period is [11-20 00:00, 11-21 00:00) +08:00.
END = datetime(2026, 11, 21, tzinfo=SHANGHAI)
DAY = datetime(2026, 11, 20, 10, tzinfo=SHANGHAI)
PNG = b"\x89PNG\r\n\x1a\n"


def mention(post_id: str, at: datetime, *, platform="weibo", label="negative", **over) -> dict:
    base = {
        "platform": platform,
        "post_id": post_id,
        "url": f"https://m.weibo.cn/detail/{post_id}",
        "author_id": f"a{post_id}",
        "author_name": f"作者{post_id}",
        "author_followers": 100,
        "text": "星澜咖啡 喝出异物 客服不退款",
        "raw_text": "星澜咖啡 喝出异物 客服不退款",
        "published_at": at,
        "crawled_at": at + timedelta(minutes=5),
        "reposts": 1,
        "comments": 0,
        "likes": 0,
        "sentiment_label": label,
        "sentiment_score": 0.1 if label == "negative" else 0.8,
        "cause": "产品质量" if label == "negative" else None,
        "keywords": ["异物", "退款"] if label == "negative" else ["好喝"],
        "topics": {"星澜咖啡": ["星澜咖啡"]},
    }
    return base | over


def seed(store: Store) -> None:
    rows = [
        mention("n1", DAY, reposts=50),
        mention("n2", DAY + timedelta(hours=2), reposts=500, platform="tieba"),
        mention("n3", DAY + timedelta(hours=3), cause="服务态度", keywords=["态度", "退款"]),
        mention("p1", DAY + timedelta(hours=1), label="positive", platform="news"),
        mention("p2", DAY + timedelta(hours=4), label="neutral"),
        # Other periods: the day before (the comparison) and the day after (left out).
        mention("old", DAY - timedelta(days=1)),
        mention("new", DAY + timedelta(days=1)),
        mention(
            "q1",
            DAY,
            text="青禾手机 屏幕碎了",
            raw_text="青禾手机 屏幕碎了",
            topics={"青禾手机": ["青禾手机"]},
        ),
    ]
    upsert_mentions(store, rows)
    incidents = [
        # (topic, status, opened, resolved): the first three overlap the period, the rest do not.
        ("星澜咖啡", "open", DAY, None),
        ("星澜咖啡", "resolved", DAY - timedelta(days=2), DAY + timedelta(hours=5)),
        ("星澜咖啡", "acknowledged", DAY - timedelta(days=3), None),
        ("星澜咖啡", "resolved", DAY - timedelta(days=3), DAY - timedelta(days=2)),
        ("星澜咖啡", "open", DAY + timedelta(days=1), None),
        ("青禾手机", "open", DAY, None),
    ]
    with store.session() as session:
        for i, (topic, status, opened, resolved) in enumerate(incidents):
            session.add(
                Incident(
                    topic=topic,
                    rule="negative-spike",
                    severity="critical" if i == 0 else "warning",
                    dedup_key=f"{topic}:negative-spike:{i}",
                    status=status,
                    opened_at=opened.astimezone(UTC),
                    last_seen_at=opened.astimezone(UTC),
                    resolved_at=resolved.astimezone(UTC) if resolved else None,
                    evidence={"summary": f"事件{i}"},
                )
            )


def test_daily_report_content(store, config):
    seed(store)
    report = build_report(config, store, "daily", "星澜咖啡", END)
    data = report.data
    assert (report.start, report.end) == (END - timedelta(days=1), END)
    assert report.subject == "星澜咖啡 舆情日报 2026-11-20"
    assert data["totals"]["total"] == 5 and data["totals"]["negative"] == 3
    assert data["previous"] == 1 and data["change"] == 4.0
    assert data["negative_share"] == pytest.approx(3 / 5)
    assert [(p["name"], p["total"], p["negative"]) for p in data["platforms"]] == [
        ("微博", 3, 2),
        ("新闻", 1, 0),
        ("贴吧", 1, 1),
    ]
    assert [(c["cause"], c["count"]) for c in data["causes"]] == [("产品质量", 2), ("服务态度", 1)]
    assert data["keywords"][0] == {"word": "退款", "count": 3}
    # The top negative posts, most engagement first, each with its link.
    assert [p["author"] for p in data["posts"]] == ["作者n2", "作者n1", "作者n3"]
    assert data["posts"][0]["url"] == "https://m.weibo.cn/detail/n2"
    assert [i["summary"] for i in data["incidents"]] == ["事件2", "事件1", "事件0"]
    assert [i["status"] for i in data["incidents"]] == ["处理中", "已恢复", "未处理"]
    assert data["topics"] == []  # one topic: no per-topic table
    assert set(report.images) == {"trend", "platforms", "causes", "keywords"}
    assert all(png.startswith(PNG) for png in report.images.values())
    for name in report.images:
        assert f'src="cid:{name}"' in report.html
    assert "https://m.weibo.cn/detail/n2" in report.text and "事件0" in report.text


def test_weekly_report_across_topics(store, config):
    seed(store)
    report = build_report(config, store, "weekly", None, END)
    data = report.data
    assert report.subject == "全部话题 舆情周报 2026-11-14 – 2026-11-20"
    assert data["totals"]["total"] == 7  # the day before is inside the week now
    assert [(t["topic"], t["total"]) for t in data["topics"]] == [("星澜咖啡", 6), ("青禾手机", 1)]
    assert len(data["incidents"]) == 5  # every topic's; only the one opened later is left out


def test_empty_period_and_english(tmp_path):
    config = parse_config(TEST_CONFIG + '\n[alerts]\nlanguage = "en"\n')
    store = Store.open(f"sqlite:///{tmp_path / 'y.db'}", auto_migrate=True)
    try:
        report = build_report(config, store, "daily", None, END)
    finally:
        store.close()
    assert report.images == {}
    assert report.subject == "All topics: daily report 2026-11-20"
    assert "No mentions in this period." in report.html
    assert "No incidents in this period." in report.text


def test_hostile_post_text_is_escaped(tmp_path, config):
    store = Store.open(f"sqlite:///{tmp_path / 'y.db'}", auto_migrate=True)
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)> src="cid:trend"'
    try:
        upsert_mentions(
            store,
            [
                mention(
                    "x",
                    DAY,
                    text=hostile,
                    raw_text=hostile,
                    author_name="<b onmouseover=alert(3)>大V</b>",
                    url="javascript:alert(4)",
                    keywords=["<i>词</i>"],
                    cause="<u>原因</u>",
                ),
                mention("y", DAY, url='https://example.com/a"onclick="alert(5)'),
            ],
        )
        report = build_report(config, store, "daily", "星澜咖啡", END)
    finally:
        store.close()
    html = report.html
    for raw in ("<script>", "<img src=x", "<b ", "<i>", "<u>", "javascript:", 'onclick="'):
        assert raw not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;"
    assert escaped in html
    assert "&lt;b onmouseover=alert(3)&gt;大V&lt;/b&gt;" in html
    # The post's own src="cid:trend" is text, so only the real chart reference is rewritten.
    assert html.count('src="cid:trend"') == 1
    assert report.html_with_files().count('src="trend.png"') == 1
    assert 'href="https://example.com/a%22onclick=%22alert%285%29"' in html


def test_chinese_chart_labels_have_every_glyph():
    from matplotlib import rc_context

    from pipeline.reports import charts

    def missing_glyphs(draw) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            png = draw()
        assert png.startswith(PNG)
        return [str(w.message) for w in caught if "missing from font" in str(w.message)]

    labels = [("产品质量", 12), ("服务态度", 5), ("物流快递", 3), ("店内事故", 1)]
    assert missing_glyphs(lambda: charts.bar_chart(labels, "投诉原因（负面）")) == []
    # The check can fail: matplotlib's default font lacks the glyphs and says so.
    with rc_context({"font.family": ["DejaVu Sans"]}):
        from matplotlib.figure import Figure

        def plain_matplotlib() -> bytes:
            fig = Figure()
            fig.add_subplot().set_title("投诉原因")
            return charts._png(fig)

        assert missing_glyphs(plain_matplotlib)


def _seed_cli_database(tmp_path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'y.db'}", auto_migrate=True)
    try:
        seed(store)
    finally:
        store.close()


def test_cli_writes_the_report_files(run, tmp_path):
    _seed_cli_database(tmp_path)
    result = run("report", "daily", "--topic", "星澜咖啡", "--end", "2026-11-21", "--out", "out")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "daily-2026-11-20-星澜咖啡"
    assert "daily-2026-11-20-星澜咖啡/report.html" in result.output
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "星澜咖啡 舆情日报" in page and "cid:" not in page
    for name in ("trend", "platforms", "causes", "keywords"):
        assert f'src="{name}.png"' in page
        assert (folder / f"{name}.png").read_bytes().startswith(PNG)
    assert "热门负面帖" in (folder / "report.txt").read_text(encoding="utf-8")


def test_cli_rejects_unknown_topic_and_mail_without_addresses(run, tmp_path):
    assert run("report", "daily", "--topic", "没有").exit_code == exit_codes.USAGE
    result = run("report", "daily", "--email", "--out", "out")
    assert result.exit_code == exit_codes.CONFIG
    assert "no email channel" in result.output


@pytest.fixture
def smtp():
    yield from running_smtp()


def _mail_config(tmp_path, smtp) -> None:
    (tmp_path / "yuqing.toml").write_text(
        TEST_CONFIG
        + f"""
[storage]
url = 'sqlite:///{tmp_path / "y.db"}'

[alerts]
default_receiver = "pr-team"

[[alerts.receivers]]
name = "pr-team"

[[alerts.receivers.channels]]
type = "email"
to = ["pr@example.com", "boss@example.com"]

[alerts.smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "plain"
sender = "yuqing@example.com"
timeout_seconds = 5
""",
        encoding="utf-8",
    )


def test_daily_report_with_charts_arrives_in_smtp_sink(run, tmp_path, smtp):
    _mail_config(tmp_path, smtp)
    _seed_cli_database(tmp_path)
    result = run("report", "daily", "--topic", "星澜咖啡", "--end", "2026-11-21", "--email")
    assert result.exit_code == 0, result.output
    assert "mailed to pr@example.com, boss@example.com" in result.output
    [(sender, recipients, message)] = smtp.messages
    assert sender == "yuqing@example.com"
    assert recipients == ["pr@example.com", "boss@example.com"]
    assert message["Subject"] == "星澜咖啡 舆情日报 2026-11-20"
    assert message.get_content_type() == "multipart/alternative"
    text, related = message.get_payload()
    assert "热门负面帖" in text.get_content()
    assert related.get_content_type() == "multipart/related"
    html, *images = related.get_payload()
    page = html.get_content()
    assert "星澜咖啡 舆情日报" in page
    assert sorted(i["Content-ID"] for i in images) == [
        "<causes>",
        "<keywords>",
        "<platforms>",
        "<trend>",
    ]
    for image in images:
        assert image.get_content_type() == "image/png"
        assert image.get_content().startswith(PNG)
        assert f'src="cid:{image["Content-ID"].strip("<>")}"' in page


def test_email_address_option_overrides_the_channels(run, tmp_path, smtp):
    _mail_config(tmp_path, smtp)
    result = run("report", "weekly", "--email", "analyst@example.com")
    assert result.exit_code == 0, result.output
    [(_sender, recipients, message)] = smtp.messages
    assert recipients == ["analyst@example.com"]
    assert "舆情周报" in message["Subject"]


def test_refused_mail_is_a_failure(run, tmp_path, smtp):
    _mail_config(tmp_path, smtp)
    smtp.fail_next = 1
    result = run("report", "daily", "--email")
    assert result.exit_code == exit_codes.FAILURE
    assert "report not mailed" in result.output


def test_report_command_is_cron_safe(run, tmp_path):
    from datetime import timedelta

    from pipeline.config import load_config
    from storage import leases
    from storage.db import Store

    store = Store.open(load_config(tmp_path / "yuqing.toml").database_url())
    leases.acquire(store, "report:daily:cli", "other-host:1:1", timedelta(minutes=5))
    store.close()
    result = run("report", "daily")
    assert result.exit_code == 4 and "running elsewhere" in result.output
