"""The Scrapy item pipelines (the spiders' side of the item path), built from a crawler."""

from __future__ import annotations

import json

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlalchemy.exc import IntegrityError

from crawlers import settings as crawler_settings
from crawlers.items import MentionItem
from pipeline.enrich import EnrichPipeline
from pipeline.normalise import NormalisePipeline
from pipeline.store import StorePipeline
from pipeline.validate import ValidatePipeline
from storage.db import Store
from storage.query import MentionFilter, find_mentions
from tests.conftest import FIXTURES, TEST_CONFIG


@pytest.fixture
def crawler(tmp_path, monkeypatch):
    config = tmp_path / "yuqing.toml"
    config.write_text(TEST_CONFIG, encoding="utf-8")
    monkeypatch.setenv("YUQING_DATABASE_URL", f"sqlite:///{tmp_path / 'y.db'}")
    return get_crawler(settings_dict={"YUQING_CONFIG": str(config), "YUQING_STORE_BATCH": 2})


def pipelines(crawler):
    return [
        cls.from_crawler(crawler)
        for cls in (ValidatePipeline, NormalisePipeline, EnrichPipeline, StorePipeline)
    ]


def test_settings_wire_the_item_path_in_order():
    order = sorted(crawler_settings.ITEM_PIPELINES, key=crawler_settings.ITEM_PIPELINES.get)
    assert [p.rsplit(".", 1)[1] for p in order] == [
        "ValidatePipeline",
        "NormalisePipeline",
        "EnrichPipeline",
        "StorePipeline",
    ]


def test_items_flow_to_the_database(crawler, tmp_path):
    chain = pipelines(crawler)
    chain[-1].open_spider()
    lines = (FIXTURES / "mentions_good.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines:
        item = MentionItem(**json.loads(line))
        for stage in chain:
            item = stage.process_item(item)
    chain[-1].close_spider()
    store = Store.open(f"sqlite:///{tmp_path / 'y.db'}")
    try:
        stored = find_mentions(store, MentionFilter(limit=None))
    finally:
        store.close()
    assert len(stored) == len(lines)
    assert crawler.stats.get_value("yuqing/store/inserted") == len(lines)


def test_invalid_item_is_dropped_and_counted(crawler):
    validate = ValidatePipeline.from_crawler(crawler)
    with pytest.raises(DropItem, match="published_at"):
        validate.process_item(
            MentionItem(platform="weibo", post_id="1", url="https://m.weibo.cn/1", text="x")
        )
    assert crawler.stats.get_value("yuqing/invalid/published_at") == 1


def test_failed_flush_keeps_its_rows(crawler, tmp_path):
    store_stage = StorePipeline.from_crawler(crawler)
    store_stage.open_spider()
    good = json.loads(
        (FIXTURES / "mentions_good.jsonl").read_text(encoding="utf-8").splitlines()[0]
    )
    row = good
    for stage in pipelines(crawler)[:3]:
        row = stage.process_item(row)
    broken = dict(row, published_at=None)  # violates NOT NULL: the flush fails
    store_stage.buffer = [broken]
    with pytest.raises(IntegrityError):
        store_stage.flush()
    assert store_stage.buffer == [broken]
    assert crawler.stats.get_value("yuqing/store/failed_flushes") == 1
    store_stage.buffer = [row]
    store_stage.close_spider()
    assert crawler.stats.get_value("yuqing/store/inserted") == 1
