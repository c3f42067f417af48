"""Shared fixtures. Storage tests run on SQLite and on the real PostgreSQL server.

PostgreSQL: ``$YUQING_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
Each test gets its own schema, dropped afterwards. Set ``YUQING_SKIP_POSTGRES=1`` to skip those
tests explicitly; an unreachable server is otherwise an error, never a silent skip.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from pipeline.config import Config, parse_config
from storage.db import Store

FIXTURES = Path(__file__).parent / "fixtures"
PG_URL = os.environ.get(
    "YUQING_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

TEST_CONFIG = """
[general]
timezone = "Asia/Shanghai"

[[topics]]
name = "星澜咖啡"
[topics.keywords]
any = ["星澜咖啡", "星澜"]
exclude = ["招聘"]

[[topics]]
name = "青禾手机"
platforms = ["tieba", "weibo"]
[topics.keywords]
any = ["青禾手机", "青禾X5"]
"""


def pytest_collection_modifyitems(config, items):
    if os.environ.get("YUQING_SKIP_POSTGRES") == "1":
        skip = pytest.mark.skip(reason="YUQING_SKIP_POSTGRES=1 asked to skip PostgreSQL tests")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def config() -> Config:
    return parse_config(TEST_CONFIG, "test.toml")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'yuqing.db'}"


@pytest.fixture
def pg_schema():
    """A fresh PostgreSQL schema; yields (url, connect_args) that put it first on search_path."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield PG_URL, {"options": f"-c search_path={schema}"}
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_factory(request, tmp_path):
    """Opens (and migrates) a Store on the parametrised backend; closes it after the test."""
    opened: list[Store] = []
    if request.param == "sqlite":
        url, kwargs = f"sqlite:///{tmp_path / 'yuqing.db'}", {}
    else:
        url, kwargs = request.getfixturevalue("pg_schema")
        kwargs = {"connect_args": kwargs}

    def factory(**extra) -> Store:
        store = Store.open(url, auto_migrate=True, **kwargs, **extra)
        opened.append(store)
        return store

    factory.url = url
    factory.engine_kwargs = kwargs
    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(store_factory) -> Store:
    return store_factory()


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Invoke ``yuqing`` with a test config and a SQLite database in tmp_path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "yuqing.toml").write_text(
        TEST_CONFIG + f"\n[storage]\nurl = 'sqlite:///{tmp_path / 'y.db'}'\n", encoding="utf-8"
    )
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    monkeypatch.delenv("YUQING_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str):
        from pipeline.cli import cli

        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke
