"""What the NLP code derives once and caches on disk (issue 17) gives exactly what deriving it
in memory gives: the keyword IDF table and the precise sentiment model's lookup tables."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from nlp.segment import IdfTable, idf_table, jieba_idf_path
from nlp.sentiment_cnn import CharCNNModel
from nlp.sentiment_tiers import SHIPPED_PRECISE

TEXTS = [
    "星澜咖啡的新品燕麦拿铁喝完肚子疼了一晚上，客服还不给退款[怒]",
    "今天天气不错，和朋友去南京西路的星澜咖啡坐了一下午",
    "青禾手机X5的续航真的太顶了，充一次电用两天",
    "",
    "a",
]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("YUQING_CACHE_DIR", str(folder))
    return folder


def test_idf_table_weighs_words_as_jieba_analyse_does():
    import jieba.analyse

    table = idf_table()
    jieba_idf = jieba.analyse.default_tfidf.idf_freq
    median = jieba.analyse.default_tfidf.median_idf
    words = [*list(jieba_idf)[::97], "不在表里的词", "zzzz", "星澜咖啡"]
    expected = [jieba_idf.get(w, median) for w in words]
    assert table.weights(words) == expected  # one numpy lookup
    assert [table.weights([w])[0] for w in words[-40:]] == expected[-40:]  # binary searches
    assert table.median == median and len(table) == len(jieba_idf)


def test_idf_cache_round_trip_and_damaged_file(cache_dir):
    parsed = IdfTable.parse(jieba_idf_path())
    idf_table.cache_clear()
    try:
        first = idf_table()  # parsed and written
        (cached,) = cache_dir.glob("jieba-idf-*.npz")
        idf_table.cache_clear()
        again = idf_table()  # read back
        assert np.array_equal(again.keys, parsed.keys)
        assert np.array_equal(again.values, parsed.values) and again.median == parsed.median
        assert first.weights(["质量", "退款", "不在表里的词"]) == again.weights(
            ["质量", "退款", "不在表里的词"]
        )
        cached.write_bytes(b"not a numpy file")
        idf_table.cache_clear()
        assert np.array_equal(idf_table().keys, parsed.keys)  # rebuilt, not trusted
    finally:
        idf_table.cache_clear()


def test_cnn_tables_from_the_cache_score_exactly_as_computed_ones(cache_dir):
    loaded = CharCNNModel.load(SHIPPED_PRECISE)
    in_memory = dataclasses.replace(loaded, source=None)
    expected = in_memory.probabilities(TEXTS)
    assert np.array_equal(loaded.probabilities(TEXTS), expected)  # computed, then cached
    (cached,) = cache_dir.glob("cnn-tables-*.npy")
    reloaded = CharCNNModel.load(SHIPPED_PRECISE)
    assert np.array_equal(reloaded.probabilities(TEXTS), expected)  # memory-mapped
    cached.write_bytes(cached.read_bytes()[:-100])  # cut short: rebuilt, not half read
    assert np.array_equal(CharCNNModel.load(SHIPPED_PRECISE).probabilities(TEXTS), expected)
    cached.write_bytes(b"damaged")
    assert np.array_equal(CharCNNModel.load(SHIPPED_PRECISE).probabilities(TEXTS), expected)


def test_unwritable_cache_folder_still_scores(tmp_path, monkeypatch):
    blocker = tmp_path / "a file, not a folder"
    blocker.write_text("")
    monkeypatch.setenv("YUQING_CACHE_DIR", str(blocker / "cache"))
    model = CharCNNModel.load(SHIPPED_PRECISE)
    expected = dataclasses.replace(model, source=None).probabilities(TEXTS)
    assert np.array_equal(model.probabilities(TEXTS), expected)
    assert os.listdir(tmp_path) == [blocker.name]


def test_cnn_tables_are_built_only_when_a_post_needs_them(cache_dir):
    model = CharCNNModel.load(SHIPPED_PRECISE)
    assert model._tables is None and not cache_dir.exists()
    model.probabilities([])
    assert model._tables is None
    model.probabilities(["服务态度很差"])
    assert model._tables is not None
