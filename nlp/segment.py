"""Word segmentation (jieba) with a per-configuration user dictionary, and keyword extraction.

Each :class:`Segmenter` owns its own ``jieba.Tokenizer`` so that brand names added for one
configuration never leak into another (jieba's module-level tokenizer is global state).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path

import jieba
import jieba.analyse

jieba.setLogLevel(logging.WARNING)

STOPWORDS_PATH = Path(__file__).parent / "data" / "stopwords.txt"
# A keyword must hold a letter or a CJK character: no punctuation, numbers or emoticon brackets.
_WORDLIKE = re.compile(r"[A-Za-z\u4e00-\u9fff]")


@cache
def stopwords() -> frozenset[str]:
    lines = STOPWORDS_PATH.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=8)
def segmenter_for(user_words: frozenset[str]) -> Segmenter:
    """A shared :class:`Segmenter` per user dictionary: building one loads jieba's whole
    dictionary (about a second), so each configuration pays that once per process."""
    return Segmenter(user_words)


class Segmenter:
    def __init__(self, user_words: Iterable[str] = ()):
        self._tokenizer = jieba.Tokenizer()
        # Multi-character user words get a high frequency so jieba keeps each one whole.
        for word in sorted(set(user_words)):
            if len(word) > 1:
                self._tokenizer.add_word(word, freq=100_000)
        self._tfidf = jieba.analyse.TFIDF()
        self._tfidf.tokenizer = self._tokenizer
        self._tfidf.stop_words = set(self._tfidf.stop_words) | stopwords()

    def words(self, text: str) -> list[str]:
        """Tokens of ``text`` without whitespace, punctuation-only tokens or stopwords."""
        stop = stopwords()
        return [
            w
            for w in self._tokenizer.lcut(text)
            if w.strip() and _WORDLIKE.search(w) and w not in stop
        ]

    def keywords(self, text: str, top_k: int = 5) -> list[str]:
        """The ``top_k`` TF-IDF keywords of ``text`` (jieba's IDF table)."""
        if top_k <= 0 or not text:
            return []
        tags = self._tfidf.extract_tags(text, topK=top_k * 2)
        return [t for t in tags if _WORDLIKE.search(t)][:top_k]
