"""References to secrets (webhook keys, SMTP passwords, cookies) kept outside the config text.

In TOML a secret is written ``{ env = "NAME" }`` or ``{ file = "/run/secrets/name" }``; a plain
string also works but is discouraged. The value is read only when :meth:`SecretRef.reveal` is
called, so a config object can be printed or logged without leaking anything.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator


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
        """The secret itself. Raises :class:`SecretMissing` naming where it was looked for."""
        if self.value is not None:
            return self.value.get_secret_value()
        if self.env:
            found = os.environ.get(self.env)
            if not found:
                raise SecretMissing(f"environment variable {self.env} is not set")
            return found
        assert self.file is not None
        try:
            found = self.file.expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretMissing(f"cannot read secret file {self.file}: {exc.strerror}") from exc
        if not found:
            raise SecretMissing(f"secret file {self.file} is empty")
        return found

    def __repr__(self) -> str:
        return f"SecretRef({self.describe()})"

    __str__ = __repr__
