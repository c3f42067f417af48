"""Start-up stays light (issue 17): what each kind of command imports, checked without timing.

Each check runs a fresh interpreter, because this test process has long since imported
everything. A light command must not load Scrapy, jieba, numpy, pandas or the NLP models; the
CLI entry point alone (what `yuqing --help` loads) must not load the config (pydantic) or the
database layer (SQLAlchemy) either. The constants the CLI spells out to stay light are checked
against the modules they come from.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.config import EXAMPLE_PATH

# Heavy for a command that does not analyse or crawl: seconds or tens of MB each.
HEAVY = {"datasketch", "jieba", "rjieba", "scrapy", "twisted", "pandas", "numpy", "scipy"}
HEAVY |= {"torch", "snownlp", "sklearn", "matplotlib", "fastapi", "uvicorn"}
# What `yuqing --help` needs none of.
NOT_FOR_HELP = HEAVY | {"pydantic", "sqlalchemy", "alembic", "rich", "jinja2", "psycopg"}


def _loaded_after(code: str, cwd: Path, argv: list[str] | None = None) -> set[str]:
    """Top-level packages loaded by a fresh interpreter after running ``code``."""
    script = "\n".join(
        [
            "import json, sys",
            f"sys.argv = {['yuqing', *(argv or [])]!r}",
            "try:",
            textwrap.indent(code, "    "),
            "except SystemExit:",
            "    pass",
            "finally:",
            "    sys.stdout.flush()",
            "    loaded = sorted({m.split('.')[0] for m in sys.modules})",
            "    sys.stderr.write('\\nLOADED ' + json.dumps(loaded) + '\\n')",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    # The last line starting LOADED (anything logged at exit may follow it).
    line = [ln for ln in done.stderr.splitlines() if ln.startswith("LOADED ")][-1]
    return set(json.loads(line.removeprefix("LOADED ")))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder with the example config and a migrated SQLite database, as after `yuqing init`."""
    folder = tmp_path_factory.mktemp("startup")
    (folder / "yuqing.toml").write_text(EXAMPLE_PATH.read_text(encoding="utf-8"), "utf-8")
    subprocess.run(
        [sys.executable, "-c", "from pipeline.cli import main; main()", "db", "upgrade"],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return folder


def test_cli_entry_point_imports_only_click(workdir):
    loaded = _loaded_after("import pipeline.cli", workdir)
    assert "click" in loaded
    assert not loaded & NOT_FOR_HELP, sorted(loaded & NOT_FOR_HELP)


def test_help_imports_only_click(workdir):
    loaded = _loaded_after("from pipeline.cli import main; main()", workdir, ["--help"])
    assert not loaded & NOT_FOR_HELP, sorted(loaded & NOT_FOR_HELP)


@pytest.mark.parametrize(
    "argv",
    [
        ["mentions"],
        ["mentions", "--format", "json"],
        ["status"],
        ["alerts", "list"],
        ["alerts", "evaluate"],
        ["alerts", "deliveries"],
        ["stats"],
        ["db", "current"],
        ["config", "check"],
    ],
    ids=" ".join,
)
def test_light_commands_load_no_nlp_and_no_crawler(workdir, argv):
    loaded = _loaded_after("from pipeline.cli import main; main()", workdir, argv)
    assert "sqlalchemy" in loaded or argv == ["config", "check"]  # it did run the command
    assert not loaded & HEAVY, sorted(loaded & HEAVY)


def test_schema_check_does_not_load_alembic(workdir):
    loaded = _loaded_after("from pipeline.cli import main; main()", workdir, ["mentions"])
    assert "alembic" not in loaded


def test_search_loads_jieba_only_when_asked(workdir):
    argv = ["mentions", "--search", "退款"]
    loaded = _loaded_after("from pipeline.cli import main; main()", workdir, argv)
    assert "rjieba" in loaded
    assert not loaded & (HEAVY - {"rjieba"}), sorted(loaded & HEAVY)


def test_ingest_does_not_load_jieba_analyse_or_the_training_libraries(workdir):
    line = (Path(__file__).parent / "fixtures" / "mentions_good.jsonl").read_text("utf-8")
    (workdir / "one.jsonl").write_text(line.splitlines()[0] + "\n", "utf-8")
    script = "from pipeline.cli import main\nmain()"
    loaded = _loaded_after(script, workdir, ["ingest", "one.jsonl"])
    assert "rjieba" in loaded  # it did analyse the post
    # jieba itself (its POS tagger, pkg_resources and the IDF dict) is never needed.
    assert not loaded & {"jieba", "pandas", "torch", "sklearn", "snownlp", "matplotlib"}


def test_cli_constants_match_their_modules():
    from pipeline.cli_analysts import BUCKET_NAMES, EXPORT_FORMATS
    from pipeline.cli_report import REPORT_KINDS
    from pipeline.export import FORMATS
    from pipeline.reports.build import KINDS
    from storage.stats import BUCKETS

    assert BUCKET_NAMES == tuple(BUCKETS)
    assert EXPORT_FORMATS == FORMATS
    assert REPORT_KINDS == tuple(KINDS)


def test_jieba_stopwords_match_jieba_analyse():
    import jieba.analyse

    from nlp.segment import JIEBA_STOP_WORDS

    assert JIEBA_STOP_WORDS == frozenset(jieba.analyse.TFIDF.STOP_WORDS)


def test_head_revision_matches_alembic():
    from storage.db import _alembic_head, head_revision

    assert head_revision() == _alembic_head()


def test_current_revision_matches_alembic(tmp_path):
    from alembic.runtime.migration import MigrationContext

    from storage.db import Store, current_revision, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'y.db'}")
    try:
        assert current_revision(engine) is None
        Store(engine).check_schema(auto_migrate=True)
        with engine.connect() as conn:
            assert (
                current_revision(engine) == MigrationContext.configure(conn).get_current_revision()
            )
    finally:
        engine.dispose()
