"""The discuz spider against Discuz! X and 7 replicas in GBK and GB18030: forums added by config
alone, sticky threads, thread pages, charsets, robots.txt, incremental runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from replica.discuz import DiscuzSite, DzPost, DzThread
from replica.harness import CLOCK, harness, replica  # noqa: F401 (fixtures)

NOW = datetime.fromisoformat(CLOCK)


def at(days=0, hours=0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def x_site() -> DiscuzSite:
    threads = [
        DzThread(1, 2, "【置顶】版规", [DzPost(10, 1, "版主", "请文明发言", at(days=300))], True),
        DzThread(
            2,
            2,
            "星澜咖啡会员卡退款难",
            [
                DzPost(20, 101, "老顾客", "办了星澜咖啡的储值卡，现在退不了款", at(days=2)),
                DzPost(21, 102, "路人", "顶一下", at(days=2, hours=-1)),
                DzPost(22, 103, "消费者", "星澜咖啡客服电话打不通", at(days=1)),
                DzPost(23, 104, "热心网友", "建议12315投诉星澜咖啡", at(hours=5)),
            ],
        ),
        DzThread(3, 2, "今天天气不错", [DzPost(30, 105, "闲人", "出去走走", at(days=1))]),
        DzThread(4, 2, "咖啡豆推荐", [DzPost(40, 106, "豆友", "星澜咖啡的豆子一般", at(days=3))]),
        DzThread(5, 2, "旧帖", [DzPost(50, 107, "老人", "星澜咖啡开业了", at(days=30))]),
        DzThread(6, 36, "青禾手机卡顿", [DzPost(60, 108, "机友", "青禾X5发热严重", at(days=1))]),
    ]
    return DiscuzSite(version="x", prefix="/bbs", threads=threads)


def d7_site() -> DiscuzSite:
    threads = [
        DzThread(
            7,
            5,
            "𠮷野家旁边的星澜咖啡",  # 𠮷 exists in GB18030 only, not in GBK
            [
                DzPost(70, 201, "老会员", "星澜咖啡门口排队，𠮷野家都没人", at(days=1)),
                DzPost(71, 202, "回复者", "星澜咖啡新店在哪", at(hours=3)),
            ],
        ),
    ]
    return DiscuzSite(
        version="7", prefix="/old", threads=threads, charset_in_header=False, encoding="gb18030"
    )


FORUMS = """
[[crawl.discuz]]
name = "coffeebbs"
base_url = "{base}/bbs"
forum_ids = [2, 36]
version = "x"

[[crawl.discuz]]
name = "oldbbs"
base_url = "{base}/old"
forum_ids = [5]
version = "7"
"""
X_EXPECTED = {f"coffeebbs-{pid}" for pid in (20, 22, 23, 40, 50, 60)}
D7_EXPECTED = {"oldbbs-70", "oldbbs-71"}


@pytest.fixture
def sites(replica):  # noqa: F811
    x, d7 = x_site(), d7_site()
    x.install(replica)
    d7.install(replica)
    return x, d7


@pytest.fixture
def discuz(harness, replica):  # noqa: F811
    harness.configure(FORUMS.format(base=replica.base_url))
    return harness


def test_forums_from_config_are_crawled_in_both_versions_and_charsets(discuz, sites):
    result = discuz.run("discuz")
    assert result.status == "finished", discuz.last_output[-3000:]
    stored = discuz.mentions()
    assert set(stored) == X_EXPECTED | D7_EXPECTED

    first = stored["coffeebbs-20"]
    assert first["title"] == "星澜咖啡会员卡退款难"
    assert "办了星澜咖啡的储值卡，现在退不了款</td>" in first["raw_text"]
    assert first["text"] == "办了星澜咖啡的储值卡,现在退不了款"  # NFKC-folded by normalise
    assert (first["author_id"], first["author_name"]) == ("101", "老顾客")
    assert first["published_at"] == at(days=2).astimezone(UTC).replace(microsecond=0)
    assert first["topics"] == ["星澜咖啡"]
    assert stored["coffeebbs-23"]["parent_post_id"] == "coffeebbs-20"  # on page 2
    assert stored["coffeebbs-60"]["topics"] == ["青禾手机"]

    old = stored["oldbbs-70"]
    assert old["title"] == "𠮷野家旁边的星澜咖啡"
    assert "𠮷野家都没人" in old["text"]
    assert (old["author_id"], old["author_name"]) == ("201", "老会员")
    assert stored["oldbbs-71"]["published_at"] == at(hours=3).astimezone(UTC).replace(
        second=0, microsecond=0
    )


def test_a_new_forum_needs_only_a_config_entry(discuz, replica, sites):  # noqa: F811
    extra = DiscuzSite(
        version="x",
        prefix="/newbbs",
        threads=[DzThread(9, 1, "新论坛", [DzPost(90, 1, "甲", "星澜咖啡好喝", at(days=1))])],
    )
    extra.install(replica)
    discuz.configure(
        FORUMS.format(base=replica.base_url)
        + f'\n[[crawl.discuz]]\nname = "newbbs"\nbase_url = "{replica.base_url}/newbbs"\n'
        "forum_ids = [1]\n"
    )
    assert discuz.run("discuz").status == "finished"
    assert "newbbs-90" in discuz.mentions()


def test_incremental_run_reads_only_threads_with_new_replies(discuz, sites):
    x, _ = sites
    assert discuz.run("discuz").status == "finished"
    x.threads[2].posts.append(DzPost(31, 109, "新人", "星澜咖啡出新品了", at(hours=1)))
    before = len(discuz.replica.hits)
    result = discuz.run("discuz")
    assert result.status == "finished"
    assert set(discuz.mentions()) == X_EXPECTED | D7_EXPECTED | {"coffeebbs-31"}
    threads = [h for h in discuz.replica.hits[before:] if "tid=" in h]
    # Thread 3 has the new reply; the newest thread of each board is re-read because it lies
    # within the overlap; older quiet threads are not read again.
    assert any("tid=3" in h for h in threads)
    assert not any(f"tid={tid}&" in h for h in threads for tid in (4, 5))


def test_robots_txt_is_obeyed_unless_configured_off(discuz, replica):  # noqa: F811
    hidden = DiscuzSite(
        version="x",
        prefix="/private/bbs",
        threads=[DzThread(8, 1, "内部", [DzPost(80, 1, "甲", "星澜咖啡内部讨论", at(days=1))])],
    )
    hidden.install(replica)
    forum = (
        f'[[crawl.discuz]]\nname = "hidden"\nbase_url = "{replica.base_url}/private/bbs"\n'
        "forum_ids = [1]\n"
    )
    discuz.configure(forum)
    result = discuz.run("discuz")
    assert result.status == "partial"  # the board could not be read
    assert replica.hit_count("/private/") == 0
    assert discuz.mentions() == {}

    discuz.configure("obey_robots = false\n" + forum)
    assert discuz.run("discuz").status == "finished"
    assert set(discuz.mentions()) == {"hidden-80"}


def test_server_errors_and_truncated_pages_are_retried(discuz, sites):
    discuz.replica.fault("fid=2", status=502)
    discuz.replica.fault("tid=2&page=2", truncate=True)
    discuz.replica.fault("viewthread.php?tid=7", status=500, times=2)
    result = discuz.run("discuz")
    assert result.status == "finished", discuz.last_output[-3000:]
    assert set(discuz.mentions()) == X_EXPECTED | D7_EXPECTED


def test_a_thread_deleted_after_the_board_listed_it_is_no_layout_failure(discuz, sites):
    x, _ = sites
    next(t for t in x.threads if t.tid == 4).deleted = True
    result = discuz.run("discuz")
    # The site's own "主题不存在或已被删除" page is an answer, not a parser that went blind.
    assert result.status == "finished", discuz.last_output[-3000:]
    assert set(discuz.mentions()) == (X_EXPECTED - {"coffeebbs-40"}) | D7_EXPECTED
    stats = discuz.run_record(result.run_id)["stats"]
    assert stats["field_problems"] == {"discuz/thread/unavailable": 1}
    assert not stats["parse_failed"]


def chrome_site(version: str, prefix: str) -> DiscuzSite:
    """A board as a guest sees it: notices, attachment widgets, edit lines, quotes, 楼主/沙发.
    Every post names the topic, since only matching posts are stored."""
    posts = [
        DzPost(100, 301, "楼主甲", "星澜咖啡的杯子漏水", at(days=1), attachment="杯子.jpg"),
        DzPost(101, 302, "回复乙", "星澜咖啡我也遇到过", at(hours=20), edited_by="回复乙"),
        DzPost(
            102,
            303,
            "回复丙",
            "星澜咖啡客服说可以换",
            at(hours=10),
            quote=("楼主甲", "星澜咖啡的杯子漏水"),
        ),
        DzPost(103, 304, "回复丁", "星澜咖啡换了一个新的", at(hours=5)),
        DzPost(104, 305, "回复戊", "星澜咖啡处理得还行", at(hours=2)),
    ]
    return DiscuzSite(
        version=version,
        prefix=prefix,
        threads=[DzThread(11, 7, "星澜咖啡杯子漏水", posts)],
        guest_notice=True,
        named_floors=True,
    )


@pytest.mark.parametrize("version", ["x", "7"])
def test_posts_hold_only_their_authors_words_with_quotes_and_floors_apart(
    harness,  # noqa: F811
    replica,  # noqa: F811
    version,
):
    chrome_site(version, "/guest").install(replica)
    harness.configure(
        f'[[crawl.discuz]]\nname = "guest"\nbase_url = "{replica.base_url}/guest"\n'
        f'forum_ids = [7]\nversion = "{version}"\n'
    )
    assert harness.run("discuz").status == "finished", harness.last_output[-3000:]
    stored = harness.mentions()
    texts = {pid: stored[f"guest-{pid}"]["text"] for pid in range(100, 105)}
    assert texts == {
        100: "星澜咖啡的杯子漏水",
        101: "星澜咖啡我也遇到过",
        102: "星澜咖啡客服说可以换",
        103: "星澜咖啡换了一个新的",
        104: "星澜咖啡处理得还行",
    }
    for pid in range(100, 105):
        raw = stored[f"guest-{pid}"]["raw_text"]
        for chrome in ("马上注册", "下载附件", "replyreload", "本帖最后由", "发表于"):
            assert chrome not in raw, (pid, chrome)
    floors = {pid: stored[f"guest-{pid}"]["extra"]["floor"] for pid in range(100, 105)}
    assert floors == {100: 1, 101: 2, 102: 3, 103: 4, 104: 5}
    quote = stored["guest-102"]["extra"]["quote"]
    assert "星澜咖啡的杯子漏水" in quote
    assert "quote" not in stored["guest-103"]["extra"]
