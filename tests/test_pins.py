"""Dependency pins: every distribution the project needs (its requirements with the dev extra,
and theirs, all the way down) is pinned in constraints.txt, and what is installed is exactly
the pinned version. A new dependency that is not locked, or an environment that drifted from
the lock, fails here rather than in production."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CONSTRAINTS = Path(__file__).resolve().parent.parent / "constraints.txt"
PROJECT = "yuqing"


def pins() -> dict[str, str]:
    found = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9._-]+)(\[[^\]]*\])?==([^\s;]+)", line)
            assert match, f"constraints.txt: {line!r} is not NAME==VERSION"
            found[canonicalize_name(match.group(1))] = match.group(3)
    return found


def closure(root: str, extras: set[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions ``root`` (with ``extras``) requires, transitively, with
    environment markers evaluated for this interpreter."""
    seen: dict[str, metadata.Distribution] = {}
    visited: set[tuple[str, frozenset]] = set()  # (name, extras): extras can add requirements
    todo = [(root, frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        key = canonicalize_name(name)
        if (key, wanted) in visited:
            continue
        visited.add((key, wanted))
        dist = seen.setdefault(key, metadata.distribution(name))
        for text in dist.requires or []:
            req = Requirement(text)
            envs = [{"extra": e} for e in wanted] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, frozenset(req.extras)))
    return seen


def test_every_dependency_is_pinned_and_installed_at_its_pin():
    locked = pins()
    needed = closure(PROJECT, {"dev"})
    needed.pop(canonicalize_name(PROJECT))
    assert len(needed) > 50, "the closure walk found too little to be right"
    unpinned = sorted(name for name in needed if name not in locked)
    assert not unpinned, f"installed and required but not in constraints.txt: {unpinned}"
    drifted = {
        name: (dist.version, locked[name])
        for name, dist in needed.items()
        if dist.version != locked[name]
    }
    assert not drifted, f"installed version differs from the pin (installed, pinned): {drifted}"
