"""The default sentiment model: multinomial logistic regression over hashed TF-IDF features.

A model is a folder with ``weights.npz`` (a ``2**bits x 3`` weight matrix, the bias and the IDF
of every bucket, as float16) and ``meta.json`` (feature settings, training recipe, scores).
Scoring needs only numpy and scipy; training (:func:`train`) also needs scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix

from nlp.model_files import load_model_folder, save_model_folder
from nlp.text_features import hash_features

LABELS = ("negative", "neutral", "positive")
FORMAT = 1
DEFAULT_BITS = 19
DEFAULT_C = 10.0


@dataclass
class HashedLinearModel:
    weights: np.ndarray  # (2**bits, 3) float32, columns in LABELS order
    bias: np.ndarray  # (3,)
    idf: np.ndarray  # (2**bits,) float32
    bits: int
    meta: dict = field(default_factory=dict)

    def design_matrix(self, texts: Sequence[str], tokens: Sequence[Sequence[str]]) -> csr_matrix:
        """One row per text: each feature occurrence weighs its IDF, rows have unit length."""
        batch = hash_features(texts, tokens, self.bits)
        weight = self.idf[batch.buckets]
        row_of = np.repeat(np.arange(batch.size), np.diff(batch.offsets))
        squares = np.bincount(row_of, weights=weight * weight, minlength=batch.size)
        norms = np.sqrt(squares)
        norms[norms == 0] = 1.0
        values = (weight / norms[row_of]).astype(np.float32)
        return csr_matrix((values, batch.buckets, batch.offsets), shape=(batch.size, 2**self.bits))

    def probabilities(self, texts: Sequence[str], tokens: Sequence[Sequence[str]]) -> np.ndarray:
        """``(len(texts), 3)`` class probabilities in :data:`LABELS` order."""
        if not texts:
            return np.zeros((0, 3))
        logits = self.design_matrix(texts, tokens) @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, folder: Path) -> None:
        arrays = {
            "weights": self.weights.astype(np.float16),
            "bias": self.bias.astype(np.float32),
            "idf": self.idf.astype(np.float16),
        }
        meta = {"format": FORMAT, "kind": "hashed-linear", "bits": self.bits, "labels": LABELS}
        save_model_folder(folder, arrays, meta, self.meta)

    @classmethod
    def load(cls, folder: Path) -> HashedLinearModel:
        meta, arrays = load_model_folder(folder, FORMAT, "hashed-linear")
        return cls(
            # C order: the saved matrix is Fortran-ordered (a transpose), and scipy copied all
            # 6 MB of it on every batch (sparse @ dense ravels the dense operand).
            weights=np.ascontiguousarray(arrays["weights"], dtype=np.float32),
            bias=arrays["bias"].astype(np.float32),
            idf=arrays["idf"].astype(np.float32),
            bits=int(meta["bits"]),
            meta=meta,
        )


def train(
    texts: Sequence[str],
    tokens: Sequence[Sequence[str]],
    labels: Sequence[str],
    *,
    bits: int = DEFAULT_BITS,
    c: float = DEFAULT_C,
    balanced: bool = False,
    meta: dict | None = None,
) -> HashedLinearModel:
    """Fit a model on labelled texts (labels from :data:`LABELS`). Needs scikit-learn."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:  # pragma: no cover - depends on the installation
        raise RuntimeError("training needs scikit-learn: pip install 'yuqing[train]'") from None
    unknown = sorted(set(labels) - set(LABELS))
    if unknown:
        raise ValueError(f"unknown labels {unknown}; expected {', '.join(LABELS)}")
    batch = hash_features(texts, tokens, bits)
    row_of = np.repeat(np.arange(batch.size), np.diff(batch.offsets))
    # Document frequency counts a bucket once per text, as TF-IDF does.
    pairs = np.unique(row_of.astype(np.int64) << bits | batch.buckets)
    df = np.bincount(pairs & ((1 << bits) - 1), minlength=2**bits)
    idf = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)
    model = HashedLinearModel(
        weights=np.zeros((2**bits, len(LABELS)), dtype=np.float32),
        bias=np.zeros(len(LABELS), dtype=np.float32),
        # Stored as float16: round now so training sees exactly what scoring will.
        idf=idf.astype(np.float16).astype(np.float32),
        bits=bits,
        meta=dict(meta or {}),
    )
    target = np.array([LABELS.index(label) for label in labels])
    present = sorted(set(target))
    # Balanced class weights trade some accuracy on the majority class for macro-F1.
    classifier = LogisticRegression(
        C=c, max_iter=3000, class_weight="balanced" if balanced else None
    )
    classifier.fit(model.design_matrix(texts, tokens), target)
    coef = np.zeros((len(LABELS), 2**bits), dtype=np.float32)
    intercept = np.zeros(len(LABELS), dtype=np.float32)
    if len(present) == 2:
        # scikit-learn fits one column for two classes; as a softmax it is the second class's.
        coef[present[1]], intercept[present[1]] = classifier.coef_[0], classifier.intercept_[0]
    else:
        for row, cls in enumerate(classifier.classes_):
            coef[cls], intercept[cls] = classifier.coef_[row], classifier.intercept_[row]
    for absent in set(range(len(LABELS))) - set(present):
        intercept[absent] = -30.0  # a class never seen in training is never predicted
    model.weights = coef.T.astype(np.float16).astype(np.float32)
    model.bias = intercept
    model.meta |= {"n_train": len(texts), "C": c, "balanced_classes": balanced}
    return model
