"""WeCom (企业微信) group robot: a markdown message to the webhook key."""

from __future__ import annotations

from urllib.parse import quote

from alerts.channels.base import Rate, Sender
from alerts.channels.http import post_robot
from alerts.render import fitted_body

# markdown.content is limited to 4096 bytes of UTF-8.
TEXT_LIMIT = 4096
# errcode 45009: api frequency out of limit.
THROTTLED = {45009: 60.0}


class WeCom(Sender):
    type = "wecom"
    bundles = True
    rate = Rate(18, 60.0)  # documented limit: 20 a minute per robot

    def url(self) -> str:
        key = quote(self.channel.key.reveal(), safe="")
        return f"{self.channel.base_url}/cgi-bin/webhook/send?key={key}"

    def payload(self, notifications, tz, possible_duplicate=False) -> dict:
        opts = self.options(tz)
        content = fitted_body(notifications, "markdown", opts, TEXT_LIMIT, possible_duplicate)
        return {"msgtype": "markdown", "markdown": {"content": content}}

    def send(self, notifications, keys, tz, possible_duplicate=False) -> None:
        post_robot(
            self.url(),
            self.payload(notifications, tz, possible_duplicate),
            timeout=self.alerts.delivery.http_timeout_seconds,
            name="WeCom",
            code_keys=("errcode",),
            message_keys=("errmsg",),
            throttled=THROTTLED,
            fallback_host="wecom",
        )
