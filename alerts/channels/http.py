"""A small JSON-over-HTTP client that knows whether a failed request may have arrived.

``http.client`` rather than urllib or requests: connecting and sending are separate steps, so
a refused or failed connection (nothing sent: safe to retry) is told apart from a timeout
after the request went out (maybe delivered). The request line and headers are built before
connecting, so a URL or header that HTTP cannot carry is "never sent", not "in doubt".
Environment proxies are not used; robots and webhooks are reached directly.

Error messages name the host only: robot URLs carry tokens. A receiver's answer is quoted only
after :func:`alerts.secrets.redact` has masked the URL's credentials, the request's headers and
every secret revealed so far, since receivers and proxies do echo requests back.
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from alerts.channels.base import SendError
from alerts.config import check_http_url
from alerts.render import plain
from alerts.secrets import redact

USER_AGENT = "yuqing-alerts/0.1"
MAX_RESPONSE = 1_000_000


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    # The request's URL and header values: masked wherever the answer quotes them.
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def json(self) -> dict | None:
        try:
            data = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def text(self, limit: int = 200) -> str:
        """The start of the body, credentials masked (before cutting, so no half token shows)."""
        return self.redact(self.body.decode("utf-8", "replace"))[:limit]

    def redact(self, text: object) -> str:
        return redact(text, self.secrets)

    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def post_json(
    url: str, payload: dict, *, timeout: float, headers: dict[str, str] | None = None
) -> Response:
    try:
        check_http_url(url)
    except ValueError as exc:
        raise SendError(f"the configured URL is unusable, nothing was sent: {exc}") from None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    sent_headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        **(headers or {}),
    }
    secrets = (url, *sent_headers.values())
    try:
        try:
            # putrequest/putheader only buffer: what they refuse never left this machine. Their
            # errors quote the path or header (the token), so only the kind of fault is kept.
            conn.putrequest("POST", target, skip_accept_encoding=True)
            for name, value in {**sent_headers, "Content-Length": str(len(data))}.items():
                conn.putheader(name, value)
        except (ValueError, http.client.HTTPException) as exc:
            raise SendError(
                f"request to {host} not sent: the URL or a header holds characters HTTP "
                f"does not allow ({type(exc).__name__})"
            ) from None
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as exc:
            raise SendError(f"cannot connect to {host}: {redact(_reason(exc), secrets)}") from None
        try:
            conn.endheaders(data)
            resp = conn.getresponse()
            body = resp.read(MAX_RESPONSE)
        except (OSError, http.client.HTTPException) as exc:
            raise SendError(
                f"no answer from {host} after sending: {redact(_reason(exc), secrets)}",
                in_doubt=True,
            ) from None
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body, secrets)
    finally:
        conn.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def expect_2xx(resp: Response, host: str) -> None:
    """Raise for a non-2xx answer; 429 and 503 carry the server's Retry-After."""
    if 200 <= resp.status < 300:
        return
    raise SendError(
        f"{host} answered HTTP {resp.status}: {resp.text()}",
        retry_after=resp.retry_after() if resp.status in (429, 503) else None,
    )


def post_robot(
    url: str,
    payload: dict,
    *,
    timeout: float,
    name: str,
    code_keys: tuple[str, ...],
    message_keys: tuple[str, ...],
    throttled: dict[int, float],
    fallback_host: str,
) -> dict:
    """POST to an IM robot whose HTTP 200 can still carry an error code in its JSON body (DingTalk
    and WeCom ``errcode``, Feishu ``code``): any non-zero code is a failure, and a throttling code
    says how long to wait. Returns the body."""
    host = urlsplit(url).hostname or fallback_host
    resp = post_json(url, payload, timeout=timeout)
    expect_2xx(resp, host)
    data = resp.json()
    if data is None:
        raise SendError(f"{host} answered without JSON: {resp.text()}")
    code = next((data[k] for k in code_keys if k in data), None)
    if code != 0:
        message = next((data[k] for k in message_keys if k in data), None)
        code_text = resp.redact(plain(code, 40))
        raise SendError(
            f"{name} {code_keys[0]} {code_text}: {resp.redact(plain(message, 2000))[:200]}",
            retry_after=throttled.get(code) if isinstance(code, int) else None,
        )
    return data
