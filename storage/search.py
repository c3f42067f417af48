"""Chinese full-text search: the segmented text of a mention and the match condition per backend.

Chinese has no spaces, so both the stored text and the query are segmented by the same jieba
tokenizer here, in storage, rather than by ``nlp`` (which storage may not import): the one write
path (``upsert_mentions``) then indexes exactly as every query segments, whatever the
configuration's user dictionary says today.
That dictionary is deliberately left out: adding a brand name to it would change how new posts
are cut but not the posts already stored, and a query would silently miss the older ones.

jieba's search mode (``cut_for_search``) emits the dictionary words inside a long word before the
word itself (产品质量 -> 产品 品质 质量 产品质量), so a query for 质量 finds 产品质量. A query word
that itself cuts into several tokens becomes a phrase of its search-mode tokens, which lines up
with the same run in a stored post as long as jieba cut that run the same way there.

The tokenizer is rjieba (jieba-rs, jieba's algorithm and dictionary in Rust): its search mode
gave jieba's tokens on 20,000 benchmark posts and 18x faster (0.02 ms a post instead of 0.43 ms),
which matters because every stored mention is segmented here. It differs on dotted runs such as
example.cn, which it also splits into parts: indexing and queries use it alike, so that only adds
matches.

The tokens are stored space-separated in ``mention.search_text``. SQLite indexes the column with
an FTS5 table (``mention_fts``) that triggers keep in sync (migration 0005); PostgreSQL parses it
into the generated column ``search_vector`` (``to_tsvector('simple', search_text)``) with a GIN
index (migration 0006).
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, literal_column, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import NullType, String

from storage.models import Mention
from storage.query_language import parse, to_fts5, to_tsquery

if TYPE_CHECKING:
    import rjieba

# What both FTS5's unicode61 tokenizer and PostgreSQL's parser treat as one token: a run of
# letters and digits. Cutting tokens down to such runs here keeps both backends in agreement.
_RUN = re.compile(r"[^\W_]+")
FTS_TABLE = "mention_fts"


@cache
def _jieba() -> rjieba.Jieba:
    """rjieba's own default dictionary, which ``import rjieba`` builds anyway (~25 MB): a
    private copy cost as much again in every process that stores mentions (issue 17). Nothing
    may add words to it: search must cut old and new posts alike, whatever a configuration's
    user dictionary holds (:class:`nlp.segment.Segmenter` keeps user words in its own)."""
    # Imported on first use: the module costs ~0.1 s, which listing mentions without --search,
    # status or alerts never need.
    import rjieba

    # The module-level instance behind rjieba.cut (rjieba 0.2); a build without it gets one.
    return getattr(rjieba, "_DEFAULT_JIEBA", None) or rjieba.Jieba()


def tokens(text: str | None) -> list[str]:
    """The search tokens of ``text``: search-mode jieba words, lower-cased, letters and digits."""
    if not text:
        return []
    # One pass over the words joined by spaces gives what a pass per word gives (a space is never
    # inside a run, so no run spans two words), for a fraction of the calls.
    return _RUN.findall(" ".join(_jieba().cut_for_search(text)).lower())


def search_text(title: str | None, text: str | None) -> str:
    """The value of ``mention.search_text`` for a post: its title's tokens, then its text's."""
    return " ".join(tokens(title) + tokens(text))


class SearchMatch(ColumnElement):
    """``mention`` rows matching a full-text query already compiled for both backends."""

    # Not Boolean: SQLite has no native boolean, so SQLAlchemy would append "= 1" to a Boolean
    # condition, and "id IN (...) = 1" hides the rowid lookup from SQLite's planner.
    type = NullType()
    inherit_cache = False

    def __init__(self, fts5: str, tsquery: str, scan: bool = False):
        self.fts5 = fts5
        self.tsquery = tsquery
        self.scan = scan


@compiles(SearchMatch, "sqlite")
def _sqlite_match(element: SearchMatch, compiler, **kw) -> str:
    # The FTS table's rowid is mention.id (external content), so matches join without a lookup.
    param = compiler.process(bindparam("fts_query", element.fts5, unique=True), **kw)
    mention_id = compiler.process(Mention.__table__.c.id, **kw)
    # A unary + stops SQLite from looking rows up by this IN list (see prefer_time_scan).
    if element.scan:
        mention_id = "+" + mention_id
    return f"{mention_id} IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {param})"


@compiles(SearchMatch, "postgresql")
def _postgresql_match(element: SearchMatch, compiler, **kw) -> str:
    # search_vector is not in the models (PostgreSQL only, see migration 0006).
    config = literal_column("'simple'")
    vector = compiler.process(literal_column(f"{Mention.__tablename__}.search_vector"), **kw)
    # The query goes in as a literal, not a parameter: psycopg prepares a statement run five
    # times, and a generic plan cannot see the words, so it would guess how common they are;
    # planned with the words, a rare one goes to the GIN index and a common one to the time
    # index. Quotes are escaped by the dialect.
    param = compiler.render_literal_value(element.tsquery, String())
    return f"{vector} @@ to_tsquery({compiler.process(config, **kw)}, {param})"


@compiles(SearchMatch)
def _unsupported(element: SearchMatch, compiler, **kw) -> str:
    raise NotImplementedError(f"full-text search is not implemented on {compiler.dialect.name}")


def search_match(query: str, *, scan: bool = False) -> SearchMatch:
    """The condition for ``query`` in the search language of :mod:`storage.query_language`.

    ``scan`` (SQLite): probe the matches while walking another index instead of fetching each
    match by id; see :func:`prefer_time_scan`.
    """
    node = parse(query, tokens)
    return SearchMatch(to_fts5(node), to_tsquery(node), scan)


# With more than this many matches per row wanted, fetching every match by id and sorting them
# costs more than walking the time index newest first until enough matches turned up. Measured
# on a million mentions: about 9 us per match fetched against 0.35 us per index entry walked;
# for 100 rows the two cross near 2,000 matches.
SCAN_FROM_MATCHES_PER_ROW = 20


def prefer_time_scan(session: Session, query: str, limit: int) -> bool:
    """SQLite: whether the newest ``limit`` matches of ``query`` are found faster by walking the
    published_at index than from the full-text index. SQLite cannot tell (FTS5 gives its planner
    no estimate of how many rows match), so this counts them, reading only the FTS index."""
    enough = SCAN_FROM_MATCHES_PER_ROW * limit
    found = session.execute(
        text(
            f"SELECT count(*) FROM (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q "
            "LIMIT :enough)"
        ),
        {"q": to_fts5(parse(query, tokens)), "enough": enough + 1},
    ).scalar_one()
    return found > enough
