"""Sentiment toward each matched topic (nlp/target_sentiment.py): a post can praise the client
while attacking a rival. Empty for rows stored before; readers fall back to the post's own.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("topic_match", schema=None) as batch:
        batch.add_column(sa.Column("sentiment_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("sentiment_label", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("topic_match", schema=None) as batch:
        batch.drop_column("sentiment_label")
        batch.drop_column("sentiment_score")
