"""References to secrets (webhook keys, SMTP passwords, cookies) kept outside the config text,
and :func:`redact`, the one function that masks secrets in any text shown, logged or stored.

In TOML a secret is written ``{ env = "NAME" }`` or ``{ file = "/run/secrets/name" }``; a plain
string also works but is discouraged. The value is read only when :meth:`SecretRef.reveal` is
called, so a config object can be printed or logged without leaking anything.

Every revealed value is remembered (this process only, never written anywhere) so that
:func:`redact` can mask it wherever it turns up: in a receiver's echoed error body, in an
exception text from ``http.client`` or a database driver, in a log line. On top of the known
values, :func:`redact` masks what looks like a credential in any text: a URL's
``user:password@``, token-like query parameters (``?access_token=``, ``?password=``,
``&key=``, also percent-encoded names such as ``%74oken``), ``Bearer ...`` and JSON
``"token": "..."`` pairs.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

MASK = "***"
# Shorter known values are not masked everywhere: "abc" would blank out ordinary words. Such a
# secret is weak anyway; the pattern rules below still catch it in its usual places.
MIN_KNOWN = 4
# Fragments of a secret URL (a path segment) must look random before they count as secret.
MIN_FRAGMENT = 16

_known: set[str] = set()
_known_longest_first: list[str] = []  # what redact() walks: rebuilt when a value is added

# A query or key=value parameter name that carries a credential. Whole-name match, so that
# "keyword" or "monkey" stay visible while "x_api_key", "access_token" and "sslpassword" do not.
_SECRET_NAME = re.compile(
    r"[a-z0-9_.-]*(?:token|secret|password|passwd|apikey|api_key|credentials?)"
    r"|(?:[a-z0-9]+[_.-])?(?:key|pass|pwd|sign|signature|sig|auth|authorization|session|sessionid)",
    re.I,
)
_USERINFO = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]*@", re.I)
# name=value after ?, &, ; or a space (libpq's "host=... password=..." form) or at the start.
_PARAM = re.compile(r"(?:(?<=[?&;\s])|^)(?P<name>[^=&;\s#\"'<>?]+)=(?P<value>[^&;\s#\"'<>]*)")
_QUOTED_PAIR = re.compile(
    r"(?P<head>[\"'](?P<name>[A-Za-z0-9_.-]+)[\"']\s*[:=]\s*[\"'])(?P<value>[^\"']*)"
)
_SCHEME_VALUE = re.compile(r"\b(?P<scheme>Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+", re.I)


def secret_name(name: str) -> bool:
    """Whether a parameter named ``name`` (percent-encoding undone) holds a credential."""
    return _SECRET_NAME.fullmatch(unquote(name).strip()) is not None


def _fragments(value: str) -> set[str]:
    """The parts of a secret worth masking: the whole value, or for a URL (a robot webhook, a
    database URL) its password, credential parameters and random-looking path segments; the
    host and the rest of a URL are what messages need to name."""
    found: set[str] = set()
    for line in value.splitlines() or [value]:
        line = line.strip()
        if "://" not in line:
            found.add(line)
            continue
        try:
            parts = urlsplit(line)
            password = parts.password
        except ValueError:
            found.add(line)
            continue
        if password:
            found.add(password)
        # A robot URL's path and parameters are its credential (Slack, Feishu); a database
        # URL's path is a file or database name that messages need to show.
        robot = parts.scheme in ("http", "https")
        for name, _, item in (p.partition("=") for p in re.split(r"[&;]", parts.query)):
            if item and (secret_name(name) or (robot and len(item) >= MIN_FRAGMENT)):
                found.add(item)
        for segment in parts.path.split("/") if robot else ():
            if len(segment) >= MIN_FRAGMENT:
                found.add(segment)
    variants = set()
    for item in found:
        # The same value as a receiver or a driver may print it back: decoded, encoded, in JSON.
        variants |= {item, unquote(item), quote(item, safe=""), json.dumps(item)[1:-1]}
    return {v for v in variants if len(v) >= MIN_KNOWN}


def remember(value: str) -> None:
    """Mask ``value`` (and its parts, for a URL) in everything :func:`redact` sees from now on."""
    new = _fragments(value) - _known
    if new:
        _known.update(new)
        _known_longest_first[:] = sorted(_known, key=len, reverse=True)


def _mask_param(match: re.Match) -> str:
    if secret_name(match.group("name")) and match.group("value"):
        return f"{match.group('name')}={MASK}"
    return match.group(0)


def _mask_pair(match: re.Match) -> str:
    if secret_name(match.group("name")) and match.group("value"):
        return match.group("head") + MASK
    return match.group(0)


def redact(text: object, secrets: Iterable[str] = ()) -> str:
    """``text`` with every credential masked: the values revealed so far in this process and
    ``secrets`` (and their parts) wherever they appear, plus anything shaped like a credential
    (URL password, token-like parameter, Bearer value, ``"key": "..."``)."""
    text = str(text)
    known = _known_longest_first
    extra = set().union(*(_fragments(v) for v in secrets if v)) - _known
    if extra:
        known = sorted(_known | extra, key=len, reverse=True)
    # Longest first, so a value containing another is masked whole.
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    text = _USERINFO.sub(lambda m: m.group("head") + MASK + "@", text)
    text = _PARAM.sub(_mask_param, text)
    text = _QUOTED_PAIR.sub(_mask_pair, text)
    return _SCHEME_VALUE.sub(lambda m: f"{m.group('scheme')} {MASK}", text)


class SecretMissing(Exception):
    """A referenced secret is not available (variable unset, file unreadable or empty)."""


class SecretRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    file: Path | None = None
    value: SecretStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, data):
        if isinstance(data, str):
            return {"value": data}
        return data

    @model_validator(mode="after")
    def _exactly_one_source(self) -> SecretRef:
        given = [name for name in ("env", "file", "value") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                'a secret is { env = "VARIABLE" } or { file = "/path" } (exactly one of them)'
            )
        return self

    def describe(self) -> str:
        """Where the secret comes from, never its value."""
        if self.env:
            return f"environment variable {self.env}"
        if self.file:
            return f"file {self.file}"
        return "inline value in the config file"

    def reveal(self) -> str:
        """The secret itself. Raises :class:`SecretMissing` naming where it was looked for.

        The value is remembered so that :func:`redact` masks it in any later output."""
        found = self._read()
        remember(found)
        return found

    def _read(self) -> str:
        if self.value is not None:
            return self.value.get_secret_value()
        if self.env:
            found = os.environ.get(self.env)
            if not found:
                raise SecretMissing(f"environment variable {self.env} is not set")
            return found
        assert self.file is not None
        try:
            # utf-8-sig: a file saved by a Windows editor starts with a byte order mark.
            found = self.file.expanduser().read_text(encoding="utf-8-sig").strip()
        except UnicodeDecodeError as exc:
            # Not the bytes themselves: they are the secret.
            raise SecretMissing(
                f"secret file {self.file} is not UTF-8 text (byte {exc.start})"
            ) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise SecretMissing(f"cannot read secret file {self.file}: {reason}") from None
        if not found:
            raise SecretMissing(f"secret file {self.file} is empty")
        return found

    def __repr__(self) -> str:
        return f"SecretRef({self.describe()})"

    __str__ = __repr__
