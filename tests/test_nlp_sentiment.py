"""Sentiment engines, training, evaluation and the ``yuqing nlp`` commands."""

from __future__ import annotations

import json

import pytest

from nlp.analysis import PostAnalyser
from nlp.evaluate import evaluate, macro_f1, read_labelled_csv, score_posts
from nlp.sentiment import LABELS, SHIPPED_MODEL, Sentiment, analyse, get_engine, label_for
from nlp.sentiment_model import HashedLinearModel
from tests.conftest import FIXTURES

LABELLED = FIXTURES / "nlp" / "sentiment_labelled.csv"


def test_shipped_model_is_small_and_loads():
    size = sum(p.stat().st_size for p in SHIPPED_MODEL.iterdir())
    assert size < 8_000_000
    meta = json.loads((SHIPPED_MODEL / "meta.json").read_text(encoding="utf-8"))
    assert meta["labels"] == list(LABELS)
    assert "smp2020_usual_train.csv" in [f["file"] for f in meta["trained_on"]]


def test_default_engine_labels_clear_posts_and_scores_positivity():
    engine = get_engine("weibo")
    texts = [
        "星澜咖啡的店员态度太差了，再也不去了[怒]",
        "新品太好喝了，强烈推荐给大家[赞][哈哈]",
        "会议将于下午三点在第二会议室召开。",
        "",
    ]
    results = analyse(texts, engine)
    assert [r.label for r in results[:3]] == ["negative", "positive", "neutral"]
    assert results[0].score < 0.3 < 0.7 < results[1].score
    assert all(0 <= r.score <= 1 for r in results)
    # Scores do not depend on the batch a post is in.
    assert analyse(texts[:1], engine)[0] == results[0]


def test_thresholds_label_score_only_engines():
    class Fixed:
        name = "fixed"

        def scores(self, texts, tokens=None):
            return [0.1, 0.5, 0.9][: len(texts)]

    assert [s.label for s in analyse(["a", "b", "c"], Fixed())] == list(LABELS)
    assert label_for(0.35, 0.3, 0.7) == "neutral"
    assert analyse(["a"], Fixed(), 0.05, 0.95) == [Sentiment(0.1, "neutral")]


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown sentiment engine 'bert'"):
        get_engine("bert")


def test_macro_f1():
    gold = ["positive", "negative", "negative", "neutral"]
    assert macro_f1(gold, gold, LABELS) == 1.0
    # negative: 2 right, 2 wrong (F1 2/3); positive never predicted (F1 0).
    assert macro_f1(gold, ["negative"] * 4, ("negative", "positive")) == pytest.approx(1 / 3)


def test_read_labelled_csv_skips_rows_without_polarity(tmp_path):
    data = read_labelled_csv(LABELLED)
    assert len(data.texts) == 30 and data.skipped == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("text,polarity\n好,great\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.csv:2"):
        read_labelled_csv(bad)
    (tmp_path / "nocol.csv").write_text("text\n好\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing column"):
        read_labelled_csv(tmp_path / "nocol.csv")


def test_shipped_model_on_our_small_labelled_set():
    result = evaluate(read_labelled_csv(LABELLED), PostAnalyser(get_engine("weibo")))
    assert result.n == 30
    assert result.three_class_macro_f1 >= 0.8 and result.binary_macro_f1 >= 0.9
    assert sum(sum(row.values()) for row in result.confusion.values()) == 30


def test_train_save_load_round_trip(tmp_path):
    pytest.importorskip("sklearn")
    from nlp.train_sentiment import train_weibo_model

    model = train_weibo_model([LABELLED], tmp_path / "m", bits=16, c=10)
    loaded = HashedLinearModel.load(tmp_path / "m")
    assert loaded.bits == 16 and loaded.meta["n_train"] == 30
    engine = get_engine("weibo", tmp_path / "m")
    predicted = engine.predict(["今天收到了朋友送的花，开心死了[哈哈]"])
    assert predicted[0].label == "positive"
    # What is saved scores exactly like what was trained.
    texts, tokens = ["气死我了"], [["气死", "我", "了"]]
    assert (model.probabilities(texts, tokens) == loaded.probabilities(texts, tokens)).all()


def test_load_rejects_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(ValueError, match="not a sentiment model"):
        HashedLinearModel.load(tmp_path)


def test_snownlp_engine_and_its_retraining(tmp_path):
    from nlp.train_sentiment import train_snownlp_model

    bundled = get_engine("snownlp")
    assert bundled.scores([""]) == [0.5]
    saved = train_snownlp_model([LABELLED], tmp_path)
    retrained = get_engine("snownlp", saved)
    negative, positive = retrained.scores(["快递又丢了，太恶心了", "开心死了，真好吃"])
    assert negative < 0.5 < positive


def test_nlp_eval_json_has_exactly_the_documented_keys(run):
    result = run("nlp", "eval", str(LABELLED), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert set(summary) == {
        "n",
        "binary_macro_f1",
        "three_class_macro_f1",
        "accuracy",
        "posts_per_second",
    }
    assert summary["n"] == 30


def test_nlp_eval_table_and_score(run):
    result = run("nlp", "eval", str(LABELLED))
    assert result.exit_code == 0, result.output
    assert "confusion" in result.output and "three_class_macro_f1" in result.output
    result = run("nlp", "score", "快递三天了还没到，客服也不回[怒]", "--json")
    assert result.exit_code == 0, result.output
    scored = json.loads(result.output)
    assert scored["label"] == "negative" and scored["cause"] == "物流配送"
    assert set(scored) == {"text", "score", "label", "cause", "keywords"}


def test_nlp_train_then_use_the_model_from_config(run, tmp_path):
    pytest.importorskip("sklearn")
    result = run("nlp", "train", str(LABELLED), "--out", str(tmp_path / "ours"), "--bits", "16")
    assert result.exit_code == 0, result.output
    config = tmp_path / "yuqing.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + f"\n[nlp]\nsentiment_model = '{tmp_path / 'ours'}'\n",
        encoding="utf-8",
    )
    result = run("nlp", "eval", str(LABELLED), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["accuracy"] >= 0.9  # it has seen these rows


def test_eval_scores_exactly_as_ingest_does(config):
    """Raw posts through normalise + enrich (ingest) and through eval's path get the same
    scores; the user dictionary matters, so a plain segmenter would not."""
    from datetime import UTC, datetime

    from pipeline.cli_nlp import ingest_analyser
    from pipeline.enrich import Enricher
    from pipeline.normalise import Normaliser
    from pipeline.validate import MentionIn

    raw = [
        "星澜咖啡的拿铁还行吧，就是排队太久",
        "<p>星澜新品一般般</p>//@路人:星澜咖啡服务态度很差",
        "青禾X5发热严重，青禾手机客服不理人[怒]",
        "今天的星澜咖啡很好喝[赞]",
    ]
    now = datetime.now(UTC)
    normaliser = Normaliser(config)
    rows = [
        normaliser.normalise(
            MentionIn(
                platform="weibo",
                post_id=str(i),
                url="https://weibo.com/1",
                text=text,
                published_at=now,
            )
        )
        for i, text in enumerate(raw)
    ]
    Enricher(config, recent_posts=lambda: []).enrich(rows)
    ingested = [(r["sentiment_score"], r["sentiment_label"]) for r in rows]

    analyser = ingest_analyser(config)
    assert {"星澜咖啡", "青禾X5"} <= set(analyser.user_words)
    assert [(s.score, s.label) for s in score_posts(raw, analyser)] == ingested
    plain = PostAnalyser(analyser.engine)
    assert [(s.score, s.label) for s in score_posts(raw, plain)] != ingested
