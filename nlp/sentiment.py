"""Sentiment scoring behind one interface: a score in [0, 1] and a label.

``score`` is the positivity of a post: 0 is clearly negative, 1 clearly positive, 0.5 neutral or
balanced. Where the label comes from depends on the engine:

- ``weibo`` (default) is two tiers (:mod:`nlp.sentiment_tiers`): a fast three-class linear model
  (:mod:`nlp.sentiment_model`) scores every post, and the posts it does not call clearly
  positive are re-scored by the precise tier, the linear model blended with a character CNN
  (:mod:`nlp.sentiment_cnn`). ``weibo-fast`` and ``weibo-precise`` are each tier alone. The
  label is the most probable class, and the score is P(positive) + P(neutral) / 2. A strongly
  neutral post then scores 0.5 instead of being forced to one side.
- ``snownlp`` returns one probability of "positive"; the label comes from two thresholds
  (below ``negative_below`` negative, above ``positive_above`` positive, between neutral).

Engines are looked up by name with :func:`get_engine`, optionally with a model trained by
``yuqing nlp train`` instead of the shipped one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

LABELS = ("negative", "neutral", "positive")
SHIPPED_MODEL = Path(__file__).parent / "models" / "weibo"
DEFAULT_ENGINE = "weibo"


@dataclass(frozen=True)
class Sentiment:
    score: float
    label: str


class SentimentEngine(Protocol):
    name: str

    def scores(
        self, texts: Sequence[str], tokens: Sequence[Sequence[str]] | None = None
    ) -> list[float]: ...


@runtime_checkable
class ClassifyingEngine(SentimentEngine, Protocol):
    """An engine whose model chooses the label itself (thresholds do not apply)."""

    def predict(
        self, texts: Sequence[str], tokens: Sequence[Sequence[str]] | None = None
    ) -> list[Sentiment]: ...


def label_for(score: float, negative_below: float = 0.4, positive_above: float = 0.6) -> str:
    if score < negative_below:
        return "negative"
    if score > positive_above:
        return "positive"
    return "neutral"


def sentiments_from(probabilities) -> list[Sentiment]:
    """Label (most probable class) and score (P(positive) + P(neutral) / 2) of each row of
    ``(n, 3)`` class probabilities; rounded in float64 so every tier rounds alike."""
    import numpy as np

    p = np.asarray(probabilities, dtype=np.float64)
    scores = (p[:, 2] + 0.5 * p[:, 1]).round(4).tolist()
    labels = p.argmax(axis=1).tolist()
    return [Sentiment(s, LABELS[i]) for s, i in zip(scores, labels, strict=True)]


class WeiboEngine:
    """The shipped three-class model trained on hand-labelled Weibo posts (SMP2020-EWECT)."""

    name = "weibo"

    def __init__(self, model_dir: Path | None = None) -> None:
        from nlp.segment import Segmenter
        from nlp.sentiment_model import HashedLinearModel

        self.model_dir = Path(model_dir) if model_dir else SHIPPED_MODEL
        self.model = HashedLinearModel.load(self.model_dir)
        # The model was trained on jieba's own dictionary; a user dictionary would shift tokens.
        # A Segmenter without user words shares the process's plain dictionary instead of
        # building another (~25 MB, 0.1-0.2 s; issue 17).
        self._cut = Segmenter().cut

    def _tokens(self, texts, tokens):
        return tokens if tokens is not None else [self._cut(t) for t in texts]

    def probabilities(self, texts: Sequence[str], tokens=None):
        return self.model.probabilities(texts, self._tokens(texts, tokens))

    def scores(self, texts: Sequence[str], tokens=None) -> list[float]:
        p = self.probabilities(texts, tokens)
        return (p[:, 2] + 0.5 * p[:, 1]).tolist()

    def predict(self, texts: Sequence[str], tokens=None) -> list[Sentiment]:
        return sentiments_from(self.probabilities(texts, tokens))


class SnowNLPEngine:
    """SnowNLP's Bayes classifier: its bundled product-review model, or one retrained with
    :func:`nlp.train_sentiment.train_snownlp` (a file saved by SnowNLP's own ``save``)."""

    name = "snownlp"

    def __init__(self, model_path: Path | None = None) -> None:
        # Imported lazily: loading SnowNLP's model takes about a second.
        from snownlp import sentiment as snow_sentiment

        if model_path is None:
            self._classifier = snow_sentiment.classifier
        else:
            self._classifier = snow_sentiment.Sentiment()
            # SnowNLP appends ".3" to the file name under Python 3 when saving and loading.
            self._classifier.load(str(model_path).removesuffix(".3"))

    def scores(self, texts: Sequence[str], tokens=None) -> list[float]:
        # An empty text has no opinion; SnowNLP would still answer, so answer neutral ourselves.
        return [float(self._classifier.classify(t)) if t.strip() else 0.5 for t in texts]


def _tiered(model_dir: Path | None = None) -> SentimentEngine:
    from nlp.sentiment_tiers import TieredEngine

    # A linear model trained with `yuqing nlp train` replaces the whole engine: the precise
    # tier's blend was tuned against the shipped linear model, not against this one.
    return WeiboEngine(model_dir) if model_dir else TieredEngine()


def _precise(model_dir: Path | None = None) -> SentimentEngine:
    from nlp.sentiment_tiers import PreciseEngine

    return PreciseEngine(model_dir=model_dir)


def _fast(model_dir: Path | None = None) -> SentimentEngine:
    engine = WeiboEngine(model_dir)
    engine.name = "weibo-fast"
    return engine


_ENGINES = {
    "weibo": _tiered,
    "weibo-fast": _fast,
    "weibo-precise": _precise,
    "snownlp": SnowNLPEngine,
}
ENGINE_NAMES = tuple(_ENGINES)
_loaded: dict[tuple[str, str | None], SentimentEngine] = {}


def get_engine(name: str, model: str | Path | None = None) -> SentimentEngine:
    """The engine called ``name`` (with ``model`` instead of its default), loaded once."""
    key = (name, str(model) if model else None)
    if key not in _loaded:
        try:
            factory = _ENGINES[name]
        except KeyError:
            raise ValueError(
                f"unknown sentiment engine {name!r}; known: {', '.join(_ENGINES)}"
            ) from None
        _loaded[key] = factory(Path(model)) if model else factory()
    return _loaded[key]


def analyse(
    texts: Sequence[str],
    engine: SentimentEngine,
    negative_below: float = 0.4,
    positive_above: float = 0.6,
    tokens: Sequence[Sequence[str]] | None = None,
) -> list[Sentiment]:
    """Score and label ``texts``; ``tokens`` (their segmentation) saves re-segmenting."""
    if isinstance(engine, ClassifyingEngine):
        return engine.predict(texts, tokens)
    return [
        Sentiment(round(s, 4), label_for(s, negative_below, positive_above))
        for s in engine.scores(texts, tokens)
    ]
