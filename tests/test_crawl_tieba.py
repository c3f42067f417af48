"""The tieba spider against the Tieba replica: search, forum lists, thread pages, blocks,
truncated pages and incremental runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from replica.harness import CLOCK, harness, replica  # noqa: F401 (fixtures)
from replica.tieba import TiebaPost, TiebaSite, TiebaThread

BEIJING = timezone(timedelta(hours=8))
NOW = datetime.fromisoformat(CLOCK)
TOPIC = "星澜咖啡"
FORUM = "星澜咖啡"
BLOCK_PAGE = (
    "<!DOCTYPE html><html><head><title>百度安全验证</title></head>"
    "<body>网络不给力，请稍后重试</body></html>"
).encode()


def at(days=0, hours=0, minutes=0) -> datetime:
    return (NOW - timedelta(days=days, hours=hours, minutes=minutes)).replace(second=0)


def post(pid, text, when, user="吧友", region="广东") -> TiebaPost:
    return TiebaPost(pid, 7000 + pid % 100, user, text, when, ip_region=region)


def sample_site() -> TiebaSite:
    rules = TiebaThread(
        1, FORUM, "【吧规】新人必看", [post(100, "本吧吧规，请文明发言", at(days=400))], True
    )
    review = TiebaThread(
        2,
        FORUM,
        "星澜咖啡新品测评",
        [
            post(200, "今天试了星澜咖啡的新品，味道一般", at(days=2), "测评君", "上海"),
            post(201, "同意", at(days=2, hours=-1)),
            post(202, "星澜咖啡的拿铁还是不错的", at(days=1, hours=5)),
            post(203, "星澜咖啡涨价了吧", at(days=1)),
            post(204, "路过", at(hours=20)),
        ],
    )
    complaint = TiebaThread(
        3,
        FORUM,
        "门店服务太差",
        [
            post(300, "星澜咖啡某门店店员态度恶劣", at(days=3), "气愤的顾客", "北京"),
            post(301, "星澜咖啡招聘店员不培训吗", at(days=3, hours=-2)),
        ],
    )
    elsewhere = TiebaThread(
        4, "咖啡", "求推荐咖啡", [post(400, "星澜咖啡和别家比怎么样", at(days=1, hours=2))]
    )
    fillers = [
        TiebaThread(10 + n, FORUM, f"水贴{n}", [post(1000 + n, "水", at(days=5, minutes=n))])
        for n in range(4)
    ]
    return TiebaSite(
        threads=[rules, review, complaint, elsewhere, *fillers],
        forum_page_size=3,
        search_page_size=3,
    )


# 201, 204 and the fillers do not mention the topic; 301 is a 招聘 post; 100 is the rules.
EXPECTED = {"200", "202", "203", "300", "400"}


@pytest.fixture
def site(replica):  # noqa: F811
    site = sample_site()
    site.install(replica)
    return site


@pytest.fixture
def tieba(harness):  # noqa: F811
    harness.configure(f'tieba_forums = ["{FORUM}"]')
    return harness


def test_search_and_forum_store_every_matching_post(tieba, site):
    result = tieba.run("tieba", TOPIC)
    assert result.status == "finished", tieba.last_output[-3000:]
    stored = tieba.mentions()
    assert set(stored) == EXPECTED

    first = stored["200"]
    assert first["title"] == "星澜咖啡新品测评"
    assert (first["author_id"], first["author_name"]) == ("7000", "测评君")
    assert first["published_at"] == at(days=2).astimezone(UTC)
    assert first["extra"]["ip_location"] == "上海"
    assert first["extra"]["floor"] == 1
    assert first["parent_post_id"] is None
    assert first["url"].endswith("/p/2?pid=200#200")
    assert stored["203"]["parent_post_id"] == "200"  # a reply on the thread's second page
    assert stored["203"]["title"] is None
    assert stored["400"]["extra"]["forum"] == "咖啡吧"  # found by search only

    run = tieba.run_record(result.run_id)
    assert run["stats"]["dropped"]["no_topic"] >= 4
    assert run["stats"]["streams"][f"forum:{FORUM}"]["stopped"] == "end"


def test_incremental_run_reads_only_threads_with_new_replies(tieba, site):
    assert tieba.run("tieba", TOPIC).status == "finished"
    site.threads[1].posts.append(post(205, "星澜咖啡今天排长队", at(minutes=5)))
    before = len(tieba.replica.hits)
    result = tieba.run("tieba", TOPIC)
    assert result.status == "finished"
    assert set(tieba.mentions()) == EXPECTED | {"205"}
    # Thread 2 (first page and its newest pages) is re-read; the quiet threads are not.
    threads = [h for h in tieba.replica.hits[before:] if h.startswith("/p/")]
    assert threads and all(h.startswith("/p/2") for h in threads)


def test_block_page_is_retried_then_ends_the_run(tieba, site):
    tieba.replica.fault("/f/search/res", body=BLOCK_PAGE)
    tieba.replica.fault("/f?kw", redirect="/static/captcha/tuxing.html?ak=x&backurl=/f")
    assert tieba.run("tieba", TOPIC).status == "finished"
    assert set(tieba.mentions()) == EXPECTED

    tieba.replica.fault("/p/2", body=BLOCK_PAGE, times=99)
    result = tieba.run("tieba", TOPIC, CRAWL_FULL=True)
    assert result.status == "failed"
    assert "tieba/blocked" in result.message
    assert tieba.run_record(result.run_id)["stats"]["close_reason"] == "blocked"


def test_truncated_html_is_refetched_not_half_parsed(tieba, site):
    tieba.replica.fault("/p/2", truncate=True, times=2)
    tieba.replica.fault("/f?kw", truncate=True)
    result = tieba.run("tieba", TOPIC)
    assert result.status == "finished", tieba.last_output[-3000:]
    assert set(tieba.mentions()) == EXPECTED
    assert tieba.run_record(result.run_id)["stats"]["errors"]["truncated"] == 3


def test_lasting_truncation_leaves_the_stream_to_the_next_run(tieba, site):
    tieba.replica.fault("/p/3", truncate=True, times=99)
    result = tieba.run("tieba", TOPIC)
    assert result.status == "partial"
    assert "truncated" in result.message
    # The page given up after its retries is an error of the run, not a quiet "0 errors".
    assert result.errors == 1
    assert set(tieba.mentions()) == EXPECTED - {"300"}
    tieba.replica.faults.clear()
    assert tieba.run("tieba", TOPIC).status == "finished"
    assert set(tieba.mentions()) == EXPECTED


def test_thread_deleted_between_runs(tieba, site):
    assert tieba.run("tieba", TOPIC).status == "finished"
    del site.threads[2]  # the complaint thread is gone (404 "该贴已被删除")
    result = tieba.run("tieba", TOPIC, CRAWL_FULL=True)
    assert result.status == "finished"
    assert set(tieba.mentions()) == EXPECTED  # what was observed stays


def test_without_a_topic_every_configured_topic_is_searched(tieba, site):
    site.threads.append(
        TiebaThread(20, "数码", "青禾X5值得买吗", [post(2000, "青禾X5续航怎么样", at(days=1))])
    )
    result = tieba.run("tieba")
    assert result.status == "finished", tieba.last_output[-3000:]
    assert set(tieba.mentions()) == EXPECTED | {"2000"}
    streams = tieba.run_record(result.run_id)["stats"]["streams"]
    assert {"search:星澜咖啡", "search:青禾手机", "search:青禾X5", f"forum:{FORUM}"} <= set(streams)


def test_bigpipe_forum_list_requests_every_thread_and_follows_the_pager(tieba, site):
    # The fillers mention nothing searched: only the forum list (rows and pager in pagelets
    # after an early </html>) leads to them, and 水贴3 sits on the list's third page.
    result = tieba.run("tieba", TOPIC)
    assert result.status == "finished", tieba.last_output[-3000:]
    hits = tieba.replica.hits
    assert {"/p/10", "/p/11", "/p/12", "/p/13"} <= {h.split("?")[0] for h in hits}
    assert any("pn=6" in h for h in hits if h.startswith("/f?"))
    stats = tieba.run_record(result.run_id)["stats"]
    assert stats["scrapy"]["yuqing/pages/forum"] == 3


def test_real_thread_page_shapes_are_stored_right(tieba, site):
    shop = TiebaThread(
        5,
        FORUM,
        "星澜咖啡新店照片",
        [
            TiebaPost(500, 7500, "xl_fan2019", "星澜咖啡新店开业", at(hours=3), images=2),
            TiebaPost(
                501, 7501, "", "星澜咖啡排队好长", at(hours=2), display_name="贴吧用户_a1B2c3"
            ),
            TiebaPost(
                502,
                7502,
                "coffee_w",
                "星澜咖啡还行",
                at(hours=1),
                display_name="咖啡小王子☕",
                comment_num=4,
            ),
            TiebaPost(503, 7503, "x", "星澜咖啡第二页", at(minutes=30), display_name="路人"),
            TiebaPost(504, 0, "", "星澜咖啡游客楼层", at(minutes=20), display_name="59.42.*.*"),
        ],
        replies=786,
    )
    site.threads.append(shop)
    result = tieba.run("tieba", TOPIC)
    assert result.status == "finished", tieba.last_output[-3000:]
    stored = tieba.mentions()
    assert {"500", "501", "502", "503", "504"} <= set(stored)
    first = stored["500"]
    assert first["text"] == "星澜咖啡新店开业"  # no "点击展开，查看完整图片" from the images
    assert first["comments"] == 786  # the thread's replies, from "786回复贴"
    assert (first["author_id"], first["author_name"]) == ("7500", "xl_fan2019")
    assert (stored["501"]["author_id"], stored["501"]["author_name"]) == ("7501", "贴吧用户_a1B2c3")
    assert stored["502"]["author_name"] == "咖啡小王子☕"
    assert stored["502"]["extra"]["user_name"] == "coffee_w"  # the account name is kept aside
    assert stored["502"]["comments"] == 4
    assert stored["503"]["parent_post_id"] == "500"
    assert (stored["504"]["author_id"], stored["504"]["author_name"]) == (None, "59.42.*.*")
    # The empty placeholder floor on each thread page is no field problem.
    problems = tieba.run_record(result.run_id)["stats"]["field_problems"]
    assert not any(key.startswith("tieba/thread/") for key in problems), problems


# The forum list after a redesign: a real, complete page whose thread rows our selectors no
# longer know (new class names, no data-field).
REDESIGNED_LIST = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>星澜咖啡吧-百度贴吧</title></head>'
    '<body><ul class="thread-feed"><li class="thread-card" data-tid="2">'
    '<a href="/p/2">星澜咖啡新品测评</a><span class="reply-time">12:01</span></li>'
    '<li class="thread-card" data-tid="3"><a href="/p/3">门店服务太差</a></li></ul>'
    "</body></html>"
).encode()


def test_a_list_page_that_stopped_parsing_fails_the_run_keeps_the_page_and_warns_ops(tieba, site):
    tieba.replica.fault("/f?kw", body=REDESIGNED_LIST, times=99)
    result = tieba.run("tieba", TOPIC)
    assert result.status == "failed", tieba.last_output[-3000:]
    assert "page layout changed?" in result.message and "/f?kw=" in result.message
    record = tieba.run_record(result.run_id)
    assert record["stats"]["parse_failed"] == {"list": 1}
    assert result.errors >= 1
    # The search stream still did its work; the broken forum stream keeps its old watermark.
    assert set(tieba.mentions()) == EXPECTED
    forum_stream = record["stats"]["streams"][f"forum:{FORUM}"]
    assert forum_stream["failed"] == "layout_changed"
    assert not forum_stream["watermark_advanced"]
    # A copy of the page, as served, for whoever fixes the parser.
    folder = tieba.pages_dir / "tieba" / str(result.run_id)
    assert (folder / "01-list.html").read_bytes() == REDESIGNED_LIST
    assert "/f?kw=" in (folder / "pages.jsonl").read_text(encoding="utf-8")
    assert str(folder / "01-list.html") in result.message

    # Ops hear of it on the first such run, through the normal alert path.
    from pipeline.alerting import evaluate
    from pipeline.config import load_config
    from storage.db import Store

    sent = []
    store = Store.open(tieba.db_url)
    try:
        evaluate(load_config(tieba.config_path), store, datetime.now(UTC), notify=sent.append)
    finally:
        store.close()
    [opened] = [n for n in sent if n["topic"] == "ops"]
    assert (opened["event"], opened["severity"]) == ("opened", "warning")
    assert "页面结构可能已变化" in opened["evidence"]["summary"]


def test_a_run_whose_pages_all_come_back_empty_fails_when_earlier_runs_had_items(tieba, site):
    tieba.configure()  # search only: no forum lists
    assert tieba.run("tieba", TOPIC).status == "finished"
    assert tieba.mentions()
    # The site now answers "nothing found" to every search (a silent block, or a search that
    # moved): each page alone is a legitimate empty answer, the run as a whole is not.
    empty = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>百度贴吧_全吧搜索</title>"
        "</head><body><div class='s_noresult'>抱歉，没有找到与“星澜咖啡”相关的结果。</div>"
        "</body></html>"
    ).encode()
    tieba.replica.fault("/f/search/res", body=empty, times=99)
    result = tieba.run("tieba", TOPIC, CRAWL_FULL=True)
    assert result.status == "failed", tieba.last_output[-3000:]
    assert "no entries on any of" in result.message
    assert "previous runs stored" in result.message
    assert tieba.run_record(result.run_id)["stats"]["parse_failed"] == {"run": 1}
