"""The cause model's parts (issue 15): praise rule, class weights, everyday words. Its cost is
part of the ingest NLP step bench/nlp_sentiment.py measures, not timed here."""

from __future__ import annotations

import pytest

from nlp.cause_model import _class_weights
from nlp.causes import CauseClassifier, CauseLexicon


def test_praise_does_not_cross_a_negation():
    lexicon = CauseLexicon()
    # "发货很快" is praise of the delivery; "发货不及时" is a delivery complaint.
    assert "物流配送" not in lexicon.scores("发货很快")
    assert "物流配送" in lexicon.scores("发货不及时")
    assert "物流配送" not in lexicon.scores("物流快 但是衣服有个洞")
    # 快 starting 快递 is no praise of the word before it.
    assert lexicon.scores("物流快递员把箱子扔门口")["物流配送"] >= 4


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("和图片颜色差太多 实物发灰", "产品标识"),
        ("耳机是高仿的 序列号官网查不到", "产品标识"),
        ("到手都快过期了", "产品标识"),
        ("平板用了三天就开不了机", "产品质量"),
        ("牛奶胀袋了 一股酸臭味", "产品质量"),
        ("缺件 少了一包螺丝", "物流配送"),
        ("客服说会补发 到现在也没补", "服务承诺"),
        ("领的券下单时显示不可用", "促销活动"),
        ("住店期间行李箱被撬了", "店内事故"),
        ("酒店临街 晚上卡车吵得睡不着", "其他"),
    ],
)
def test_everyday_complaint_words(text, cause):
    assert CauseLexicon().classify(text) == cause


def test_passing_mentions_do_not_decide():
    classifier = CauseClassifier()
    assert classifier.classify("客服态度挺好的 但是这个电饭煲煮饭夹生") == "产品质量"
    assert classifier.classify("发货很快 但是是翻新机 屏幕有使用痕迹") == "产品标识"


def test_class_weight_kinds():
    labels = ["产品质量"] * 9 + ["店内事故"]
    assert _class_weights(labels, "balanced") == "balanced"
    assert _class_weights(labels, "none") is None
    weights = _class_weights(labels, "sqrt")
    # sqrt of the balanced weights: 10 / (2 * 9) and 10 / (2 * 1)
    assert weights["产品质量"] == pytest.approx((10 / 18) ** 0.5)
    assert weights["店内事故"] == pytest.approx(5**0.5)

