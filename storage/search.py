"""Chinese full-text search: the segmented text of a mention and the match condition per backend.

Chinese has no spaces, so both the stored text and the query are segmented by the same jieba
tokenizer here, in storage, rather than by ``nlp``: every write path (``upsert_mentions``) then
indexes exactly as every query segments, whatever the configuration's user dictionary says today.
That dictionary is deliberately left out: adding a brand name to it would change how new posts
are cut but not the posts already stored, and a query would silently miss the older ones.

jieba's search mode (``cut_for_search``) emits the dictionary words inside a long word before the
word itself (产品质量 -> 产品 品质 质量 产品质量), so a query for 质量 finds 产品质量. A query word
that itself cuts into several tokens becomes a phrase of its search-mode tokens, which lines up
with the same run in a stored post as long as jieba cut that run the same way there.

The tokens are stored space-separated in ``mention.search_text``. SQLite indexes the column with
an FTS5 table (``mention_fts``) that triggers keep in sync; PostgreSQL with a GIN index on
``to_tsvector('simple', search_text)``. Both are created by migration 0005.
"""

from __future__ import annotations

import logging
import re
import threading

import jieba
from sqlalchemy import bindparam, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import Boolean

from storage.models import Mention

jieba.setLogLevel(logging.WARNING)

# What both FTS5's unicode61 tokenizer and PostgreSQL's parser treat as one token: a run of
# letters and digits. Cutting tokens down to such runs here keeps both backends in agreement.
_RUN = re.compile(r"[^\W_]+")
FTS_TABLE = "mention_fts"
_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def _jieba() -> jieba.Tokenizer:
    # A private tokenizer: anything added to jieba's global one elsewhere must not change search.
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _tokenizer = tokenizer
    return _tokenizer


def tokens(text: str | None) -> list[str]:
    """The search tokens of ``text``: search-mode jieba words, lower-cased, letters and digits."""
    if not text:
        return []
    found: list[str] = []
    for word in _jieba().cut_for_search(text):
        found.extend(_RUN.findall(word.lower()))
    return found


def search_text(title: str | None, text: str | None) -> str:
    """The value of ``mention.search_text`` for a post: its title's tokens, then its text's."""
    return " ".join(tokens(title) + tokens(text))


class SearchMatch(ColumnElement):
    """``mention`` rows matching a full-text query already compiled for both backends."""

    type = Boolean()
    inherit_cache = False

    def __init__(self, fts5: str, tsquery: str):
        self.fts5 = fts5
        self.tsquery = tsquery


@compiles(SearchMatch, "sqlite")
def _sqlite_match(element: SearchMatch, compiler, **kw) -> str:
    # The FTS table's rowid is mention.id (external content), so matches join without a lookup.
    param = compiler.process(bindparam("fts_query", element.fts5, unique=True), **kw)
    mention_id = compiler.process(Mention.__table__.c.id, **kw)
    return f"{mention_id} IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {param})"


@compiles(SearchMatch, "postgresql")
def _postgresql_match(element: SearchMatch, compiler, **kw) -> str:
    # The expression must be the indexed one, to_tsvector('simple', search_text), to use the index.
    config = literal_column("'simple'")
    vector = compiler.process(Mention.__table__.c.search_text, **kw)
    param = compiler.process(bindparam("ts_query", element.tsquery, unique=True), **kw)
    return (
        f"to_tsvector({compiler.process(config, **kw)}, {vector}) "
        f"@@ to_tsquery({compiler.process(config, **kw)}, {param})"
    )


@compiles(SearchMatch)
def _unsupported(element: SearchMatch, compiler, **kw) -> str:
    raise NotImplementedError(f"full-text search is not implemented on {compiler.dialect.name}")


def search_match(query: str) -> SearchMatch:
    """The condition for ``query`` in the search language of :mod:`storage.query_language`."""
    from storage.query_language import parse, to_fts5, to_tsquery

    node = parse(query, tokens)
    return SearchMatch(to_fts5(node), to_tsquery(node))
