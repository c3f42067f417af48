"""What every delivery channel has in common: the sender interface and how a send fails.

A sender turns one or more notifications into one message on its platform. It raises
:class:`SendError` when the message did not arrive, with ``in_doubt`` set when it may have
arrived anyway (the request went out and no answer came back), so the outbox can tell a safe
retry from a possible duplicate. :meth:`Sender.redact` masks the channel's own secrets (and
anything credential-shaped) in a text; the outbox runs every error through it before the text
is logged, stored in ``delivery.last_error`` or printed.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from alerts.render import Options
from alerts.secrets import SecretMissing, SecretRef, redact


def _readable(ref: SecretRef) -> list[str]:
    try:
        return [ref.reveal()]
    except SecretMissing:
        return []  # the send itself reports it; nothing to mask


class SendError(Exception):
    """A send that did not (verifiably) succeed."""

    def __init__(self, message: str, *, in_doubt: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.in_doubt = in_doubt
        self.retry_after = retry_after


@dataclass
class Rate:
    """At most ``messages`` per ``seconds`` to one channel."""

    messages: int
    seconds: float


class Sender:
    """One configured channel. Subclasses set the class attributes and implement :meth:`send`."""

    type = ""
    #: Several notifications may share one message (IM robots, whose rate limits are tight).
    bundles = False
    #: The platform's pace; None = no limit of ours.
    rate: Rate | None = None

    def __init__(self, channel, alerts, channel_id: str):
        self.channel = channel
        self.alerts = alerts
        self.channel_id = channel_id
        override = alerts.delivery.rate_per_minute.get(self.type)
        if override:
            self.rate = Rate(max(1, int(override)), 60.0)

    def secret_values(self) -> list[str]:
        """Every secret this channel sends with (URL, key, token, signing secret, SMTP password)
        that can be read now."""
        values = []
        for name in type(self.channel).model_fields:
            ref = getattr(self.channel, name)
            if isinstance(ref, SecretRef):
                values += _readable(ref)
        # The generic webhook's URL is plain config, but may carry a token in its query.
        url = getattr(self.channel, "url", None)
        if url is not None and not isinstance(url, SecretRef):
            values.append(str(url))
        smtp = self.alerts.smtp if self.type == "email" else None
        if smtp is not None and smtp.password is not None:
            for password in _readable(smtp.password):
                # SMTP AUTH sends it base64-encoded (LOGIN: alone; PLAIN: with the user name),
                # and a server may quote what it was sent in its refusal.
                for raw in (password, f"\0{smtp.username or ''}\0{password}"):
                    values += [password, base64.b64encode(raw.encode()).decode("ascii")]
        return values

    def redact(self, text: object) -> str:
        """``text`` with this channel's secrets and anything credential-shaped masked."""
        return redact(text, self.secret_values())

    def options(self, tz: ZoneInfo) -> Options:
        return Options(
            tz=tz,
            language=self.alerts.language,
            incident_url=self.alerts.delivery.incident_url,
            channel=self.channel_id,
        )

    def send(
        self,
        notifications: list[dict],
        keys: list[str],
        tz: ZoneInfo,
        possible_duplicate: bool = False,
    ) -> None:
        raise NotImplementedError

    def already_delivered(self, keys: list[str]) -> set[str] | None:
        """Which of ``keys`` the channel provably has; None when the channel cannot tell."""
        return None
