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
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from alerts.secrets import redact

# Alembic is imported only to migrate (issue 17): loading it and every migration script cost
# ~0.2 s on each Store.open, i.e. on every cron run of `yuqing alerts evaluate`. The schema
# check reads the version table and the scripts' revision lines itself.
if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
# The two lines every migration script has (storage/migrations/script.py.mako writes them).
_REVISION_LINE = re.compile(r'^revision\s*=\s*["\']([^"\']+)["\']', re.M)
_DOWN_REVISION_LINE = re.compile(r'^down_revision\s*=\s*(?:None|["\']([^"\']+)["\'])', re.M)


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
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


@cache
def head_revision() -> str:
    """The newest migration's revision: the one revision no script names as its down_revision.

    Read from the scripts' ``revision = ...`` lines rather than through Alembic, which imports
    every script (tests/test_startup_imports.py checks both agree). Falls back to Alembic when the
    scripts do not form one chain (a branch or merge would need its rules)."""
    revisions, parents = set(), set()
    for script in VERSIONS_DIR.glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION_LINE.search(source), _DOWN_REVISION_LINE.search(source)
        if revision is None or down is None:
            return _alembic_head()
        revisions.add(revision.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else _alembic_head()


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(None))  # type: ignore[arg-type]
    head = script.get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision (Alembic's ``alembic_version`` row), None when it has
    none. The same answer as Alembic's ``MigrationContext.get_current_revision``, without
    importing Alembic."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) > 1:  # several heads: only Alembic's own error says it well
        from alembic.runtime.migration import MigrationContext

        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    return versions[0] if versions else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (each migration runs in a transaction)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

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
        head = head_revision()
        try:
            current = current_revision(self.engine)
            if current == head:  # the usual case: one query, no table listing
                return
            tables = set(inspect(self.engine).get_table_names())
            # After a full downgrade only Alembic's own (empty) bookkeeping table is left.
            empty = current is None and tables <= {"alembic_version"}
        except Exception as exc:  # driver errors differ per backend; name the URL either way
            url = self.engine.url.render_as_string(hide_password=False)
            raise StorageError(
                f"cannot open database {safe_url(url)}: {error_text(url, exc)}"
            ) from None
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
