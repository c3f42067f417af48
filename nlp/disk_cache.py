"""Data derived from files an installation ships, kept on disk so each process need not derive it.

A ``yuqing`` process is often short-lived (cron runs ``yuqing alerts evaluate`` and ingests every
minute; each crawl is a process), so work done at start-up is paid again and again (issue 17).
Two things are derived once and cached here: the keyword IDF table parsed from jieba's
``idf.txt`` (:mod:`nlp.segment`) and the precise sentiment model's lookup tables
(:mod:`nlp.sentiment_cnn`), of which a process reads only the rows of the characters it meets.

The folder is ``$YUQING_CACHE_DIR``, else ``$XDG_CACHE_HOME/yuqing``, else ``~/.cache/yuqing``.
A cache file is named after its source file's size and modification time, so a new source gets
a new file; a process that cannot write there still works, deriving the data in memory.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def cache_folder() -> Path:
    folder = os.environ.get("YUQING_CACHE_DIR")
    if folder:
        return Path(folder)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "yuqing"


def cache_path(kind: str, source: Path, version: int, suffix: str) -> Path:
    """Where the ``kind`` data derived from ``source`` is kept (``version``: its layout)."""
    stat = source.stat()
    return cache_folder() / f"{kind}-{stat.st_size}-{stat.st_mtime_ns}-v{version}{suffix}"


def save_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write ``path`` whole under another name, then rename it: a reader never sees half a
    file, and two processes writing it at once both leave a good one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        # mkstemp makes the file private; the data is public (derived from installed files).
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_or_build(
    kind: str,
    source: Path,
    version: int,
    suffix: str,
    *,
    load: Callable[[Path], T],
    build: Callable[[], T],
    write: Callable[[BinaryIO, T], None],
) -> T:
    """The ``kind`` data derived from ``source``: loaded from its cache file, else built and
    written there. A damaged file is rebuilt, not trusted; without a usable cache folder the
    data is only built (still correct, only paid again by the next process)."""
    try:
        path = cache_path(kind, source, version, suffix)
    except (OSError, RuntimeError):  # no source file, or no home folder to find a cache in
        return build()
    try:
        return load(path)
    except FileNotFoundError:
        pass
    except Exception as exc:
        log.warning("rebuilding %s: %s", path, exc)
    value = build()
    try:
        save_atomically(path, lambda out: write(out, value))
    except OSError as exc:
        log.info("%s not cached in %s: %s", kind, path.parent, exc)
    return value
