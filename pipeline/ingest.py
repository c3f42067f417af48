"""``yuqing ingest``: mentions from a JSON Lines file through the same item path as the spiders.

validate -> normalise -> enrich -> store, in batches; for a file of more than a few thousand
lines, forked worker processes do everything but near-duplicates and storage while this process
clusters and stores, in file order (so the outcome is the same as in one process). A bad line
(broken or too deeply nested JSON, invalid UTF-8, missing or mistyped fields, unparseable or
implausible dates, counts out of range, an id holding NUL) goes to the reject file with its line
number and reason, and every valid line is still stored; so does a row the database itself
refuses. Re-ingesting a file stores nothing twice.

The reject file may not be the input (writing it would truncate what is being read); its folder
is created before anything is read. Reading standard input (``-``, or any input that is not a
regular file such as ``/dev/stdin`` or a pipe), the default reject file is
``./stdin.rejects.jsonl`` (``./NAME.rejects.jsonl`` for another pipe) in the working folder.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, BinaryIO

from pipeline.config import Config
from pipeline.enrich import Enricher
from pipeline.normalise import Normaliser
from pipeline.store import StoreOutcome, store_rows
from pipeline.validate import InvalidMention, MentionIn, validate_mention
from storage.db import StorageError, Store
from storage.mentions import MentionRow, UpsertResult
from storage.runs import finish_run, start_run
from storage.search import search_text

log = logging.getLogger(__name__)

BATCH = 400
STDIN = Path("-")
# Files smaller than this are ingested in one process (about 3,000 mentions).
WORKERS_FROM_BYTES = 2_000_000
# This process clusters and stores at about 4,500 mentions/s: more workers than this would wait.
MAX_WORKERS = 4


class IngestFailed(StorageError):
    """The database refused a batch (full disk, read-only file, ...) after the retries."""


class RejectsPathError(ValueError):
    """The reject file cannot be used (it is the input, a folder, or cannot be written)."""


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


def _is_stream(source: Path) -> bool:
    """Standard input, a pipe or a device rather than a file with a folder of its own.
    ``/dev/stdin`` redirected from a file stats as that file, hence the folder test."""
    if source == STDIN or source.absolute().parts[1:2] in (("dev",), ("proc",)):
        return True
    try:
        return not stat.S_ISREG(os.stat(source).st_mode)
    except OSError:
        return True


def default_rejects_path(source: Path) -> Path:
    """``FILE.rejects.jsonl`` next to a file; for standard input or a pipe (whose folder,
    ``/dev`` or ``/proc``, cannot hold it) ``./stdin.rejects.jsonl`` or ``./NAME.rejects.jsonl``
    in the working folder."""
    if not _is_stream(source):
        return source.with_name(source.name + ".rejects.jsonl")
    name = "stdin" if source in (STDIN, Path("/dev/stdin")) else source.name
    return Path(name + ".rejects.jsonl")


def _identity(path: Path, *, source: bool = False) -> tuple[int, int] | None:
    """(device, inode) of a path, or of standard input for the source ``-``: equal for the
    same file reached through a symlink or a hard link. None when it does not exist yet."""
    try:
        info = os.fstat(sys.stdin.fileno()) if source and path == STDIN else os.stat(path)
    except (OSError, ValueError, AttributeError):  # no such file; a stdin without a descriptor
        return None
    return info.st_dev, info.st_ino


def _is_reject_file(path: Path) -> bool:
    """True for a path that may be overwritten: missing, not a regular file (``/dev/null``),
    empty, or starting with a reject record. Anything else (another input file, the SQLite
    database given by mistake) would be destroyed by writing rejects over it."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return True
        with path.open("rb") as existing:
            first = existing.readline(65536)
    except (FileNotFoundError, NotADirectoryError):  # nothing there to lose
        return True
    except OSError:
        return False
    if not first.strip():
        return True
    try:
        record = json.loads(first)
    except ValueError:
        return False
    return isinstance(record, dict) and set(record) == {"line", "reason", "raw"}


def prepare_rejects_path(source: Path, rejects: Path | None) -> Path:
    """The reject file for ``source``, checked before anything is read: not the input itself
    (also through a symlink or hard link), not a folder, not an existing file other than an
    earlier reject file, its folder created and writable. Raises :class:`RejectsPathError`
    with a one-line reason."""
    path = rejects or default_rejects_path(source)
    shown = "standard input" if source == STDIN else str(source)
    mine = _identity(path)
    if mine is not None and mine == _identity(source, source=True):
        raise RejectsPathError(
            f"{path} is the input file ({shown}): writing rejects there would destroy it; "
            "choose another --rejects path"
        )
    if path.is_dir():
        raise RejectsPathError(f"{path} is a folder; give a file path for --rejects")
    if not _is_reject_file(path):
        raise RejectsPathError(
            f"{path} exists and is not a reject file: refusing to overwrite it "
            "(choose a new path, or delete it first)"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RejectsPathError(
            f"cannot create the folder {path.parent} for rejects: {exc.strerror or exc}"
        ) from None
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        raise RejectsPathError(f"cannot write rejects to {path}: permission denied")
    return path


class _Rejects:
    """The reject file, created on the first reject so a clean run leaves nothing behind."""

    def __init__(self, path: Path):
        self.path = path
        self._file: IO[str] | None = None
        self.count = 0

    def add(self, line_no: int, reason: str, raw: str) -> None:
        if self._file is None:
            try:
                self._file = self.path.open("w", encoding="utf-8")
            except OSError as exc:
                raise RejectsPathError(
                    f"cannot write rejects to {self.path}: {exc.strerror or exc}"
                ) from None
        record = {"line": line_no, "reason": reason, "raw": raw}
        # A reason may quote a key holding a lone surrogate: escape it rather than fail.
        text = json.dumps(record, ensure_ascii=False)
        self._file.write(text.encode("utf-8", "backslashreplace").decode("utf-8") + "\n")
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
    except RecursionError:
        raise InvalidMention(["(line): invalid JSON: nested too deeply"]) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InvalidMention([f"(line): invalid JSON: {exc}"]) from None
    return validate_mention(data, config.tz)


def _shown(raw: bytes) -> str:
    """A raw line as kept in the reject file, so it can be fixed and re-ingested."""
    return raw.decode("utf-8", "replace").rstrip("\r\n")


def _open_source(path: Path) -> AbstractContextManager[BinaryIO]:
    if path == STDIN:  # the process's own stream: read it, leave it open
        return nullcontext(sys.stdin.buffer)
    return path.open("rb")


class _Preparer:
    """Everything done to a batch of lines before near-duplicates and storage: parse, validate,
    normalise, sentiment, cause, keywords, topic sentiment and search tokens. It needs nothing
    but the configuration, so a worker process can do it while the main process stores."""

    def __init__(self, config: Config, enricher: Enricher, now: datetime):
        self.config = config
        self.normaliser = Normaliser(config)
        self.enricher = enricher
        self.now = now

    def __call__(self, lines: list[tuple[int, bytes]]) -> _Prepared:
        rejected: list[tuple[int, str, str]] = []
        numbers: list[int] = []
        rows: list[MentionRow] = []
        for number, raw in lines:
            try:
                mention = parse_line(number, raw, self.config)
            except InvalidMention as exc:
                rejected.append((number, str(exc), _shown(raw)))
                continue
            rows.append(self.normaliser.normalise(mention, self.now))
            numbers.append(number)
        if rows:
            self.enricher.analyse(rows)
            for row in rows:
                # The search tokens storage would compute, computed here in parallel.
                row["search_text"] = search_text(row.get("title"), row.get("text"))
        return rejected, numbers, rows


_Prepared = tuple[list[tuple[int, str, str]], list[int], list[MentionRow]]
_worker: _Preparer | None = None


def _prepare_in_worker(lines: list[tuple[int, bytes]]) -> _Prepared:
    assert _worker is not None
    return _worker(lines)


def _install_worker(preparer: _Preparer) -> None:
    global _worker
    _worker = preparer


def default_workers(path: Path) -> int:
    """Worker processes for ingesting ``path``: none on one core or for a small file (forking
    costs more than it saves below a few thousand lines), else one per core, at most
    :data:`MAX_WORKERS`. On 2 cores two workers beat one (20,000 lines: 2,266 against 1,696
    mentions/s on SQLite, docs/benchmarks.md): this process mostly waits for them."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        size = os.stat(path).st_size if path != STDIN else WORKERS_FROM_BYTES
    except OSError:
        size = WORKERS_FROM_BYTES
    if (cores or 1) < 2 or size < WORKERS_FROM_BYTES:
        return 0
    return min(cores or 1, MAX_WORKERS)


def _batches(
    source: BinaryIO, size: int, progress: Callable[[int], None] | None
) -> Iterator[list[tuple[int, bytes]]]:
    batch: list[tuple[int, bytes]] = []
    for number, raw in enumerate(source, start=1):
        if progress:
            progress(len(raw))
        if not raw.strip():
            continue
        batch.append((number, raw))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def ingest_file(
    path: Path,
    config: Config,
    store: Store,
    *,
    rejects_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH,
    workers: int | None = None,
) -> IngestResult:
    """Ingest ``path`` (``Path("-")``: standard input); ``progress`` is called with the number
    of bytes read since its last call. Raises :class:`RejectsPathError` before reading anything
    when the reject file cannot be used.

    With ``workers`` (default: :func:`default_workers`) that many forked processes parse,
    validate, normalise and analyse the next batches while this one clusters near-duplicates
    (in file order, as one process would) and stores; results are used in file order, so
    rejects, clusters and counts are the same as without workers."""
    result = IngestResult()
    rejects = _Rejects(prepare_rejects_path(path, rejects_path))
    enricher = Enricher(config)
    preparer = _Preparer(config, enricher, datetime.now(UTC))
    workers = default_workers(path) if workers is None else workers
    run_id = start_run(store, "ingest")

    def finish(lines: list[tuple[int, bytes]], prepared: _Prepared) -> None:
        rejected, numbers, rows = prepared
        result.lines += len(lines)
        result.valid += len(rows)
        for number, reason, shown in rejected:
            rejects.add(number, reason, shown)
        if not rows:
            return
        enricher.cluster(rows)
        outcome = StoreOutcome()
        try:
            store_rows(store, rows, outcome=outcome)
        except Exception as exc:
            result.stored += outcome.stored
            orig = getattr(exc, "orig", None)
            reason = str(orig).strip().splitlines()[0] if orig else type(exc).__name__
            done = result.stored.inserted + result.stored.updated + result.stored.unchanged
            raise IngestFailed(
                f"{reason}; {done} mentions were stored before it. "
                f"Re-run the same file once the database is fixed: nothing is stored twice"
            ) from exc
        result.stored += outcome.stored
        raw_of = dict(lines)
        for index, reason in outcome.refused:
            number = numbers[index]
            rejects.add(number, f"(database): {reason}", _shown(raw_of[number]))
            result.valid -= 1

    status, message = "failed", None
    pool = None
    try:
        with _open_source(path) as source:
            batches = _batches(source, batch_size, progress)
            if workers > 0:
                pool = _start_pool(preparer, workers)
                # Batches in flight are bounded, so a huge file is never read ahead into memory.
                pending: deque = deque()
                for lines in batches:
                    job = pool.submit(_prepare_in_worker, lines)
                    pending.append((lines, job))
                    if len(pending) > 2 * workers:
                        done, job = pending.popleft()
                        finish(done, job.result())
                while pending:
                    done, job = pending.popleft()
                    finish(done, job.result())
            else:
                for lines in batches:
                    finish(lines, preparer(lines))
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
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        rejects.close()
        result.rejected = rejects.count
        result.rejects_path = rejects.path if rejects.count else None
        name = "(stdin)" if path == STDIN else path.name
        stats = {"file": name, "lines": result.lines, **vars(result.stored)}
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


def _start_pool(preparer: _Preparer, workers: int):
    """Forked workers that inherit the loaded models and dictionaries (no second start-up).
    Objects alive now are frozen out of the garbage collector first, so the children do not
    touch, and copy, every page of them. A worker that dies (killed for memory) fails the
    ingest with BrokenProcessPool instead of leaving it waiting."""
    import gc
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    preparer.enricher.load()
    gc.freeze()
    try:
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_install_worker,
            initargs=(preparer,),
        )
        # Start every worker now, while the frozen objects are still frozen.
        for job in [pool.submit(_ready) for _ in range(workers)]:
            job.result()
        return pool
    finally:
        gc.unfreeze()  # this process collects its garbage as before; the children keep theirs


def _ready() -> bool:
    return True
