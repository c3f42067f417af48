"""DingTalk custom robot: a signed markdown message; critical alerts @ the configured mobiles."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from alerts.channels.base import Rate, Sender
from alerts.channels.http import post_robot
from alerts.channels.signing import dingtalk_sign
from alerts.render import fitted_body, plain, title

# The robot documentation caps the message at 20000 bytes; leave room for the JSON around it.
TEXT_LIMIT = 18000
# errcode 130101: "send too fast"; the robot is then throttled for 10 minutes.
THROTTLED = {130101: 600.0}


class DingTalk(Sender):
    type = "dingtalk"
    bundles = True
    rate = Rate(18, 60.0)  # documented limit: 20 a minute per robot

    def url(self) -> str:
        url = self.channel.webhook.reveal()
        if self.channel.secret is None:
            return url
        stamp = int(time.time() * 1000)
        sign = dingtalk_sign(self.channel.secret.reveal(), stamp)
        return f"{url}{'&' if urlsplit(url).query else '?'}timestamp={stamp}&sign={sign}"

    def payload(self, notifications, tz, possible_duplicate=False) -> dict:
        opts = self.options(tz)
        mobiles = []
        if any(
            n.get("severity") == "critical" and n.get("event") != "resolved" for n in notifications
        ):
            mobiles = list(self.channel.at_mobiles)
        # The robot only pings a mobile that also appears as "@mobile" in the text.
        at_line = " ".join(f"@{m}" for m in mobiles)
        limit = TEXT_LIMIT - len(at_line.encode("utf-8")) - 4
        text = fitted_body(notifications, "markdown", opts, limit, possible_duplicate)
        if at_line:
            text += f"\n\n{at_line}"
        return {
            "msgtype": "markdown",
            "markdown": {"title": plain(title(notifications, opts), 60), "text": text},
            "at": {"atMobiles": mobiles, "isAtAll": False},
        }

    def send(self, notifications, keys, tz, possible_duplicate=False) -> None:
        post_robot(
            self.url(),
            self.payload(notifications, tz, possible_duplicate),
            timeout=self.alerts.delivery.http_timeout_seconds,
            name="DingTalk",
            code_keys=("errcode",),
            message_keys=("errmsg",),
            throttled=THROTTLED,
            fallback_host="dingtalk",
        )
