"""Alert engine: detector state, silences, incident notification bookkeeping, topic match time.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "detector_state",
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("detector", sa.String(length=64), nullable=False),
        sa.Column("last_bucket", Time, nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("topic", "detector", name=op.f("pk_detector_state")),
    )
    op.create_table(
        "silence",
        sa.Column("id", BigId, nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("starts_at", Time, nullable=False),
        sa.Column("ends_at", Time, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("author", sa.String(length=128), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_silence")),
    )
    op.create_index("ix_silence_ends_at", "silence", ["ends_at"])

    with op.batch_alter_table("incident") as batch:
        batch.add_column(sa.Column("rules", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_notified_at", Time, nullable=True))
        batch.add_column(sa.Column("notified_severity", sa.String(length=16), nullable=True))
    # The server defaults only filled existing rows; the models set these values themselves.
    with op.batch_alter_table("incident") as batch:
        batch.alter_column("rules", server_default=None)
        batch.alter_column("sequence", server_default=None)

    # Existing matches were learned when their mention was first stored.
    with op.batch_alter_table("topic_match") as batch:
        batch.add_column(sa.Column("matched_at", Time, nullable=True))
    op.execute(
        "UPDATE topic_match SET matched_at = "
        "(SELECT first_seen_at FROM mention WHERE mention.id = topic_match.mention_id)"
    )
    with op.batch_alter_table("topic_match") as batch:
        batch.alter_column("matched_at", existing_type=Time, nullable=False)
    op.create_index("ix_topic_match_topic_matched_at", "topic_match", ["topic", "matched_at"])


def downgrade() -> None:
    op.drop_index("ix_topic_match_topic_matched_at", table_name="topic_match")
    with op.batch_alter_table("topic_match") as batch:
        batch.drop_column("matched_at")
    with op.batch_alter_table("incident") as batch:
        batch.drop_column("notified_severity")
        batch.drop_column("last_notified_at")
        batch.drop_column("sequence")
        batch.drop_column("rules")
    op.drop_index("ix_silence_ends_at", table_name="silence")
    op.drop_table("silence")
    op.drop_table("detector_state")
