"""``yuqing ingest``: mentions from a JSON Lines file through the same item path as the spiders.

validate -> normalise -> enrich -> store, in batches. A bad line (broken JSON, invalid UTF-8,
missing or mistyped fields, unparseable dates) goes to the reject file with its line number and
reason, and every valid line is still stored. Re-ingesting a file stores nothing twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy.exc import DBAPIError

from pipeline.config import Config
from pipeline.enrich import Enricher
from pipeline.normalise import Normaliser
from pipeline.validate import InvalidMention, MentionIn, validate_mention
from storage.db import StorageError, Store
from storage.mentions import UpsertResult, upsert_mentions
from storage.runs import finish_run, start_run

log = logging.getLogger(__name__)

BATCH = 400


class IngestFailed(StorageError):
    """The database refused a batch (full disk, read-only file, ...) after the retries."""


@dataclass
class IngestResult:
    lines: int = 0
    valid: int = 0
    rejected: int = 0
    stored: UpsertResult = field(default_factory=UpsertResult)
    rejects_path: Path | None = None

    @property
    def ok(self) -> bool:
        """False only when nothing valid was read (the exit code follows this)."""
        return self.valid > 0


def default_rejects_path(source: Path) -> Path:
    return source.with_name(source.name + ".rejects.jsonl")


class _Rejects:
    """The reject file, created on the first reject so a clean run leaves nothing behind."""

    def __init__(self, path: Path):
        self.path = path
        self._file: IO[str] | None = None
        self.count = 0

    def add(self, line_no: int, reason: str, raw: str) -> None:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8")
        record = {"line": line_no, "reason": reason, "raw": raw}
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def parse_line(number: int, raw: bytes, config: Config) -> MentionIn:
    """One JSONL line to a validated mention; raises :class:`InvalidMention` with the reason."""
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a BOM from Excel or Notepad
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMention([f"(line): not valid UTF-8 at byte {exc.start}"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidMention([f"(line): invalid JSON: {exc.msg} at column {exc.colno}"]) from None
    return validate_mention(data, config.tz)


def ingest_file(
    path: Path,
    config: Config,
    store: Store,
    *,
    rejects_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH,
) -> IngestResult:
    """Ingest ``path``; ``progress`` is called with the number of bytes read since its last call."""
    result = IngestResult()
    rejects = _Rejects(rejects_path or default_rejects_path(path))
    normaliser = Normaliser(config)
    enricher = Enricher(config)
    run_id = start_run(store, "ingest")
    now = datetime.now(UTC)
    batch: list = []

    def flush() -> None:
        enricher.enrich(batch)
        try:
            result.stored += upsert_mentions(store, batch)
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            done = result.stored.inserted + result.stored.updated + result.stored.unchanged
            raise IngestFailed(
                f"{reason}; {done} mentions were stored before it (whole batches only). "
                f"Re-run the same file once the database is fixed: nothing is stored twice"
            ) from exc
        batch.clear()

    status, message = "failed", None
    try:
        with path.open("rb") as source:
            for number, raw in enumerate(source, start=1):
                if progress:
                    progress(len(raw))
                if not raw.strip():
                    continue
                result.lines += 1
                try:
                    mention = parse_line(number, raw, config)
                except InvalidMention as exc:
                    rejects.add(number, str(exc), raw.decode("utf-8", "replace").rstrip("\r\n"))
                    continue
                result.valid += 1
                batch.append(normaliser.normalise(mention, now))
                if len(batch) >= batch_size:
                    flush()
            if batch:
                flush()
        if not result.valid:
            message = "no valid mention in the file"
        elif rejects.count:
            status = "partial"
        else:
            status = "finished"
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        rejects.close()
        result.rejected = rejects.count
        result.rejects_path = rejects.path if rejects.count else None
        stats = {"file": path.name, "lines": result.lines, **vars(result.stored)}
        try:
            finish_run(
                store,
                run_id,
                status,
                items=result.valid,
                errors=result.rejected,
                message=message,
                stats=stats,
            )
        except Exception:  # never mask the error that got us here
            log.exception("could not record the end of ingest run %s", run_id)
    return result
