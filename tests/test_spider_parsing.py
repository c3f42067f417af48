"""Fast checks of the parsing pieces, without a crawl: dates, counts, spider callbacks fed saved
responses, middlewares, the config add-on and the run-status rules."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, TextResponse
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawlers.counts import parse_count
from crawlers.dates import find_chinese_date, parse_chinese_time, parse_weibo_time
from crawlers.items import MentionItem
from crawlers.middlewares import (
    ProxyListMiddleware,
    RotatingUserAgentMiddleware,
    backoff_seconds,
)
from crawlers.spiders.tieba import TiebaSpider
from crawlers.spiders.weibo import WeiboSpider, is_login_page, links_in
from pipeline.config import parse_config
from pipeline.crawl_settings import ConfigSettingsAddon
from pipeline.crawl_state import run_status, summarise_stats

BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2025, 3, 1, 10, 0, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sat Dec 23 17:12:54 +0800 2023", datetime(2023, 12, 23, 17, 12, 54, tzinfo=BEIJING)),
        ("Mon Jan 01 00:00:00 +0000 2024", datetime(2024, 1, 1, tzinfo=UTC)),
        ("刚刚", NOW),
        ("5分钟前", NOW - timedelta(minutes=5)),
        ("3小时前", NOW - timedelta(hours=3)),
        ("昨天 23:10", datetime(2025, 2, 28, 23, 10, tzinfo=BEIJING)),
        ("今天 08:00", datetime(2025, 3, 1, 8, 0, tzinfo=BEIJING)),
        ("02-28", datetime(2025, 2, 28, tzinfo=BEIJING)),
        ("12-31", datetime(2024, 12, 31, tzinfo=BEIJING)),  # read in January: last year
        ("2024-12-23", datetime(2024, 12, 23, tzinfo=BEIJING)),
        ("2023/12/23 17:12:54", datetime(2023, 12, 23, 17, 12, 54, tzinfo=BEIJING)),
        ("2025年02月03日 08:05", datetime(2025, 2, 3, 8, 5, tzinfo=BEIJING)),
    ],
)
def test_weibo_dates_in_every_form(text, expected):
    assert parse_weibo_time(text, NOW) == expected


def test_dates_do_not_depend_on_the_locale(monkeypatch):
    """English month names are read from our own table, never through strptime's %a/%b (which
    follow the process locale): with strptime unusable, parsing still works."""
    import datetime as datetime_module

    class NoStrptime(datetime_module.datetime):
        @classmethod
        def strptime(cls, *args, **kwargs):
            raise AssertionError("locale-dependent strptime was used")

    import crawlers.dates as dates

    monkeypatch.setattr(dates, "datetime", NoStrptime)
    assert parse_weibo_time("Sat Dec 23 17:12:54 +0800 2023", NOW).month == 12


def test_bad_dates_raise():
    for text in ("", "Sat Foo 23 17:12:54 +0800 2023", "很久以前"):
        with pytest.raises(ValueError):
            parse_weibo_time(text, NOW)
    assert find_chinese_date("发布时间：2025年05月30日 14:05 来源") == datetime(
        2025, 5, 30, 14, 5, tzinfo=BEIJING
    )
    assert parse_chinese_time("12:30", NOW) == datetime(2025, 3, 1, 12, 30, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        ("12", 12),
        ("1.2万", 12_000),
        ("100万+", 1_000_000),
        ("3亿", 300_000_000),
        ("1,234", 1234),
        ("转发", 0),
        ("", 0),
        (None, 0),
        ("10w+", 100_000),
        (3.0, 3),
    ],
)
def test_counts(value, expected):
    assert parse_count(value) == expected


def test_bad_counts_raise():
    for value in ("很多", "1.2.3万", True):
        with pytest.raises(ValueError):
            parse_count(value)


def test_links_and_login_pages():
    html = (
        '<a href="https://weibo.cn/sinaurl?u=https%3A%2F%2Fexample.com%2Fx">网页链接</a>'
        '<a href="/n/小明">@小明</a><a data-url="http://t.cn/A6" href="http://t.cn/A6">x</a>'
    )
    assert links_in(html) == ["https://example.com/x", "http://t.cn/A6"]
    assert is_login_page("https://passport.weibo.cn/signin/login?entry=mweibo&r=x")
    assert is_login_page("http://127.0.0.1:8000/signin/login?r=x")
    assert not is_login_page("https://m.weibo.cn/api/container/getIndex?q=login")


def spider_for(cls, **settings):
    crawler = get_crawler(cls, {"YUQING_CLOCK": NOW.isoformat(), **settings})
    spider = cls.from_crawler(crawler, topic="星澜咖啡")
    crawler.spider = spider
    crawler.stats.open_spider()
    spider.setup()
    return spider


def json_response(url: str, data, meta=None) -> TextResponse:
    return TextResponse(
        url,
        body=json.dumps(data, ensure_ascii=False).encode(),
        encoding="utf-8",
        request=Request(url, meta=meta or {}),
    )


def test_weibo_field_problems_become_counters_not_crashes():
    spider = spider_for(WeiboSpider, WEIBO_BASE_URL="https://m.example")
    good = {
        "id": "1",
        "created_at": "刚刚",
        "text": "星澜咖啡",
        "reposts_count": "很多",
        "user": {"id": 9, "screen_name": "甲", "followers_count": "2万"},
    }
    no_date = {"id": "2", "text": "星澜咖啡"}
    data = {
        "ok": 1,
        "data": {
            "cards": [
                {"card_type": 9, "mblog": good},
                {
                    "card_type": 11,
                    "card_group": [{"card_type": 9, "mblog": no_date}, {"card_type": 17}],
                },
                {"card_type": 9},  # no mblog at all
            ]
        },
    }
    url = "https://m.example/api/container/getIndex?page=1"
    out = list(
        spider.parse_search(
            json_response(url, data, {"stream": "星澜咖啡"}), term="星澜咖啡", page=1
        )
    )
    items = [o for o in out if isinstance(o, MentionItem)]
    assert [i["post_id"] for i in items] == ["1"]
    assert items[0]["reposts"] == 0 and items[0]["author"]["followers"] == 20_000
    stats = spider.crawler.stats.get_stats()
    assert stats["yuqing/field/weibo/count/reposts_count"] == 1
    assert stats["yuqing/field/weibo/created_at"] == 1
    assert any(isinstance(o, Request) and "page=2" in o.url for o in out)


def test_weibo_end_of_results_is_not_a_block():
    spider = spider_for(WeiboSpider)
    url = "https://m.weibo.cn/api/container/getIndex?page=3"
    out = list(
        spider.parse_search(
            json_response(
                url,
                {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}},
                {"stream": "星澜咖啡"},
            ),
            term="星澜咖啡",
            page=3,
        )
    )
    assert out == []
    assert spider.progress["星澜咖啡"].stopped == "end"


def test_tieba_rows_inside_the_commented_code_block_are_read():
    spider = spider_for(TiebaSpider)
    row = (
        '<li class=" j_thread_list clearfix" data-field=\'{"id":11,"first_post_id":5,'
        '"is_top":null}\' data-tid="11"><span class="threadlist_reply_date">09:30</span></li>'
        '<li class=" j_thread_list clearfix" data-field=\'{"id":12, broken\'></li>'
    )
    page = (
        '<html><body><code id="pagelet_html_frs-list/pagelet/thread_list"><!--<ul>'
        f"{row}</ul>--></code></body></html>"
    )
    url = "https://tieba.example/f?kw=x&pn=0"
    response = HtmlResponse(
        url, body=page.encode(), encoding="utf-8", request=Request(url, meta={"stream": "forum:x"})
    )
    out = list(spider.parse_forum(response, stream="forum:x", forum="x", offset=0))
    assert [r.url for r in out] == ["https://tieba.baidu.com/p/11"]
    assert spider.crawler.stats.get_value("yuqing/field/tieba/forum/data_field") == 1


def test_backoff_grows_and_is_capped():
    assert 1.5 <= backoff_seconds(1, 2.0, 60) <= 2.5
    assert 6.0 <= backoff_seconds(3, 2.0, 60) <= 10.0
    assert backoff_seconds(20, 2.0, 60) <= 75


def test_user_agent_rotation_and_proxies(monkeypatch):
    crawler = get_crawler(settings_dict={"USER_AGENT_LIST": ["UA-1", "UA-2"]})
    agents = RotatingUserAgentMiddleware.from_crawler(crawler)
    seen = set()
    for _ in range(40):
        request = Request("https://example.com")
        agents.process_request(request)
        seen.add(request.headers[b"User-Agent"].decode())
    assert seen == {"UA-1", "UA-2"}

    monkeypatch.delenv("YUQING_PROXIES", raising=False)
    with pytest.raises(NotConfigured):
        ProxyListMiddleware.from_crawler(get_crawler(settings_dict={}))
    monkeypatch.setenv("YUQING_PROXIES", "http://p1:8080\nhttp://user:pw@p2:8080")
    proxies = ProxyListMiddleware.from_crawler(
        get_crawler(settings_dict={"PROXY_LIST_ENV": "YUQING_PROXIES"})
    )
    used = []
    for _ in range(3):
        request = Request("https://example.com")
        proxies.process_request(request)
        used.append(request.meta["proxy"])
    assert used == ["http://p1:8080", "http://user:pw@p2:8080", "http://p1:8080"]


def test_config_becomes_settings_and_the_command_line_wins(tmp_path, monkeypatch):
    config = tmp_path / "yuqing.toml"
    config.write_text(
        '[[topics]]\nname = "星澜咖啡"\n[topics.keywords]\nmust = ["咖啡"]\nany = ["星澜", "XL"]\n'
        '[crawl]\nmax_pages = 7\nobey_robots = false\nweibo_cookie = { env = "MY_COOKIE" }\n'
        'base_urls = { weibo = "http://127.0.0.1:9/" }\n'
        '[[crawl.discuz]]\nname = "bbs"\nbase_url = "http://127.0.0.1:9/bbs"\nforum_ids = [2]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("MY_COOKIE", "SUB=abc; SUBP=def")
    monkeypatch.delenv("YUQING_WEIBO_COOKIE", raising=False)
    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    settings.set("YUQING_CONFIG", str(config), priority="project")
    settings.set("CRAWL_MAX_PAGES", 3, priority="cmdline")
    ConfigSettingsAddon().update_settings(settings)
    assert settings.getint("CRAWL_MAX_PAGES") == 3
    assert settings.getbool("ROBOTSTXT_OBEY") is False
    assert settings.get("WEIBO_BASE_URL") == "http://127.0.0.1:9"
    assert settings.getlist("DISCUZ_FORUMS")[0]["forum_ids"] == [2]
    assert settings.getdict("YUQING_TOPICS")["星澜咖啡"]["any"] == ["星澜", "XL"]
    pipelines = settings.getdict("ITEM_PIPELINES")
    order = sorted(pipelines, key=pipelines.get)
    assert [p.rsplit(".", 1)[1] for p in order] == [
        "ValidatePipeline",
        "DuplicatePipeline",
        "NormalisePipeline",
        "RelevancePipeline",
        "EnrichPipeline",
        "StorePipeline",
    ]
    assert os.environ["YUQING_WEIBO_COOKIE"] == "SUB=abc; SUBP=def"
    assert "abc" not in json.dumps({k: str(v) for k, v in settings.items()})


def test_search_terms_follow_the_topic_rule():
    spider = spider_for(
        WeiboSpider, YUQING_TOPICS={"星澜咖啡": {"must": ["咖啡"], "any": ["星澜", "XL"]}}
    )
    assert spider.search_terms() == ["咖啡 星澜", "咖啡 XL"]
    spider.topic = "未配置"
    assert spider.search_terms() == ["未配置"]


def test_run_status_and_stats_summary():
    assert run_status("finished", {}) == "finished"
    assert run_status("finished", {"a": "max_pages"}) == "partial"
    assert run_status("closespider_timeout", {}) == "partial"
    assert run_status("blocked", {}) == "failed"
    assert run_status("cookie_expired", {}) == "failed"
    summary = summarise_stats(
        {
            "yuqing/dropped/duplicate": 2,
            "yuqing/invalid/url": 1,
            "yuqing/errors/http_503": 3,
            "start_time": datetime(2025, 1, 1, tzinfo=UTC),
        }
    )
    assert summary["dropped"] == {"duplicate": 2, "invalid/url": 1}
    assert summary["errors"] == {"http_503": 3}
    assert summary["scrapy"]["start_time"] == "2025-01-01T00:00:00+00:00"


def test_example_config_parses_with_crawl_sections():
    text = '[crawl]\n[[crawl.news]]\nname = "n"\nfeed = "ftp://x"\n'
    with pytest.raises(Exception, match="crawl.news"):
        parse_config(text)


def test_paging_stops_at_the_watermark_or_the_page_limit():
    spider = spider_for(WeiboSpider, CRAWL_MAX_PAGES=3, CRAWL_OVERLAP_MINUTES=30)
    spider.watermarks = {"a": NOW}
    newer = [NOW + timedelta(hours=2), NOW + timedelta(hours=1)]
    assert spider.page_done("a", newer) is True
    # A page reaching 30 minutes before the watermark: caught up, complete.
    assert spider.page_done("a", [NOW, NOW - timedelta(minutes=31)]) is False
    assert spider.progress["a"].stopped == "caught_up" and spider.progress["a"].complete
    assert spider.progress["a"].newest == NOW + timedelta(hours=2)

    old = [NOW - timedelta(days=n) for n in range(1, 4)]
    assert spider.page_done("b", old) and spider.page_done("b", old)
    assert spider.page_done("b", old) is False  # third page: the limit
    assert spider.progress["b"].stopped == "max_pages" and not spider.progress["b"].complete

    spider.page_done("c", [], has_next=False)
    spider.stream_failed("c", "http_500")
    assert spider.progress["c"].stopped == "end" and not spider.progress["c"].complete


def tieba_response(url: str, page: str, stream: str) -> HtmlResponse:
    return HtmlResponse(
        url, body=page.encode(), encoding="utf-8", request=Request(url, meta={"stream": stream})
    )


def test_tieba_pagelets_after_an_early_html_end_give_rows_and_pager():
    # As the real forum list ships them: the document closes, then the thread list and pager
    # come as commented HTML in <code> pagelets, outside the root element lxml builds.
    spider = spider_for(TiebaSpider)
    rows = "".join(
        f'<li class=" j_thread_list clearfix" data-field=\'{{"id":{tid},"first_post_id":'
        f'{tid}0,"reply_num":{replies},"is_top":null}}\' data-tid="{tid}">'
        f'<span class="threadlist_rep_num center_text">{replies}</span>'
        '<span class="threadlist_reply_date">09:30</span></li>'
        for tid, replies in ((11, 786), (12, 0))
    )
    page = (
        "<!DOCTYPE html><html><head><title>x吧</title></head><body>"
        '<div id="pagelet_frs-list/pagelet/thread_list"></div></body></html>\n'
        '<code id="pagelet_html_frs-list/pagelet/thread_list" style="display:none;"><!--\n'
        f'<ul id="thread_list">{rows}</ul><div id="frs_list_pager">'
        '<a href="//tieba.baidu.com/f?kw=x&amp;ie=utf-8&amp;pn=50" class="next pagination-item">'
        "下一页&gt;</a></div>\n--></code>\n<script>Bigpipe.register('frs-list');</script>"
    )
    url = "https://tieba.example/f?kw=x&pn=0"
    response = tieba_response(url, page, "forum:x")
    assert not response.css("li.j_thread_list")  # why the spider looks beyond the root
    out = list(spider.parse_forum(response, stream="forum:x", forum="x", offset=0))
    threads = [r for r in out if "/p/" in r.url]
    assert [r.url for r in threads] == [
        "https://tieba.baidu.com/p/11",
        "https://tieba.baidu.com/p/12",
    ]
    assert [r.cb_kwargs["reply_num"] for r in threads] == [786, 0]
    assert [r.url for r in out if "/f?" in r.url] == [
        "https://tieba.baidu.com/f?kw=x&ie=utf-8&pn=50"
    ]


def tieba_floor(pid, floor, author, body, shown=None) -> str:
    data = {
        "author": author,
        "content": {"post_id": pid, "post_no": floor, "comment_num": 2 if floor > 1 else 0},
    }
    name = (
        '<ul class="p_author"><li class="d_name"><a class="p_author_name j_user_card">'
        f"{shown}</a></li></ul>"
    )
    return (
        f"<div class=\"l_post j_l_post\" data-field='{json.dumps(data, ensure_ascii=False)}'>"
        f'<div class="d_author">{name if shown else ""}</div>'
        f'<div id="post_content_{pid}" class="d_post_content j_d_post_content">{body}</div>'
        '<div class="post-tail-wrap"><span>IP属地:浙江</span>'
        f'<span class="tail-info">{floor}楼</span>'
        '<span class="tail-info">2026-11-20 10:15</span></div></div>'
    )


def test_tieba_thread_floors_as_real_pages_show_them():
    spider = spider_for(TiebaSpider)
    image = (
        '<div class="replace_div" style="width: 560px;"><img class="BDE_Image" src="a.jpg">'
        '<div class="replace_tip" style="width: 558px;"><i class="icon-expand"></i>'
        "点击展开，查看完整图片</div></div>"
    )
    floors = [
        tieba_floor(901, 1, {"user_id": 1, "user_name": "acct_one"}, image, "星澜老粉"),
        '<div class="l_post l_post_bright j_l_post clearfix " data-field="{}"></div>',
        tieba_floor(902, 2, {"user_id": 2, "user_name": ""}, "星澜咖啡", "贴吧用户_x9Y8"),
        tieba_floor(903, 3, {"user_id": 3, "user_name": "u3", "name_show": "小咖"}, "同感"),
    ]
    page = (
        "<!DOCTYPE html><html><head><title>t</title></head><body>"
        '<h3 class="core_title_txt" title="星澜咖啡图">星澜咖啡图</h3>'
        '<ul class="l_posts_num"><li class="l_reply_num"><span class="red">786</span>回复贴，共'
        '<span class="red">1</span>页</li></ul>'
        f'<div id="j_p_postlist">{"".join(floors)}</div></body></html>'
    )
    url = "https://tieba.example/p/9"
    response = tieba_response(url, page, "forum:x")
    out = list(spider.parse_thread(response, tid="9", stream="forum:x", page=1))
    items = {i["post_id"]: i for i in out if isinstance(i, MentionItem)}
    assert set(items) == {"901", "902", "903"}
    first = items["901"]
    assert "BDE_Image" in first["text"] and "点击展开" not in first["text"]
    assert first["comments"] == 786 and first["extra"]["sub_replies"] == 0
    assert first["author"] == {"id": "1", "name": "星澜老粉"}
    assert first["extra"]["user_name"] == "acct_one"
    assert items["902"]["author"] == {"id": "2", "name": "贴吧用户_x9Y8"}
    assert items["903"]["author"] == {"id": "3", "name": "小咖"}
    assert items["903"]["comments"] == 2 and items["903"]["parent_post_id"] == "901"
    problems = {k for k in spider.crawler.stats.get_stats() if k.startswith("yuqing/field/")}
    assert problems == set()


def test_tieba_pagelets_after_html_end_are_not_a_truncated_page():
    from crawlers.spiders.tieba import is_truncated

    whole = (
        '<html><body></body></html>\n<code id="pagelet_html_frs-list/pagelet/thread_list">'
        "<!--<ul></ul>--></code>\n<script>Bigpipe.register('frs-list');</script>"
    )
    url = "https://tieba.example/f?kw=x"
    assert not is_truncated(HtmlResponse(url, body=whole.encode(), encoding="utf-8"))
    cut = whole[: whole.index("<ul>") + 4]  # cut inside the pagelet
    assert is_truncated(HtmlResponse(url, body=cut.encode(), encoding="utf-8"))
    assert is_truncated(HtmlResponse(url, body=b"<html><body><div>", encoding="utf-8"))
