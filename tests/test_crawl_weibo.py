"""The weibo spider against the m.weibo.cn replica: fields, long texts, reposts, hot comments,
blocks and faults, incremental runs. Each test runs real crawls (``yuqing crawl``'s runner)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from replica.harness import CLOCK, harness, replica  # noqa: F401 (fixtures)
from replica.server import Page
from replica.weibo import WeiboSite, comment, mblog, user

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
