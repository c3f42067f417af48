"""The precise sentiment model: a character CNN scored with numpy (no torch at run time).

A model is a folder with ``weights.npz`` (the character vocabulary, the embeddings, one
convolution per window width, the output layer) and ``meta.json`` (settings, recipe, scores).
Training is :mod:`nlp.train_sentiment_cnn` (needs torch, the ``train`` extra).

The network: characters -> embeddings -> convolutions of widths 2..5 -> ReLU -> max and mean
over the windows -> a linear layer -> softmax over (negative, neutral, positive). A one-layer
convolution is a sum over its window of ``embedding(char) @ W[offset]``, so at load time every
``(char, offset)`` product is computed once into a table, and scoring is table look-ups and adds:
no matrix product per post.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlp.model_files import load_model_folder, save_model_folder

LABELS = ("negative", "neutral", "positive")
FORMAT = 1
KIND = "char-cnn"
PAD, UNKNOWN = 0, 1
# Sorting a batch by length before padding keeps the padded work near the real work.
CHUNK = 256


def _chars(text: str) -> str:
    # Case says nothing about sentiment; folding it halves the Latin part of the vocabulary.
    return text.lower()


@dataclass
class CharCNNModel:
    vocab: str  # character i + 2 has id i + 2; 0 pads, 1 is any unknown character
    embedding: np.ndarray  # (V, d)
    convs: list[tuple[np.ndarray, np.ndarray]]  # per width k: W (F, d, k) as torch, bias (F,)
    out_weight: np.ndarray  # (3, 2 * F * widths)
    out_bias: np.ndarray  # (3,)
    max_chars: int = 200
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ids = {ch: i + 2 for i, ch in enumerate(self.vocab)}
        # tables[k][j] = embedding @ W_k[:, :, j].T: what a character adds to a window of width
        # k when it sits at offset j of it.
        self._tables = [
            [
                np.ascontiguousarray(self.embedding @ w[:, :, j].T, dtype=np.float32)
                for j in range(w.shape[2])
            ]
            for w, _ in self.convs
        ]

    @property
    def widths(self) -> list[int]:
        return [w.shape[2] for w, _ in self.convs]

    def encode(self, text: str) -> list[int]:
        get = self._ids.get
        return [get(ch, UNKNOWN) for ch in _chars(text)[: self.max_chars]]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), 3)`` class probabilities in :data:`LABELS` order."""
        out = np.zeros((len(texts), len(LABELS)))
        if not texts:
            return out
        encoded = [self.encode(t) for t in texts]
        order = np.argsort([len(e) for e in encoded], kind="stable")
        for start in range(0, len(order), CHUNK):
            rows = order[start : start + CHUNK]
            out[rows] = self._chunk([encoded[i] for i in rows])
        return out

    def _chunk(self, encoded: list[list[int]]) -> np.ndarray:
        widest = max(self.widths)
        lengths = np.array([max(len(e), 1) for e in encoded])
        # Every post gets at least one full window of the widest width, padded with PAD.
        size = max(int(lengths.max()), widest)
        ids = np.zeros((len(encoded), size), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e)] = e
        features = []
        for (_, bias), tables in zip(self.convs, self._tables, strict=True):
            k = len(tables)
            windows = size - k + 1
            acc = tables[0][ids[:, :windows]]
            for j in range(1, k):
                acc += tables[j][ids[:, j : j + windows]]
            acc += bias
            np.maximum(acc, 0, out=acc)
            # A window is real when it starts inside the post (a post shorter than k has one).
            valid = np.arange(windows)[None, :] < np.maximum(lengths - k + 1, 1)[:, None]
            acc *= valid[:, :, None]
            # After ReLU every value is >= 0, so zeroed padding windows never win the max.
            features.append(acc.max(axis=1))
            features.append(acc.sum(axis=1) / valid.sum(axis=1)[:, None])
        logits = np.concatenate(features, axis=1) @ self.out_weight.T + self.out_bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {
            "vocab": np.array([ord(c) for c in self.vocab], dtype=np.uint32),
            "embedding": self.embedding.astype(np.float16),
            "out_weight": self.out_weight.astype(np.float32),
            "out_bias": self.out_bias.astype(np.float32),
        }
        for w, b in self.convs:
            arrays[f"conv{w.shape[2]}_weight"] = w.astype(np.float16)
            arrays[f"conv{w.shape[2]}_bias"] = b.astype(np.float32)
        meta = {
            "format": FORMAT,
            "kind": KIND,
            "labels": LABELS,
            "widths": self.widths,
            "max_chars": self.max_chars,
        }
        save_model_folder(folder, arrays, meta, self.meta)

    @classmethod
    def load(cls, folder: Path) -> CharCNNModel:
        meta, arrays = load_model_folder(folder, FORMAT, KIND)
        convs = [
            (
                arrays[f"conv{k}_weight"].astype(np.float32),
                arrays[f"conv{k}_bias"].astype(np.float32),
            )
            for k in meta["widths"]
        ]
        return cls(
            vocab="".join(chr(c) for c in arrays["vocab"]),
            embedding=arrays["embedding"].astype(np.float32),
            convs=convs,
            out_weight=arrays["out_weight"].astype(np.float32),
            out_bias=arrays["out_bias"].astype(np.float32),
            max_chars=int(meta["max_chars"]),
            meta=meta,
        )
