"""Request signatures of the DingTalk and Feishu robots (HmacSHA256, Base64)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """URL-encoded Base64 of HmacSHA256 keyed by the secret over "timestamp\\nsecret"."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Base64 of HmacSHA256 keyed by "timestamp\\nsecret" over an empty message."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")
