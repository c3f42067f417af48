"""Sentiment scoring behind one interface: a score in [0, 1] and a label.

``score`` is the probability-like positivity an engine returns; the label comes from two
thresholds (configurable): below ``negative_below`` is negative, above ``positive_above`` is
positive, anything between is neutral. Engines are looked up by name with :func:`get_engine`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Sentiment:
    score: float
    label: str


class SentimentEngine(Protocol):
    name: str

    def scores(self, texts: Sequence[str]) -> list[float]: ...


def label_for(score: float, negative_below: float = 0.4, positive_above: float = 0.6) -> str:
    if score < negative_below:
        return "negative"
    if score > positive_above:
        return "positive"
    return "neutral"


class SnowNLPEngine:
    """SnowNLP's Bayes classifier (trained on product reviews; slow, kept as a reference)."""

    name = "snownlp"

    def __init__(self) -> None:
        from snownlp import SnowNLP  # imported lazily: loading its model takes about a second

        self._snownlp = SnowNLP

    def scores(self, texts: Sequence[str]) -> list[float]:
        # An empty text has no opinion; SnowNLP would still answer, so answer neutral ourselves.
        return [float(self._snownlp(t).sentiments) if t.strip() else 0.5 for t in texts]


_ENGINES = {"snownlp": SnowNLPEngine}
_loaded: dict[str, SentimentEngine] = {}


def get_engine(name: str) -> SentimentEngine:
    """The engine called ``name``, loaded once per process."""
    if name not in _loaded:
        try:
            factory = _ENGINES[name]
        except KeyError:
            raise ValueError(
                f"unknown sentiment engine {name!r}; known: {', '.join(_ENGINES)}"
            ) from None
        _loaded[name] = factory()
    return _loaded[name]


def analyse(
    texts: Sequence[str],
    engine: SentimentEngine,
    negative_below: float = 0.4,
    positive_above: float = 0.6,
) -> list[Sentiment]:
    return [
        Sentiment(round(s, 4), label_for(s, negative_below, positive_above))
        for s in engine.scores(texts)
    ]
