"""No silent zero: what counts as a page that stopped parsing, the capped copies kept of such
pages, and the ops finding they raise. The end-to-end runs (a redesigned Tieba list, an
all-empty run) are in tests/test_crawl_tieba.py."""

from __future__ import annotations

import json

from click.testing import CliRunner

from alerts.detectors.source_health import SourceHealthOptions, check
from crawlers.page_archive import PageArchive
from crawlers.page_guard import page_verdict
from pipeline.cli import cli


def test_verdict_of_a_page():
    assert page_verdict({}, items=2) == "entries"
    # Entries recognised but not yielded (already stored) are entries, not an empty page.
    assert page_verdict({"yuqing_found": 5}, items=0) == "entries"
    assert page_verdict({"yuqing_empty": "no results"}, items=0) == "shown_empty"
    assert page_verdict({"yuqing_unusable": "truncated"}, items=0) == "unusable"
    assert page_verdict({}, items=0) == "nothing"


def test_archive_is_capped_per_run_per_page_and_in_runs(tmp_path):
    archive = PageArchive(tmp_path, per_run=2, keep_runs=3, max_bytes=10)
    first = archive.save(
        "tieba", 7, "list", "http://127.0.0.1/f?kw=a", 200, b"<html>0123456789</html>"
    )
    assert first == tmp_path / "tieba" / "7" / "01-list.html"
    assert first.read_bytes() == b"<html>0123"
    assert archive.save(
        "tieba", 7, "thread", "http://127.0.0.1/p/1", 200, b"{}", "application/json"
    )
    assert archive.save("tieba", 7, "thread", "http://127.0.0.1/p/2", 200, b"x") is None
    index = [
        json.loads(line)
        for line in (tmp_path / "tieba" / "7" / "pages.jsonl").read_text("utf-8").splitlines()
    ]
    assert [(e["file"], e["truncated"]) for e in index] == [
        ("01-list.html", True),
        ("02-thread.json", False),
    ]
    for run_id in (8, 9, 10):
        archive.save("tieba", run_id, "list", "http://127.0.0.1/f", 200, b"x")
    kept = sorted(p.name for p in (tmp_path / "tieba").iterdir())
    assert len(kept) == 3 and "10" in kept


def _source(layout: int, failed: int) -> dict:
    return {
        "spider": "tieba",
        "topic": None,
        "last_message": "page layout changed? list page http://127.0.0.1/f?kw=x gave none",
        "failed_in_a_row": failed,
        "blocked_in_a_row": 0,
        "layout_in_a_row": layout,
        "stats": {"close_reason": "finished"},
    }


def test_a_layout_change_warns_on_the_first_run_and_turns_critical():
    options = SourceHealthOptions()
    first = check("ops", [_source(1, 1)], 0, options)
    assert first.severity == "warning" and "页面结构可能已变化" in first.detail
    assert "http://127.0.0.1/f?kw=x" in first.detail
    assert check("ops", [_source(3, 3)], 0, options).severity == "critical"
    english = check("ops", [_source(1, 1)], 0, options, language="en")
    assert "parse to nothing" in english.detail
    assert check("ops", [_source(0, 0)], 0, options) is None


def invoke(*args: str):
    return CliRunner().invoke(cli, ["parse-page", *args], catch_exceptions=False)


def test_parse_page_judges_a_page_as_a_crawl_would(tmp_path):
    # A list page with a pager but none of its thread rows: it still yields the next-page
    # request, yet a crawl counts it as a parse failure, and so does the command.
    rows_gone = tmp_path / "list-new.html"
    rows_gone.write_text(
        "<!DOCTYPE html><html><head><title>吧</title></head><body>"
        '<div id="frs_list_pager"><a class="next" href="/f?kw=x&pn=50">下一页</a></div>'
        "</body></html>",
        encoding="utf-8",
    )
    result = invoke("tieba", str(rows_gone), "--kind", "list")
    assert result.exit_code == 1
    assert "list page shows none of its entries: layout changed?" in result.output

    # The site's own "nothing found" is an answer, not a failure.
    no_results = tmp_path / "search-empty.html"
    no_results.write_text(
        "<!DOCTYPE html><html><head><title>百度贴吧_全吧搜索</title></head><body>"
        "<div>抱歉，没有找到与“星澜咖啡”相关的结果。</div></body></html>",
        encoding="utf-8",
    )
    result = invoke("tieba", str(no_results), "--kind", "search")
    assert result.exit_code == 0
    assert "the site shows this page empty: no results" in result.output
