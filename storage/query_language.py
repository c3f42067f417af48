"""The search query language: words, "quoted phrases", AND, OR, NOT and parentheses.

``品牌 AND (质量 OR 退款) NOT 招聘`` parses into a small tree that compiles to an SQLite FTS5
``MATCH`` expression and to a PostgreSQL ``tsquery``. Grammar (operators are upper case, as in
FTS5, so a lower-case "and" is just a word)::

    query := or
    or    := and ("OR" and)*
    and   := unary (["AND"] unary)*      # words side by side mean AND; "a NOT b" is a AND NOT b
    unary := "NOT" unary | atom
    atom  := WORD | '"' PHRASE '"' | "(" or ")"

Every word and phrase is cut by the caller's segmenter (the one that indexed the posts); a word
that yields several tokens is matched as a phrase of them. A full-text index can only exclude
from something it found, so NOT must stand in an AND beside at least one positive term.

Size limits keep a hostile query from exhausting the parser's recursion or the database's
query planner: :data:`MAX_QUERY_LENGTH` characters, :data:`MAX_DEPTH` levels of parentheses
and NOTs, :data:`MAX_TERMS` words and phrases. Each is a :class:`QuerySyntaxError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Segment = Callable[[str], list[str]]

MAX_QUERY_LENGTH = 1000
MAX_DEPTH = 20
MAX_TERMS = 100


class QuerySyntaxError(ValueError):
    """The search query cannot be parsed; the message says where and why."""


@dataclass(frozen=True)
class Term:
    """One or more tokens that must appear side by side, in order."""

    tokens: tuple[str, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Term | Not | And | Or

_OPERATORS = {"AND", "OR", "NOT"}
# Quoted phrase (closing quote optional so we can name the error), parenthesis, or a bare word
# that runs to the next space, quote or parenthesis. Full-width forms are accepted as typed on
# a Chinese keyboard.
_LEXEME = re.compile(
    r'\s*(?:(?P<phrase>["“”][^"“”]*["“”]?)|(?P<paren>[()（）])|(?P<word>[^\s"“”()（）]+))'
)


def _lex(query: str) -> list[tuple[str, str, int]]:
    """``(kind, value, position)`` triples; kind is word, phrase, (, ), AND, OR or NOT."""
    found = []
    pos = 0
    while pos < len(query):
        m = _LEXEME.match(query, pos)
        if m is None or m.end() == pos:  # only trailing whitespace is left
            break
        start = m.start(m.lastgroup)
        if m.group("phrase") is not None:
            raw = m.group("phrase")
            if len(raw) < 2 or raw[-1] not in '"“”':
                raise QuerySyntaxError(f"unclosed quote at position {start + 1}")
            found.append(("phrase", raw[1:-1], start))
        elif m.group("paren") is not None:
            found.append(("(" if m.group("paren") in "(（" else ")", m.group("paren"), start))
        else:
            word = m.group("word")
            found.append((word if word in _OPERATORS else "word", word, start))
        pos = m.end()
    return found


class _Parser:
    def __init__(self, query: str, segment: Segment):
        if len(query) > MAX_QUERY_LENGTH:
            raise QuerySyntaxError(
                f"the search query is {len(query)} characters long; at most {MAX_QUERY_LENGTH}"
            )
        self.items = _lex(query)
        terms = sum(kind in ("word", "phrase") for kind, _, _ in self.items)
        if terms > MAX_TERMS:
            raise QuerySyntaxError(f"the search query has {terms} words; at most {MAX_TERMS}")
        self.at = 0
        self.depth = 0
        self.segment = segment

    def deeper(self) -> None:
        # Every nesting level is a recursion of this parser (and of the compilers after it).
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(
                f"parentheses or NOTs nested deeper than {MAX_DEPTH} levels: {self.where()}"
            )

    def peek(self) -> str | None:
        return self.items[self.at][0] if self.at < len(self.items) else None

    def take(self) -> tuple[str, str, int]:
        item = self.items[self.at]
        self.at += 1
        return item

    def where(self) -> str:
        if self.at < len(self.items):
            kind, value, pos = self.items[self.at]
            return f"{value!r} at position {pos + 1}"
        return "the end of the query"

    def parse(self) -> Node | None:
        node = self.or_()
        if self.peek() is not None:
            raise QuerySyntaxError(f"unexpected {self.where()}")
        return node

    def or_(self) -> Node | None:
        items = [self.and_()]
        while self.peek() == "OR":
            self.take()
            items.append(self.and_())
        return _join(Or, items)

    def and_(self) -> Node | None:
        items = [self.unary()]
        while self.peek() in ("AND", "NOT", "word", "phrase", "("):
            if self.peek() == "AND":
                self.take()
            items.append(self.unary())
        return _join(And, items)

    def unary(self) -> Node | None:
        kind = self.peek()
        if kind == "NOT":
            self.take()
            self.deeper()
            item = self.unary()
            self.depth -= 1
            return None if item is None else Not(item)
        if kind == "(":
            self.take()
            self.deeper()
            node = self.or_()
            if self.peek() != ")":
                raise QuerySyntaxError(f"expected ')' instead of {self.where()}")
            self.take()
            self.depth -= 1
            return node
        if kind in ("word", "phrase"):
            _, value, _ = self.take()
            found = tuple(self.segment(value))
            # Punctuation alone segments to nothing: it constrains nothing, so it drops out.
            return Term(found) if found else None
        raise QuerySyntaxError(f"expected a word, phrase or '(' instead of {self.where()}")


def _join(kind, items: list[Node | None]) -> Node | None:
    kept: list[Node] = []
    for item in items:
        if item is None:
            continue
        # Flatten (a AND b) AND c: same meaning, shorter output.
        kept.extend(item.items if isinstance(item, kind) else [item])
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else kind(tuple(kept))


def _check_negations(node: Node, allowed: bool = False) -> None:
    if isinstance(node, Not):
        if not allowed:
            raise QuerySyntaxError(
                "NOT needs a positive term beside it in an AND, as in '品牌 NOT 招聘'"
            )
        _check_negations(node.item)
    elif isinstance(node, And):
        positive = any(not isinstance(item, Not) for item in node.items)
        for item in node.items:
            _check_negations(item, allowed=positive)
    elif isinstance(node, Or):
        for item in node.items:
            _check_negations(item)


def parse(query: str, segment: Segment) -> Node:
    """The tree of ``query``; raises :class:`QuerySyntaxError` when it is malformed or empty."""
    parser = _Parser(query, segment)
    node = parser.parse() if parser.items else None
    if node is None:
        raise QuerySyntaxError("the search query has no word to look for")
    _check_negations(node)
    return node


def to_fts5(node: Node) -> str:
    """An SQLite FTS5 MATCH expression (tokens quoted, so none is read as an operator)."""
    if isinstance(node, Term):
        return '"' + " ".join(node.tokens) + '"'
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts5(i) for i in node.items) + ")"
    if isinstance(node, And):
        positive = [to_fts5(i) for i in node.items if not isinstance(i, Not)]
        negative = [to_fts5(i.item) for i in node.items if isinstance(i, Not)]
        # FTS5's NOT is binary (a NOT b), so the negations are subtracted from the positives.
        text = "(" + " AND ".join(positive) + ")"
        for item in negative:
            text = f"({text} NOT {item})"
        return text
    raise QuerySyntaxError("NOT needs a positive term beside it")  # ruled out by parse()


def to_tsquery(node: Node) -> str:
    """A PostgreSQL tsquery for ``to_tsquery('simple', ...)``; phrases use ``<->``."""
    if isinstance(node, Term):
        quoted = [f"'{t}'" for t in node.tokens]
        return quoted[0] if len(quoted) == 1 else "(" + " <-> ".join(quoted) + ")"
    if isinstance(node, Not):
        return f"!{to_tsquery(node.item)}"
    if isinstance(node, Or):
        return "(" + " | ".join(to_tsquery(i) for i in node.items) + ")"
    return "(" + " & ".join(to_tsquery(i) for i in node.items) + ")"
