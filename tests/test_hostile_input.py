"""Hostile and careless input to the item path (issue 16, the data-loss half), on both backends.

Every probe is a line between valid lines of an ingest file, run through ``yuqing ingest`` (or
the crawler's item pipelines). Each test asserts the probe ended as a stored (cleaned) mention
or as a reject line with its line number and reason; that no traceback escaped (the CLI runs
with ``catch_exceptions=False``); that every valid line is stored exactly once; and the
documented exit code (``pipeline/exit_codes.py``). Then: the reject file can never be the
input, its folder is created up front, standard input has a sensible default, and a run whose
process was SIGKILLed is marked failed by the next run or by ``yuqing status``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from sqlalchemy.exc import ProgrammingError

from pipeline import exit_codes
from pipeline.enrich import EnrichPipeline
from pipeline.ingest import default_rejects_path
from pipeline.normalise import NormalisePipeline
from pipeline.store import StorePipeline
from pipeline.validate import ValidatePipeline
from storage.models import CrawlRun, Mention
from storage.runs import mark_stale_runs, recent_runs, this_process
from tests.conftest import TEST_CONFIG

YUQING = Path(sys.executable).with_name("yuqing")


def mention(n: int, **changes) -> dict:
    """A valid mention; ``changes`` replace keys (``author`` keys merge into the author)."""
    data = {
        "platform": "weibo",
        "post_id": f"h{n}",
        "url": f"https://m.weibo.cn/detail/h{n}",
        "topics": ["星澜咖啡"],
        "author": {"id": f"u{n}", "name": f"用户{n}", "followers": 10, "verified_type": 0},
        "title": None,
        "text": f"星澜咖啡 第{n}条：还行",
        "published_at": "2026-11-20T10:00:00+08:00",
        "crawled_at": "2026-11-20T10:30:00+08:00",
        "reposts": 1,
        "comments": 2,
        "likes": 3,
    }
    author = changes.pop("author", None)
    if author is not None:
        data["author"] = {**data["author"], **author}
    return data | changes


def line(data: dict) -> str:
    # ensure_ascii (the default) writes "\u0000" and "\ud800" as escapes, as an exporter would.
    return json.dumps(data)


def _soon(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


DEEP = "[" * 5000 + "]" * 5000
# Probes that must become a reject line: (id, the line, key the reason starts with, fragment).
REJECTED = [
    ("nul-post-id", line(mention(90, post_id="a\u0000b")), "post_id", "U+0000"),
    ("surrogate-post-id", line(mention(90, post_id="a\ud800")), "post_id", "U+D800"),
    ("nul-author-id", line(mention(90, author={"id": "x\u0000"})), "author.id", "U+0000"),
    ("nul-parent-id", line(mention(90, parent_post_id="\u0000")), "parent_post_id", "U+0000"),
    ("nul-url", line(mention(90, url="https://m.weibo.cn/\u0000")), "url", "U+0000"),
    ("nul-topic", line(mention(90, topics=["星澜\u0000"])), "topics[0]", "U+0000"),
    ("year-1-local", line(mention(90, published_at="0001-01-01 00:00")), "published_at", "range"),
    (
        "year-9999-west",
        line(mention(90, published_at="9999-12-31T23:59:59-08:00", crawled_at=None)),
        "published_at",
        "range",
    ),
    ("year-1-utc", line(mention(90, published_at="0001-01-01T00:00:00Z")), "published_at", "1990"),
    ("epoch-zero", line(mention(90, published_at=0)), "published_at", "1990"),
    (
        "dated-2099",
        line(mention(90, published_at="2099-01-01T00:00:00+08:00", crawled_at=None)),
        "published_at",
        "future",
    ),
    (
        "a-day-ahead",
        line(mention(90, published_at=_soon(24 * 60), crawled_at=None)),
        "published_at",
        "future",
    ),
    ("crawled-9999", line(mention(90, crawled_at="9999-01-01T00:00:00Z")), "crawled_at", "future"),
    ("reposts-1e19", line(mention(90)).replace('"reposts": 1', '"reposts": 1e19'), "reposts", ""),
    ("likes-2**64", line(mention(90, likes=2**64)), "likes", "less than or equal"),
    (
        "comments-inf",
        line(mention(90)).replace('"comments": 2', '"comments": 1e400'),
        "comments",
        "",
    ),
    ("followers-1e19", line(mention(90, author={"followers": 10**19})), "author.followers", ""),
    (
        "verified-type-2**40",
        line(mention(90, author={"verified_type": 2**40})),
        "author.verified_type",
        "",
    ),
    ("nested-5000", DEEP, "(line)", "nested too deeply"),
    (
        "nested-5000-in-extra",
        line(mention(90))[:-1] + ', "extra": ' + DEEP + "}",
        "(line)",
        "nested",
    ),
    (
        "extra-40-deep",
        line(mention(90, extra={"a": json.loads("[" * 40 + "]" * 40)})),
        "extra",
        "deeper",
    ),
    (
        "extra-nan",
        line(mention(90)).replace('"likes": 3', '"likes": 3, "extra": {"x": NaN}'),
        "extra",
        "not a JSON number",
    ),
    (
        "integer-5000-digits",
        line(mention(90)).replace('"likes": 3', '"likes": ' + "7" * 5000),
        "(line)",
        "JSON",
    ),
    ("surrogate-unknown-key", line(mention(90) | {"\ud800": 1}), "", "unknown key"),
    ("101-topics", line(mention(90, topics=[f"t{i}" for i in range(101)])), "topics", "at most"),
]


def _stored_text(row) -> bool:
    return row.raw_text == "星澜咖啡太难喝了" and row.text.startswith("星澜咖啡太难喝了")


# Probes that must be stored, cleaned: (id, mention number, the mention, check of the row).
CLEANED = [
    (
        "nul-and-surrogate-in-text",
        91,
        mention(91, text="星澜咖啡\u0000太难喝\ud800了"),
        _stored_text,
    ),
    (
        "nul-in-title",
        92,
        mention(92, title="标题\u0000\udfff二"),
        lambda row: row.title == "标题二",
    ),
    (
        "nul-in-author-name",
        93,
        mention(93, author={"name": "\u0000橘子\ud83d"}),
        lambda row: row.author_name == "橘子",
    ),
    (
        "nul-and-surrogate-in-extra",
        94,
        mention(94, extra={"k\u0000": ["v\u0000", {"w": "\ud800x"}]}),
        lambda row: row.extra == {"k": ["v", {"w": "x"}]},
    ),
    (
        "five-minutes-ahead",  # within storage.aggregates.FUTURE_SKEW: a site's fast clock
        95,
        mention(95, published_at=_soon(5), crawled_at=_soon(0)),
        lambda row: row.published_at > row.crawled_at,
    ),
    (
        "counts-at-the-bound",
        96,
        mention(96, reposts=10**10, author={"followers": 10**10, "verified_type": -1}),
        lambda row: (row.reposts, row.author_followers) == (10**10, 10**10),
    ),
]


def _database_url(store_factory) -> str:
    """The URL another process (or the CLI) opens to reach the test's database and schema."""
    options = store_factory.engine_kwargs.get("connect_args", {}).get("options")
    return f"{store_factory.url}?options={quote(options)}" if options else store_factory.url


@pytest.fixture
def yuqing(store_factory, tmp_path, monkeypatch):
    """Runs ``yuqing`` in tmp_path against the parametrised backend (migrated first)."""
    store = store_factory()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "yuqing.toml").write_text(TEST_CONFIG, encoding="utf-8")
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    monkeypatch.setenv("YUQING_DATABASE_URL", _database_url(store_factory))
    runner = CliRunner()

    def invoke(*args: str, input: bytes | None = None):
        from pipeline.cli import cli

        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    invoke.store = store
    return invoke


def stored_rows(store) -> dict[str, Mention]:
    """Every stored mention by post id; fails if a post id is stored twice."""
    with store.session() as session:
        rows = session.execute(select(Mention)).scalars().all()
        session.expunge_all()
    ids = [r.post_id for r in rows]
    assert len(ids) == len(set(ids)), "a mention was stored twice"
    return {r.post_id: r for r in rows}


def read_rejects(path: Path) -> dict[int, str]:
    records = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert all(set(r) == {"line", "reason", "raw"} for r in records)
    return {r["line"]: r["reason"] for r in records}


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("probe", "bad", "key", "fragment"), REJECTED, ids=[p[0] for p in REJECTED]
)
def test_probe_is_rejected_with_its_line_and_the_rest_is_stored(
    yuqing, tmp_path, probe, bad, key, fragment
):
    source = write_lines(tmp_path / "in.jsonl", [line(mention(1)), bad, line(mention(2))])
    result = yuqing("ingest", str(source), "--rejects", "out/rejects.jsonl")
    assert result.exit_code == exit_codes.OK, result.output
    assert "3 lines, 2 valid, 1 rejected" in result.output
    reasons = read_rejects(tmp_path / "out" / "rejects.jsonl")
    assert list(reasons) == [2]
    assert reasons[2].startswith(key) and fragment in reasons[2], reasons[2]
    assert sorted(stored_rows(yuqing.store)) == ["h1", "h2"]


@pytest.mark.parametrize(("probe", "number", "data", "check"), CLEANED, ids=[p[0] for p in CLEANED])
def test_probe_is_stored_cleaned(yuqing, tmp_path, probe, number, data, check):
    source = write_lines(tmp_path / "in.jsonl", [line(mention(1)), line(data), line(mention(2))])
    result = yuqing("ingest", str(source))
    assert result.exit_code == exit_codes.OK, result.output
    assert "3 lines, 3 valid, 0 rejected; 3 new" in result.output
    assert not (tmp_path / "in.jsonl.rejects.jsonl").exists()
    rows = stored_rows(yuqing.store)
    assert sorted(rows) == sorted(["h1", "h2", f"h{number}"])
    assert check(rows[f"h{number}"])


def test_every_probe_in_one_file_every_valid_line_once_and_reruns_agree(yuqing, tmp_path):
    lines, rejected, valid = [], {}, set()
    for n, (_, bad, key, _fragment) in enumerate(REJECTED):
        lines.append(line(mention(1000 + n)))
        valid.add(f"h{1000 + n}")
        lines.append(bad)
        rejected[len(lines)] = key
    for _, number, data, _check in CLEANED:
        lines.append(line(data))
        valid.add(f"h{number}")
    source = write_lines(tmp_path / "all.jsonl", lines)
    for attempt in range(2):  # the second run stores nothing twice and rejects the same lines
        result = yuqing("ingest", str(source))
        assert result.exit_code == exit_codes.OK, result.output
        reasons = read_rejects(tmp_path / "all.jsonl.rejects.jsonl")
        assert sorted(reasons) == sorted(rejected)
        assert all(reasons[n].startswith(key) for n, key in rejected.items())
        assert set(stored_rows(yuqing.store)) == valid
        new = len(valid) if attempt == 0 else 0
        assert f"{len(lines)} lines, {len(valid)} valid, {len(rejected)} rejected; {new} new" in (
            result.output
        )


def test_a_file_of_only_hostile_lines_exits_1(yuqing, tmp_path):
    source = write_lines(tmp_path / "bad.jsonl", [bad for _, bad, _, _ in REJECTED[:6]])
    result = yuqing("ingest", str(source))
    assert result.exit_code == exit_codes.FAILURE
    assert "nothing valid was read" in result.output
    assert len(read_rejects(tmp_path / "bad.jsonl.rejects.jsonl")) == 6
    assert stored_rows(yuqing.store) == {}


def test_a_row_the_database_refuses_becomes_a_reject_line(yuqing, tmp_path, monkeypatch):
    """Validation is the first net; should a row still reach the database that it cannot hold,
    that row alone is rejected (with its line) and the rest of its batch is stored."""
    from pipeline.normalise import Normaliser

    normalise = Normaliser.normalise

    def sneak_past_validation(self, mention, now=None):
        row = normalise(self, mention, now)
        if row["post_id"] == "h3":
            row["reposts"] = 10**19  # refused by SQLite's driver and by PostgreSQL's bigint
        return row

    monkeypatch.setattr(Normaliser, "normalise", sneak_past_validation)
    source = write_lines(tmp_path / "in.jsonl", [line(mention(n)) for n in range(1, 6)])
    result = yuqing("ingest", str(source))
    assert result.exit_code == exit_codes.OK, result.output
    assert "5 lines, 4 valid, 1 rejected; 4 new" in result.output
    reasons = read_rejects(tmp_path / "in.jsonl.rejects.jsonl")
    assert list(reasons) == [3] and reasons[3].startswith("(database): ")
    assert sorted(stored_rows(yuqing.store)) == ["h1", "h2", "h4", "h5"]


# -- the crawler's item pipelines ------------------------------------------------------------


@pytest.fixture
def crawler(store_factory, tmp_path, monkeypatch):
    store_factory()  # migrated
    config = tmp_path / "yuqing.toml"
    config.write_text(TEST_CONFIG, encoding="utf-8")
    monkeypatch.setenv("YUQING_DATABASE_URL", _database_url(store_factory))
    return get_crawler(settings_dict={"YUQING_CONFIG": str(config), "YUQING_STORE_BATCH": 7})


def test_crawled_items_with_nul_are_cleaned_or_dropped_and_30_are_stored(crawler, store_factory):
    stages = [
        cls.from_crawler(crawler)
        for cls in (ValidatePipeline, NormalisePipeline, EnrichPipeline, StorePipeline)
    ]
    stages[-1].open_spider()
    items = [mention(n) for n in range(30)]
    items[3]["text"] = "星澜咖啡\u0000难喝"
    items[11]["author"]["name"] = "a\ud800"
    items.append(mention(99, post_id="bad\u0000id"))
    dropped = 0
    for item in items:
        try:
            for stage in stages:
                item = stage.process_item(item)
        except DropItem:
            dropped += 1
    stages[-1].close_spider()
    assert dropped == 1 and crawler.stats.get_value("yuqing/invalid/post_id") == 1
    rows = stored_rows(store_factory())
    assert len(rows) == 30 and rows["h3"].raw_text == "星澜咖啡难喝"
    assert crawler.stats.get_value("yuqing/store/inserted") == 30


def test_store_pipeline_isolates_rows_the_database_refuses(crawler, store_factory):
    """Rows reaching the store stage directly (no validation): the refused ones are dropped and
    counted, every other row of every flush is stored, and nothing stays in the buffer."""
    normalise = NormalisePipeline.from_crawler(crawler)
    store_stage = StorePipeline.from_crawler(crawler)
    store_stage.open_spider()
    from pipeline.validate import validate_mention

    rows = [normalise.process_item(validate_mention(mention(n))) for n in range(30)]
    rows[4]["text"] = "lone \ud800 surrogate"  # no driver can encode it
    rows[9]["reposts"] = 10**19  # beyond 64 bits
    rows[20]["post_id"] = "x" * 100  # PostgreSQL: too long for varchar(64); SQLite stores it
    rows[25]["text"] = "NUL \u0000 here"  # PostgreSQL refuses; SQLite stores it
    rows[15]["published_at"] = None  # NOT NULL: a constraint, refused while the others store
    for row in rows:
        store_stage.process_item(row)
    store_stage.close_spider()
    assert store_stage.buffer == []
    stored = stored_rows(store_factory())
    refused = 30 - len(stored)
    postgres = store_factory.url.startswith("postgresql")
    assert refused == (5 if postgres else 3)
    assert not {"h4", "h9", "h15"} & set(stored)
    assert crawler.stats.get_value("yuqing/dropped/database_refused") == refused
    assert crawler.stats.get_value("yuqing/store/inserted") == 30 - refused
    assert not crawler.stats.get_value("yuqing/store/failed_flushes")


def test_store_pipeline_keeps_its_rows_when_no_row_can_be_stored(
    crawler, store_factory, monkeypatch
):
    """A database that refuses every row (here: its table is gone) is not the rows' fault:
    nothing is dropped, the flush fails and keeps its rows, and a later flush stores them."""
    import pipeline.store
    from pipeline.validate import validate_mention
    from storage.mentions import upsert_mentions

    def table_gone(*args, **kwargs):
        raise ProgrammingError("INSERT INTO mention ...", {}, Exception("no such table: mention"))

    normalise = NormalisePipeline.from_crawler(crawler)
    store_stage = StorePipeline.from_crawler(crawler)
    store_stage.open_spider()
    rows = [normalise.process_item(validate_mention(mention(n))) for n in range(5)]
    store_stage.buffer = list(rows)
    monkeypatch.setattr(pipeline.store, "upsert_mentions", table_gone)
    with pytest.raises(ProgrammingError):
        store_stage.flush()
    assert store_stage.buffer == rows
    assert not crawler.stats.get_value("yuqing/dropped/database_refused")
    monkeypatch.setattr(pipeline.store, "upsert_mentions", upsert_mentions)
    store_stage.close_spider()
    assert len(stored_rows(store_factory())) == 5


# -- the reject file ---------------------------------------------------------------------------


def _two_good_one_bad(path: Path) -> Path:
    return write_lines(path, [line(mention(1)), "{broken", line(mention(2))])


@pytest.mark.parametrize("how", ["same path", "symlink", "hard link", "relative path"])
def test_rejects_path_that_is_the_input_is_refused_before_reading(yuqing, tmp_path, how):
    source = _two_good_one_bad(tmp_path / "in.jsonl")
    before = source.read_bytes()
    rejects = tmp_path / "alias.jsonl"
    if how == "same path":
        rejects = source
    elif how == "symlink":
        rejects.symlink_to(source)
    elif how == "hard link":
        os.link(source, rejects)
    else:
        rejects = Path("./sub/../in.jsonl")
        (tmp_path / "sub").mkdir()
    result = yuqing("ingest", str(source), "--rejects", str(rejects))
    assert result.exit_code == exit_codes.USAGE
    assert "is the input file" in result.output
    assert source.read_bytes() == before
    assert stored_rows(yuqing.store) == {}


@pytest.mark.parametrize("victim", ["other.jsonl", "y.db"])
def test_rejects_path_over_a_file_that_is_not_a_reject_file_is_refused(yuqing, tmp_path, victim):
    source = _two_good_one_bad(tmp_path / "in.jsonl")
    other = tmp_path / victim
    if victim.endswith(".jsonl"):
        write_lines(other, [line(mention(7))])  # another export waiting to be ingested
    else:
        other.write_bytes(b"SQLite format 3\x00" + bytes(100))
    before = other.read_bytes()
    result = yuqing("ingest", str(source), "--rejects", str(other))
    assert result.exit_code == exit_codes.USAGE
    assert "is not a reject file" in result.output
    assert other.read_bytes() == before
    # An earlier run's reject file is fine to overwrite: re-running with the same arguments.
    assert yuqing("ingest", str(source), "--rejects", "r.jsonl").exit_code == exit_codes.OK
    assert yuqing("ingest", str(source), "--rejects", "r.jsonl").exit_code == exit_codes.OK
    assert list(read_rejects(tmp_path / "r.jsonl")) == [2]


def test_rejects_into_a_missing_folder_creates_it(yuqing, tmp_path):
    source = _two_good_one_bad(tmp_path / "in.jsonl")
    result = yuqing("ingest", str(source), "--rejects", str(tmp_path / "a" / "b" / "r.jsonl"))
    assert result.exit_code == exit_codes.OK, result.output
    assert list(read_rejects(tmp_path / "a" / "b" / "r.jsonl")) == [2]
    assert sorted(stored_rows(yuqing.store)) == ["h1", "h2"]


def test_rejects_folder_that_cannot_exist_fails_before_reading(yuqing, tmp_path):
    source = _two_good_one_bad(tmp_path / "in.jsonl")
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    result = yuqing("ingest", str(source), "--rejects", str(tmp_path / "file" / "r.jsonl"))
    assert result.exit_code == exit_codes.USAGE
    assert "cannot create the folder" in result.output
    assert stored_rows(yuqing.store) == {}
    assert recent_runs(yuqing.store) == []  # refused before the run began


@pytest.mark.parametrize(
    ("source", "default"),
    [
        ("-", "stdin.rejects.jsonl"),
        ("/dev/stdin", "stdin.rejects.jsonl"),
        ("/dev/fd/63", "63.rejects.jsonl"),  # bash's <(command)
        ("/proc/self/fd/0", "0.rejects.jsonl"),
    ],
)
def test_default_rejects_path_of_a_stream_is_in_the_working_folder(source, default):
    assert default_rejects_path(Path(source)) == Path(default)


def test_default_rejects_path_of_a_file_is_beside_it(tmp_path):
    source = write_lines(tmp_path / "in.jsonl", [])
    assert default_rejects_path(source) == tmp_path / "in.jsonl.rejects.jsonl"


def _run_yuqing(args: list[str], tmp_path: Path, url: str, stdin) -> subprocess.CompletedProcess:
    (tmp_path / "yuqing.toml").write_text(TEST_CONFIG, encoding="utf-8")
    env = dict(os.environ, YUQING_DATABASE_URL=url, YUQING_CONFIG=str(tmp_path / "yuqing.toml"))
    return subprocess.run(
        [str(YUQING), *args], cwd=tmp_path, env=env, stdin=stdin, capture_output=True, timeout=300
    )


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])
def test_stdin_rejects_default_to_the_working_folder(store_factory, tmp_path, name):
    store = store_factory()
    source = _two_good_one_bad(tmp_path / "in.jsonl")
    with source.open("rb") as stdin:
        done = _run_yuqing(["ingest", name], tmp_path, _database_url(store_factory), stdin)
    assert done.returncode == exit_codes.OK, done.stderr
    assert b"Traceback" not in done.stderr
    assert list(read_rejects(tmp_path / "stdin.rejects.jsonl")) == [2]
    assert sorted(stored_rows(store)) == ["h1", "h2"]


def test_stdin_redirected_from_the_rejects_file_is_refused(store_factory, tmp_path):
    store = store_factory()
    source = _two_good_one_bad(tmp_path / "in.jsonl")
    before = source.read_bytes()
    with source.open("rb") as stdin:
        done = _run_yuqing(
            ["ingest", "-", "--rejects", str(source)], tmp_path, _database_url(store_factory), stdin
        )
    assert done.returncode == exit_codes.USAGE
    assert b"is the input file" in done.stderr and b"Traceback" not in done.stderr
    assert source.read_bytes() == before
    assert stored_rows(store) == {}


# -- runs whose process is gone ----------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _add_running(store, spider: str, process: dict | None, age: timedelta = timedelta()) -> int:
    with store.session() as session:
        run = CrawlRun(
            spider=spider,
            started_at=datetime.now(UTC) - age,
            stats={"process": process} if process else {},
        )
        session.add(run)
        session.flush()
        return run.id


def _run(store, run_id: int) -> CrawlRun:
    with store.session() as session:
        run = session.get(CrawlRun, run_id)
        session.expunge(run)
        return run


def test_next_ingest_marks_a_dead_ingest_failed(yuqing, tmp_path):
    store = yuqing.store
    dead = _add_running(store, "ingest", this_process() | {"pid": _dead_pid()})
    alive = _add_running(store, "ingest", this_process())
    other_source = _add_running(store, "tieba", this_process() | {"pid": _dead_pid()})
    source = write_lines(tmp_path / "in.jsonl", [line(mention(1))])
    assert yuqing("ingest", str(source)).exit_code == exit_codes.OK
    run = _run(store, dead)
    assert run.status == "failed" and run.message.startswith("process gone")
    assert run.finished_at is not None
    assert _run(store, alive).status == "running"  # this very process still runs
    assert _run(store, other_source).status == "running"  # another source's next run decides


def test_status_marks_dead_runs_failed_and_reports_them(yuqing):
    store = yuqing.store
    dead = _add_running(store, "tieba", this_process() | {"pid": _dead_pid()})
    reused = _add_running(store, "discuz", this_process() | {"started": "1"})  # pid reused
    far_old = _add_running(store, "news", {"pid": 1, "host": "elsewhere"}, timedelta(hours=25))
    far_young = _add_running(store, "weibo", {"pid": 1, "host": "elsewhere"}, timedelta(hours=1))
    unrecorded = _add_running(store, "news", None, timedelta(days=3))
    # Same host name, another container's pid numbering: cannot tell, so only age decides.
    container = this_process() | {"pid": _dead_pid(), "pidns": "pid:[1]"}
    other_container = _add_running(store, "weibo", container, timedelta(hours=1))
    result = yuqing("status", "--json")
    assert result.exit_code == exit_codes.PARTIAL  # a failed source needs attention
    messages = {s["spider"]: s["last_message"] for s in json.loads(result.output)["sources"]}
    assert messages["tieba"].startswith("process gone: pid")
    assert messages["discuz"].startswith("process gone: pid")
    for run_id in (dead, reused, far_old, unrecorded):
        assert _run(store, run_id).status == "failed", run_id
    assert _run(store, far_young).status == "running"
    assert _run(store, other_container).status == "running"
    assert mark_stale_runs(store) == 0  # idempotent


def test_sigkilled_ingest_is_failed_by_status_and_a_rerun_stores_everything_once(
    yuqing, store_factory, tmp_path
):
    fifo = tmp_path / "feed"
    os.mkfifo(fifo)  # the ingest records its run, then blocks opening this: kill it there
    url = _database_url(store_factory)
    env = dict(os.environ, YUQING_DATABASE_URL=url, YUQING_CONFIG=str(tmp_path / "yuqing.toml"))
    child = subprocess.Popen(
        [str(YUQING), "ingest", str(fifo)], cwd=tmp_path, env=env, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not [r for r in recent_runs(yuqing.store) if r["status"] == "running"]:
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    [killed] = recent_runs(yuqing.store)
    assert killed["stats"]["process"]["pid"] == child.pid
    assert killed["stats"]["process"]["host"] == socket.gethostname()
    yuqing("status")
    [failed] = recent_runs(yuqing.store)
    assert failed["status"] == "failed" and "no longer runs" in failed["message"]
    source = write_lines(tmp_path / "in.jsonl", [line(mention(n)) for n in range(5)])
    assert yuqing("ingest", str(source)).exit_code == exit_codes.OK
    assert len(stored_rows(yuqing.store)) == 5


def test_a_crawled_post_dated_far_ahead_is_rejected_not_stored_as_now():
    from crawlers.page_check import build_spider
    from pipeline.validate import InvalidMention, validate_mention

    spider = build_spider("tieba")
    now = datetime.now(UTC)
    # A site clock a few minutes fast: the post is taken as published now.
    soon = datetime.fromisoformat(spider.published(now + timedelta(minutes=3)))
    assert abs(soon - now) < timedelta(minutes=1)
    # A date years ahead is wrong, not early: it reaches validation as it is, and is refused.
    far = spider.published(datetime(2099, 1, 1, tzinfo=UTC))
    assert far.startswith("2099-01-01")
    item = {
        "platform": "tieba",
        "post_id": "1",
        "url": "https://tieba.baidu.com/p/1",
        "text": "星澜咖啡",
        "published_at": far,
        "crawled_at": now.isoformat(),
    }
    with pytest.raises(InvalidMention, match="published_at"):
        validate_mention(item)
    stats = spider.crawler.stats.get_stats()
    assert stats["yuqing/field/tieba/time_in_future"] == 2


def test_a_cause_weight_that_is_not_a_number_fails_config_check():
    from pipeline.config import parse_config

    with pytest.raises(Exception, match=r"甩脸子\*x.*positive number"):
        parse_config(TEST_CONFIG + '\n[nlp.causes]\n"服务态度" = ["甩脸子*x"]\n', "t.toml")
    config = parse_config(TEST_CONFIG + '\n[nlp.causes]\n"服务态度" = ["甩脸子*2"]\n', "t.toml")
    assert config.nlp.causes == {"服务态度": ["甩脸子*2"]}


def test_the_crawler_child_adopts_its_run_so_a_killed_parent_leaves_it_alone(yuqing):
    from storage.runs import adopt_run

    store = yuqing.store
    # `yuqing crawl` made the row, then was killed; its Scrapy child (here: us) goes on.
    run_id = _add_running(store, "tieba", this_process() | {"pid": _dead_pid()})
    adopt_run(store, run_id)
    assert mark_stale_runs(store) == 0
    assert _run(store, run_id).status == "running"
    assert _run(store, run_id).stats["process"]["pid"] == os.getpid()
