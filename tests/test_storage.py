"""Storage on both backends: idempotent upserts, snapshots, UTC times, queries, schema checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage.db import SchemaOutdated, StorageError, Store, downgrade, head_revision, safe_url
from storage.mentions import upsert_mentions
from storage.models import EngagementSnapshot, Incident, Mention, TopicMatch
from storage.query import MentionFilter, find_mentions, mentions, sentiment_summary, top_keywords

BEIJING = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=BEIJING)


def row(post_id="1", *, crawled=T0 + timedelta(minutes=30), platform="weibo", **over):
    base = {
        "platform": platform,
        "post_id": post_id,
        "url": f"https://m.weibo.cn/detail/{post_id}",
        "author_name": "作者",
        "text": f"星澜咖啡 帖子 {post_id}",
        "raw_text": f"星澜咖啡 帖子 {post_id}",
        "published_at": T0,
        "crawled_at": crawled,
        "reposts": 1,
        "comments": 2,
        "likes": 3,
        "sentiment_score": 0.2,
        "sentiment_label": "negative",
        "keywords": ["星澜咖啡", "帖子"],
        "topics": {"星澜咖啡": ["星澜咖啡"]},
    }
    base.update(over)
    return base


def count(store: Store, model) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_upsert_is_idempotent(store):
    first = upsert_mentions(store, [row("1"), row("2")])
    again = upsert_mentions(store, [row("1"), row("2")])
    assert (first.inserted, first.snapshots) == (2, 2)
    assert (again.inserted, again.updated, again.unchanged, again.snapshots) == (0, 0, 2, 0)
    assert count(store, Mention) == 2
    assert count(store, EngagementSnapshot) == 2
    assert count(store, TopicMatch) == 2


def test_newer_observation_updates_counts_and_appends_snapshot(store):
    upsert_mentions(store, [row("1")])
    later = T0 + timedelta(hours=2)
    result = upsert_mentions(store, [row("1", crawled=later, reposts=50, likes=90)])
    assert (result.updated, result.snapshots) == (1, 1)
    [m] = find_mentions(store)
    assert (m["reposts"], m["likes"]) == (50, 90)
    assert m["crawled_at"] == later.astimezone(UTC)
    with store.session() as s:
        snaps = s.execute(
            select(EngagementSnapshot.observed_at, EngagementSnapshot.reposts).order_by(
                EngagementSnapshot.observed_at
            )
        ).all()
    assert [r.reposts for r in snaps] == [1, 50]


def test_newer_observation_with_same_counts_adds_no_snapshot(store):
    upsert_mentions(store, [row("1")])
    result = upsert_mentions(store, [row("1", crawled=T0 + timedelta(hours=3), text="edited")])
    assert (result.updated, result.snapshots) == (1, 0)
    assert find_mentions(store)[0]["text"] == "edited"


def test_stale_observation_never_overwrites_fresher_data(store):
    upsert_mentions(store, [row("1", crawled=T0 + timedelta(hours=5), reposts=500)])
    result = upsert_mentions(store, [row("1", crawled=T0 + timedelta(hours=1), reposts=5)])
    assert result.unchanged == 1
    assert find_mentions(store)[0]["reposts"] == 500


def test_duplicates_inside_one_batch_keep_the_newest(store):
    result = upsert_mentions(
        store,
        [row("1", reposts=1), row("1", crawled=T0 + timedelta(hours=1), reposts=9), row("1")],
    )
    assert result.inserted == 1
    assert count(store, Mention) == 1
    assert find_mentions(store)[0]["reposts"] == 9


def test_same_post_id_on_two_platforms_is_two_mentions(store):
    upsert_mentions(store, [row("1"), row("1", platform="tieba")])
    assert count(store, Mention) == 2


def test_large_batch_spans_several_transactions(store):
    rows = [row(str(i)) for i in range(1000)]
    assert upsert_mentions(store, rows).inserted == 1000
    assert upsert_mentions(store, rows).unchanged == 1000
    assert count(store, Mention) == 1000


def test_topics_added_later_are_recorded(store):
    upsert_mentions(store, [row("1", topics={})])
    upsert_mentions(store, [row("1", topics={"新话题": ["x"]})])
    assert find_mentions(store)[0]["topics"] == ["新话题"]


def test_times_round_trip_as_aware_utc(store):
    upsert_mentions(store, [row("1")])
    [m] = find_mentions(store)
    assert m["published_at"].tzinfo is not None
    assert m["published_at"] == T0
    assert m["published_at"].utcoffset() == timedelta(0)


def test_naive_datetime_is_refused(store):
    with pytest.raises(Exception, match="naive datetime"):
        upsert_mentions(store, [row("1", published_at=datetime(2026, 1, 1))])
    assert count(store, Mention) == 0


def test_query_filters(store):
    upsert_mentions(
        store,
        [
            row("1"),
            row("2", published_at=T0 - timedelta(days=2), sentiment_label="positive"),
            row("3", platform="tieba", text="100% 纯正_咖啡", topics={}),
            row("4", topics={"青禾手机": ["青禾"]}, sentiment_label="neutral"),
        ],
    )

    def ids(**kw):
        return sorted(
            m["post_id"] + ":" + m["platform"] for m in find_mentions(store, MentionFilter(**kw))
        )

    assert ids(topic="星澜咖啡") == ["1:weibo", "2:weibo"]
    assert ids(platform="tieba") == ["3:tieba"]
    assert ids(sentiment="positive") == ["2:weibo"]
    assert ids(since=T0 - timedelta(hours=1)) == ["1:weibo", "3:tieba", "4:weibo"]
    assert ids(until=T0 - timedelta(hours=1)) == ["2:weibo"]
    assert ids(topic="星澜咖啡", since=T0 - timedelta(hours=1)) == ["1:weibo"]
    # LIKE wildcards in the search text are literal characters.
    assert ids(contains="100%") == ["3:tieba"]
    assert ids(contains="纯_") == []
    assert ids(contains="%") == ["3:tieba"]
    assert len(find_mentions(store, MentionFilter(limit=2))) == 2


def test_order_by_engagement(store):
    upsert_mentions(store, [row("1", reposts=5), row("2", reposts=500), row("3", likes=50)])
    got = find_mentions(store, MentionFilter(order="engagement"))
    assert [m["post_id"] for m in got] == ["2", "3", "1"]


def test_summary_keywords_and_dataframe(store):
    upsert_mentions(
        store,
        [
            row("1"),
            row("2", sentiment_label="positive", keywords=["好喝"]),
            row("3", topics={}, keywords=["天气"], sentiment_label="neutral"),
        ],
    )
    summary = {(r["topic"], r["platform"]): r for r in sentiment_summary(store)}
    assert summary[("星澜咖啡", "weibo")]["mentions"] == 2
    assert summary[("星澜咖啡", "weibo")]["negative"] == 1
    assert summary[(None, "weibo")]["neutral"] == 1
    assert top_keywords(store, MentionFilter(topic="星澜咖啡"), 1) == [
        ("星澜咖啡", 1)
    ] or top_keywords(store, MentionFilter(topic="星澜咖啡"), 5)[0][0] in {"星澜咖啡", "帖子"}
    df = mentions(store, topic="星澜咖啡", limit=None)
    assert len(df) == 2 and set(df["post_id"]) == {"1", "2"}


def test_live_incident_dedup_key_is_unique(store):
    now = datetime.now(UTC)

    def incident(status="open"):
        return Incident(
            topic="星澜咖啡",
            rule="negative_spike",
            severity="warning",
            dedup_key="k",
            status=status,
            opened_at=now,
            last_seen_at=now,
            evidence={},
        )

    with store.session() as s:
        s.add(incident(status="resolved"))
        s.add(incident())
    with pytest.raises(IntegrityError):
        with store.session() as s:
            s.add(incident())


def test_migrations_match_models(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from storage.models import Base, include_in_comparison

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_in_comparison})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(store_factory):
    store = store_factory()
    downgrade(store.engine, "base")
    with pytest.raises(SchemaOutdated, match="yuqing db upgrade"):
        Store.open(store_factory.url, auto_migrate=False, **store_factory.engine_kwargs)
    again = store_factory()  # auto_migrate=True: the database is empty again
    upsert_mentions(again, [row("1")])
    assert count(again, Mention) == 1


def test_empty_sqlite_file_is_migrated_on_first_use(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'new' / 'y.db'}")
    try:
        assert (tmp_path / "new" / "y.db").exists()
        with store.engine.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        assert mode == "wal"
        upsert_mentions(store, [row("1")])
    finally:
        store.close()


def test_outdated_nonempty_sqlite_is_not_migrated_silently(tmp_path):
    url = f"sqlite:///{tmp_path / 'y.db'}"
    store = Store.open(url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'older'")
    store.close()
    with pytest.raises(SchemaOutdated, match=r"revision older.*yuqing db upgrade"):
        Store.open(url)
    assert head_revision() != "older"


def test_unreachable_database_names_url_without_password():
    with pytest.raises(StorageError) as err:
        Store.open(
            "postgresql+psycopg://u:hunter2@127.0.0.1:1/x", connect_args={"connect_timeout": 2}
        )
    assert "hunter2" not in str(err.value)
    assert "127.0.0.1:1" in str(err.value)
    assert "hunter2" not in safe_url("postgresql+psycopg://u:hunter2@h/x")


def test_0003_fills_matched_at_of_existing_matches(store_factory):
    from storage.db import upgrade

    store = store_factory()
    upsert_mentions(store, [row("1")])
    with store.session() as s:
        first_seen = s.scalar(select(Mention.first_seen_at))
    downgrade(store.engine, "0002")
    upgrade(store.engine)
    with store.session() as s:
        assert s.scalar(select(TopicMatch.matched_at)) == first_seen


def test_rows_with_different_fields_in_one_batch(store):
    sparse = {k: v for k, v in row("2").items() if k not in ("reposts", "keywords", "author_name")}
    upsert_mentions(store, [row("1", author_verified=True), sparse])
    got = {m["post_id"]: m for m in find_mentions(store)}
    assert (
        got["2"]["reposts"] == 0 and got["2"]["keywords"] == [] and not got["2"]["author_verified"]
    )
    assert got["1"]["author_verified"] is True
