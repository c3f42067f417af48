"""The trained complaint-cause model: logistic regression over n-grams, words and lexicon scores.

A post's features are its character 2- and 3-grams and its jieba words, weighted by sublinear
TF-IDF and scaled to unit length, plus one value per cause from the hand lexicon of
:mod:`nlp.causes` (``log1p`` of that cause's lexicon score). The lexicon block is what lets a
model trained on a few hundred complaints still know words it never saw labelled, and what
carries the user's ``[nlp.causes]`` words into the model.

A model is a folder (``nlp/models/causes``) holding ``weights.npz`` (vocabulary, IDF, weight
matrix, bias) and ``meta.json`` (causes in column order, feature settings, training recipe and
scores). Scoring needs numpy only; :mod:`nlp.train_causes` fits it with scikit-learn.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from nlp.model_files import load_model_folder, save_model_folder
from nlp.segment import Segmenter

FORMAT = 1
DEFAULT_FOLDER = Path(__file__).parent / "models" / "causes"
CHAR_NGRAMS = (2, 3)


def text_features(text: str, cut: Callable[[str], list[str]]) -> list[str]:
    """The sparse features of one text: character n-grams ("c:") and jieba words ("w:").

    Training and scoring both call this, so the model always sees features made the same way.
    Single characters are left out: they add thousands of weak features to a few hundred
    training posts and measured no better in cross-validation.
    """
    text = text.strip()
    found = []
    for n in CHAR_NGRAMS:
        found += ["c:" + text[i : i + n] for i in range(len(text) - n + 1)]
    found += ["w:" + w for w in cut(text) if w.strip()]
    return found


@cache
def _segmenter() -> Segmenter:
    # Plain jieba cuts, one per process: loading a dictionary takes seconds, and the model was
    # trained on cuts without any topic's user words.
    return Segmenter()


@dataclass
class CauseModel:
    causes: tuple[str, ...]  # column order of weights and bias
    vocabulary: dict[str, int]
    idf: np.ndarray  # (n_features,)
    weights: np.ndarray  # (n_features + len(lexicon_causes), len(causes))
    bias: np.ndarray  # (len(causes),)
    lexicon_causes: tuple[str, ...]  # causes whose lexicon score is a feature, in order
    lexicon_scale: float  # the lexicon block's weight relative to the unit-length text block
    meta: dict = field(default_factory=dict)
    lexicon_vote: bool = True  # also a one-hot of the lexicon's own answer (see lexicon_vector)

    def text_vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Indices and values of the text block (sublinear TF-IDF, unit length)."""
        counts = Counter(f for f in text_features(text, _segmenter().cut) if f in self.vocabulary)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        index = np.fromiter((self.vocabulary[f] for f in counts), dtype=np.int64)
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64)
        values = tf * self.idf[index]
        return index, values / np.linalg.norm(values)

    def lexicon_vector(self, scores: Mapping[str, float]) -> np.ndarray:
        """The lexicon block: ``log1p`` of each cause's score (diminishing: the fifth defect word
        adds less than the first) and, with :attr:`lexicon_vote`, a one-hot of the cause the
        lexicon alone would answer, the last slot meaning it found nothing."""
        values = np.array([scores.get(c, 0.0) for c in self.lexicon_causes], dtype=np.float64)
        block = np.log1p(values)
        if self.lexicon_vote:
            vote = np.zeros(len(values) + 1)
            # argmax takes the first of equal scores: the lexicon's own tie rule.
            vote[int(np.argmax(values)) if values.max(initial=0.0) > 0 else len(values)] = 1.0
            block = np.concatenate([block, vote])
        return self.lexicon_scale * block

    def probabilities(self, text: str, lexicon_scores: Mapping[str, float]) -> np.ndarray:
        """Probability of each of :attr:`causes` for ``text`` given its lexicon scores."""
        index, values = self.text_vector(text)
        n_text = len(self.vocabulary)
        logits = values @ self.weights[index] + self.bias
        logits = logits + self.lexicon_vector(lexicon_scores) @ self.weights[n_text:]
        logits -= logits.max()
        exp = np.exp(logits)
        return exp / exp.sum()

    def save(self, folder: Path) -> None:
        words = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        arrays = {
            "vocabulary": np.array(words),
            "idf": self.idf.astype(np.float32),
            "weights": self.weights.astype(np.float32),
            "bias": self.bias.astype(np.float32),
        }
        meta = {
            "format": FORMAT,
            "kind": "cause-logreg",
            "causes": list(self.causes),
            "lexicon_causes": list(self.lexicon_causes),
            "lexicon_scale": self.lexicon_scale,
            "lexicon_vote": self.lexicon_vote,
            "char_ngrams": list(CHAR_NGRAMS),
        }
        save_model_folder(folder, arrays, meta, self.meta)

    @classmethod
    def load(cls, folder: Path = DEFAULT_FOLDER) -> CauseModel:
        meta, arrays = load_model_folder(folder, FORMAT, "cause-logreg", "cause model")
        if tuple(meta.get("char_ngrams", ())) != CHAR_NGRAMS:
            raise ValueError(f"{folder}: trained with other n-grams than this code makes")
        words = [str(w) for w in arrays["vocabulary"]]
        return cls(
            causes=tuple(meta["causes"]),
            vocabulary={w: i for i, w in enumerate(words)},
            idf=arrays["idf"].astype(np.float64),
            weights=arrays["weights"].astype(np.float64),
            bias=arrays["bias"].astype(np.float64),
            lexicon_causes=tuple(meta["lexicon_causes"]),
            lexicon_scale=float(meta["lexicon_scale"]),
            meta=meta,
            lexicon_vote=bool(meta["lexicon_vote"]),
        )


def _class_weights(labels: Sequence[str], kind: str) -> str | dict[str, float] | None:
    """``balanced`` (each cause weighs as much in all), ``sqrt`` (the square root of that: rare
    causes still count more, less so) or ``none``."""
    if kind == "none":
        return None
    if kind == "sqrt":
        counts = Counter(labels)
        return {c: math.sqrt(len(labels) / (len(counts) * n)) for c, n in counts.items()}
    return kind


def fit(
    texts: Sequence[str],
    labels: Sequence[str],
    lexicon_scores: Sequence[Mapping[str, float]],
    *,
    causes: Sequence[str],
    lexicon_causes: Sequence[str],
    lexicon_scale: float = 1.0,
    lexicon_vote: bool = True,
    c: float = 10.0,
    min_df: int = 2,
    sample_weight: Sequence[float] | None = None,
    class_weight: str = "balanced",
    meta: Mapping | None = None,
) -> CauseModel:
    """Fit a :class:`CauseModel` (needs scikit-learn: ``pip install 'yuqing[train]'``)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(
        analyzer=lambda t: text_features(t, _segmenter().cut), sublinear_tf=True, min_df=min_df
    )
    text_block = vectorizer.fit_transform(texts)
    model = CauseModel(
        causes=tuple(causes),
        vocabulary={f: int(i) for f, i in vectorizer.vocabulary_.items()},
        idf=vectorizer.idf_,
        weights=np.zeros(0),
        bias=np.zeros(0),
        lexicon_causes=tuple(lexicon_causes),
        lexicon_scale=lexicon_scale,
        meta=dict(meta or {}),
        lexicon_vote=lexicon_vote,
    )
    lex_block = csr_matrix(np.array([model.lexicon_vector(s) for s in lexicon_scores]))
    design = hstack([text_block, lex_block]).tocsr()
    # class_weight balanced: 产品质量 is a third of the real complaints, 店内事故 a few percent,
    # and a rare cause missed is worse for the PR team than a common one diluted.
    # newton-cg: the same optimum as lbfgs on these few thousand features, four times faster.
    classifier = LogisticRegression(
        C=c, class_weight=_class_weights(labels, class_weight), solver="newton-cg", max_iter=1000
    )
    classifier.fit(design, list(labels), sample_weight=sample_weight)
    order = [list(classifier.classes_).index(cause) for cause in causes]
    model.weights = classifier.coef_.T[:, order]
    model.bias = classifier.intercept_[order]
    return model
