"""Turning pydantic validation errors into one line per problem that names the key.

Shared by the config loader and the mention validator so both speak the same way:
``topics[1].keywords.any: must not be empty``.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

# Model validators report "key.path: problem" in their message; lift that path into the location.
_NESTED_KEY = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.*)$", re.S)


def key_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for "the key itself is wrong", not a real key
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def describe_errors(exc: ValidationError, ignore_loc: frozenset[str] = frozenset()) -> list[str]:
    """``["key.path: problem", ...]``; location parts in ``ignore_loc`` (union tags) are dropped."""
    problems = []
    for err in exc.errors():
        # A union's tag comes right after the list index of the item it describes.
        loc = tuple(
            p
            for i, p in enumerate(err["loc"])
            if not (p in ignore_loc and i > 0 and isinstance(err["loc"][i - 1], int))
        )
        message = err["msg"]
        for prefix in ("Value error, ", "Assertion failed, "):
            if message.startswith(prefix):
                message = message[len(prefix) :]
        key = key_path(loc)
        nested = _NESTED_KEY.match(message)
        if nested:
            key = f"{key}.{nested.group(1)}" if key else nested.group(1)
            message = nested.group(2)
        elif err["type"] == "extra_forbidden":
            message = "unknown key"
        elif err["type"] == "missing":
            message = "required key is missing"
        problems.append(f"{key or '(top level)'}: {message}")
    return problems
