"""The dashboard's single shared token: where it comes from and how a request proves it.

A request carries either ``Authorization: Bearer TOKEN`` (scripts) or the session cookie that
logging in sets (browsers). The cookie holds an HMAC of the token rather than the token, so a
copied cookie never reveals the value to reuse elsewhere (the API, the config). Comparisons are
constant-time. The token is never logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from alerts.secrets import SecretMissing
from pipeline.config import Config, ConfigError

TOKEN_ENV = "YUQING_WEB_TOKEN"
MIN_TOKEN_LENGTH = 16
COOKIE_NAME = "yuqing_session"


def web_token(config: Config) -> str:
    """``$YUQING_WEB_TOKEN``, else the config's ``web.token`` secret; a missing or short token
    is a config error (a dashboard without one is never served)."""
    token = os.environ.get(TOKEN_ENV)
    source = f"environment variable {TOKEN_ENV}"
    if not token and config.web.token is not None:
        source = f"web.token ({config.web.token.describe()})"
        try:
            token = config.web.token.reveal().strip()
        except SecretMissing as exc:
            raise ConfigError(config.source, [f"web.token: {exc}"]) from None
    if not token:
        raise ConfigError(
            config.source,
            [f'web.token: no dashboard token: set {TOKEN_ENV} or web.token = {{ env = "..." }}'],
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            config.source,
            [f"web.token: the token from {source} is shorter than {MIN_TOKEN_LENGTH} characters"],
        )
    return token


class TokenCheck:
    """Checks presented credentials against one token."""

    def __init__(self, token: str):
        self._token = token.encode()
        self._session = hmac.new(self._token, b"yuqing-web-session", hashlib.sha256).hexdigest()

    def token_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self._token)

    def session_value(self) -> str:
        return self._session

    def session_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(
            presented.encode(), self._session.encode()
        )

    def bearer_ok(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and self.token_ok(value.strip())
