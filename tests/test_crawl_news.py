"""The news spider against RSS/Atom feeds and article pages on the replica."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from replica.harness import harness, replica  # noqa: F401 (fixtures)
from replica.news import Article, NewsSite

BEIJING = timezone(timedelta(hours=8))

ARTICLES = [
    Article(
        "20250530-1",
        "星澜咖啡回应会员卡退款问题",
        [
            "5月30日，针对近期消费者反映的会员储值卡退款难问题，星澜咖啡发布声明称将开通退款通道。",
            "据了解，已有上百名消费者通过12315平台投诉，涉及全国多家门店。",
            "星澜咖啡相关负责人表示，公司将在七个工作日内处理完毕所有退款申请，并向受影响的会员致歉。",
        ],
        datetime(2025, 5, 30, 14, 5, tzinfo=BEIJING),
        reporter="李明",
    ),
    Article(
        "20250529-2",
        "本市新开三条公交线路",
        ["为方便市民出行，本市公交集团宣布新开通三条公交线路，覆盖城东新区多个居民小区。"] * 3,
        datetime(2025, 5, 29, 9, 0, tzinfo=BEIJING),
    ),
    Article(
        "20250528-3",
        "青禾手机发布新款青禾X5",
        ["青禾手机昨日在京举行发布会，正式推出新款青禾X5，起售价2999元，将于下月初开售。"] * 3,
        datetime(2025, 5, 28, 19, 30, tzinfo=BEIJING),
        reporter="王芳",
    ),
]


@pytest.fixture
def site(replica):  # noqa: F811
    site = NewsSite(articles=list(ARTICLES))
    site.install(replica)
    return site


@pytest.fixture
def news(harness, replica):  # noqa: F811
    harness.configure(
        f'[[crawl.news]]\nname = "星城日报"\nfeed = "{replica.base_url}/news/rss.xml"\n'
        f'[[crawl.news]]\nname = "星城日报 Atom"\nfeed = "{replica.base_url}/news/atom.xml"\n'
    )
    return harness


def by_title(stored: dict) -> dict:
    return {m["title"]: m for m in stored.values()}


def test_feeds_and_articles_store_the_matching_news(news, site):
    result = news.run("news")
    assert result.status == "finished", news.last_output[-3000:]
    stored = by_title(news.mentions())
    # Both feeds list the same articles; an article is one mention (its URL is its id).
    assert set(stored) == {"星澜咖啡回应会员卡退款问题", "青禾手机发布新款青禾X5"}
    article = stored["星澜咖啡回应会员卡退款问题"]
    assert article["published_at"] == datetime(2025, 5, 30, 6, 5, tzinfo=UTC)  # 14:05 UTC+8
    assert "七个工作日内处理完毕" in article["text"]  # the full body, not the feed summary
    assert "版权所有" not in article["text"]  # boilerplate left out by the extractor
    assert article["author_name"] == "李明"
    assert article["url"].endswith("/news/a/20250530-1.html")
    assert article["topics"] == ["星澜咖啡"]
    assert stored["青禾手机发布新款青禾X5"]["topics"] == ["青禾手机"]
    run = news.run_record(result.run_id)
    assert run["stats"]["dropped"]["no_topic"] == 1


def test_new_article_is_fetched_alone_on_the_next_run(news, site):
    assert news.run("news").status == "finished"
    site.articles.insert(
        0,
        Article(
            "20250601-4",
            "星澜咖啡新店开业",
            ["星澜咖啡在城西开设新门店，开业首日推出买一送一活动，吸引大批市民排队。"] * 3,
            datetime(2025, 6, 1, 10, 0, tzinfo=BEIJING),
        ),
    )
    before = len(news.replica.hits)
    assert news.run("news").status == "finished"
    articles = [h for h in news.replica.hits[before:] if "/news/a/" in h]
    # The new article, and the newest old one because it lies within the overlap; an article
    # listed by both feeds is fetched once (Scrapy's duplicate filter).
    assert sorted(articles) == ["/news/a/20250530-1.html", "/news/a/20250601-4.html"]
    assert "星澜咖啡新店开业" in by_title(news.mentions())


def test_failed_article_is_fetched_again_by_the_next_run(news, site):
    news.replica.fault("/news/a/20250530-1", status=500, times=99)
    result = news.run("news")
    assert result.status == "partial"
    assert "星澜咖啡回应会员卡退款问题" not in by_title(news.mentions())
    news.replica.faults.clear()
    assert news.run("news").status == "finished"
    assert "星澜咖啡回应会员卡退款问题" in by_title(news.mentions())


# -- real page shapes, parsed directly -------------------------------------------------------

FEED_TIME = "2023-11-17T15:13:08+08:00"


def article_page(head: str, body: str) -> str:
    paragraph = (
        "<p>星澜咖啡今日宣布在全国门店推出新的会员退款流程，"
        "消费者可在线申请，七个工作日内到账。</p>"
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>星澜咖啡退款新规</title>{head}'
        f'</head><body><h1>星澜咖啡退款新规</h1>{body}<div id="detail">{paragraph * 4}</div>'
        "</body></html>"
    )


def parse(html: str, feed_time: str | None = FEED_TIME, feed_author: str | None = None):
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from crawlers.items import MentionItem
    from crawlers.spiders.news import NewsSpider

    crawler = get_crawler(NewsSpider, {"YUQING_CLOCK": "2025-06-01T12:00:00+08:00"})
    spider = NewsSpider.from_crawler(crawler, topic="星澜咖啡")
    crawler.spider = spider
    crawler.stats.open_spider()
    spider.setup()
    url = "http://127.0.0.1/news/a/1.html"
    item = MentionItem(
        platform="news",
        post_id="x",
        url=url,
        text="",
        title=None,
        topics=[],
        author={"name": feed_author} if feed_author else None,
        published_at=feed_time,
        crawled_at="2025-06-01T04:00:00+00:00",
        extra={"source": "feed"},
    )
    response = HtmlResponse(url, body=html.encode(), encoding="utf-8")
    items = list(spider.parse_article(response, item))
    assert len(items) == 1
    return items[0]


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def test_a_date_only_meta_does_not_override_the_feed_or_the_printed_time():
    meta = '<meta name="publishdate" content="2023-11-17">'
    # news.cn splits the printed date into spans: only the feed knows the minute.
    split = (
        '<div class="header-time"><span class="year"><em>2023</em></span><span class="day">'
        '<em>11</em>/<em>17</em></span><span class="time">15:13:08</span></div>'
    )
    item = parse(article_page(meta, split))
    assert utc(item["published_at"]) == datetime(2023, 11, 17, 7, 13, 8, tzinfo=UTC)
    # xinhuanet prints the full time: it wins even without a feed time.
    printed = '<div class="h-info"><span class="h-time">2023-11-17 15:13:08</span></div>'
    item = parse(article_page(meta, printed), feed_time=None)
    assert utc(item["published_at"]) == datetime(2023, 11, 17, 7, 13, 8, tzinfo=UTC)
    # With nothing better, the date-only meta is still a date (Beijing midnight).
    item = parse(article_page(meta, ""), feed_time=None)
    assert utc(item["published_at"]) == datetime(2023, 11, 16, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("2012年12月10日, 格林尼治标准时间10:41", datetime(2012, 12, 10, 10, 41, tzinfo=UTC)),
        ("2024-01-05 08:00 GMT", datetime(2024, 1, 5, 8, 0, tzinfo=UTC)),
        ("2024-01-05T08:00:00+08:00", datetime(2024, 1, 5, 0, 0, tzinfo=UTC)),
        ("2012年12月10日 10:41", datetime(2012, 12, 10, 2, 41, tzinfo=UTC)),  # no zone: Beijing
    ],
)
def test_printed_times_with_a_zone_are_converted(printed, expected):
    item = parse(article_page("", f'<div class="date">{printed}</div>'), feed_time=None)
    assert utc(item["published_at"]) == expected


def test_author_is_the_writer_without_labels_never_the_editor_or_photo_credit():
    body = (
        '<div class="info">来源：新华网 <span class="btn-correction">【纠错】</span></div>'
        '<p class="caption">新华社记者才扬摄</p>'
        "<p>新华社北京11月17日电（记者王敬照）</p>"
        '<div class="editor">【责任编辑:张樵苏】</div>'
    )
    item = parse(article_page("", body), feed_author="责任编辑：孔德明")
    assert item["author"] == {"name": "王敬照"}
    assert "纠错" not in item["text"]
    # Only an editor named: no author rather than the editor.
    editor_only = '<div class="editor">责任编辑：孔德明</div><div class="p">图/才扬</div>'
    item = parse(article_page("", editor_only), feed_author="责任编辑：孔德明")
    assert item["author"] is None
    item = parse(article_page("", "<p>文/图 王五</p>"))
    assert item["author"] == {"name": "王五"}
