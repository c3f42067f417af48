"""``ingest_file`` on both backends: the reject path, idempotent re-ingest, topic decisions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pipeline.ingest import ingest_file
from storage.query import MentionFilter, find_mentions
from storage.runs import recent_runs
from tests.conftest import FIXTURES

GOOD = FIXTURES / "mentions_good.jsonl"
MIXED = FIXTURES / "mentions_mixed.jsonl"


def test_good_file_is_stored_with_topics_and_scores(store, config, tmp_path):
    result = ingest_file(GOOD, config, store, rejects_path=tmp_path / "r.jsonl")
    assert (result.lines, result.valid, result.rejected) == (7, 7, 0)
    assert result.stored.inserted == 7
    assert not (tmp_path / "r.jsonl").exists()
    by_id = {m["post_id"]: m for m in find_mentions(store, MentionFilter(limit=None))}
    assert len(by_id) == 7
    # Declared topic kept; a job ad is excluded by the topic's exclude word; the tieba post
    # declared no topic but its title matches 青禾手机.
    assert by_id["5107000000000001"]["topics"] == ["星澜咖啡"]
    assert by_id["5107000000000003"]["topics"] == []
    assert by_id["9000000001"]["topics"] == ["青禾手机"]
    assert by_id["5107000000000004"]["topics"] == []
    # HTML stripped, emoticons kept, the link moved out of the text.
    assert by_id["5107000000000002"]["text"].startswith("@星澜咖啡 回应饮品异物投诉")
    assert "https://" not in by_id["5107000000000002"]["text"]
    assert "[怒]" in by_id["5107000000000001"]["text"]
    # A naive local time is read in the config's zone (Asia/Shanghai): 21:15 there is 13:15 UTC.
    assert by_id["9000000001"]["published_at"] == datetime(2026, 11, 19, 13, 15, tzinfo=UTC)
    assert by_id["xinglan-recall"]["published_at"] == datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    assert by_id["5107000000000001"]["sentiment_label"] == "negative"
    assert by_id["5107000000000001"]["keywords"]
    assert all(0 <= m["sentiment_score"] <= 1 for m in by_id.values())


def test_reingest_stores_nothing_twice(store, config, tmp_path):
    ingest_file(GOOD, config, store)
    again = ingest_file(GOOD, config, store, rejects_path=tmp_path / "r.jsonl")
    assert (again.stored.inserted, again.stored.updated, again.stored.unchanged) == (0, 0, 7)
    assert len(find_mentions(store, MentionFilter(limit=None))) == 7


def test_bad_lines_go_to_the_reject_file_and_the_rest_is_stored(store, config, tmp_path):
    rejects = tmp_path / "rejects.jsonl"
    result = ingest_file(MIXED, config, store, rejects_path=rejects)
    assert (result.lines, result.valid, result.rejected) == (9, 2, 7)
    assert result.ok
    stored = {m["post_id"] for m in find_mentions(store, MentionFilter(limit=None))}
    assert stored == {"5107000000000001", "9000000002"}
    records = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    reasons = {r["line"]: r["reason"] for r in records}
    assert sorted(reasons) == [2, 3, 4, 5, 7, 8, 10]  # line 6 is blank and skipped
    assert reasons[2] == "published_at: required key is missing"
    assert reasons[3].startswith("(line): invalid JSON")
    assert "unparseable date '昨天下午'" in reasons[4]
    assert reasons[5].startswith("likes:")
    assert reasons[7].startswith("url: not an http(s) URL")
    assert reasons[8] == "(top level): expected a JSON object, got list"
    assert reasons[10].startswith("(line): not valid UTF-8")
    # The raw line is kept so it can be fixed and re-ingested.
    assert records[1]["raw"] == "{not json at all"


def test_file_with_nothing_valid_is_not_ok(store, config, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("nope\n{}\n", encoding="utf-8")
    result = ingest_file(bad, config, store)
    assert not result.ok and result.rejected == 2
    assert (tmp_path / "bad.jsonl.rejects.jsonl").exists()
    [run] = recent_runs(store, 1)
    assert run["status"] == "failed" and run["errors"] == 2


def test_run_is_recorded(store, config, tmp_path):
    ingest_file(MIXED, config, store, rejects_path=tmp_path / "r.jsonl")
    [run] = recent_runs(store, 1)
    assert run["spider"] == "ingest" and run["status"] == "partial"
    assert (run["items"], run["errors"]) == (2, 7)
    assert run["stats"]["inserted"] == 2 and run["stats"]["file"] == MIXED.name
    assert run["finished_at"] >= run["started_at"]


def test_bom_and_crlf_are_accepted(store, config, tmp_path):
    line = GOOD.read_text(encoding="utf-8").splitlines()[0]
    path = tmp_path / "excel.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\r\n")
    assert ingest_file(path, config, store).valid == 1


def test_small_batches_give_the_same_result(store, config):
    result = ingest_file(GOOD, config, store, batch_size=2)
    assert result.stored.inserted == 7


def test_progress_reports_every_byte(store, config):
    seen = []
    ingest_file(GOOD, config, store, progress=seen.append)
    assert sum(seen) == GOOD.stat().st_size
