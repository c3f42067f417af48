"""The dashboard's single shared token, the browser sessions it opens, and the limit on guessing.

A request carries either ``Authorization: Bearer TOKEN`` (scripts) or the session cookie that
logging in sets (browsers). The cookie holds a random session id, not the token nor anything
derived from it: a copied cookie never reveals the token, stops working when its session
expires (``web.session_hours``, default 12) and is revoked by logging out.

Sessions live in this process's memory: restarting ``yuqing web`` ends every session (browsers
log in again; bearer tokens are unaffected), which is also the way to log everyone out. The
server keeps only a SHA-256 of each id, so its memory holds nothing a cookie could be made from.

Wrong tokens are counted per client address: after ``web.login_failures_per_minute`` (default 10)
failures in a minute, that address gets HTTP 429 for every login or bearer attempt, right or
wrong, until the minute has passed, so guessing runs at a few tries a minute instead of
hundreds a second. Behind a reverse proxy every client shares the proxy's address; existing
sessions keep working during a lockout. Counters are in memory too and reset on restart.
Comparisons are constant-time. The token is never logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections import deque
from collections.abc import Callable

from alerts.secrets import SecretMissing, remember
from pipeline.config import Config, ConfigError

TOKEN_ENV = "YUQING_WEB_TOKEN"
MIN_TOKEN_LENGTH = 16
MIN_DISTINCT = 6
COOKIE_NAME = "yuqing_session"
MAX_SESSIONS = 1000
MAX_TRACKED_CLIENTS = 10_000
WINDOW_SECONDS = 60.0


def web_token(config: Config) -> str:
    """``$YUQING_WEB_TOKEN``, else the config's ``web.token`` secret; a missing, short or
    guessable token is a config error (a dashboard without a real one is never served)."""
    token = (os.environ.get(TOKEN_ENV) or "").strip()
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
            [
                f"web.token: no dashboard token (or only spaces): set {TOKEN_ENV} or "
                'web.token = { env = "..." }'
            ],
        )
    if any(c.isspace() or not c.isprintable() for c in token):
        # It travels in an HTTP header and a form field, where such characters break or vanish.
        raise ConfigError(
            config.source,
            [f"web.token: the token from {source} holds spaces or control characters"],
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            config.source,
            [f"web.token: the token from {source} is shorter than {MIN_TOKEN_LENGTH} characters"],
        )
    if len(set(token)) < MIN_DISTINCT:
        raise ConfigError(
            config.source,
            [
                f"web.token: the token from {source} repeats too few characters to be secret; "
                "generate one: python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"
            ],
        )
    remember(token)
    return token


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


class TokenCheck:
    """Checks presented credentials against one token; opens, checks and ends sessions; counts
    failures per client. ``clock`` is injectable for tests."""

    def __init__(
        self,
        token: str,
        *,
        session_seconds: float = 12 * 3600,
        failures_per_minute: int = 10,
        clock: Callable[[], float] = time.time,
    ):
        self._token = token.encode()
        self.session_seconds = session_seconds
        self.failures_per_minute = failures_per_minute
        self.clock = clock
        self._sessions: dict[str, float] = {}  # sha256(id) -> expiry (epoch seconds)
        self._failures: dict[str, deque[float]] = {}

    # --- credentials -------------------------------------------------------------------------

    def token_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(
            presented.encode("utf-8", "replace"), self._token
        )

    def bearer_value(self, header: str | None) -> str | None:
        """The token a ``Bearer`` header presents, or None when there is no such header."""
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""

    def bearer_ok(self, header: str | None) -> bool:
        return self.token_ok(self.bearer_value(header))

    # --- sessions ----------------------------------------------------------------------------

    def open_session(self) -> str:
        """A new random session id (the cookie's value)."""
        now = self.clock()
        self._drop_expired(now)
        if len(self._sessions) >= MAX_SESSIONS:
            # Logins need the token, so this is many browsers, not an attack: the oldest goes.
            del self._sessions[min(self._sessions, key=self._sessions.__getitem__)]
        session_id = secrets.token_urlsafe(32)
        self._sessions[_digest(session_id)] = now + self.session_seconds
        return session_id

    def session_ok(self, presented: str | None) -> bool:
        if not presented:
            return False
        expires = self._sessions.get(_digest(presented))
        if expires is None:
            return False
        if self.clock() >= expires:
            del self._sessions[_digest(presented)]
            return False
        return True

    def end_session(self, presented: str | None) -> None:
        if presented:
            self._sessions.pop(_digest(presented), None)

    def _drop_expired(self, now: float) -> None:
        for key in [k for k, expires in self._sessions.items() if expires <= now]:
            del self._sessions[key]

    # --- guessing ----------------------------------------------------------------------------

    def locked_for(self, client: str) -> float | None:
        """Seconds until ``client`` may try a token again, or None when it may now."""
        failures = self._failures.get(client)
        if not failures:
            return None
        now = self.clock()
        while failures and failures[0] <= now - WINDOW_SECONDS:
            failures.popleft()
        if len(failures) < self.failures_per_minute:
            return None
        return max(1.0, failures[0] + WINDOW_SECONDS - now)

    def failed(self, client: str) -> None:
        now = self.clock()
        if client not in self._failures and len(self._failures) >= MAX_TRACKED_CLIENTS:
            # Forget clients whose failures are all older than the window.
            for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - 60]:
                del self._failures[key]
        self._failures.setdefault(client, deque(maxlen=self.failures_per_minute)).append(now)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)
