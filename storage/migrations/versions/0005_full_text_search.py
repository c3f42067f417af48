"""Full-text search: mention.search_text, indexed by FTS5 kept in sync by triggers (SQLite) or by
a GIN index on its tsvector (PostgreSQL).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# External content: the FTS table stores only its index and reads the text from mention.
SQLITE_UP = [
    "CREATE VIRTUAL TABLE mention_fts USING fts5(search_text, content='mention', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER mention_fts_insert AFTER INSERT ON mention BEGIN "
    "INSERT INTO mention_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER mention_fts_delete AFTER DELETE ON mention BEGIN "
    "INSERT INTO mention_fts(mention_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    # An upsert that changes only counts leaves the index alone.
    "CREATE TRIGGER mention_fts_update AFTER UPDATE OF search_text ON mention "
    "WHEN old.search_text IS NOT new.search_text BEGIN "
    "INSERT INTO mention_fts(mention_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO mention_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS mention_fts_update",
    "DROP TRIGGER IF EXISTS mention_fts_delete",
    "DROP TRIGGER IF EXISTS mention_fts_insert",
    "DROP TABLE IF EXISTS mention_fts",
]
# 'simple' lower-cases and keeps every token (no stemming, no stop words): the text is already
# segmented. Queries must use this very expression for the planner to pick the index.
POSTGRESQL_UP = [
    "CREATE INDEX ix_mention_search_text ON mention USING gin (to_tsvector('simple', search_text))",
]
POSTGRESQL_DOWN = ["DROP INDEX IF EXISTS ix_mention_search_text"]


def _backfill() -> None:
    from storage.search import search_text

    conn = op.get_bind()
    mention = sa.table(
        "mention", sa.column("id"), sa.column("title"), sa.column("text"), sa.column("search_text")
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(mention.c.id, mention.c.title, mention.c.text)
            .where(mention.c.id > last)
            .order_by(mention.c.id)
            .limit(2000)
        ).all()
        if not rows:
            return
        conn.execute(
            mention.update()
            .where(mention.c.id == sa.bindparam("row_id"))
            .values(search_text=sa.bindparam("value")),
            [{"row_id": r.id, "value": search_text(r.title, r.text)} for r in rows],
        )
        last = rows[-1].id


def upgrade() -> None:
    op.add_column("mention", sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    _backfill()
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
        op.execute("INSERT INTO mention_fts(mention_fts) VALUES ('rebuild')")
    elif dialect == "postgresql":
        for statement in POSTGRESQL_UP:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRESQL_DOWN:
        op.execute(statement)
    # Not batch mode: rebuilding mention would DROP it, and with foreign keys on SQLite that
    # deletes every topic match and snapshot by cascade. SQLite 3.35+ drops a column in place.
    op.drop_column("mention", "search_text")
