"""The precise sentiment model: a character CNN scored with numpy (no torch at run time).

A model is a folder with ``weights.npz`` (the character vocabulary, the embeddings, one
convolution per window width, the output layer) and ``meta.json`` (settings, recipe, scores).
Training is :mod:`nlp.train_sentiment_cnn` (needs torch, the ``train`` extra).

The network: characters -> embeddings -> convolutions of widths 2..5 -> ReLU -> max and mean
over the windows -> a linear layer -> softmax over (negative, neutral, positive). A one-layer
convolution is a sum over its window of ``embedding(char) @ W[offset]``, so every
``(char, offset)`` product is computed once into a table, and scoring is table look-ups and adds:
no matrix product per post. The tables are built when a post first needs them and cached on
disk by a loaded model (:mod:`nlp.disk_cache`); later processes read from there only the rows
of the characters they meet.
"""

from __future__ import annotations

import logging
import mmap
import os
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlp.disk_cache import load_or_build
from nlp.model_files import load_model_folder, save_model_folder

log = logging.getLogger(__name__)

LABELS = ("negative", "neutral", "positive")
FORMAT = 1
KIND = "char-cnn"
PAD, UNKNOWN = 0, 1
# Sorting a batch by length before padding keeps the padded work near the real work.
CHUNK = 256
# Bump when the layout of the cached lookup tables changes.
_TABLES_CACHE_VERSION = 2


class _CachedRows:
    """The cached tables (a ``.npy`` file), read a character's rows at a time.

    ``stacked`` starts as untouched anonymous memory, which takes no room until written; the
    first post that uses a character reads its rows (one contiguous block, character-major)
    from the file. Memory-mapping the file instead cost 16-24 MB of resident memory for one
    short post: the kernel maps the page cache's large folios whole, not page by page.
    """

    def __init__(self, path: Path, shape: tuple[int, int, int]):
        with open(path, "rb") as f:
            major, minor = np.lib.format.read_magic(f)
            if major not in (1, 2):
                raise ValueError(f"unsupported .npy version {major}.{minor}")
            read_header = (
                np.lib.format.read_array_header_1_0
                if major == 1
                else np.lib.format.read_array_header_2_0
            )
            found, fortran, dtype = read_header(f)
            offset = f.tell()
            size = os.fstat(f.fileno()).st_size
        nbytes = int(np.prod(shape)) * 4
        if found != shape or fortran or dtype != np.dtype("<f4") or size != offset + nbytes:
            raise ValueError(f"holds {found} {dtype}, the model needs {shape} float32")
        # An anonymous mapping rather than numpy's allocator, which asks for huge pages on big
        # arrays: one written row would then make 2 MB resident.
        self._buffer = mmap.mmap(-1, max(nbytes, 1))
        self.stacked = np.frombuffer(self._buffer, dtype=np.float32, count=int(np.prod(shape)))
        self.stacked = self.stacked.reshape(shape)
        self._read = np.zeros(shape[0], dtype=bool)
        self._row_bytes = shape[1] * shape[2] * 4
        self._offset = offset
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def read(self, ids: np.ndarray) -> None:
        """Make sure the rows of characters ``ids`` are in :attr:`stacked`."""
        for i in ids[~self._read[ids]].tolist():
            data = os.pread(self._fd, self._row_bytes, self._offset + i * self._row_bytes)
            if len(data) != self._row_bytes:
                raise OSError(f"sentiment lookup tables cut short at character {i}")
            self.stacked[i] = np.frombuffer(data, dtype=np.float32).reshape(self.stacked.shape[1:])
            self._read[i] = True


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
    # The weights file the model was loaded from: its lookup tables are cached on disk by it.
    source: Path | None = None

    def __post_init__(self) -> None:
        self._ids = {ch: i + 2 for i, ch in enumerate(self.vocab)}
        self._tables: list[list[np.ndarray]] | None = None
        self._rows: _CachedRows | None = None

    @property
    def tables(self) -> list[list[np.ndarray]]:
        """``tables[k][j] = embedding @ W_k[:, :, j].T``: what a character adds to a window of
        width k when it sits at offset j of it.

        Built on first use (issue 17): ~37 MB, which a process that never scores a post with
        this tier (a neutral one-line ingest, ``yuqing nlp eval --engine weibo-fast``) should
        not pay. A loaded model reads them from the cache (:mod:`nlp.disk_cache`) a character
        at a time (:class:`_CachedRows`), so a short-lived process holds only the rows of the
        characters it meets."""
        if self._tables is None:
            stacked = self._cached_tables() if self.source else self._compute_tables()
            tables, at = [], 0
            for w, _ in self.convs:
                tables.append([stacked[:, at + j] for j in range(w.shape[2])])
                at += w.shape[2]
            self._tables = tables
        return self._tables

    def _compute_tables(self) -> np.ndarray:
        """Every ``(width, offset)`` table side by side, ``(characters, tables, filters)``: one
        character's rows of every table are adjacent, so scoring a post reads a few pages per
        character of it instead of one page per character in each of the 14 tables."""
        pairs = [(w, j) for w, _ in self.convs for j in range(w.shape[2])]
        filters = self.convs[0][0].shape[0] if self.convs else 0
        # Filled in place: stacking a list of tables would hold them all twice for a moment.
        stacked = np.empty((len(self.vocab) + 2, len(pairs), filters), dtype=np.float32)
        for at, (w, j) in enumerate(pairs):
            stacked[:, at] = self.embedding @ w[:, :, j].T
        return stacked

    def _cached_tables(self) -> np.ndarray:
        """The tables from the cache, computed and written there if missing (in memory only
        when there is no usable cache)."""
        filters = self.convs[0][0].shape[0] if self.convs else 0
        shape = (len(self.vocab) + 2, sum(w.shape[2] for w, _ in self.convs), filters)

        def load(path: Path) -> np.ndarray:
            self._rows = _CachedRows(path, shape)
            return self._rows.stacked

        return load_or_build(
            "cnn-tables",
            self.source,
            _TABLES_CACHE_VERSION,
            ".npy",
            load=load,
            build=self._compute_tables,
            write=np.save,
        )

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
        all_tables = self.tables
        if self._rows is not None:  # read the rows of this chunk's characters not yet read
            self._rows.read(np.unique(ids))
        for (_, bias), tables in zip(self.convs, all_tables, strict=True):
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
            source=Path(folder) / "weights.npz",
        )
