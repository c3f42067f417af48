"""``yuqing parse-page`` and the regression pages: every saved page in tests/fixtures/pages/
still yields the items and follow-up requests recorded beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawlers.page_check import PageCheckError, fetch_local, parse_page
from pipeline.cli import cli
from tests.fixtures.pages.generate import summary

PAGES = Path(__file__).parent / "fixtures" / "pages"
EXPECTED = sorted(PAGES.glob("*/*.expected.json"))


def page_for(expected: Path) -> Path:
    stem = expected.name.removesuffix(".expected.json")
    (page,) = [p for p in expected.parent.glob(f"{stem}.*") if p != expected]
    return page


def test_there_is_a_page_for_every_spider():
    assert {p.parent.name for p in EXPECTED} == {"weibo", "tieba", "discuz", "news"}


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_regression_page_still_parses(expected):
    want = json.loads(expected.read_text(encoding="utf-8"))
    check = parse_page(
        expected.parent.name,
        page_for(expected).read_bytes(),
        kind=want["kind"],
        url=want["url"],
        settings={"YUQING_CLOCK": want["clock"]},
    )
    assert [summary(item) for item in check.items] == want["items"]
    assert len(check.requests) == want["requests"]
    # The page guard's verdict too: a good page never reads as a layout change.
    assert check.verdict == want["verdict"] != "nothing"
    problems = [k for k in check.stats if k.startswith("yuqing/field/")]
    assert problems == [], f"field problems on a good page: {problems}"


def invoke(*args: str):
    return CliRunner().invoke(cli, ["parse-page", *args], catch_exceptions=False)


def test_command_prints_items_and_requests():
    page = PAGES / "tieba" / "thread-v1.html"
    result = invoke("tieba", str(page), "--url", "https://tieba.baidu.com/p/70")
    assert result.exit_code == 0, result.output
    assert "tieba thread: 3 items, 0 requests" in result.output
    assert "咖啡控" in result.output and "星澜咖啡的拿铁怎么样" in result.output
    data = json.loads(
        invoke("weibo", str(PAGES / "weibo" / "search-v1.json"), "--format", "json").output
    )
    assert data["kind"] == "search"  # from the file name
    assert [i["post_id"] for i in data["items"]] == ["5001", "4999", "5003"]
    assert any(r["callback"] == "parse_search" for r in data["requests"])


def test_crawled_text_is_shown_inert(tmp_path):
    hostile = {
        "ok": 1,
        "data": {
            "cards": [
                {
                    "card_type": 9,
                    "mblog": {
                        "id": "66",
                        "created_at": "刚刚",
                        "text": "[bold red]假冒[/bold red] \x1b[2J清屏 \u202e反转 星澜咖啡",
                        "user": {"id": 1, "screen_name": "坏人\x1b]0;t\x07", "followers_count": 1},
                    },
                }
            ]
        },
    }
    page = tmp_path / "search-hostile.json"
    page.write_text(json.dumps(hostile, ensure_ascii=False), encoding="utf-8")
    table = invoke("weibo", str(page)).output
    assert "\x1b" not in table and "\u202e" not in table and "\x07" not in table
    assert "[bold red]假冒" in table  # markup printed literally, not interpreted
    as_json = invoke("weibo", str(page), "--format", "json").output
    assert "\x1b" not in as_json and "\u202e" not in as_json
    assert json.loads(as_json)["items"][0]["text"].startswith("[bold red]假冒")


def test_only_local_urls_are_fetched():
    for url in ("https://tieba.baidu.com/p/1", "http://127.0.0.1.example.com/p/1", "file:///etc/x"):
        with pytest.raises(PageCheckError, match="only 127.0.0.1/localhost"):
            fetch_local(url)
    result = invoke("tieba", "https://tieba.baidu.com/p/1")
    assert result.exit_code == 1 and "refusing to fetch" in result.output


def test_local_url_is_read():
    from tests.replica.server import Page, Replica

    page = (PAGES / "tieba" / "thread-v1.html").read_bytes()
    replica = Replica()
    replica.route("/saved/", lambda request: Page(page))
    replica.start()
    try:
        result = invoke("tieba", f"{replica.base_url}/saved/thread-v1.html", "--kind", "thread")
    finally:
        replica.stop()
    assert result.exit_code == 0, result.output
    assert "3 items" in result.output


def test_a_page_that_yields_nothing_fails(tmp_path):
    page = tmp_path / "thread-new-layout.html"
    page.write_text("<html><body><div class='new'>改版了</div></body></html>", encoding="utf-8")
    result = invoke("discuz", str(page))
    assert result.exit_code == 1
    assert "layout changed?" in result.output


def test_unknown_kind_is_a_usage_error():
    result = invoke("news", str(PAGES / "news" / "article-v1.html"), "--kind", "thread")
    assert result.exit_code == 2 and "article, feed" in result.output
