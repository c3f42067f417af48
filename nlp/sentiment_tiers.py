"""Two-tier sentiment: a fast score for every post, a precise one for the posts alerts look at.

The fast tier is the hashed linear model (:mod:`nlp.sentiment_model`, tens of thousands of posts
a second). The precise tier blends it with the character CNN (:mod:`nlp.sentiment_cnn`), which
costs more per post, so it is only run on the posts that can trigger or appear in an alert:
those the fast tier leans negative on, those that use a complaint word (差, 投诉, 退款, 假货…:
a complaint the fast tier scores as borderline), plus any the caller marks as important (an
account with reach). Every other post keeps its fast score.

The blend lives in the precise model's folder (``nlp/models/weibo_cnn/meta.json``, ``blend``):
the weight of the CNN's log-probabilities against the linear model's, and one offset per class,
all chosen on the validation split of the training data (never on an eval file).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nlp.sentiment import SHIPPED_MODEL, Sentiment, WeiboEngine, sentiments_from
from nlp.sentiment_cnn import CharCNNModel

SHIPPED_PRECISE = SHIPPED_MODEL.parent / "weibo_cnn"
# Posts whose fast score is at or above this skip the precise tier unless the model's folder
# says otherwise (``blend.route_below``).
ROUTE_BELOW = 0.6
# Words a complaint nearly always uses and ordinary brand chatter rarely does. Written from the
# handbook's complaint vocabulary, not fitted to any test set. The cut above has to stay low
# because the CNN leans negative on chatter ("…出了秋季限定杯！"); these words send the
# complaints the fast tier leaves borderline ("酒店大堂及客房服务态度很差": 0.41) to the precise
# tier without sending the chatter.
COMPLAINT_WORDS = re.compile(
    "差|投诉|退款|退钱|退货|垃圾|坑|骗|失望|难吃|难喝|太慢|态度|不行|烂|糟糕|恶心|无语|"
    "再也不|维权|质量问题|假货|变质|过期|异物|故障|坏了|没人管|不理人|不给退"
)


def blend(linear: np.ndarray, cnn: np.ndarray, weight: float, offsets: Sequence[float]):
    """Class probabilities of the blend: a weighted mean of log-probabilities plus offsets."""
    logits = (1 - weight) * np.log(linear + 1e-9) + weight * np.log(cnn + 1e-9)
    logits = logits + np.asarray(offsets)
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


class PreciseEngine:
    """The linear model and the CNN blended, on every post (the precise tier alone)."""

    name = "weibo-precise"

    def __init__(self, fast: WeiboEngine | None = None, model_dir: Path | None = None) -> None:
        self.fast = fast or WeiboEngine()
        self.cnn = CharCNNModel.load(Path(model_dir) if model_dir else SHIPPED_PRECISE)
        settings = self.cnn.meta.get("blend", {})
        self.weight = float(settings.get("cnn_weight", 0.5))
        self.offsets = [float(x) for x in settings.get("offsets", (0.0, 0.0, 0.0))]
        self.route_below = float(settings.get("route_below", ROUTE_BELOW))

    def probabilities(self, texts: Sequence[str], tokens=None, linear: np.ndarray | None = None):
        """Blended probabilities; ``linear`` passes the fast tier's, already computed."""
        if linear is None:
            linear = self.fast.probabilities(texts, tokens)
        return blend(linear, self.cnn.probabilities(texts), self.weight, self.offsets)

    def scores(self, texts: Sequence[str], tokens=None) -> list[float]:
        return [s.score for s in self.predict(texts, tokens)]

    def predict(self, texts: Sequence[str], tokens=None) -> list[Sentiment]:
        return sentiments_from(self.probabilities(texts, tokens))


class TieredEngine:
    """The default ``weibo`` engine: the fast score everywhere, the precise one where it counts.

    ``last_routed`` is how many posts of the last batch went to the precise tier.
    """

    name = "weibo"

    def __init__(self, fast: WeiboEngine | None = None, precise: PreciseEngine | None = None):
        self.fast = fast or WeiboEngine()
        self.precise = precise or PreciseEngine(self.fast)
        self.route_below = self.precise.route_below
        self.last_routed = 0

    def routed(
        self, fast_probabilities: np.ndarray, texts: Sequence[str] = (), important=None
    ) -> np.ndarray:
        """Which posts the precise tier re-scores: leaned negative on, using a complaint word,
        or marked important."""
        score = fast_probabilities[:, 2] + 0.5 * fast_probabilities[:, 1]
        route = score < self.route_below
        if texts:
            route |= np.fromiter(
                (COMPLAINT_WORDS.search(t) is not None for t in texts), bool, len(texts)
            )
        if important is not None:
            route |= np.asarray(important, dtype=bool)
        return route

    def scores(self, texts: Sequence[str], tokens=None) -> list[float]:
        return [s.score for s in self.predict(texts, tokens)]

    def predict(self, texts: Sequence[str], tokens=None, important=None) -> list[Sentiment]:
        # float64: the precise rows written into it must not be rounded to float32.
        p = self.fast.probabilities(texts, tokens).astype(np.float64)
        route = self.routed(p, texts, important)
        self.last_routed = int(route.sum())
        if self.last_routed:
            rows = np.flatnonzero(route)
            p[rows] = self.precise.probabilities([texts[i] for i in rows], linear=p[rows])
        return sentiments_from(p)
