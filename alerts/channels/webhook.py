"""Generic webhook: one notification per POST as a documented JSON body (docs/channels.md).

Each request carries the notification's idempotency key in the body and in an
``Idempotency-Key`` header, so a receiver can drop the rare resend whose first attempt did arrive.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from alerts.channels.base import Sender
from alerts.channels.http import expect_2xx, post_json
from alerts.render import body, title

SCHEMA_VERSION = 1


class Webhook(Sender):
    type = "webhook"

    def payload(self, notifications, keys, tz, possible_duplicate=False) -> dict:
        opts = self.options(tz)
        return {
            "version": SCHEMA_VERSION,
            "source": "yuqing",
            "channel": self.channel_id,
            "key": keys[0],
            "possible_duplicate": possible_duplicate,
            "title": title(notifications, opts),
            "text": body(notifications, "text", opts),
            "notification": notifications[0],
        }

    def send(self, notifications, keys, tz, possible_duplicate=False) -> None:
        url = str(self.channel.url)
        headers = {"Idempotency-Key": keys[0]}
        if self.channel.token is not None:
            headers["Authorization"] = f"Bearer {self.channel.token.reveal()}"
        resp = post_json(
            url,
            self.payload(notifications, keys, tz, possible_duplicate),
            timeout=self.alerts.delivery.http_timeout_seconds,
            headers=headers,
        )
        expect_2xx(resp, urlsplit(url).hostname or "webhook")
