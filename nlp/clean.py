"""Turning raw post text (Weibo HTML, forum markup) into clean text plus structured parts.

Regular expressions rather than an HTML parser: posts are short fragments, not documents, and
this runs on every mention, so it must be cheap. Weibo emoticons (``[怒]``) stay in the text
because they carry strong sentiment; links, hashtags and @mentions are also returned apart.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache

# Weibo renders emoticons as <img alt="[怒]">; keep the alt text.
_EMOTICON_IMG = re.compile(r"""<img[^>]*?\balt=["']?(\[[^\]"'<>]{1,10}\])[^>]*>""", re.I)
_BREAK = re.compile(r"<br\s*/?>|</p>|</div>", re.I)
_TAG = re.compile(r"<[^>]{0,2000}>")
# Code and style sheets are never words anyone wrote (Discuz! puts `replyreload += ...` scripts
# beside attachments); HTML comments neither.
_INVISIBLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.I | re.S)
_URL = re.compile(r"https?://[^\s<>\"'，。！？、；：（）【】]+", re.I)
# A repost chain starts at the first "//@name:" (half- or full-width colon after NFKC).
_REPOST_CHAIN = re.compile(r"//\s*@[^:\s]{1,30}\s*:")
_HASHTAG = re.compile(r"#([^#\n]{1,60})#")
_MENTION = re.compile(r"@([\w\u4e00-\u9fff-]{1,30})")
EMOTICON = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,8}\]")
_SPACES = re.compile(r"[ \t\u3000\xa0]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")
# Weibo's placeholder text for a link card.
_LINK_CARD = ("网页链接", "O网页链接")


@dataclass
class CleanText:
    text: str
    hashtags: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    emoticons: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    repost_chain: str | None = None


def opinion_text(cleaned: CleanText) -> str:
    """What sentiment is judged on: the post and the repost chain it passes on (a bare
    "转发微博" adds nothing of its own but spreads the opinion it quotes)."""
    return "。".join(p for p in (cleaned.text, cleaned.repost_chain) if p)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def strip_html(raw: str) -> str:
    """Text of an HTML fragment: emoticon images become their alt text, breaks become newlines;
    the contents of scripts and style sheets are dropped."""
    text = _INVISIBLE.sub("", raw)
    text = _EMOTICON_IMG.sub(r"\1", text)
    text = _BREAK.sub("\n", text)
    text = _TAG.sub("", text)
    return html.unescape(text)


@cache
def _to_simplified():
    """OpenCC's Traditional-to-Simplified converter; OpenCC is optional (``pip install
    opencc-python-reimplemented``), so this raises a clear error when it is missing."""
    try:
        from opencc import OpenCC
    except ImportError:
        raise RuntimeError(
            "Traditional-to-Simplified conversion needs OpenCC: "
            "pip install opencc-python-reimplemented"
        ) from None
    return OpenCC("t2s").convert


def clean(raw: str, *, to_simplified: bool = False) -> CleanText:
    """Clean one post. The result's ``text`` is what sentiment and keywords are computed on.

    Full-width letters, digits and punctuation become half-width (NFKC). With ``to_simplified``,
    Traditional characters become Simplified (OpenCC), e.g. for posts from Taiwan or Hong Kong.
    """
    text = unicodedata.normalize("NFKC", strip_html(raw or ""))
    if to_simplified:
        text = _to_simplified()(text)
    # Control characters (other than newline) never belong in a post and can corrupt terminals.
    # Most posts have none: isprintable() checks that in C before the per-character filter.
    if not text.replace("\n", "").isprintable():
        text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C")
    links = _URL.findall(text)
    text = _URL.sub(" ", text)
    for card in _LINK_CARD:
        text = text.replace(card, " ")
    chain = None
    found = _REPOST_CHAIN.search(text)
    if found:
        chain = text[found.start() :].strip()
        text = text[: found.start()]
    text = _BLANK_LINES.sub("\n", _SPACES.sub(" ", text)).strip()
    return CleanText(
        text=text,
        hashtags=_unique([h.strip() for h in _HASHTAG.findall(text) if h.strip()]),
        mentions=_unique(_MENTION.findall(text)),
        emoticons=_unique(EMOTICON.findall(text)),
        links=_unique(links),
        repost_chain=chain,
    )
