"""nlp.clean, nlp.segment (rjieba against jieba) and the hashed features."""

from __future__ import annotations

import csv
import logging

import jieba
import numpy as np

from nlp.clean import clean, opinion_text
from nlp.segment import Segmenter
from nlp.text_features import hash_features
from tests.conftest import FIXTURES

NLP = FIXTURES / "nlp"


def corpus() -> list[str]:
    texts = []
    for name in ("causes_labelled.csv", "sentiment_labelled.csv"):
        with (NLP / name).open(encoding="utf-8", newline="") as source:
            texts += [row["text"] for row in csv.DictReader(source)]
    return texts


def test_clean_keeps_emoticons_hashtags_and_mentions_apart_from_links_and_chains():
    raw = (
        '<p>#星澜咖啡# 店员态度太差<img alt="[怒]" src="x.png"> @小明 '
        "http://t.cn/abc //@路人甲: 同感[泪]</p>"
    )
    cleaned = clean(raw)
    assert cleaned.text == "#星澜咖啡# 店员态度太差[怒] @小明"
    assert cleaned.hashtags == ["星澜咖啡"] and cleaned.mentions == ["小明"]
    assert cleaned.emoticons == ["[怒]"] and cleaned.links == ["http://t.cn/abc"]
    assert cleaned.repost_chain == "//@路人甲: 同感[泪]"
    # Sentiment sees the chain too: a bare repost passes on the opinion it quotes.
    assert opinion_text(cleaned).endswith("同感[泪]")


def test_clean_folds_full_width_forms():
    assert clean("ＡＢＣ１２３！").text == "ABC123!"


def test_clean_traditional_to_simplified_is_optional():
    assert clean("這個產品質量太差了", to_simplified=True).text == "这个产品质量太差了"
    assert clean("這個").text == "這個"


def test_rjieba_segmentation_matches_jieba_on_our_corpus():
    jieba.setLogLevel(logging.WARNING)
    reference = jieba.Tokenizer()
    segmenter = Segmenter()
    texts = corpus()
    same = sum(segmenter.cut(t) == reference.lcut(t) for t in texts)
    assert len(texts) > 200
    # jieba-rs keeps runs like "R-73" whole where jieba splits them; nothing else differs.
    assert same / len(texts) >= 0.97
    for text in texts:
        ours, theirs = segmenter.cut(text), reference.lcut(text)
        assert [w for w in ours if not w.isascii()] == [w for w in theirs if not w.isascii()]


def test_tokens_join_back_to_the_text():
    segmenter = Segmenter()
    for text in corpus():
        assert "".join(segmenter.cut(text)) == text


def test_user_words_stay_whole_and_keywords_skip_stopwords():
    segmenter = Segmenter(["云朵出行"])
    assert "云朵出行" in segmenter.cut("我用云朵出行打车")
    assert "云朵出行" not in Segmenter().cut("我用云朵出行打车")
    keywords = segmenter.keywords("云朵出行的司机绕路，云朵出行客服不管", top_k=3)
    assert keywords[0] == "云朵出行"
    assert all(w not in {"的", "不管"} for w in keywords[:1])
    assert segmenter.keywords("", 3) == [] and segmenter.keywords("好", 0) == []


def test_hashed_features_do_not_depend_on_batch_neighbours():
    segmenter = Segmenter()
    texts = ["今天天气真好[哈哈]", "", "气死了，快递三天没到 [怒]", "a"]
    tokens = segmenter.cut_many(texts)
    together = hash_features(texts, tokens, bits=18)
    assert together.size == 4 and together.offsets[-1] == len(together.buckets)
    for i, text in enumerate(texts):
        alone = hash_features([text], [tokens[i]], bits=18)
        mine = together.buckets[together.offsets[i] : together.offsets[i + 1]]
        assert sorted(mine) == sorted(alone.buckets)
    # The empty post has no features; every other post's vector has unit length.
    lengths = np.diff(together.offsets)
    assert lengths[1] == 0
    for i in (0, 2, 3):
        part = together.values[together.offsets[i] : together.offsets[i + 1]]
        assert abs(float((part**2).sum()) - 1.0) < 1e-5
    assert (together.buckets >= 0).all() and (together.buckets < 2**18).all()


def test_hashed_features_are_the_same_in_every_process():
    # Fixed arithmetic, not Python's salted hash(): a saved model must stay valid.
    batch = hash_features(["好"], [["好"]], bits=20)
    assert sorted(batch.buckets.tolist()) == sorted(
        hash_features(["好"], [["好"]], bits=20).buckets.tolist()
    )
    assert len(batch.buckets) == 2  # the character and the word


def test_script_and_style_contents_are_not_text():
    from nlp.clean import strip_html

    raw = (
        '<style>.t_f{color:red}</style>杯子漏水<script type="text/javascript">replyreload '
        "+= ',' + 664117;</script><!-- ad -->了"
    )
    assert strip_html(raw) == "杯子漏水了"
    assert clean(raw).text == "杯子漏水了"
