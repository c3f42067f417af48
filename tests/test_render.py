"""Alert texts: severity tags, time zone, language, and untrusted crawled text neutralised."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest

from alerts import render
from tests.servers.fixtures import notification

OPTS = render.Options(tz=ZoneInfo("Asia/Shanghai"), incident_url="https://yq.example.com/i/{id}")
# Under the 120-character excerpt limit, so all of it reaches the message.
HOSTILE = (
    "<script>x</script><b>粗</b>[点](https://e.x/a)![i](http://e.x/p)<@U1><!channel>"
    "@all<at id=all>**强**\n# 标\n> 引 www.e.x\u202e|a\u200b"
)
assert len(HOSTILE) < 120


def hostile_notification() -> dict:
    n = notification()
    post = n["evidence"]["top_posts"][0]
    post["text"] = HOSTILE
    post["author_name"] = "[官方](https://evil.example) <@U999>"
    post["url"] = "https://m.weibo.cn/detail/1)[x](https://evil.example"
    n["evidence"]["keywords"] = [["<@here>", 3], ["[a](http://b)", 2]]
    n["evidence"]["signals"][0]["detail"] = "![x](http://evil.example/i.png)"
    return n


def _links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)]*)\)", text)


@pytest.mark.parametrize("markup", ["markdown", "lark_md"])
def test_markdown_has_no_injected_links_images_mentions_or_html(markup):
    text = render.body([hostile_notification()], markup, OPTS)
    # The only links are the ones we build: the post (percent-encoded) and the incident.
    assert _links(text) == [
        "https://m.weibo.cn/detail/1%29%5Bx%5D%28https://evil.example",
        "https://yq.example.com/i/1",
    ]
    assert "![" not in text
    for bad in ("<@", "<!", "<at", "<b>", "<script", "@all", "@所有人", "\u202e", "\u200b"):
        assert bad not in text, bad
    assert "www.e.x" not in text and "https://e.x" not in text and "http://e.x" not in text
    body_lines = text.split("\n")[1:]  # the first line is our own heading
    assert not any(re.match(r"\s*(#|>)", line) for line in body_lines)  # no injected ones
    assert "＜＠U1＞" in text  # still readable


def test_slack_mrkdwn_escapes_entities_and_mentions():
    text = render.body([hostile_notification()], "mrkdwn", OPTS)
    assert "<@" not in text and "<!channel>" not in text and "@all" not in text
    assert "&lt;＠U1&gt;" in text
    links = re.findall(r"<([^>]*)>", text)
    assert links == [
        "https://m.weibo.cn/detail/1%29%5Bx%5D%28https://evil.example|原帖 m.weibo.cn",
        "https://yq.example.com/i/1|查看事件",
    ]


def test_html_escapes_everything_untrusted():
    html = render.body([hostile_notification()], "html", OPTS)
    assert "<script" not in html and "<b>粗体" not in html and "<at" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert re.findall(r'href="([^"]*)"', html) == [
        "https://m.weibo.cn/detail/1%29%5Bx%5D%28https://evil.example",
        "https://yq.example.com/i/1",
    ]


def test_feishu_text_cannot_mention_everyone():
    text = render.body([hostile_notification()], "feishu_text", OPTS)
    assert "<at" not in text and "＜at user＿id" not in text


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://m.weibo.cn/detail/1", "https://m.weibo.cn/detail/1"),
        ("javascript:alert(1)", None),
        ("https://weibo.com@evil.example/x", "https://evil.example/x"),
        ("http://例子.中国/x", None),
        (
            "https://tieba.baidu.com/p/1?kw=星澜 咖啡",
            "https://tieba.baidu.com/p/1?kw=%E6%98%9F%E6%BE%9C%20%E5%92%96%E5%95%A1",
        ),
        ("data:text/html,<b>", None),
    ],
)
def test_only_plain_http_links_survive(url, expected):
    assert render.safe_link_url(url) == expected


def test_titles_carry_the_severity_tag_per_event():
    assert render.title([notification()], OPTS) == "【危机】星澜咖啡 · 负面声量激增"
    escalated = notification(event="escalated", previous_severity="warning")
    assert render.title([escalated], OPTS) == "【危机】升级：星澜咖啡 · 负面声量激增"
    assert "（由预警升级）" in render.body([escalated], "text", OPTS)
    resolved = notification(event="resolved", resolved_at="2026-11-20T06:00:00+00:00")
    assert render.title([resolved], OPTS).startswith("【危机】已恢复：")
    assert "2026-11-20 14:00 恢复" in render.body([resolved], "text", OPTS)
    assert "处置建议" not in render.body([resolved], "text", OPTS)
    bundle = [notification(), notification(incident_id=2, topic="青禾手机", severity="info")]
    assert render.title(bundle, OPTS) == "【危机】2 条舆情告警：星澜咖啡、青禾手机"


def test_english_messages():
    opts = render.Options(tz=ZoneInfo("UTC"), language="en")
    assert render.title([notification()], opts) == "[CRITICAL] 星澜咖啡 · negative spike"
    text = render.body([notification()], "text", opts)
    assert "Severity: CRITICAL" in text and "opened 2026-11-20 04:47" in text


def test_truncation_keeps_whole_lines_and_links_the_incident():
    n = notification()
    n["evidence"]["guidance"] = ["很长的建议" * 50] * 5
    text = render.fitted_body([n], "markdown", OPTS, 1200)
    assert len(text.encode()) <= 1200
    assert text.endswith("（内容过长，已截断，完整内容：[查看事件](https://yq.example.com/i/1)）")
    # Every link that was started is complete.
    assert text.count("](") == len(re.findall(r"\]\(https://[^)\s]+\)", text))


def test_bundles_fall_back_to_brief_sections_so_every_incident_is_named():
    bundle = [notification(incident_id=i) for i in range(1, 9)]
    full = render.body(bundle, "markdown", OPTS)
    assert len(full.encode()) > 4096
    text = render.fitted_body(bundle, "markdown", OPTS, 4096)
    assert len(text.encode()) <= 4096
    assert all(f"#{i} 新告警" in text for i in range(1, 9))
