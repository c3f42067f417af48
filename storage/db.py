"""Opening the database: engines, SQLite pragmas, sessions and schema upgrades.

``Store.open(url)`` is the one entry point. An empty SQLite file is migrated on first use so a
newcomer needs no setup step; any other database that is behind the code raises
:class:`SchemaOutdated` and asks for ``yuqing db upgrade``, because migrating a shared PostgreSQL
under a running fleet should be a deliberate act.

Nothing here prints a password: :func:`safe_url` and every error message go through
:func:`alerts.secrets.redact`, which masks ``user:password@`` and ``?password=`` alike.
A SQLite file whose folder does not exist gets the folder created with a warning (a first run
should just work, but a mistyped path must not silently start an empty database elsewhere).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from alerts.secrets import redact

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class StorageError(Exception):
    """The database cannot be opened or used as configured."""


class SchemaOutdated(StorageError):
    """The database schema is older (or newer) than this version of the code."""


SUPPORTED = "sqlite:///path.db or postgresql+psycopg://user@host/db"


def safe_url(url: str) -> str:
    """The URL with every credential masked (``user:***@``, ``?password=***``), for messages."""
    try:
        return redact(make_url(url).render_as_string(hide_password=True), [url])
    except (ArgumentError, ValueError):
        return "<unparseable database URL>"


def error_text(url: str, exc: BaseException) -> str:
    """A driver's error in one line, with the URL's credentials masked wherever it echoes them."""
    lines = str(exc).strip().splitlines()
    return redact(lines[0] if lines else type(exc).__name__, [url])


def check_url(url: str) -> None:
    """Raise :class:`StorageError` unless ``url`` is a database URL this installation can open:
    parseable, a known dialect and its driver installed (no connection is made)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StorageError(f"not a database URL ({SUPPORTED})") from None
    try:
        parsed.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError) as exc:
        raise StorageError(
            f"no driver for {parsed.drivername!r} in this installation "
            f"({error_text(url, exc)}); use {SUPPORTED}"
        ) from None


def _sqlite_folder(db: str) -> None:
    folder = Path(db).expanduser().parent
    if folder.is_dir():
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StorageError(f"cannot create folder {folder} for the SQLite file: {reason}") from None
    log.warning("created folder %s for the SQLite database (it did not exist)", folder)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the alert job read while an ingest writes; NORMAL sync is safe with WAL.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and their parent folder created."""
    check_url(url)
    parsed = make_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            db = parsed.database
            if db and db != ":memory:" and not db.startswith("file:"):
                _sqlite_folder(db)
            engine = create_engine(parsed, **kwargs)
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)
    except (ArgumentError, TypeError, ValueError) as exc:
        # e.g. an unknown query option: say which URL without its password.
        raise StorageError(
            f"invalid database URL {safe_url(url)}: {error_text(url, exc)}"
        ) from None


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config(None))  # type: ignore[arg-type]
    head = script.get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (each migration runs in a transaction)."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


class Store:
    """An engine plus a session factory: the handle every storage function takes."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    def open(cls, url: str, *, auto_migrate: bool | None = None, **engine_kwargs) -> Store:
        """Open ``url`` and check its schema.

        ``auto_migrate`` defaults to True for SQLite (only an *empty* database is migrated) and
        False elsewhere.
        """
        engine = make_engine(url, **engine_kwargs)
        store = cls(engine)
        if auto_migrate is None:
            auto_migrate = store.dialect == "sqlite"
        store.check_schema(auto_migrate=auto_migrate)
        return store

    def check_schema(self, *, auto_migrate: bool) -> None:
        try:
            current = current_revision(self.engine)
            tables = set(inspect(self.engine).get_table_names())
            # After a full downgrade only Alembic's own (empty) bookkeeping table is left.
            empty = current is None and tables <= {"alembic_version"}
        except Exception as exc:  # driver errors differ per backend; name the URL either way
            url = self.engine.url.render_as_string(hide_password=False)
            raise StorageError(
                f"cannot open database {safe_url(url)}: {error_text(url, exc)}"
            ) from None
        head = head_revision()
        if current == head:
            return
        if empty and auto_migrate:
            log.info("creating schema in %s", safe_url(str(self.engine.url)))
            upgrade(self.engine)
            return
        raise SchemaOutdated(
            f"database {safe_url(str(self.engine.url))} is at schema revision {current or 'none'}, "
            f"this version of yuqing needs {head}: run `yuqing db upgrade`"
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()
