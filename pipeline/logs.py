"""Logging: level from ``-v`` flags on stderr, plus the config's rotating log file, in text or
one JSON object per line (``[logging] format = "json"``) for log shippers.

Log untrusted text with ``%r`` so control characters arrive escaped, never raw; the JSON form
escapes everything by construction. Every handler masks credentials (:class:`RedactSecrets`)
as a last line of defence; code that logs an error carrying a secret redacts it first anyway.

A log file whose folder is missing gets the folder created, with a warning; a log file that
cannot be opened (a folder, no permission) is a :class:`LogFileError` naming the path.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from pathlib import Path

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LogFileError(Exception):
    """The configured log file cannot be opened for appending."""


class RedactSecrets(logging.Filter):
    """Masks every credential in a record's message and traceback before a handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Imported here: alerts.secrets pulls in pydantic (~0.1 s), and every command sets up
        # logging, `yuqing --help` included; by the first record it is usually loaded anyway.
        from alerts.secrets import redact

        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info or record.exc_text:
            # Formatters reuse exc_text when set, so the traceback is written redacted (another
            # handler may have formatted, and cached, it first).
            shown = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(shown)
        return True


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
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(verbosity: int = 0) -> None:
    level = logging.WARNING - 10 * min(verbosity, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.setLevel(level)
    handler.addFilter(RedactSecrets())
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
    """Also log to a rotating file (added once per path); :class:`LogFileError` when it cannot
    be opened."""
    root = logging.getLogger()
    path = path.expanduser().resolve()
    for existing in root.handlers:
        if getattr(existing, "baseFilename", None) == str(path):
            return
    if path.is_dir():
        raise LogFileError(f"{path} is a folder: give a file name inside it")
    created = not path.parent.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
    except OSError as exc:
        raise LogFileError(f"cannot open {path}: {exc.strerror or type(exc).__name__}") from None
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactSecrets())
    handler.setLevel(level)
    root.addHandler(handler)
    root.setLevel(min(root.level, handler.level))
    if created:
        logging.getLogger(__name__).warning("created folder %s for the log file", path.parent)
