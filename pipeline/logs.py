"""Logging: level from ``-v`` flags on stderr, plus the config's rotating log file, in text or
one JSON object per line (``[logging] format = "json"``) for log shippers.

Log untrusted text with ``%r`` so control characters arrive escaped, never raw; the JSON form
escapes everything by construction.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from pathlib import Path

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(verbosity: int = 0) -> None:
    level = logging.WARNING - 10 * min(verbosity, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.setLevel(level)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(min(level, logging.INFO))


def add_log_file(
    path: Path,
    fmt: str = "text",
    level: str = "INFO",
    max_bytes: int = 10_000_000,
    backups: int = 5,
) -> None:
    """Also log to a rotating file (added once per path)."""
    root = logging.getLogger()
    path = path.expanduser().resolve()
    for existing in root.handlers:
        if getattr(existing, "baseFilename", None) == str(path):
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.setLevel(level)
    root.addHandler(handler)
    root.setLevel(min(root.level, handler.level))
