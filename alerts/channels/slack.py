"""Slack incoming webhook: a header and one mrkdwn section per notification, plus fallback text."""

from __future__ import annotations

from urllib.parse import urlsplit

from alerts.channels.base import Rate, Sender
from alerts.channels.http import expect_2xx, post_json
from alerts.render import MARKUPS, body, plain, sections, title, truncate

HEADER_LIMIT = 150  # characters of a header block
SECTION_LIMIT = 3000  # characters of a section's text
MAX_BLOCKS = 50


class Slack(Sender):
    type = "slack"
    bundles = True
    rate = Rate(1, 1.0)  # incoming webhooks take about one message a second

    def payload(self, notifications, tz, possible_duplicate=False) -> dict:
        opts = self.options(tz)
        heading = plain(title(notifications, opts), HEADER_LIMIT)
        blocks: list[dict] = [
            {"type": "header", "text": {"type": "plain_text", "text": heading, "emoji": True}}
        ]
        if possible_duplicate:
            note = body([], "mrkdwn", opts, possible_duplicate=True)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": note}})
        for n, text in zip(notifications, sections(notifications, "mrkdwn", opts), strict=True):
            if len(blocks) >= MAX_BLOCKS - 1:
                break
            text = truncate(text, SECTION_LIMIT, [n], "mrkdwn", opts, unit="chars")
            blocks += [
                {"type": "divider"},
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            ]
        # `text` is what notifications and screen readers show; Slack parses it as mrkdwn too.
        return {"text": MARKUPS["mrkdwn"]().esc(heading), "blocks": blocks}

    def send(self, notifications, keys, tz, possible_duplicate=False) -> None:
        url = self.channel.webhook.reveal()
        resp = post_json(
            url,
            self.payload(notifications, tz, possible_duplicate),
            timeout=self.alerts.delivery.http_timeout_seconds,
        )
        # Slack answers 200 "ok"; errors are 4xx with a short reason ("invalid_payload", ...).
        expect_2xx(resp, urlsplit(url).hostname or "slack")
