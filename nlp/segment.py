"""Word segmentation with a per-configuration user dictionary, and TF-IDF keywords.

Segmentation runs on rjieba (the Python binding of jieba-rs, a Rust port of jieba with the same
dictionary): about 12x faster than jieba, which matters because every post is segmented.
``tests/test_nlp_segment.py`` checks that its output matches jieba's on a corpus; the known
difference is that jieba-rs keeps runs like ``R-73`` or ``1.5MW`` whole where jieba splits them.
Each :class:`Segmenter` with user words owns its own dictionary so brand names added for one
configuration never leak into another; those without share one plain dictionary per process.
Keywords weigh words by jieba's own IDF table, as ``jieba.analyse`` does, kept compact and cached
on disk (:class:`IdfTable`) so a short-lived command does not parse it again (issue 17).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from nlp.disk_cache import load_or_build

if TYPE_CHECKING:
    import numpy as np
    import rjieba

log = logging.getLogger(__name__)

STOPWORDS_PATH = Path(__file__).parent / "data" / "stopwords.txt"
# jieba.analyse's own stopwords (``jieba.analyse.TFIDF.STOP_WORDS``), spelt out because importing
# jieba.analyse costs 0.7 s and ~90 MB: it loads jieba, its POS tagger and the IDF table as a
# dict (tests/test_startup_imports.py checks the two lists agree).
JIEBA_STOP_WORDS = frozenset(
    """the of is and to in that we for an are by be as on with can if from which you it this
    then at have all not one has or""".split()
)
# A keyword must hold a letter or a CJK character: no punctuation, numbers or emoticon brackets.
_WORDLIKE = re.compile(r"[A-Za-z\u4e00-\u9fff]")
# High enough that jieba keeps a brand name whole instead of splitting it into common words.
USER_WORD_FREQ = 100_000
# Words whose keyword eligibility a Segmenter remembers (cleared when full, so memory stays
# bounded however many novel strings pass through).
_MEMO_WORDS = 200_000
# From this many words a lookup is one numpy call rather than a binary search per word.
_NUMPY_FROM_WORDS = 64
# Bump when the layout of the cached IDF table changes.
_IDF_CACHE_VERSION = 1


@cache
def stopwords() -> frozenset[str]:
    lines = STOPWORDS_PATH.read_text(encoding="utf-8").splitlines()
    ours = {w.strip() for w in lines if w.strip() and not w.startswith("#")}
    return frozenset(ours | JIEBA_STOP_WORDS)


def jieba_idf_path() -> Path:
    """jieba's IDF table (``jieba/analyse/idf.txt``), found without importing jieba."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("jieba is not installed: its IDF table weighs keywords")
    return Path(spec.submodule_search_locations[0]) / "analyse" / "idf.txt"


def _word_key(word: str) -> int:
    # A stable 64-bit digest: Python's own hash() changes with every process, and the table is
    # cached on disk. With 270,000 words, two colliding has a chance of about 1 in 10^8.
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


class IdfTable:
    """jieba's IDF table as two arrays: the sorted 64-bit digests of its words and their IDF.

    The same weights as the dict ``jieba.analyse`` builds (the last line of a repeated word wins;
    a missing word gets the median), in ~4 MB instead of ~50 MB of Python strings and floats,
    and loaded from a cache file in a few milliseconds instead of parsed in 0.4-0.7 s (issue 17).
    """

    def __init__(self, keys: np.ndarray, values: np.ndarray, median: float):
        self.keys, self.values, self.median = keys, values, float(median)
        # The same arrays as plain buffers: a binary search with the bisect module on them
        # costs ~1.5 us a word, where one numpy call costs ~10 us whatever its size, and a post
        # brings only a few words not seen before.
        self._key_view, self._value_view = memoryview(keys), memoryview(values)

    def __len__(self) -> int:
        return len(self.keys)

    def weights(self, words: Sequence[str]) -> list[float]:
        """The IDF of each word, the median for a word the table lacks."""
        import numpy as np

        if not words or not len(self.keys):
            return [self.median] * len(words)
        if len(words) < _NUMPY_FROM_WORDS:
            keys, values, last = self._key_view, self._value_view, len(self.keys) - 1
            found = []
            for word in words:
                key = _word_key(word)
                at = min(bisect_left(keys, key), last)
                found.append(values[at] if keys[at] == key else self.median)
            return found
        wanted = np.fromiter((_word_key(w) for w in words), dtype=np.uint64, count=len(words))
        at = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        found = self.keys[at] == wanted
        return np.where(found, self.values[at], self.median).tolist()

    @classmethod
    def parse(cls, path: Path) -> IdfTable:
        """Read jieba's ``word idf`` lines (what ``jieba.analyse.tfidf.IDFLoader`` does)."""
        import numpy as np

        table: dict[str, float] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            word, _, value = line.rpartition(" ")
            if word:
                table[word] = float(value)
        values = sorted(table.values())
        median = values[len(values) // 2] if values else 0.0
        keys = np.fromiter((_word_key(w) for w in table), dtype=np.uint64, count=len(table))
        idf = np.fromiter(table.values(), dtype=np.float64, count=len(table))
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], idf[order], median)

    def write(self, out: BinaryIO) -> None:
        import numpy as np

        np.savez(out, keys=self.keys, values=self.values, median=np.float64(self.median))

    @classmethod
    def load(cls, path: Path) -> IdfTable:
        import numpy as np

        with np.load(path) as data:
            return cls(data["keys"], data["values"], float(data["median"]))


@cache
def idf_table() -> IdfTable:
    """jieba's IDF table, once per process: from the cache file, else parsed and cached
    (:mod:`nlp.disk_cache`)."""
    return load_or_build(
        "jieba-idf",
        jieba_idf_path(),
        _IDF_CACHE_VERSION,
        ".npz",
        load=IdfTable.load,
        build=lambda: IdfTable.parse(jieba_idf_path()),
        write=lambda out, table: table.write(out),
    )


@cache
def _plain_jieba() -> rjieba.Jieba:
    # rjieba's default dictionary, which ``import rjieba`` builds anyway (~25 MB): the sentiment
    # and cause models (trained on jieba's own dictionary) and storage's search tokens share it
    # instead of building one copy each. Nothing may add words to it.
    import rjieba

    # The module-level instance behind rjieba.cut (rjieba 0.2); a build without it gets one.
    return getattr(rjieba, "_DEFAULT_JIEBA", None) or rjieba.Jieba()


class Segmenter:
    def __init__(self, user_words: Iterable[str] = ()):
        # word -> its IDF weight, or None when it can never be a keyword: the same few thousand
        # words recur in every post, so the filter below runs once per word, not once per token.
        self._weights: dict[str, float | None] = {}
        words = sorted({w for w in user_words if len(w) > 1})
        if not words:
            self._jieba = _plain_jieba()
            return
        import rjieba

        self._jieba = rjieba.Jieba()
        # Multi-character user words get a high frequency so jieba keeps each one whole.
        for word in words:
            self._jieba.add_word(word, USER_WORD_FREQ, None)

    def cut(self, text: str) -> list[str]:
        """Every token of ``text``, whitespace and punctuation included (they join back to it)."""
        return self._jieba.cut(text)

    def cut_many(self, texts: Sequence[str]) -> list[list[str]]:
        cut = self._jieba.cut
        return [cut(t) for t in texts]

    def words(self, text: str) -> list[str]:
        """Tokens of ``text`` without whitespace, punctuation-only tokens or stopwords."""
        stop = stopwords()
        return [w for w in self.cut(text) if _WORDLIKE.search(w) and w not in stop]

    def keywords(self, text: str, top_k: int = 5, tokens: Sequence[str] | None = None) -> list[str]:
        """The ``top_k`` TF-IDF keywords of ``text``; pass ``tokens`` if already segmented."""
        if top_k <= 0 or not text:
            return []
        weights = self._weights
        words = self.cut(text) if tokens is None else tokens
        unseen = [w for w in dict.fromkeys(words) if w not in weights]
        if unseen:
            weights.update(zip(unseen, self._weigh(unseen), strict=True))
        counts: dict[str, int] = {}
        for word in words:
            if weights[word] is not None:
                counts[word] = counts.get(word, 0) + 1
        weight = {w: n * weights[w] for w, n in counts.items()}
        if len(weights) > _MEMO_WORDS:
            weights.clear()
        return sorted(weight, key=weight.__getitem__, reverse=True)[:top_k]

    @staticmethod
    def _weigh(words: Sequence[str]) -> list[float | None]:
        """Each word's IDF weight, or None when it can never be a keyword; one table lookup for
        the batch, which is what the digest-keyed table is fast at."""
        stop = stopwords()
        # Same filter as jieba.analyse: two characters or more, not a stopword.
        eligible = [
            w
            for w in words
            if len(w.strip()) >= 2 and w.lower() not in stop and _WORDLIKE.search(w)
        ]
        found = dict(zip(eligible, idf_table().weights(eligible), strict=True))
        return [found.get(w) for w in words]
