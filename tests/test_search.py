"""Full-text search: the query language, its compilation, and search on both backends."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, text

from storage.db import Store, downgrade, upgrade
from storage.mentions import upsert_mentions
from storage.models import Mention
from storage.query import MentionFilter, find_mentions, mentions
from storage.query_language import And, Not, Or, QuerySyntaxError, Term, parse, to_fts5, to_tsquery
from storage.search import search_text, tokens

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def split(words: str) -> list[str]:
    """A stand-in segmenter for the parser tests: one token per space-separated piece."""
    return words.replace("-", " ").split()


def row(post_id: str, body: str, *, title=None, crawled=T0, **over):
    base = {
        "platform": "weibo",
        "post_id": post_id,
        "url": f"https://m.weibo.cn/detail/{post_id}",
        "title": title,
        "text": body,
        "raw_text": body,
        "published_at": T0,
        "crawled_at": crawled,
        "sentiment_label": "negative",
        "topics": {"星澜咖啡": ["星澜"]},
    }
    return base | over


POSTS = [
    row("1", "星澜咖啡的产品质量太差了，申请退款三天没人理"),
    row("2", "星澜咖啡门店招聘，待遇优厚，质量意识强者优先"),
    row("3", "青禾手机退款流程太慢"),
    row("4", "新品发布会", title="星澜咖啡秋季新品"),
    row("5", "Starlan coffee 的 iPhone15 活动"),
]


def ids(store, query: str, **filters) -> list[str]:
    found = find_mentions(store, MentionFilter(search=query, limit=None, **filters))
    return sorted(m["post_id"] for m in found)


# --- the language -----------------------------------------------------------------------------


def test_precedence_implicit_and_and_binary_not():
    node = parse("品牌 AND (质量 OR 退款) NOT 招聘", split)
    assert node == And(
        (Term(("品牌",)), Or((Term(("质量",)), Term(("退款",)))), Not(Term(("招聘",))))
    )
    assert parse("a b OR c", split) == Or((And((Term(("a",)), Term(("b",)))), Term(("c",))))


def test_words_that_segment_into_several_tokens_become_phrases():
    assert parse('"申请 退款" x-y', split) == And((Term(("申请", "退款")), Term(("x", "y"))))


def test_lower_case_operators_are_words_and_full_width_brackets_work():
    assert parse("a and b", split) == And((Term(("a",)), Term(("and",)), Term(("b",))))
    assert parse("（a OR b） “c d”", split) == And(
        (Or((Term(("a",)), Term(("b",)))), Term(("c", "d")))
    )


def test_compiles_to_fts5_and_tsquery():
    node = parse('品牌 AND (质量 OR "申请 退款") NOT 招聘', split)
    assert to_fts5(node) == '(("品牌" AND ("质量" OR "申请 退款")) NOT "招聘")'
    assert to_tsquery(node) == "('品牌' & ('质量' | ('申请' <-> '退款')) & !'招聘')"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "no word"),
        ("，。", "no word"),
        ("NOT 招聘", "NOT needs a positive"),
        ("a OR NOT b", "NOT needs a positive"),
        ("(a OR b", "expected ')'"),
        ("a OR", "expected a word"),
        ("a )", "unexpected ')'"),
        ('"unclosed', "unclosed quote"),
        ("AND a", "expected a word"),
    ],
)
def test_malformed_queries_say_why(query, message):
    with pytest.raises(QuerySyntaxError, match=re.escape(message)):
        parse(query, tokens)


def test_filter_rejects_a_malformed_query_at_construction():
    with pytest.raises(ValueError, match="NOT needs"):
        MentionFilter(search="NOT 招聘")


# --- segmentation -----------------------------------------------------------------------------


def test_search_text_holds_sub_words_and_drops_punctuation():
    assert tokens("产品质量！") == ["产品", "品质", "质量", "产品质量"]
    assert search_text("Title", "iPhone15 R-73，好") == "title iphone15 r 73 好"
    assert search_text(None, "") == ""


# --- both backends ----------------------------------------------------------------------------


def test_search_on_title_text_sub_words_and_phrases(store):
    upsert_mentions(store, POSTS)
    assert ids(store, "质量") == ["1", "2"]  # 产品质量 holds 质量
    assert ids(store, "星澜咖啡") == ["1", "2", "4"]  # title included
    assert ids(store, "星澜 AND (质量 OR 退款) NOT 招聘") == ["1"]
    assert ids(store, '"申请退款"') == ["1"]
    assert ids(store, "退款 NOT 星澜") == ["3"]
    assert ids(store, "STARLAN iphone15") == ["5"]
    assert ids(store, "咖啡 OR 手机", platform="weibo") == ["1", "2", "3", "4"]
    assert ids(store, "不存在的词") == []


def test_search_combines_with_the_other_filters(store):
    upsert_mentions(store, [*POSTS[:3], row("9", "质量问题", published_at=T0 - timedelta(days=3))])
    assert ids(store, "质量", since=T0 - timedelta(hours=1)) == ["1", "2"]
    assert ids(store, "退款", topic="星澜咖啡") == ["1", "3"]
    df = mentions(store, search="质量 NOT 招聘", limit=None)
    assert sorted(df["post_id"]) == ["1", "9"]


def test_index_follows_updates_and_deletes(store):
    upsert_mentions(store, POSTS[:2])
    upsert_mentions(store, [row("2", "已经退款了", crawled=T0 + timedelta(hours=1))])
    assert ids(store, "招聘") == []
    assert ids(store, "退款") == ["1", "2"]
    # An older observation changes nothing, the index included.
    upsert_mentions(store, [row("2", "招聘", crawled=T0 - timedelta(hours=1))])
    assert ids(store, "招聘") == []
    with store.session() as s:
        s.execute(delete(Mention).where(Mention.post_id == "1"))
    assert ids(store, "退款") == ["2"]


def test_migration_backfills_existing_mentions(store):
    upsert_mentions(store, POSTS[:1])
    downgrade(store.engine, "0004")
    upgrade(store.engine)
    assert ids(store, "退款") == ["1"]
    downgrade(store.engine, "0005")  # PostgreSQL: back to the expression index, and forth
    upgrade(store.engine)
    assert ids(store, "退款") == ["1"]


@pytest.fixture
def sqlite_store(sqlite_url):
    store = Store.open(sqlite_url)
    yield store
    store.close()


@pytest.fixture
def postgres_store(pg_schema):
    url, connect_args = pg_schema
    store = Store.open(url, auto_migrate=True, connect_args=connect_args)
    yield store
    store.close()


def test_sqlite_index_is_kept_by_triggers(sqlite_store):
    """A later migration that rebuilds ``mention`` in batch mode drops its triggers: this fails.
    (PostgreSQL computes its tsvector from the column itself: no triggers to lose.)"""
    store = sqlite_store
    with store.engine.connect() as conn:
        names = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'mention'"
        ).scalars()
        assert {"mention_fts_insert", "mention_fts_update", "mention_fts_delete"} <= set(names)
    upsert_mentions(store, POSTS)
    with store.engine.connect() as conn:
        check = "INSERT INTO mention_fts(mention_fts, rank) VALUES ('integrity-check', 1)"
        conn.exec_driver_sql(check)  # raises when the index and the table disagree


@pytest.mark.postgres
def test_postgresql_query_uses_the_gin_index(postgres_store):
    store = postgres_store
    upsert_mentions(store, POSTS)
    f = MentionFilter(search="质量 NOT 招聘", limit=None)
    from sqlalchemy import select

    from storage.query import _filtered

    stmt = _filtered(select(Mention.id), f)
    sql = str(stmt.compile(store.engine, compile_kwargs={"literal_binds": True}))
    with store.engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(conn.execute(text("EXPLAIN " + sql)).scalars())
    assert "ix_mention_search_vector" in plan


# --- command line -----------------------------------------------------------------------------


def test_mentions_command_searches_and_explains_a_bad_query(run, tmp_path):
    from storage.db import Store

    store = Store.open(f"sqlite:///{tmp_path / 'y.db'}")
    upsert_mentions(store, POSTS)
    store.close()
    found = run("mentions", "--search", "星澜 AND (质量 OR 退款) NOT 招聘", "--format", "json")
    assert found.exit_code == 0, found.output
    assert [m["post_id"] for m in json.loads(found.output)] == ["1"]
    bad = run("mentions", "--search", "NOT 招聘")
    assert bad.exit_code == 2 and "NOT needs a positive term" in bad.output


def test_many_matches_walk_the_time_index_with_the_same_result(store, monkeypatch):
    import storage.search

    upsert_mentions(
        store, [row(str(i), "退款", published_at=T0 + timedelta(minutes=i)) for i in range(30)]
    )
    fetched = find_mentions(store, MentionFilter(search="退款", limit=5))
    monkeypatch.setattr(storage.search, "SCAN_FROM_MATCHES_PER_ROW", 1)  # 5 rows: scan from 6
    walked = find_mentions(store, MentionFilter(search="退款", limit=5))
    assert [m["post_id"] for m in walked] == [m["post_id"] for m in fetched]
    assert [m["post_id"] for m in walked] == ["29", "28", "27", "26", "25"]
    if store.dialect == "sqlite":
        with store.session() as s:
            assert storage.search.prefer_time_scan(s, "退款", 5)
            assert not storage.search.prefer_time_scan(s, "退款", 50)


def test_sqlite_condition_is_a_plain_in_that_the_planner_can_use():
    from sqlalchemy import select
    from sqlalchemy.dialects import sqlite

    from storage.search import search_match

    sql = str(select(Mention.id).where(search_match("退款")).compile(dialect=sqlite.dialect()))
    assert sql.endswith("MATCH ?)")  # no "= 1" after it, which would hide it from the planner
    scan = select(Mention.id).where(search_match("退款", scan=True))
    assert "+mention.id IN" in str(scan.compile(dialect=sqlite.dialect()))
