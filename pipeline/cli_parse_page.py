"""``yuqing parse-page``: run one spider's parser on a saved page and show what it yields.

A top-level command rather than ``yuqing crawl parse``: ``crawl`` takes the spider as its
argument, and turning it into a group would change how every existing crawl is started.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC
from pathlib import Path

import click

from pipeline import exit_codes
from pipeline.output import console, terminal_safe, write_rows

SPIDER_NAMES = ("weibo", "tieba", "discuz", "news")
# What json.dumps(ensure_ascii=False) leaves raw and a terminal would act on: DEL, C1 controls,
# zero-width and bidi-override characters (it already escapes \x00-\x1f itself).
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _author(item: dict) -> str | None:
    author = item.get("author") or {}
    if not isinstance(author, dict):
        return str(author)
    name, ident = author.get("name"), author.get("id")
    return f"{name} ({ident})" if ident and name else name or ident


def _counts(item: dict) -> str:
    return "/".join(
        str(item.get(k) if item.get(k) is not None else "-")
        for k in ("reposts", "comments", "likes")
    )


@click.command("parse-page")
@click.argument("spider", type=click.Choice(SPIDER_NAMES))
@click.argument("source")
@click.option(
    "--kind",
    help="Page kind: weibo search|status|detail|comments, tieba thread|list|search, discuz "
    "thread|list, news article|feed (default: the file name's prefix, e.g. list-x34.html).",
)
@click.option("--url", help="URL the page came from (links are resolved against it).")
@click.option("--encoding", help="Page encoding when the page does not declare it (e.g. gbk).")
@click.option(
    "--clock",
    metavar="ISO-TIME",
    help="Read relative times (刚刚, 5分钟前, 06-14) against this time instead of now.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
def parse_page_command(
    spider: str,
    source: str,
    kind: str | None,
    url: str | None,
    encoding: str | None,
    clock: str | None,
    fmt: str,
) -> None:
    """Run SPIDER's parser on SOURCE (a saved HTML/JSON file, or a 127.0.0.1/localhost URL) and
    print the items it yields and the requests it would follow, like `scrapy parse`.

    Use it to see at once whether a site changed its layout: save the page from a browser and
    check what the spider reads from it. Nothing is stored and nothing is fetched from any
    other host. Exits 1 when a crawl would count the page as a parse failure (it shows none of
    its entries) or retry it (a block or cut-off page).

    \b
    Example:
        yuqing parse-page tieba thread.html --url https://tieba.baidu.com/p/9001
        yuqing parse-page discuz list-7.2.html --encoding gbk --format json
        yuqing parse-page weibo http://127.0.0.1:8000/api/container/getIndex?page=1 --kind search
    """
    # Imported here: Scrapy and Twisted cost ~0.3 s, which every other `yuqing` command would
    # pay at start-up if this module imported them (issue 17).
    from scrapy.exceptions import CloseSpider

    from crawlers.page_check import KINDS, PageCheckError, fetch_local, guess_kind, parse_page

    settings = {"YUQING_CLOCK": clock} if clock else {}
    try:
        if source.startswith(("http://", "https://")):
            body = fetch_local(source)
            url = url or source
        else:
            path = Path(source)
            if not path.is_file():
                raise click.BadParameter(f"no such file: {source}", param_hint="SOURCE")
            body = path.read_bytes()
        kind = kind or guess_kind(spider, source)
        if kind not in KINDS[spider]:
            raise click.BadParameter(
                f"{spider} has no {kind!r} pages; one of {', '.join(KINDS[spider])}",
                param_hint="--kind",
            )
        check = parse_page(spider, body, kind=kind, url=url, encoding=encoding, settings=settings)
    except PageCheckError as exc:
        raise click.ClickException(str(exc)) from exc
    except CloseSpider as exc:
        # The spider gave up on the page (login wall, block page): that is the answer.
        raise click.ClickException(f"the spider would end the run: {exc.reason}") from exc
    except OSError as exc:
        raise click.ClickException(f"cannot read {source}: {exc}") from exc

    if fmt == "json":
        data = {
            "spider": check.spider,
            "kind": check.kind,
            "url": check.url,
            "items": check.items,
            "requests": check.requests,
            "stats": check.stats,
            "verdict": check.verdict,
            "reason": check.reason,
        }
        text = json.dumps(data, ensure_ascii=False, indent=2, default=_json_default)
        # Readable Chinese, but no raw bidi/C1 characters from crawled text reach the terminal:
        # they become \uXXXX escapes, which is still the same JSON.
        click.echo(_UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text))
    else:
        _print_tables(check)
    # The same judgement a crawl makes of the page (crawlers/page_guard.py).
    if check.verdict == "nothing":
        click.echo(f"the {check.kind} page shows none of its entries: layout changed?", err=True)
        sys.exit(exit_codes.FAILURE)
    if check.verdict == "unusable":
        click.echo(f"a crawl would retry this page: {check.reason}", err=True)
        sys.exit(exit_codes.FAILURE)
    if check.verdict == "shown_empty":
        click.echo(f"the site shows this page empty: {check.reason}", err=True)


def _text(item: dict) -> str:
    from nlp.clean import strip_html

    # Spiders keep the post's HTML (cleaned later in the pipeline); people want the words.
    words = " ".join(strip_html(item.get("text") or "").split())[:200]
    return f"{item['title']} | {words}" if item.get("title") else words


def _json_default(value):
    from scrapy.http import Request

    if isinstance(value, Request):
        return value.url
    return str(value)


def _print_tables(check) -> None:
    out = console()
    out.print(
        f"{check.spider} {check.kind}: {len(check.items)} items, {len(check.requests)} requests",
        markup=False,
        highlight=False,
    )
    if check.items:
        write_rows(
            check.items,
            [],
            "table",
            UTC,
            title="items",
            table_columns={
                "post_id": lambda r: r.get("post_id"),
                "published_at": lambda r: r.get("published_at"),
                "author": _author,
                "reposts/comments/likes": _counts,
                "parent": lambda r: r.get("parent_post_id"),
                "text": _text,
            },
        )
    if check.requests:
        write_rows(
            check.requests,
            [],
            "table",
            UTC,
            title="requests",
            table_columns={"callback": lambda r: r["callback"], "url": lambda r: r["url"]},
        )
    problems = {k: v for k, v in check.stats.items() if not k.startswith("yuqing/pages/")}
    for name, value in sorted(problems.items()):
        out.print(terminal_safe(f"{name}: {value}"), markup=False, highlight=False)
