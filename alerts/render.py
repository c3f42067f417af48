"""Alert messages: one or a bundle of notifications as plain text, HTML or a platform's markdown.

Crawled text (post excerpts, author names, keywords, signal details) is untrusted. Each markup
has its own neutraliser: HTML escapes it; the markdown flavours turn every markup character into
its full-width twin and break URL schemes, so a post cannot inject a link, an image, a mention
(``@all``, ``<@user>``, ``<at id=all>``, ``<!channel>``), HTML or a heading. The only links in a
message are the ones built here, from http(s) URLs, with a label naming the host they go to.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from alerts.config import SEVERITIES, SEVERITY_ZH

SEVERITY_EN = {"info": "INFO", "warning": "WARNING", "critical": "CRITICAL"}
PLATFORM_ZH = {"weibo": "微博", "tieba": "贴吧", "discuz": "论坛", "news": "新闻"}
SIGNAL_ZH = {
    "negative_spike": "负面声量激增",
    "negative_share": "负面占比偏高",
    "viral_post": "负面帖快速传播",
    "influencer_post": "大V负面发声",
    "crisis_words": "出现危机词",
}
SIGNAL_EN = {
    "negative_spike": "negative spike",
    "negative_share": "high negative share",
    "viral_post": "viral negative post",
    "influencer_post": "influencer post",
    "crisis_words": "crisis words",
}

_TEXT = {
    "zh": {
        "event": {
            "opened": "新告警",
            "escalated": "升级",
            "reminder": "持续中",
            "resolved": "已恢复",
            "test": "测试",
        },
        "incident": "事件",
        "notice_no": "第 {n} 次通知",
        "severity": "级别",
        "raised_from": "由{old}升级",
        "rules": "规则",
        "platforms": "平台",
        "time": "时间",
        "opened_at": "{t} 开始",
        "last_seen": "最近 {t}",
        "resolved_at": "{t} 恢复",
        "evidence": "依据",
        "causes": "主要原因",
        "keywords": "关键词",
        "near_dup": "重复/搬运内容占比",
        "posts": "热门负面帖",
        "crisis_posts": "含危机词的其他帖（未判为负面）",
        "verified": "认证",
        "followers": "粉丝 {n}",
        "engagement": "转 {r} / 评 {c} / 赞 {l}",
        "source": "原帖",
        "guidance": "处置建议",
        "open_incident": "查看事件",
        "bundle": "{n} 条舆情告警：{topics}",
        "test_title": "yuqing 告警通道测试",
        "test_body": "这是一条测试消息，收到即说明通道配置正确，无需处理。通道：{channel}",
        "duplicate": "注意：上一次发送结果未知，此消息可能重复。",
        "truncated": "…（内容过长，已截断）",
        "truncated_see": "…（内容过长，已截断，完整内容：{link}）",
        "sep": "：",
        "list_sep": "、",
    },
    "en": {
        "event": {
            "opened": "new",
            "escalated": "escalated",
            "reminder": "ongoing",
            "resolved": "resolved",
            "test": "test",
        },
        "incident": "Incident",
        "notice_no": "notice {n}",
        "severity": "Severity",
        "raised_from": "raised from {old}",
        "rules": "Rules",
        "platforms": "Platforms",
        "time": "Time",
        "opened_at": "opened {t}",
        "last_seen": "last seen {t}",
        "resolved_at": "resolved {t}",
        "evidence": "Evidence",
        "causes": "Main causes",
        "keywords": "Keywords",
        "near_dup": "Near-duplicate share",
        "posts": "Top negative posts",
        "crisis_posts": "Other posts with crisis words (not scored negative)",
        "verified": "verified",
        "followers": "{n} followers",
        "engagement": "reposts {r} / comments {c} / likes {l}",
        "source": "post",
        "guidance": "What to do",
        "open_incident": "Open incident",
        "bundle": "{n} alerts: {topics}",
        "test_title": "yuqing alert channel test",
        "test_body": "This is a test message: the channel works, nothing to do. Channel: {channel}",
        "duplicate": "Note: the outcome of the previous send is unknown; this may be a duplicate.",
        "truncated": "… (too long, truncated)",
        "truncated_see": "… (too long, truncated; full text: {link})",
        "sep": ": ",
        "list_sep": ", ",
    },
}

# Zero-width and bidi-control characters can hide or reorder text; C0/C1 controls break layouts.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_SPACES = re.compile(r"\s+")
# Every character that means something in DingTalk, WeCom, Feishu or Slack markdown, mapped to
# a full-width look-alike: the reader sees the same text, the renderer sees no markup.
_MARKDOWN_TWINS = str.maketrans(
    {
        "\\": "＼",
        "`": "｀",
        "*": "＊",
        "_": "＿",
        "~": "～",
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "<": "＜",
        ">": "＞",
        "#": "＃",
        "!": "！",
        "@": "＠",
        "|": "｜",
        "&": "＆",
        "$": "＄",
        "{": "｛",
        "}": "｝",
    }
)
# Autolinkers turn bare URLs and www. names into links; a full-width colon/dot stops them.
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)")
_WWW = re.compile(r"(?i)\bwww\.")
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")


def plain(text: object, limit: int | None = None) -> str:
    """Untrusted text as one clean line: invisible characters gone, whitespace collapsed."""
    value = unicodedata.normalize("NFC", str(text if text is not None else ""))
    value = _INVISIBLE.sub("", _SPACES.sub(" ", value)).strip()
    if limit is not None and len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


def neutralise_markdown(text: object, limit: int | None = None) -> str:
    """Untrusted text that renders as itself in any of the supported markdown flavours."""
    value = plain(text, limit).translate(_MARKDOWN_TWINS)
    return _WWW.sub("www．", _SCHEME.sub(r"\1：", value))


def safe_link_url(url: object) -> str | None:
    """An http(s) URL rebuilt from its parts with markup characters percent-encoded, or None.

    User info is dropped (``https://weibo.com@evil.example`` goes to evil.example, and the label
    says so); hosts must be plain ASCII names so the label cannot be spoofed.
    """
    try:
        parts = urlsplit(plain(url))
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("http", "https") or not _HOST.fullmatch(host):
        return None
    safe = "-._~:/?#@!$&'*+,;=%"  # no ( ) [ ] < > | " ` or spaces: those end a markdown link
    path = quote(parts.path, safe=safe.replace("?", "").replace("#", ""))
    query = quote(parts.query, safe=safe.replace("#", ""))
    fragment = quote(parts.fragment, safe=safe)
    netloc = host + (f":{port}" if port else "")
    return (
        f"{parts.scheme.lower()}://{netloc}{path}"
        + (f"?{query}" if query else "")
        + (f"#{fragment}" if fragment else "")
    )


def link_host(url: str) -> str:
    return urlsplit(url).hostname or ""


class Markup:
    """Plain text; the base of the other markups. ``esc`` is for untrusted text only."""

    name = "text"
    newline = "\n"

    def esc(self, text: object, limit: int | None = None) -> str:
        return plain(text, limit)

    def bold(self, text: str) -> str:
        return text

    def heading(self, text: str) -> str:
        return text

    def link(self, url: str, label: str) -> str:
        return f"{label} {url}"

    def item(self, text: str) -> str:
        return f"- {text}"

    def numbered(self, n: int, text: str) -> str:
        return f"{n}. {text}"

    def rule(self) -> str:
        return "----"

    def join(self, lines: list[str]) -> str:
        return self.newline.join(lines)


class Markdown(Markup):
    """DingTalk and WeCom markdown (headings, bold, links, lists)."""

    name = "markdown"

    def esc(self, text: object, limit: int | None = None) -> str:
        return neutralise_markdown(text, limit)

    def bold(self, text: str) -> str:
        return f"**{text}**"

    def heading(self, text: str) -> str:
        return f"### {text}"

    def link(self, url: str, label: str) -> str:
        return f"[{label}]({url})"

    def rule(self) -> str:
        return "\n---\n"

    def join(self, lines: list[str]) -> str:
        # Both robots need a blank line before a list after a paragraph; "  \n" is a hard break.
        return "  \n".join(lines)


class LarkMarkdown(Markdown):
    """Feishu card ``lark_md``: no headings; a bold line instead."""

    name = "lark_md"

    def heading(self, text: str) -> str:
        return f"**{text}**"

    def rule(self) -> str:
        return "---"

    def join(self, lines: list[str]) -> str:
        return "\n".join(lines)


class SlackMrkdwn(Markup):
    """Slack ``mrkdwn``: &, < and > must be entities; links are ``<url|label>``."""

    name = "mrkdwn"

    def esc(self, text: object, limit: int | None = None) -> str:
        value = plain(text, limit)
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        value = value.translate(str.maketrans({"*": "＊", "_": "＿", "~": "～", "`": "｀"}))
        value = value.replace("@", "＠")
        return _WWW.sub("www．", _SCHEME.sub(r"\1：", value))

    def bold(self, text: str) -> str:
        return f"*{text}*"

    def heading(self, text: str) -> str:
        return f"*{text}*"

    def link(self, url: str, label: str) -> str:
        return f"<{url}|{label}>"

    def item(self, text: str) -> str:
        return f"• {text}"


class FeishuText(Markup):
    """Feishu ``text`` messages parse ``<at user_id="all">``, so angle brackets must go."""

    name = "feishu_text"

    def esc(self, text: object, limit: int | None = None) -> str:
        return plain(text, limit).translate(str.maketrans({"<": "＜", ">": "＞"}))


class Html(Markup):
    name = "html"

    def esc(self, text: object, limit: int | None = None) -> str:
        return html.escape(plain(text, limit), quote=True)

    def bold(self, text: str) -> str:
        return f"<b>{text}</b>"

    def heading(self, text: str) -> str:
        return f"<h3>{text}</h3>"

    def link(self, url: str, label: str) -> str:
        return f'<a href="{html.escape(url, quote=True)}">{label}</a>'

    def item(self, text: str) -> str:
        return f"<li>{text}</li>"

    def numbered(self, n: int, text: str) -> str:
        return f"<li>{text}</li>"

    def rule(self) -> str:
        return "<hr>"

    def join(self, lines: list[str]) -> str:
        out: list[str] = []
        in_list = False
        for line in lines:
            is_item = line.startswith("<li>")
            if is_item and not in_list:
                out.append("<ul>")
            elif not is_item and in_list:
                out.append("</ul>")
            in_list = is_item
            out.append(line if is_item or line.startswith(("<h3>", "<hr>")) else f"<p>{line}</p>")
        if in_list:
            out.append("</ul>")
        return "\n".join(out)


MARKUPS: dict[str, Callable[[], Markup]] = {
    "text": Markup,
    "markdown": Markdown,
    "lark_md": LarkMarkdown,
    "mrkdwn": SlackMrkdwn,
    "feishu_text": FeishuText,
    "html": Html,
}


@dataclass
class Options:
    """What a rendering depends on besides the notifications."""

    tz: ZoneInfo
    language: str = "zh"
    incident_url: str | None = None  # template with {id}
    channel: str = ""


def _t(opts: Options) -> dict:
    return _TEXT.get(opts.language, _TEXT["zh"])


def severity_tag(severity: str, language: str = "zh") -> str:
    if language == "en":
        return f"[{SEVERITY_EN.get(severity, severity.upper())}] "
    return f"【{SEVERITY_ZH.get(severity, severity)}】"


def _severity_name(severity: str | None, language: str) -> str:
    if not severity:
        return "-"
    return (
        SEVERITY_EN.get(severity, severity)
        if language == "en"
        else SEVERITY_ZH.get(severity, severity)
    )


def _signal_name(kind: str, language: str) -> str:
    names = SIGNAL_EN if language == "en" else SIGNAL_ZH
    return names.get(kind, kind)


def highest_severity(notifications: list[dict]) -> str:
    ranks = [
        SEVERITIES.index(n["severity"]) for n in notifications if n.get("severity") in SEVERITIES
    ]
    return SEVERITIES[max(ranks)] if ranks else "info"


def _headline(n: dict, opts: Options) -> str:
    """What happened, in plain text: the topic and the main signal (trusted parts only)."""
    t = _t(opts)
    if n.get("event") == "test":
        return t["test_title"]
    signals = (n.get("evidence") or {}).get("signals") or []
    kinds = [s.get("kind") for s in signals if s.get("kind")]
    what = _signal_name(kinds[0], opts.language) if kinds else plain(n.get("rule"), 40)
    return f"{plain(n.get('topic'), 40)} · {what}"


def title(notifications: list[dict], opts: Options) -> str:
    """One-line plain title with the severity tag, e.g. ``【危机】星澜咖啡 · 负面声量激增``."""
    t = _t(opts)
    if len(notifications) == 1:
        n = notifications[0]
        if n.get("event") == "test":
            return f"{'[TEST] ' if opts.language == 'en' else '【测试】'}{t['test_title']}"
        event = n.get("event")
        label = "" if event == "opened" else f"{t['event'].get(event, event)}{t['sep']}"
        return (
            f"{severity_tag(n.get('severity', 'info'), opts.language)}{label}{_headline(n, opts)}"
        )
    topics = []
    for n in notifications:
        topic = plain(n.get("topic"), 40)
        if topic not in topics:
            topics.append(topic)
    names = t["list_sep"].join(topics[:3]) + ("…" if len(topics) > 3 else "")
    return severity_tag(highest_severity(notifications), opts.language) + t["bundle"].format(
        n=len(notifications), topics=names
    )


def incident_link(n: dict, opts: Options) -> str | None:
    if not opts.incident_url or n.get("incident_id") is None:
        return None
    return opts.incident_url.replace("{id}", str(int(n["incident_id"])))


def _when(value: object, opts: Options) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return plain(value, 40)
    if moment.tzinfo is None:
        return plain(value, 40)
    return moment.astimezone(opts.tz).strftime("%Y-%m-%d %H:%M")


def _count(value: object) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    return f"{int(number):,}" if number == int(number) else f"{number:,.1f}"


def section(n: dict, m: Markup, opts: Options) -> list[str]:
    """The lines about one notification in markup ``m``."""
    t = _t(opts)
    lang = opts.language
    sep = t["sep"]
    if n.get("event") == "test":
        return [
            m.heading(m.esc(title([n], opts))),
            m.esc(t["test_body"].format(channel=opts.channel)),
        ]
    ev = n.get("evidence") or {}
    lines = [m.heading(m.esc(title([n], opts)))]
    event = n.get("event")
    incident = f"#{n['incident_id']}" if n.get("incident_id") is not None else "-"
    event_line = f"{incident} {t['event'].get(event, m.esc(event, 20))}"
    if n.get("sequence"):
        event_line += (
            f"（{t['notice_no'].format(n=int(n['sequence']))}）"
            if lang == "zh"
            else (f" ({t['notice_no'].format(n=int(n['sequence']))})")
        )
    lines.append(f"{m.bold(t['incident'])}{sep}{event_line}")
    severity = _severity_name(n.get("severity"), lang)
    previous = n.get("previous_severity")
    if previous and previous != n.get("severity"):
        severity += f"（{t['raised_from'].format(old=_severity_name(previous, lang))}）"
    lines.append(f"{m.bold(t['severity'])}{sep}{severity}")
    rules = n.get("rules") or ([n["rule"]] if n.get("rule") else [])
    if rules:
        lines.append(f"{m.bold(t['rules'])}{sep}{t['list_sep'].join(m.esc(r, 40) for r in rules)}")
    counts = ev.get("platform_counts") or {}
    platforms = n.get("platforms") or list(counts)
    if platforms:
        names = []
        for p in platforms:
            name = PLATFORM_ZH.get(p, p) if lang == "zh" else p
            names.append(m.esc(f"{name} {_count(counts[p])}" if p in counts else name, 30))
        lines.append(f"{m.bold(t['platforms'])}{sep}{' · '.join(names)}")
    times = []
    if n.get("opened_at"):
        times.append(t["opened_at"].format(t=_when(n["opened_at"], opts)))
    if n.get("last_seen_at"):
        times.append(t["last_seen"].format(t=_when(n["last_seen_at"], opts)))
    if n.get("resolved_at"):
        times.append(t["resolved_at"].format(t=_when(n["resolved_at"], opts)))
    if times:
        joined = ("，" if lang == "zh" else ", ").join(times)
        lines.append(f"{m.bold(t['time'])}{sep}{m.esc(joined)} ({opts.tz.key})")
    if ev.get("summary"):
        lines.append(f"{m.bold(t['evidence'])}{sep}{m.esc(ev['summary'], 200)}")
    for signal in (ev.get("signals") or [])[:6]:
        name = _signal_name(signal.get("kind", ""), lang)
        detail = signal.get("detail")
        lines.append(m.item(m.esc(f"{name}{sep}{detail}" if detail else name, 200)))
    for key, field in (("causes", "causes"), ("keywords", "keywords")):
        pairs = ev.get(field) or []
        if pairs:
            shown = " · ".join(
                m.esc(f"{p[0]} {_count(p[1])}", 30) for p in pairs[:6] if len(p) == 2
            )
            lines.append(f"{m.bold(t[key])}{sep}{shown}")
    share = ev.get("near_duplicate_share")
    if isinstance(share, int | float) and share > 0:
        lines.append(f"{m.bold(t['near_dup'])}{sep}{share:.0%}")
    # Negative posts and crisis-word posts the sentiment model did not call negative are listed
    # apart: a PR person must not read a neutral post as a complaint, nor miss the post that
    # made the crisis-word rule fire.
    for key in ("posts", "crisis_posts"):
        posts = (ev.get("top_posts" if key == "posts" else key) or [])[:3]
        if posts:
            lines.append(f"{m.bold(t[key])}{sep}")
            for i, post in enumerate(posts, 1):
                lines.append(m.numbered(i, _post_line(post, m, opts)))
    guidance = ev.get("guidance") or []
    if guidance and event != "resolved":
        lines.append(f"{m.bold(t['guidance'])}{sep}")
        lines.extend(m.item(m.esc(g, 120)) for g in guidance[:5])
    url = incident_link(n, opts)
    if url:
        lines.append(m.link(url, t["open_incident"]))
    return lines


def _post_line(post: dict, m: Markup, opts: Options) -> str:
    t = _t(opts)
    platform = post.get("platform") or ""
    who = [m.esc(PLATFORM_ZH.get(platform, platform) if opts.language == "zh" else platform, 20)]
    author = m.esc(post.get("author_name"), 30)
    extra = []
    if post.get("author_verified"):
        extra.append(t["verified"])
    if post.get("author_followers") is not None:
        extra.append(t["followers"].format(n=_count(post["author_followers"])))
    if author:
        who.append(f"{author}（{'，'.join(extra)}）" if extra else author)
    who.append(
        t["engagement"].format(
            r=_count(post.get("reposts")),
            c=_count(post.get("comments")),
            l=_count(post.get("likes")),
        )
    )
    line = " · ".join(who) + t["sep"] + m.esc(post.get("text"), 120)
    url = safe_link_url(post.get("url"))
    if url:
        line += " " + m.link(url, f"{t['source']} {link_host(url)}")
    return line


def brief_section(n: dict, m: Markup, opts: Options) -> list[str]:
    """A notification in a few lines, for bundles too big to show in full."""
    full = section(n, m, opts)
    if n.get("event") == "test":
        return full
    t = _t(opts)
    ev = n.get("evidence") or {}
    lines = full[:3]  # heading, incident/event, severity
    if ev.get("summary"):
        lines.append(f"{m.bold(t['evidence'])}{t['sep']}{m.esc(ev['summary'], 120)}")
    posts = ev.get("top_posts") or []
    if posts:
        lines.append(m.numbered(1, _post_line(posts[0], m, opts)))
    elif ev.get("crisis_posts"):
        lines.append(f"{m.bold(t['crisis_posts'])}{t['sep']}")
        lines.append(m.numbered(1, _post_line(ev["crisis_posts"][0], m, opts)))
    url = incident_link(n, opts)
    if url:
        lines.append(m.link(url, t["open_incident"]))
    return lines


def body(
    notifications: list[dict],
    markup: str,
    opts: Options,
    possible_duplicate: bool = False,
    *,
    brief: bool = False,
) -> str:
    """The whole message body in ``markup`` (one of :data:`MARKUPS`)."""
    m = MARKUPS[markup]()
    lines: list[str] = []
    if possible_duplicate:
        lines.append(m.bold(m.esc(_t(opts)["duplicate"])))
    for i, n in enumerate(notifications):
        if i:
            lines.append(m.rule())
        lines.extend(brief_section(n, m, opts) if brief else section(n, m, opts))
    return m.join(lines)


def fitted_body(
    notifications: list[dict],
    markup: str,
    opts: Options,
    limit: int,
    possible_duplicate: bool = False,
    *,
    unit: str = "bytes",
) -> str:
    """The body within ``limit``: in full if it fits, else each notification in brief (so a
    bundle still names every incident), else truncated with a link."""
    text = body(notifications, markup, opts, possible_duplicate)
    if _size(text, unit) > limit and len(notifications) > 1:
        text = body(notifications, markup, opts, possible_duplicate, brief=True)
    return truncate(text, limit, notifications, markup, opts, unit=unit)


def _size(text: str, unit: str) -> int:
    return len(text.encode("utf-8")) if unit == "bytes" else len(text)


def sections(notifications: list[dict], markup: str, opts: Options) -> list[str]:
    """One body per notification (Slack and Feishu cards put each in its own block)."""
    m = MARKUPS[markup]()
    return [m.join(section(n, m, opts)) for n in notifications]


def truncate(
    text: str,
    limit: int,
    notifications: list[dict],
    markup: str,
    opts: Options,
    *,
    unit: str = "bytes",
) -> str:
    """``text`` cut at a line end to fit ``limit`` (UTF-8 bytes or characters), ending with a
    note and, when ``alerts.delivery.incident_url`` is set, a link to the full incident."""

    def size(s: str) -> int:
        return _size(s, unit)

    if size(text) <= limit:
        return text
    m = MARKUPS[markup]()
    t = _t(opts)
    url = next((u for u in (incident_link(n, opts) for n in notifications) if u), None)
    tail = (
        t["truncated_see"].format(link=m.link(url, t["open_incident"])) if url else t["truncated"]
    )
    if markup == "html":
        tail = f"<p>{tail}</p>"
    room = limit - size(tail) - 2
    lines = text.split("\n")
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + size(line) + 1 > room:
            if not kept:  # one huge line: cut it at a character boundary
                cut = line
                while cut and size(cut) > room:
                    cut = cut[: max(len(cut) - max(1, (size(cut) - room) // 3), 0)]
                kept.append(cut)
            break
        kept.append(line)
        used += size(line) + 1
    if markup == "html":
        # Drop a half-open list so the mail client does not swallow the note.
        while kept and kept[-1] == "<ul>":
            kept.pop()
        if kept.count("<ul>") > kept.count("</ul>"):
            kept.append("</ul>")
    return "\n".join(kept).rstrip() + "\n" + tail
