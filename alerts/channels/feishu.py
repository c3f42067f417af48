"""Feishu/Lark custom bot: an interactive card (or plain text), signed in the body."""

from __future__ import annotations

import time

from alerts.channels.base import Rate, Sender
from alerts.channels.http import post_robot
from alerts.channels.signing import feishu_sign
from alerts.render import fitted_body, highest_severity, plain, title

# A request body may be 20 KB; JSON escaping adds a little, so the text gets less.
TEXT_LIMIT = 15000
# code 11232: frequency limited (100 a minute, 5 a second per bot).
THROTTLED = {11232: 60.0}
HEADER_COLOURS = {"critical": "red", "warning": "orange", "info": "blue"}


class Feishu(Sender):
    type = "feishu"
    bundles = True
    rate = Rate(90, 60.0)

    def payload(self, notifications, tz, possible_duplicate=False) -> dict:
        opts = self.options(tz)
        heading = plain(title(notifications, opts), 100)
        payload: dict = {}
        if self.channel.secret is not None:
            stamp = int(time.time())
            payload["timestamp"] = str(stamp)
            payload["sign"] = feishu_sign(self.channel.secret.reveal(), stamp)
        if self.channel.msg_type == "text":
            text = fitted_body(notifications, "feishu_text", opts, TEXT_LIMIT, possible_duplicate)
            payload.update(msg_type="text", content={"text": text})
            return payload
        text = fitted_body(notifications, "lark_md", opts, TEXT_LIMIT, possible_duplicate)
        resolved = all(n.get("event") == "resolved" for n in notifications)
        colour = (
            "green" if resolved else HEADER_COLOURS.get(highest_severity(notifications), "blue")
        )
        payload.update(
            msg_type="interactive",
            card={
                "config": {"wide_screen_mode": True},
                "header": {"title": {"tag": "plain_text", "content": heading}, "template": colour},
                "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": text}}],
            },
        )
        return payload

    def send(self, notifications, keys, tz, possible_duplicate=False) -> None:
        # Current bots answer {"code": 0, "msg": "success"}; older ones {"StatusCode": 0, ...}.
        post_robot(
            self.channel.webhook.reveal(),
            self.payload(notifications, tz, possible_duplicate),
            timeout=self.alerts.delivery.http_timeout_seconds,
            name="Feishu",
            code_keys=("code", "StatusCode"),
            message_keys=("msg", "StatusMessage"),
            throttled=THROTTLED,
            fallback_host="feishu",
        )
