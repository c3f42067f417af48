"""The weibo spider against the m.weibo.cn replica: fields, long texts (detail page, extend),
reposts, comments (hotflow's max_id pages, the comments/show fallback), deleted and limited
posts, blocks and faults, incremental runs. Each test runs real crawls (``yuqing crawl``'s
runner)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from replica.harness import CLOCK, FAST, harness, replica  # noqa: F401 (fixtures)
from replica.server import Page
from replica.weibo import (
    FANS_ONLY,
    FRIEND_CIRCLE,
    WeiboSite,
    comment,
    deleted_stub,
    mblog,
    user,
)

from pipeline.config import load_config
from pipeline.crawl import run_crawl

BEIJING = timezone(timedelta(hours=8))
NOW = datetime.fromisoformat(CLOCK)
TOPIC = "星澜咖啡"
LINK = (
    '<a data-url="http://t.cn/A6abcd" href="https://weibo.cn/sinaurl?u=https%3A%2F%2Fexample.com'
    '%2Fa" data-hide=""><span class="surl-text">网页链接</span></a>'
)
HASHTAG = (
    '<a href="https://m.weibo.cn/search?containerid=231522type%3D1%26t%3D10%26q%3D%23%E6%98%9F'
    '%E6%BE%9C%E5%92%96%E5%95%A1%23"><span class="surl-text">#星澜咖啡#</span></a>'
)
FAN = user(2001, "咖啡爱好者", followers="1.2万", verified=True, verified_type=0)
MEDIA = user(3001, "新闻晚报", followers="100万+", verified=True, verified_type=3)
PLAIN = user(4001, "路人甲", followers=35)


def pid(n: int) -> str:
    return f"49{n:014d}"


def ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


def filler(n: int, at: datetime) -> dict:
    return mblog(pid(n), at, f"星澜咖啡 第{n}次打卡", PLAIN, likes=n)


def sample_site() -> WeiboSite:
    original = mblog(pid(900), ago(days=3), "星澜咖啡拿铁里有异物，大家注意", MEDIA, reposts=50)
    posts = [
        mblog(
            pid(1),
            ago(minutes=10),
            f"{HASHTAG}新品很好喝 <a href='/n/小明'>@小明</a> {LINK}",
            FAN,
            created_at="10分钟前",
            reposts="100万+",
            comments=3,
            likes="3亿",
        ),
        mblog(pid(2), NOW, "刚在星澜咖啡排队", PLAIN, created_at="刚刚"),
        mblog(pid(3), ago(hours=3), "星澜咖啡 三小时前", PLAIN, created_at="3小时前"),
        mblog(
            pid(4),
            datetime(2025, 5, 31, 20, 15, tzinfo=BEIJING),
            "昨晚的星澜咖啡",
            PLAIN,
            created_at="昨天 20:15",
        ),
        mblog(
            pid(5),
            datetime(2025, 5, 20, tzinfo=BEIJING),
            "星澜咖啡 五月",
            PLAIN,
            created_at="05-20",
        ),
        mblog(
            pid(6),
            datetime(2024, 12, 31, tzinfo=BEIJING),
            "星澜咖啡 去年",
            PLAIN,
            created_at="2024-12-31",
        ),
        mblog(
            pid(7),
            ago(days=1, hours=1),
            "长文",
            FAN,
            long_text="星澜咖啡的会员积分规则改了。" * 20 + "这是全文的结尾。",
        ),
        mblog(
            pid(8), ago(days=2), "转发微博 //@新闻晚报: 星澜咖啡回应了吗", PLAIN, retweeted=original
        ),
        mblog(pid(9), ago(days=2, hours=1), "星澜咖啡门店服务太差了", FAN, comments=120),
        mblog(pid(10), ago(days=2, hours=2), "星澜咖啡招聘店员", PLAIN),
    ]
    posts += [filler(n, ago(days=4, minutes=n)) for n in range(11, 24)]
    comments = {
        pid(9): [
            comment(pid(9001), ago(days=1), "同感，店员态度很差", PLAIN, likes=12),
            comment(pid(9002), ago(days=1, hours=1), "我也遇到过", FAN, likes=5),
            comment(pid(9003), ago(days=1, hours=2), "投诉了没用", PLAIN),
        ]
    }
    return WeiboSite(posts=posts, comments=comments)


ALL_STORED = {pid(n) for n in [*range(1, 10), *range(11, 24), 900, 9001, 9002, 9003]}


@pytest.fixture
def site(replica):  # noqa: F811
    site = sample_site()
    site.install(replica)
    return site


def test_search_stores_every_post_with_its_fields(harness, site):  # noqa: F811
    result = harness.run("weibo", TOPIC)
    assert result.status == "finished", harness.last_output[-3000:]
    stored = harness.mentions()
    assert set(stored) == ALL_STORED  # pid(10) is a 招聘 post: excluded by the topic

    first = stored[pid(1)]
    assert first["published_at"] == (NOW - timedelta(minutes=10)).astimezone(UTC)
    assert (first["reposts"], first["comments"], first["likes"]) == (1_000_000, 3, 300_000_000)
    assert (first["author_id"], first["author_name"]) == ("2001", "咖啡爱好者")
    assert (first["author_followers"], first["author_verified"]) == (12_000, True)
    assert first["author_verified_type"] == 0
    assert first["extra"]["hashtags"] == ["星澜咖啡"]
    assert "小明" in first["extra"]["mentions"]
    assert "https://example.com/a" in first["extra"]["links"]
    assert first["url"] == f"{harness.replica.base_url}/detail/{pid(1)}"
    assert first["topics"] == [TOPIC]
    assert first["extra"]["ip_location"] == "上海"
    assert first["extra"]["source"] == "iPhone 15 Pro"

    expected_times = {
        2: NOW,
        3: NOW - timedelta(hours=3),
        4: datetime(2025, 5, 31, 20, 15, tzinfo=BEIJING),
        5: datetime(2025, 5, 20, tzinfo=BEIJING),
        6: datetime(2024, 12, 31, tzinfo=BEIJING),
    }
    for n, when in expected_times.items():
        assert stored[pid(n)]["published_at"] == when.astimezone(UTC), n

    assert stored[pid(7)]["text"].endswith("这是全文的结尾。")  # from the detail page
    assert stored[pid(8)]["parent_post_id"] == pid(900)
    assert stored[pid(900)]["author_name"] == "新闻晚报"
    assert stored[pid(900)]["author_followers"] == 1_000_000
    for n in (9001, 9002, 9003):  # hot comments, two pages of max_id paging
        assert stored[pid(n)]["parent_post_id"] == pid(9)
    assert stored[pid(9001)]["likes"] == 12

    run = harness.run_record(result.run_id)
    assert run["status"] == "finished"
    assert run["items"] == len(ALL_STORED)
    assert run["stats"]["dropped"] == {"no_topic": 1}
    assert run["stats"]["streams"][TOPIC]["stopped"] == "end"
    assert run["pages"] >= 3


def test_incremental_run_stops_at_the_last_run_and_stores_only_new_posts(harness, site):  # noqa: F811
    assert harness.run("weibo", TOPIC).status == "finished"
    pages_before = harness.replica.hit_count("getIndex")
    site.posts.append(mblog(pid(30), ago(minutes=1), "星澜咖啡 新帖", PLAIN))
    result = harness.run("weibo", TOPIC)
    assert result.status == "finished"
    # One page reaches the stored posts (the newest minus the 30 minute overlap).
    assert harness.replica.hit_count("getIndex") - pages_before == 1
    assert set(harness.mentions()) == ALL_STORED | {pid(30)}
    run = harness.run_record(result.run_id)
    assert run["stats"]["streams"][TOPIC]["stopped"] == "caught_up"


# Each case puts several faults on different requests of one crawl (crawls take seconds).
FAULT_CASES = {
    "http-codes": [
        ("page=1", {"status": 432}),
        ("page=2", {"status": 503}),
        ("page=2", {"status": 418}),
        ("page=3", {"status": 429}),
        ("/detail/", {"status": 500}),
        ("hotflow", {"status": 403}),
    ],
    "garbage-and-slow": [
        ("page=1", {"body": b'{"ok": 1, "data": {"cards": ['}),  # malformed JSON
        ("page=2", {"body": b"<html><title>Sina Visitor System</title></html>"}),
        ("page=2", {"body": '{"ok": 0, "msg": "请求过于频繁，歇歇吧"}'.encode()}),
        ("page=3", {"delay": 2.5}),  # slower than DOWNLOAD_TIMEOUT
        ("/detail/", {"body": b"<html><script>var x = 1;</script></html>"}),
        ("max_id=", {"body": b"not json"}),
    ],
}


@pytest.mark.parametrize("case", FAULT_CASES)
def test_transient_faults_are_retried_and_nothing_is_lost(harness, site, case):  # noqa: F811
    for match, fault in FAULT_CASES[case]:
        harness.replica.fault(match, **fault)
    result = harness.run("weibo", TOPIC, DOWNLOAD_TIMEOUT=1)
    assert result.status == "finished", harness.last_output[-3000:]
    assert set(harness.mentions()) == ALL_STORED
    assert harness.mentions()[pid(7)]["text"].endswith("这是全文的结尾。")
    assert all(f.times == 0 for f in harness.replica.faults)  # every fault was hit
    errors = harness.run_record(result.run_id)["stats"]["errors"]
    assert sum(errors.values()) >= len(FAULT_CASES[case])


def test_a_lasting_block_ends_the_run_with_a_clear_error(harness, site):  # noqa: F811
    harness.replica.fault("page=2", status=432, times=99)
    result = harness.run("weibo", TOPIC)
    assert result.status == "failed"
    assert result.returncode == 0
    assert "blocked" in harness.run_record(result.run_id)["stats"]["close_reason"]
    assert "http_432" in result.message or "432" in result.message
    stored = harness.mentions()
    assert pid(12) in stored and pid(13) not in stored  # page 1 kept, nothing invented

    # The next run, unblocked, covers everything the blocked one missed.
    harness.replica.faults.clear()
    assert harness.run("weibo", TOPIC).status == "finished"
    assert set(harness.mentions()) == ALL_STORED


def test_garbage_that_persists_is_never_parsed(harness, site):  # noqa: F811
    harness.replica.fault("page=1", body=b"<html>\xe7\x99\xbe\xe5\xba\xa6</html>", times=99)
    result = harness.run("weibo", TOPIC)
    assert result.status == "failed"
    assert "weibo/not_json" in result.message
    assert harness.mentions() == {}


LOGIN_FAULTS = {
    "redirect": {"redirect": "/signin/login?entry=mweibo&r=x"},
    "ok-100": {"body": b'{"ok": -100, "url": "https://passport.weibo.cn/signin/welcome"}'},
}


@pytest.mark.parametrize("kind", LOGIN_FAULTS)
def test_login_redirect_is_reported_as_cookie_expired(harness, site, kind):  # noqa: F811
    harness.replica.fault("page=2", times=99, **LOGIN_FAULTS[kind])
    harness.replica.route("/signin/login", lambda request: Page("<title>登录 - 新浪微博</title>"))
    result = harness.run("weibo", TOPIC)
    assert result.status == "failed"
    assert "cookie expired" in result.message.lower()
    run = harness.run_record(result.run_id)
    assert run["stats"]["close_reason"] == "cookie_expired"
    assert pid(1) in harness.mentions()


def test_same_post_on_two_pages_is_stored_once(harness, site):  # noqa: F811
    # A post published while we page pushes every post down one place: the last post of
    # page 1 shows up again at the top of page 2.
    site.insert_after_first_page = mblog(pid(40), ago(minutes=2), "星澜咖啡 刚发", PLAIN)
    result = harness.run("weibo", TOPIC)
    assert result.status == "finished"
    run = harness.run_record(result.run_id)
    assert run["stats"]["dropped"].get("duplicate") == 1
    assert set(harness.mentions()) == ALL_STORED
    # The post that arrived mid-run is picked up by the next run.
    harness.run("weibo", TOPIC)
    assert set(harness.mentions()) == ALL_STORED | {pid(40)}


def test_post_deleted_between_runs_and_before_its_detail_fetch(harness, site):  # noqa: F811
    assert harness.run("weibo", TOPIC).status == "finished"
    site.posts = [p for p in site.posts if p["id"] != pid(3)]
    new_long = mblog(pid(41), ago(minutes=1), "x", FAN, long_text="星澜咖啡" * 50)
    site.posts.append(new_long)
    harness.replica.fault(f"/detail/{pid(41)}", body="<p>微博不存在或暂无查看权限!</p>".encode())
    result = harness.run("weibo", TOPIC)
    assert result.status == "finished"
    stored = harness.mentions()
    assert pid(3) in stored  # a deletion does not erase what was observed
    assert pid(41) not in stored  # deleted before its full text could be read
    assert set(stored) == ALL_STORED


def test_interrupted_run_is_resumed_without_gaps(harness, site):  # noqa: F811
    assert harness.run("weibo", TOPIC).status == "finished"
    site.posts += [filler(100 + n, ago(minutes=5 + n)) for n in range(25)]
    harness.replica.fault("page=2", status=432, times=99)
    assert harness.run("weibo", TOPIC).status == "failed"
    harness.replica.faults.clear()
    result = harness.run("weibo", TOPIC)
    assert result.status == "finished"
    assert set(harness.mentions()) == ALL_STORED | {pid(100 + n) for n in range(25)}


# -- comments: hotflow's max_id cursors, the comments/show fallback ---------------------------

HOT = pid(60)
CHATTY = [  # seven comments: four hotflow pages of two, three comments/show pages of three
    comment(pid(6000 + n), ago(hours=n), f"第{n}条评论", PLAIN if n % 2 else FAN, likes=n, where=w)
    for n, w in zip(range(1, 8), ["上海", "北京", "广东", "", "浙江", "四川", "海外"], strict=True)
]
CHATTY_IDS = {c["id"] for c in CHATTY}


def comments_site() -> WeiboSite:
    post = mblog(HOT, ago(hours=1), "星澜咖啡又上热搜了", MEDIA, comments=4800)
    return WeiboSite(posts=[post], comments={HOT: CHATTY})


def test_hot_comments_follow_max_id_to_the_last_page(harness, replica):  # noqa: F811
    site = comments_site()
    site.install(replica)
    result = harness.run("weibo", TOPIC, WEIBO_COMMENT_PAGES=10)
    assert result.status == "finished", harness.last_output[-3000:]
    stored = harness.mentions()
    assert set(stored) == {HOT} | CHATTY_IDS
    for c in CHATTY:
        row = stored[c["id"]]
        assert row["parent_post_id"] == HOT, c["id"]
        assert row["likes"] == c["like_count"]
        assert row["text"] == c["text"]
        assert row["extra"]["kind"] == "comment"
    assert stored[pid(6001)]["extra"]["ip_location"] == "上海"
    assert "ip_location" not in stored[pid(6004)]["extra"]  # no 来自 shown: none invented
    hits = [url for url in replica.hits if "/comments/hotflow" in url]
    assert len(hits) == 4  # 2 + 2 + 2 + 1, the last answering max_id 0
    assert "max_id=" not in hits[0]
    assert all("max_id=" in url for url in hits[1:])
    # The cursor type is sent back as given: 0 for page 2, 1 after (the replica refuses others).
    assert "max_id_type=0" in hits[1] and "max_id_type=1" in hits[3]
    assert replica.hit_count("/api/comments/show") == 0
    stats = harness.run_record(result.run_id)["stats"]
    assert stats["scrapy"]["yuqing/pages/comments/hotflow"] == 4
    assert stats["parse_failed"] == {} and stats["field_problems"] == {}


def test_comment_pages_per_post_are_capped(harness, replica):  # noqa: F811
    comments_site().install(replica)
    result = harness.run("weibo", TOPIC, WEIBO_COMMENT_PAGES=3)
    assert result.status == "finished", harness.last_output[-3000:]
    assert replica.hit_count("/comments/hotflow") == 3
    assert set(harness.mentions()) == {HOT} | {pid(6000 + n) for n in range(1, 7)}


COMMENT_FALLBACKS = {
    # hotflow answers ok: 0 for the post (comments closed to hotflow, or not logged in).
    "refused": ({"hotflow_refused": {HOT}}, None, {}, 1),
    # hotflow's second page is refused (an anonymous visitor gets only the first).
    "later-page-refused": ({}, ("max_id=", '{"ok": 0, "msg": "请求失败"}'), {}, 2),
    # The operator chose the older API for every post.
    "setting": ({}, None, {"WEIBO_COMMENTS_API": "show"}, 0),
}


@pytest.mark.parametrize("case", COMMENT_FALLBACKS)
def test_comments_show_is_the_fallback(harness, replica, case):  # noqa: F811
    site_args, fault, settings, hotflow_hits = COMMENT_FALLBACKS[case]
    site = comments_site()
    for name, value in site_args.items():
        setattr(site, name, value)
    site.install(replica)
    if fault:
        replica.fault(fault[0], body=fault[1].encode())
    result = harness.run("weibo", TOPIC, WEIBO_COMMENT_PAGES=10, **settings)
    assert result.status == "finished", harness.last_output[-3000:]
    stored = harness.mentions()
    assert set(stored) == {HOT} | CHATTY_IDS
    for c in CHATTY:  # comments/show says like_counts; the same numbers land in likes
        assert stored[c["id"]]["likes"] == c["like_count"]
        assert stored[c["id"]]["parent_post_id"] == HOT
    assert stored[pid(6002)]["extra"]["ip_location"] == "北京"
    assert replica.hit_count("/comments/hotflow") == hotflow_hits
    assert replica.hit_count("/api/comments/show") == 3  # pages 1..max (3), never past it
    run = harness.run_record(result.run_id)
    assert run["stats"]["scrapy"].get("yuqing/weibo/comments_fallback", 0) == (
        0 if case == "setting" else 1
    )
    assert run["stats"]["parse_failed"] == {}
    if case == "later-page-refused":  # page 1's two comments came again from comments/show
        assert run["stats"]["dropped"] == {"duplicate": 2}


def test_a_rate_limited_comment_page_is_retried_not_abandoned(harness, replica):  # noqa: F811
    comments_site().install(replica)
    replica.fault("max_id=", body='{"ok": 0, "msg": "请求过于频繁，歇歇吧"}'.encode())
    result = harness.run("weibo", TOPIC, WEIBO_COMMENT_PAGES=10)
    assert result.status == "finished", harness.last_output[-3000:]
    assert set(harness.mentions()) == {HOT} | CHATTY_IDS
    assert replica.hit_count("/api/comments/show") == 0
    assert harness.run_record(result.run_id)["stats"]["errors"] == {"weibo/not_ok/0": 1}


# -- deleted and limited-visibility posts -----------------------------------------------------

GONE_PARENT, HIDDEN_PARENT = pid(950), pid(951)


def withheld_site() -> WeiboSite:
    hidden_parent = mblog(
        HIDDEN_PARENT, ago(days=2), "星澜咖啡内部消息", FAN, visible=FANS_ONLY, hidden=True
    )
    posts = [
        mblog(
            pid(50),
            ago(hours=1),
            "星澜咖啡这条被删了？//@新闻晚报: 原文",
            PLAIN,
            retweeted=deleted_stub(GONE_PARENT, ago(days=1)),
        ),
        mblog(pid(51), ago(hours=2), "星澜咖啡 转发一下", PLAIN, retweeted=hidden_parent),
        # A friend-circle post matches the search but we may not read it.
        mblog(pid(52), ago(hours=3), "星澜咖啡 好友圈", FAN, visible=FRIEND_CIRCLE, hidden=True),
        # A fans-only post our cookie may read: real words, kept and marked.
        mblog(pid(53), ago(hours=4), "星澜咖啡 粉丝福利", MEDIA, visible=FANS_ONLY),
        # Listed, then deleted before its full text was fetched (detail and extend say so).
        mblog(pid(54), ago(hours=5), "x", FAN, long_text="星澜咖啡的声明" * 40),
        # Real words about a deletion are not a notice.
        mblog(pid(55), ago(hours=6), "星澜咖啡那条道歉微博已被删除了？抱歉没截图", PLAIN),
    ]
    return WeiboSite(posts=posts, deleted={pid(54)}, grouped_on_first_page=0)


STUB_WORDS = ("抱歉", "删除", "查看权限", "无法查看", "不存在")


def test_deleted_and_limited_posts_are_counted_never_stored_as_text(harness, replica):  # noqa: F811
    withheld_site().install(replica)
    result = harness.run("weibo", TOPIC)
    assert result.status == "finished", harness.last_output[-3000:]
    stored = harness.mentions()
    assert set(stored) == {pid(50), pid(51), pid(53), pid(55)}
    for n in (50, 51, 53):
        text = stored[pid(n)]["text"]
        assert not any(word in text for word in STUB_WORDS), text
    # The reposts keep the link to their parent, marked as unreadable.
    assert stored[pid(50)]["parent_post_id"] == GONE_PARENT
    assert stored[pid(50)]["extra"]["parent_withheld"] == "deleted"
    assert stored[pid(51)]["parent_post_id"] == HIDDEN_PARENT
    assert stored[pid(51)]["extra"]["parent_withheld"] == "limited"
    assert stored[pid(53)]["extra"]["visible_type"] == FANS_ONLY
    assert "visible_type" not in stored[pid(50)]["extra"]
    assert replica.hit_count(f"/detail/{pid(54)}") == 1  # the notice is an answer, not retried
    assert replica.hit_count("/statuses/extend") == 0
    stats = harness.run_record(result.run_id)["stats"]
    withheld = {
        k.removeprefix("yuqing/withheld/weibo/"): n
        for k, n in stats["scrapy"].items()
        if k.startswith("yuqing/withheld/")
    }
    assert withheld == {
        "retweet/deleted": 1,
        "retweet/limited": 1,
        "search/limited": 1,
        "detail/gone": 1,
    }
    assert stats["scrapy"]["yuqing/shown_empty/detail"] == 1
    assert stats["parse_failed"] == {} and stats["field_problems"] == {}
    assert stats["errors"] == {}


def test_refresh_keeps_what_was_stored_when_a_post_is_deleted_or_hidden(harness, replica):  # noqa: F811
    site = withheld_site()
    site.deleted = set()
    site.install(replica)
    assert harness.run("weibo", TOPIC).status == "finished"
    before = harness.mentions()
    site.deleted = {pid(50)}
    next(p for p in site.posts if p["id"] == pid(53))["_hidden"] = True
    result = run_crawl(
        "weibo",
        None,
        load_config(harness.config_path),
        settings=FAST,
        capture_output=True,
        spider_args={"refresh": f"{pid(50)},{pid(53)},{pid(51)}"},
    )
    assert result.status == "finished", result.output[-3000:]
    after = harness.mentions()
    for n in (50, 51, 53):
        assert after[pid(n)]["text"] == before[pid(n)]["text"]
    stats = harness.run_record(result.run_id)["stats"]
    assert stats["field_problems"] == {"weibo/refresh_gone": 1}  # ok: 0 "已被作者删除"
    assert stats["scrapy"]["yuqing/withheld/weibo/status/limited"] == 1  # the stub status
    assert stats["scrapy"]["yuqing/shown_empty/status"] == 2
    assert stats["parse_failed"] == {}


# -- long texts -------------------------------------------------------------------------------


def test_long_text_comes_from_extend_when_the_detail_page_fails(harness, site):  # noqa: F811
    harness.replica.fault(f"/detail/{pid(7)}", status=500, times=99)
    result = harness.run("weibo", TOPIC)
    assert result.status == "finished", harness.last_output[-3000:]
    stored = harness.mentions()
    assert set(stored) == ALL_STORED
    assert stored[pid(7)]["text"].endswith("这是全文的结尾。")
    assert "text_truncated" not in stored[pid(7)]["extra"]
    assert harness.replica.hit_count(f"/statuses/extend?id={pid(7)}") == 1


def test_long_text_is_stored_cut_and_marked_when_both_sources_fail(harness, site):  # noqa: F811
    harness.replica.fault(f"/detail/{pid(7)}", status=500, times=99)
    harness.replica.fault("/statuses/extend", status=500, times=99)
    result = harness.run("weibo", TOPIC)
    # Stored, but the stream has a hole: the next run reads it again.
    assert result.status == "partial", harness.last_output[-3000:]
    stored = harness.mentions()
    assert set(stored) == ALL_STORED
    assert stored[pid(7)]["extra"]["text_truncated"] is True
    assert not stored[pid(7)]["text"].endswith("这是全文的结尾。")
    stats = harness.run_record(result.run_id)["stats"]
    assert stats["field_problems"] == {"weibo/long_text_unavailable": 1}


def test_comments_refused_by_both_apis_leave_the_post_and_the_run_alone(harness, replica):  # noqa: F811
    comments_site().install(replica)
    for path, msg in (("/comments/hotflow", "请求失败"), ("/api/comments/show", "暂无查看权限")):
        replica.fault(path, body=f'{{"ok": 0, "msg": "{msg}"}}'.encode(), times=99)
    result = harness.run("weibo", TOPIC)
    assert result.status == "finished", harness.last_output[-3000:]
    assert set(harness.mentions()) == {HOT}
    assert replica.hit_count("/comments/hotflow") == 1  # not retried: an answer, not a block
    assert replica.hit_count("/api/comments/show") == 1
    stats = harness.run_record(result.run_id)["stats"]
    assert stats["scrapy"]["yuqing/weibo/comments_refused"] == 1
    assert stats["errors"] == {} and stats["parse_failed"] == {}
